//! Timestamp attacks on the retarget (issue: one future timestamp raised devnet's difficulty
//! 21.9-fold). A seeded model of mining: a constant hash rate finds each block after an
//! exponentially distributed time whose mean is the block's difficulty over that rate (the
//! target block time at the initial difficulty), every header is built with the real
//! `next_bits` and must pass the real `check_header_in_context` at the moment it is found, and
//! an attacker who finds a share of the blocks stamps them as a strategy says, within the rules.
//!
//! What is measured: the difficulty over the initial one (the swing), and the real time the
//! chain took per block (what honest users wait), with and without the attack.

use chain_core::block::{HEADER_VERSION, Header};
use chain_core::difficulty::next_bits;
use chain_core::hash::{BlockHash, MerkleRoot};
use chain_core::params::ChainParams;
use chain_core::pow::CompactTarget;
use chain_core::testkit::Rng;
use chain_core::units::Height;
use chain_core::validate::{check_header_in_context, median_time_past};

/// How an attacker stamps its blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    /// The real time (what honest miners do).
    Honest,
    /// As far in the future as arrival allows.
    Future,
    /// Just past the median time past: as far in the past as the rules allow.
    Floor,
    /// Future and floor by turns.
    Alternating,
}

/// What a run saw.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    /// Highest difficulty over the initial one.
    max_swing: f64,
    /// Lowest difficulty over the initial one.
    min_swing: f64,
    /// Real seconds per block over the run.
    block_time: f64,
}

fn difficulty(bits: CompactTarget) -> f64 {
    bits.to_target().unwrap().work().as_f64()
}

/// Mines `blocks` blocks on devnet's rules after a steady history; block `i` is the attacker's
/// when `attacker(i)` says so. `noise`: exponential solve times (else each takes exactly its
/// expected time).
fn run(
    params: &ChainParams,
    blocks: usize,
    mut attacker: impl FnMut(usize, &mut Rng) -> bool,
    stamp: Stamp,
    noise: bool,
    seed: u64,
) -> Outcome {
    let t = params.target_block_time;
    let window = params.retarget_window.unwrap() as usize;
    let initial = difficulty(params.initial_bits);
    let start = 1_800_000_000u64;
    // A steady history: the window's blocks on time at the initial difficulty.
    let mut headers: Vec<Header> = (0..=window as u64)
        .map(|i| header(params.initial_bits, start + i * t))
        .collect();
    let mut now = (start + window as u64 * t) as f64;
    let mut rng = Rng::new(seed);
    let (mut max_swing, mut min_swing) = (1.0f64, 1.0f64);
    let mut alternate = false;
    let began = now;
    for (i, height) in (0..blocks).zip(1_000u64..) {
        let ancestors = &headers[headers.len() - (window + 1)..];
        let bits = next_bits(params, Height(height), ancestors);
        let ratio = difficulty(bits) / initial;
        max_swing = max_swing.max(ratio);
        min_swing = min_swing.min(ratio);
        let mean = t as f64 * ratio;
        let solve = if noise {
            // Exponential: -ln(U) * mean, U in (0, 1].
            let u = (rng.below(1 << 53) + 1) as f64 / (1u64 << 53) as f64;
            -u.ln() * mean
        } else {
            mean
        };
        now += solve;
        let clock = now as u64;
        let mtp = median_time_past(params, ancestors);
        let honest = clock.max(mtp + 1);
        let time = if attacker(i, &mut rng) {
            let future = clock + params.max_future_block_time;
            match stamp {
                Stamp::Honest => honest,
                Stamp::Future => future,
                Stamp::Floor => mtp + 1,
                Stamp::Alternating => {
                    alternate = !alternate;
                    if alternate { future } else { mtp + 1 }
                }
            }
        } else {
            honest
        };
        let found = header(bits, time);
        check_header_in_context(params, &found, Height(height), ancestors, clock)
            .expect("every stamp is within the rules");
        headers.push(found);
    }
    Outcome {
        max_swing,
        min_swing,
        block_time: (now - began) / blocks as f64,
    }
}

fn header(bits: CompactTarget, time: u64) -> Header {
    Header {
        version: HEADER_VERSION,
        prev_hash: BlockHash::ZERO,
        merkle_root: MerkleRoot::ZERO,
        time,
        bits,
        nonce: 0,
    }
}

/// Attack 3: a single block stamped as far ahead as arrival allows, in a steady chain, made
/// the honest blocks after it count as 1 s solve times (21.9 times the difficulty at the peak,
/// 3,064 s for 43 blocks instead of about 430 s). Now the difficulty moves by a few percent.
#[test]
fn one_future_timestamp_barely_moves_the_difficulty() {
    let params = ChainParams::devnet();
    let quiet = run(&params, 300, |_, _| false, Stamp::Honest, false, 1);
    assert!((quiet.max_swing - 1.0).abs() < 1e-6 && (quiet.min_swing - 1.0).abs() < 1e-6);
    let attacked = run(&params, 300, |i, _| i == 100, Stamp::Future, false, 1);
    println!(
        "one stamp {}s ahead: {attacked:?}",
        params.max_future_block_time
    );
    assert!(
        attacked.max_swing < 1.10 && attacked.min_swing > 0.90,
        "{attacked:?}"
    );
    let t = params.target_block_time as f64;
    assert!(attacked.block_time < 1.05 * t, "{attacked:?}");
}

/// The property: over seeds, an attacker with a tenth or a third of the hash rate stamping every
/// block of its own far ahead, at the floor, or by turns, keeps the difficulty within a bounded
/// swing and the chain's block time near the target. Bounds: the swing an honest run of the
/// same seed shows, widened by the attack's allowance.
#[test]
fn timestamp_attacks_keep_the_difficulty_and_the_block_time_bounded() {
    let params = ChainParams::devnet();
    let t = params.target_block_time as f64;
    let mut worst = (1.0f64, 1.0f64, t, t);
    for seed in 0..12u64 {
        let honest = run(&params, 1_500, |_, _| false, Stamp::Honest, true, seed);
        for share in [10u64, 33] {
            for stamp in [Stamp::Future, Stamp::Floor, Stamp::Alternating] {
                let attacked = run(
                    &params,
                    1_500,
                    |_, rng| rng.chance(share),
                    stamp,
                    true,
                    seed,
                );
                let context =
                    format!("seed {seed}, {share} %, {stamp:?}: {attacked:?} vs {honest:?}");
                assert!(attacked.max_swing < 2.0, "{context}");
                assert!(attacked.min_swing > 0.5, "{context}");
                assert!(
                    (0.8 * t..1.25 * t).contains(&attacked.block_time),
                    "{context}"
                );
                worst.0 = worst.0.max(attacked.max_swing);
                worst.1 = worst.1.min(attacked.min_swing);
                worst.2 = worst.2.min(attacked.block_time);
                worst.3 = worst.3.max(attacked.block_time);
            }
        }
    }
    println!(
        "worst: difficulty {:.3}x..{:.3}x, block time {:.2}..{:.2} s",
        worst.1, worst.0, worst.2, worst.3
    );
}
