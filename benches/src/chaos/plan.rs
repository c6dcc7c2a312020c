//! The chaos schedule: which node is killed when, which links are cut when, and for how long,
//! all drawn from the run's seed before the run starts.
//!
//! Why a plan made up front rather than dice thrown during the run: the same seed then gives
//! the same faults in the same order (only their effect varies with timing), a failing run
//! can be replayed, and the rules the plan must keep (every killed node restarts, every cut
//! heals, never more than `max_down` nodes down at once, all before the chaos ends) are checked
//! by tests here rather than hoped for at run time.

use chain_core::testkit::Rng;
use std::time::Duration;

use super::proxy::Mode;

/// A link between two nodes, `(a, b)` with `a < b`: both directed proxies between them.
pub type Pair = (usize, usize);

/// One fault or its repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// SIGKILL the node's process.
    Kill(usize),
    /// Start the node again on its data directory.
    Restart(usize),
    /// Cut these links (one pair, or every pair across a partition).
    Cut {
        /// The links.
        pairs: Vec<Pair>,
        /// Refuse or hold new connections.
        mode: Mode,
        /// Whether the cut splits the nodes in two groups.
        partition: bool,
    },
    /// Heal these links (as cut by the matching [`Action::Cut`]).
    Heal(Vec<Pair>),
}

/// An action and when it happens, from the start of the chaos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Time since the chaos began.
    pub at: Duration,
    /// What happens.
    pub action: Action,
}

/// The shape of a plan.
#[derive(Debug, Clone)]
pub struct PlanConfig {
    /// Nodes in the network.
    pub nodes: usize,
    /// How long the chaos lasts; every fault is repaired before the end.
    pub duration: Duration,
    /// Nodes down at once, at most.
    pub max_down: usize,
    /// Seconds between one fault and the next: drawn from this range.
    pub gap_secs: (u64, u64),
    /// Seconds a node stays down.
    pub down_secs: (u64, u64),
    /// Seconds a link stays cut.
    pub cut_secs: (u64, u64),
}

impl PlanConfig {
    /// The defaults for `nodes` nodes and `duration` of chaos: a fault every 2-7 s, nodes down
    /// 2-15 s (at most 2 at once), links cut 3-25 s.
    pub fn new(nodes: usize, duration: Duration) -> Self {
        Self {
            nodes,
            duration,
            max_down: 2,
            gap_secs: (2, 7),
            down_secs: (2, 15),
            cut_secs: (3, 25),
        }
    }
}

/// A random split of `nodes` into two non-empty groups: every pair across it.
fn split(rng: &mut Rng, nodes: usize) -> Vec<Pair> {
    let full = (1u64 << nodes) - 1;
    let mask = 1 + rng.below(full - 1);
    let mut pairs = Vec::new();
    for a in 0..nodes {
        for b in a + 1..nodes {
            if (mask >> a) & 1 != (mask >> b) & 1 {
                pairs.push((a, b));
            }
        }
    }
    pairs
}

/// A calm plan for a load run: no node killed, no single link cut, and two partitions (random
/// splits drawn from `seed`), the first from 15 % of `duration`, the second from 55 %, each
/// lasting a fifth of it (60 s at most) and healed.
pub fn partitions(seed: u64, nodes: usize, duration: Duration) -> Vec<Event> {
    let mut rng = Rng::new(seed);
    let length = (duration / 5).min(Duration::from_secs(60));
    let mut events = Vec::new();
    for start in [duration.mul_f64(0.15), duration.mul_f64(0.55)] {
        let pairs = split(&mut rng, nodes);
        events.push(Event {
            at: start,
            action: Action::Cut {
                pairs: pairs.clone(),
                mode: Mode::Hold,
                partition: true,
            },
        });
        events.push(Event {
            at: start + length,
            action: Action::Heal(pairs),
        });
    }
    events
}

fn between(rng: &mut Rng, (low, high): (u64, u64)) -> u64 {
    low + rng.below(high.saturating_sub(low) + 1)
}

