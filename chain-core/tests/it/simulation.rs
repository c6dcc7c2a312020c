//! The peer protocol in a deterministic simulated network: many nodes, latency, loss and a
//! partition that heals. Every seed must end with all nodes on one tip and every node's accounts
//! adding up to the coins its chain issued; a failing seed is
//! printed and replays with `SIM_SEED=<seed> cargo test -p chain-core --test it simulation`.

use chain_core::testkit::sim::{SimConfig, simulate};

fn seeds() -> Vec<u64> {
    match std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        Some(seed) => vec![seed],
        None => (0..100).collect(),
    }
}

#[test]
fn fifty_nodes_converge_after_partitions_heal_for_every_seed() {
    let mut failures = Vec::new();
    for seed in seeds() {
        let report = simulate(SimConfig::default(), seed);
        if !report.converged || report.height < 6 || !report.unbalanced.is_empty() {
            eprintln!("simulation failed: SIM_SEED={seed} {report:?}");
            failures.push(seed);
        }
    }
    assert!(
        failures.is_empty(),
        "seeds that did not converge: {failures:?}"
    );
}

/// Three nodes mining as fast as regtest allows (a block every few milliseconds, so every node
/// forks from every other all the time), then quiet: they must still end on one tip.
#[test]
fn three_nodes_mining_fast_converge() {
    let mut failures = Vec::new();
    for seed in seeds().into_iter().take(20) {
        let config = SimConfig {
            nodes: 3,
            latency_ms: (1, 5),
            loss_per_mille: 0,
            blocks: 300,
            block_interval_ms: 3,
            transfers: 20,
            partition: false,
            settle_secs: 300,
            attacks: 0,
        };
        let report = simulate(config, seed);
        if !report.converged || !report.unbalanced.is_empty() {
            eprintln!("simulation failed: SIM_SEED={seed} {report:?}");
            failures.push(seed);
        }
    }
    assert!(
        failures.is_empty(),
        "seeds that did not converge: {failures:?}"
    );
}

/// A long chain: four nodes mine 24,000 blocks together (a block every 100 virtual ms, each by
/// a random node, so every node receives about three quarters of the chain from its peers) and
/// must end on one tip at least 20,000 high, for five seeds. Chains this long once stopped a real sync for good (issue 13).
#[test]
fn four_nodes_agree_on_a_chain_of_twenty_thousand_blocks() {
    let config = SimConfig {
        nodes: 4,
        latency_ms: (1, 20),
        loss_per_mille: 0,
        blocks: 24_000,
        block_interval_ms: 100,
        transfers: 50,
        partition: false,
        settle_secs: 300,
        attacks: 0,
    };
    for seed in seeds().into_iter().take(5) {
        let report = simulate(config.clone(), seed);
        eprintln!(
            "SIM_SEED={seed}: height {}, {} messages",
            report.height, report.delivered
        );
        assert!(report.converged, "SIM_SEED={seed} {report:?}");
        assert!(report.height >= 20_000, "SIM_SEED={seed} {report:?}");
        assert!(report.unbalanced.is_empty(), "SIM_SEED={seed} {report:?}");
    }
}

/// Twenty honest nodes and an adversary that connects now and then from fresh addresses and runs
/// the six attacks of `docs/NETWORK.md` §7 by turns (an invalid orphan whose parent an honest
/// node relays, fee races between neighbours, a block at the future limit, a low-work branch
/// from genesis, a forged orphan, repeated duplicates), 60 attacks a run, for 50 seeds: no
/// honest node may penalise another, every node ends on one tip with its accounts adding up,
/// and the adversary's connections do get banned.
#[test]
fn an_adversary_gets_no_honest_peer_banned_and_the_network_converges() {
    let config = SimConfig {
        nodes: 20,
        blocks: 30,
        transfers: 20,
        attacks: 60,
        ..SimConfig::default()
    };
    let mut failures = Vec::new();
    let (mut bans, mut attacks) = (0, 0);
    for seed in seeds().into_iter().take(50) {
        let report = simulate(config.clone(), seed);
        bans += report.adversary_bans;
        attacks += report.attacks;
        if !report.converged || report.honest_penalties > 0 || !report.unbalanced.is_empty() {
            eprintln!("simulation failed: SIM_SEED={seed} {report:?}");
            failures.push(seed);
        }
    }
    eprintln!("{attacks} attacks, {bans} of the adversary's connections banned");
    assert!(failures.is_empty(), "seeds that failed: {failures:?}");
    assert!(
        bans > attacks / 6,
        "the attacks that must get it banned did: {bans} of {attacks}"
    );
}
