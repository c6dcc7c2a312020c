//! The chaos itself: the plan's faults applied on time, transfers sent to random live nodes,
//! and the nodes asked about them, until the plan's time is up.

use super::{FEE, Harness, MAX_OUTSTANDING, PlanKind, SEND_AMOUNT_MEAN, pairs_text};
use crate::chaos::Error;
use crate::chaos::api::{Submitted, TxState};
use crate::chaos::plan::{Action, PlanConfig, partitions, plan};
use crate::chaos::watch::Watch;
use crate::sys;
use chain_core::tx::Transfer;
use chain_core::units::Amount;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How many wallets [`Harness::send_one`] draws before it gives up a send because every one it
/// drew waits on its window.
const WALLET_DRAWS: usize = 8;

impl Harness {
    fn apply(&mut self, action: &Action) -> Result<(), Error> {
        match action {
            Action::Kill(node) => {
                self.nodes[*node].kill();
                self.ready[*node] = false;
                self.figures.killed += 1;
                self.say(&format!("SIGKILL node {node}"));
            }
            Action::Restart(node) => {
                self.nodes[*node].start(&self.binary, self.options.bits)?;
                self.figures.restarted += 1;
                self.say(&format!("restart node {node}"));
            }
            Action::Cut {
                pairs,
                mode,
                partition,
            } => {
                for pair in pairs {
                    let count = self.cuts.entry(*pair).or_default();
                    *count += 1;
                    if *count == 1 {
                        for link in [(pair.0, pair.1), (pair.1, pair.0)] {
                            if let Some(link) = self.links.get(&link) {
                                link.cut(*mode);
                            }
                        }
                        // On a testbed every cut drops packets (as `Hold` holds connections).
                        if let Some(testbed) = &self.testbed {
                            testbed.switch().cut(pair.0, pair.1);
                        }
                    }
                }
                self.healed_at = None;
                self.figures.links_cut += pairs.len() as u32;
                self.figures.partitions += u32::from(*partition);
                self.say(&format!(
                    "{} {} ({mode:?})",
                    if *partition { "partition, cut" } else { "cut" },
                    pairs_text(pairs)
                ));
            }
            Action::Heal(pairs) => {
                for pair in pairs {
                    let count = self.cuts.entry(*pair).or_default();
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        for link in [(pair.0, pair.1), (pair.1, pair.0)] {
                            if let Some(link) = self.links.get(&link) {
                                link.heal();
                            }
                        }
                        if let Some(testbed) = &self.testbed {
                            testbed.switch().heal(pair.0, pair.1);
                        }
                    }
                }
                if self.cuts.values().all(|&c| c == 0) {
                    self.healed_at = Some(Instant::now());
                }
                self.say(&format!("heal {}", pairs_text(pairs)));
            }
        }
        Ok(())
    }

    /// Starts again a node that died by itself (a crash, recorded as a failure by
    /// [`Node::running`]), at most three times per node.
    fn revive_crashed(&mut self, should_run: &[bool]) -> Result<(), Error> {
        for (i, &should_run) in should_run.iter().enumerate() {
            let crashes = self.nodes[i].crashes.len();
            if should_run
                && !self.nodes[i].running()
                && crashes > self.revived[i]
                && self.revived[i] < 3
            {
                self.revived[i] += 1;
                self.say(&format!("node {i} crashed: starting it again"));
                self.nodes[i].start(&self.binary, self.options.bits)?;
            }
        }
        Ok(())
    }

    /// Offers `transfer` to `node`, counting the submission and the time its answer took.
    pub(super) fn submit(&mut self, node: usize, transfer: &Transfer) -> Result<Submitted, Error> {
        self.figures.submissions += 1;
        let asked = Instant::now();
        let answer = self.nodes[node].api().submit(transfer);
        self.figures.submit_secs += asked.elapsed().as_secs_f64();
        answer
    }

    /// Sends one transfer between wallets, to a random live node.
    fn send_one(&mut self, live: &[usize]) {
        let Some(node) = self.pick(live) else { return };
        let wallets = self.keys.wallets.len();
        // A wallet waiting on its window lets another send in its place (a few draws at most),
        // so the rate asked is what the wallets together offer while some wait.
        let Some(s) = (0..WALLET_DRAWS)
            .map(|_| self.rng.below(wallets as u64) as usize)
            .find(|&s| {
                let wallet = &self.keys.wallets[s];
                wallet.unaccepted.is_some() || self.book.outstanding(&wallet.name) < MAX_OUTSTANDING
            })
        else {
            self.figures.sends_skipped += 1;
            return;
        };
        let name = self.keys.wallets[s].name.clone();
        // Mostly to another wallet; now and then to a miner (coins may leave the wallets).
        let to = if self.rng.chance(10) && !self.keys.miners.is_empty() {
            let m = self.rng.below(self.keys.miners.len() as u64) as usize;
            self.keys.miners[m].address
        } else {
            let r = (s + 1 + self.rng.below(wallets as u64 - 1) as usize) % wallets;
            self.keys.wallets[r].address
        };
        // 1,000 units to 0.01 coin: `SEND_AMOUNT_MEAN` on average.
        let amount = Amount(1_000 + self.rng.below(2 * (SEND_AMOUNT_MEAN.0 - 1_000)));
        let transfer = self.keys.wallets[s].transfer(self.params.network_id, to, amount, FEE);
        let txid = transfer.txid();
        self.book.signed(txid, &name, transfer.nonce);
        match self.submit(node, &transfer) {
            Ok(Submitted::Accepted) => {
                self.keys.wallets[s].accepted();
                self.book.accepted(&txid);
            }
            Ok(Submitted::Refused { code }) => {
                *self.figures.refused.entry(code).or_default() += 1;
            }
            Err(_) => self.figures.unanswered += 1,
        }
    }

    /// Asks random live nodes about two transfers: an unconfirmed one (a check on
    /// [`Harness::follow_chain`], which learns confirmations from blocks) and a confirmed one,
    /// which must stay so (or be seen moved by a reorg).
    fn look_up(&mut self, live: &[usize], cursor: &mut usize) {
        let unconfirmed = self.book.unconfirmed();
        let confirmed = self.book.ever_confirmed();
        // The first lookup takes a confirmed transfer too while none is unconfirmed.
        for confirmed_only in [false, true] {
            let txid = if !confirmed_only && !unconfirmed.is_empty() {
                *cursor = (*cursor + 1) % unconfirmed.len();
                unconfirmed[*cursor]
            } else if !confirmed.is_empty() {
                confirmed[self.rng.below(confirmed.len() as u64) as usize]
            } else {
                continue;
            };
            let Some(node) = self.pick(live) else { return };
            self.figures.lookups += 1;
            if let Ok(TxState::Confirmed { block, height }) = self.nodes[node].api().transfer(&txid)
                && self.book.confirmed(&txid, block, height, node)
            {
                self.say(&format!(
                    "transfer {txid} moved: now in {block} at {height} on node {node}"
                ));
            }
        }
    }

    pub(super) fn chaos(&mut self) -> Result<(), Error> {
        let duration = Duration::from_secs(self.options.seconds);
        let events = match self.options.plan {
            PlanKind::Chaos => plan(
                self.options.seed,
                &PlanConfig::new(self.options.nodes, duration),
            ),
            PlanKind::Partitions => partitions(self.options.seed, self.options.nodes, duration),
        };
        self.say(&format!(
            "chaos: {} planned events over {} s",
            events.len(),
            self.options.seconds
        ));
        let begin = Instant::now();
        let mut next_event = 0;
        let mut should_run = vec![true; self.nodes.len()];
        let send_every = Duration::from_secs_f64(1.0 / f64::from(self.options.rate.max(1)));
        let mut next_send = begin;
        let mut next_lookup = begin;
        let mut next_status = begin;
        let mut next_agreement = begin;
        let mut next_report = begin + Duration::from_secs(10);
        let mut next_minute = begin + Duration::from_secs(60);
        let mut accepted_before = self.book.tally(&BTreeMap::new()).accepted;
        let mut cursor = 0;
        while begin.elapsed() < duration {
            let now = begin.elapsed();
            while next_event < events.len() && events[next_event].at <= now {
                let action = events[next_event].action.clone();
                match &action {
                    Action::Kill(n) => should_run[*n] = false,
                    Action::Restart(n) => should_run[*n] = true,
                    _ => {}
                }
                self.apply(&action)?;
                next_event += 1;
            }
            self.revive_crashed(&should_run)?;
            let live = self.live();
            // Catching up after a slow step, but never more than a second's worth at once.
            let mut sends = 0;
            while Instant::now() >= next_send && sends <= self.options.rate {
                self.send_one(&live);
                next_send += send_every;
                sends += 1;
            }
            if let Some(healed) = self.healed_at
                && Instant::now() >= next_agreement
            {
                if self.agreed_tip().is_some() {
                    self.figures
                        .converged_after_heal
                        .push(healed.elapsed().as_secs_f64());
                    self.healed_at = None;
                }
                next_agreement = Instant::now() + Duration::from_millis(250);
            }
            if Instant::now() >= next_lookup {
                let asked = Instant::now();
                self.follow_chain(&live);
                self.figures.follow_secs += asked.elapsed().as_secs_f64();
                self.look_up(&live, &mut cursor);
                next_lookup = Instant::now() + Duration::from_millis(100);
            }
            if Instant::now() >= next_status {
                self.statuses();
                next_status = Instant::now() + Duration::from_secs(1);
            }
            if Instant::now() >= next_report {
                self.progress();
                next_report += Duration::from_secs(10);
            }
            if Instant::now() >= next_minute {
                let accepted = self.book.tally(&BTreeMap::new()).accepted;
                self.figures
                    .accepted_each_minute
                    .push(accepted - accepted_before);
                accepted_before = accepted;
                next_minute += Duration::from_secs(60);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Events due at the very end (repairs clamped to the duration).
        while next_event < events.len() {
            let action = events[next_event].action.clone();
            self.apply(&action)?;
            next_event += 1;
        }
        self.figures.chaos_secs = begin.elapsed().as_secs_f64();
        self.figures.blocks_read = self.follower.blocks_read();
        self.figures.chaos_end_height = self.heights.iter().flatten().copied().max().unwrap_or(0);
        if let Some(watch) = &self.watch {
            self.figures.reorgs = watch.reorgs();
        }
        self.figures.tips_seen = self.tips_seen.len();
        Ok(())
    }

    fn progress(&mut self) {
        let heights: Vec<String> = (0..self.nodes.len())
            .map(|i| {
                if self.ready[i] {
                    self.heights[i].map_or("?".into(), |h| h.to_string())
                } else {
                    "down".into()
                }
            })
            .collect();
        let cut: Vec<String> = self
            .cuts
            .iter()
            .filter(|(_, c)| **c > 0)
            .map(|(p, _)| format!("{}-{}", p.0, p.1))
            .collect();
        let reorgs = self.watch.as_ref().map(Watch::reorgs).unwrap_or_default();
        let tally = self.book.tally(&BTreeMap::new());
        self.say(&format!(
            "heights [{}], cut [{}], transfers signed {} accepted {} confirmed {} moved {}, reorgs {} (deepest {}), load {}",
            heights.join(" "),
            cut.join(" "),
            tally.signed,
            tally.accepted,
            tally.ever_confirmed,
            tally.moved,
            reorgs.events,
            reorgs.deepest,
            sys::load_average()
        ));
    }
}