/// The plan of `config` for `seed`, in time order.
pub fn plan(seed: u64, config: &PlanConfig) -> Vec<Event> {
    let mut rng = Rng::new(seed);
    let mut events = Vec::new();
    // When each node is back up (zero: up).
    let mut down_until = vec![Duration::ZERO; config.nodes];
    let end = config.duration;
    let mut at = Duration::from_secs(between(&mut rng, config.gap_secs));
    while config.nodes >= 2 && at + Duration::from_secs(config.cut_secs.0.max(1)) < end {
        let roll = rng.below(100);
        if roll < 35 {
            let up: Vec<usize> = (0..config.nodes).filter(|&n| down_until[n] <= at).collect();
            let down = config.nodes - up.len();
            if down < config.max_down && !up.is_empty() {
                let node = up[rng.below(up.len() as u64) as usize];
                let back = (at + Duration::from_secs(between(&mut rng, config.down_secs))).min(end);
                down_until[node] = back;
                events.push(Event {
                    at,
                    action: Action::Kill(node),
                });
                events.push(Event {
                    at: back,
                    action: Action::Restart(node),
                });
            }
        } else {
            let partition = roll >= 75;
            let pairs = if partition {
                split(&mut rng, config.nodes)
            } else {
                let a = rng.below(config.nodes as u64) as usize;
                let b = (a + 1 + rng.below(config.nodes as u64 - 1) as usize) % config.nodes;
                vec![(a.min(b), a.max(b))]
            };
            let mode = if rng.chance(50) {
                Mode::Refuse
            } else {
                Mode::Hold
            };
            let heal = (at + Duration::from_secs(between(&mut rng, config.cut_secs))).min(end);
            events.push(Event {
                at,
                action: Action::Cut {
                    pairs: pairs.clone(),
                    mode,
                    partition,
                },
            });
            events.push(Event {
                at: heal,
                action: Action::Heal(pairs),
            });
        }
        at += Duration::from_secs(between(&mut rng, config.gap_secs));
    }
    // Stable: at equal times, repairs drawn earlier stay before faults drawn later.
    events.sort_by_key(|event| event.at);
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn config() -> PlanConfig {
        PlanConfig::new(5, Duration::from_secs(180))
    }

    #[test]
    fn a_seed_gives_one_plan_and_another_seed_another() {
        assert_eq!(plan(7, &config()), plan(7, &config()));
        assert_ne!(plan(7, &config()), plan(8, &config()));
        assert!(plan(7, &config()).len() > 20);
    }

    #[test]
    fn every_fault_is_repaired_in_time_and_never_more_than_two_nodes_are_down() {
        for seed in 0..200 {
            let config = config();
            let events = plan(seed, &config);
            assert!(events.windows(2).all(|w| w[0].at <= w[1].at), "seed {seed}");
            let mut down = vec![false; config.nodes];
            let mut cuts: BTreeMap<Pair, i32> = BTreeMap::new();
            let (mut kills, mut partitions) = (0, 0);
            for event in &events {
                assert!(event.at <= config.duration, "seed {seed}: {event:?}");
                match &event.action {
                    Action::Kill(node) => {
                        assert!(!down[*node], "seed {seed}: {node} killed twice");
                        down[*node] = true;
                        kills += 1;
                        let count = down.iter().filter(|d| **d).count();
                        assert!(count <= config.max_down, "seed {seed}: {count} down");
                    }
                    Action::Restart(node) => {
                        assert!(down[*node], "seed {seed}: {node} restarted while up");
                        down[*node] = false;
                    }
                    Action::Cut {
                        pairs, partition, ..
                    } => {
                        assert!(!pairs.is_empty());
                        partitions += usize::from(*partition);
                        for pair in pairs {
                            assert!(pair.0 < pair.1 && pair.1 < config.nodes, "{pair:?}");
                            *cuts.entry(*pair).or_default() += 1;
                        }
                    }
                    Action::Heal(pairs) => {
                        for pair in pairs {
                            let count = cuts.entry(*pair).or_default();
                            *count -= 1;
                            assert!(*count >= 0, "seed {seed}: {pair:?} healed before its cut");
                        }
                    }
                }
            }
            assert!(down.iter().all(|d| !d), "seed {seed}: a node is left down");
            assert!(
                cuts.values().all(|c| *c == 0),
                "seed {seed}: a link is left cut"
            );
            assert!(
                kills > 0 && partitions > 0,
                "seed {seed}: some of each fault"
            );
        }
    }

    #[test]
    fn a_load_plan_has_two_partitions_each_healed_before_the_end() {
        let duration = Duration::from_secs(300);
        let events = partitions(4, 16, duration);
        assert_eq!(events.len(), 4);
        let cuts: Vec<_> = events
            .iter()
            .filter_map(|e| match &e.action {
                Action::Cut {
                    pairs, partition, ..
                } => Some((e.at, pairs.clone(), *partition)),
                _ => None,
            })
            .collect();
        assert_eq!(cuts.len(), 2);
        for (at, pairs, partition) in &cuts {
            assert!(*partition && !pairs.is_empty());
            let healed = events
                .iter()
                .find(|e| e.action == Action::Heal(pairs.clone()))
                .unwrap();
            assert!(healed.at > *at && healed.at < duration);
        }
    }

    #[test]
    fn a_partition_cuts_exactly_the_pairs_across_it() {
        let events = plan(3, &config());
        let Some(Action::Cut { pairs, .. }) = events.iter().map(|e| &e.action).find(|a| {
            matches!(
                a,
                Action::Cut {
                    partition: true,
                    ..
                }
            )
        }) else {
            panic!("seed 3 has a partition");
        };
        // Rebuild the two groups from node 0's side: every cut pair crosses, no other does.
        let with_zero: Vec<bool> = (0..5).map(|n| n == 0 || !pairs.contains(&(0, n))).collect();
        let mut expected = Vec::new();
        for a in 0..5 {
            for b in a + 1..5 {
                if with_zero[a] != with_zero[b] {
                    expected.push((a, b));
                }
            }
        }
        assert_eq!(pairs, &expected);
    }

    #[test]
    fn a_short_run_has_no_fault_that_cannot_be_repaired() {
        let config = PlanConfig::new(5, Duration::from_secs(3));
        assert!(plan(1, &config).is_empty());
    }
}
