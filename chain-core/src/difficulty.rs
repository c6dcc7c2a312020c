//! The retarget rule: a linearly weighted moving average of solve times (LWMA), per block.
//!
//! For a block at height `h` on a network with window `N` and block time `T`:
//!
//! - heights 1 and 2 use `initial_bits` (the genesis time is fixed in the past and says nothing
//!   about the hash rate; from height 3 there is at least one real solve time);
//! - otherwise take the last `n = min(N, h - 2)` solve times among blocks `1..h`, the newest
//!   weighted `n`, the oldest weighted 1. Each timestamp is first made strictly increasing
//!   (`t_i = max(t_i, t_{i-1} + 1)`) and each solve time is capped at `6T`, so a timestamp far in
//!   the past or future moves the target by a bounded step;
//! - `next = Σ(target_i) * Σ(i * solvetime_i) / (n * T * n(n+1)/2)`, the average target scaled
//!   by how much slower than `T` the weighted blocks came, rounded down once, in exact 256-bit
//!   integer arithmetic (a network with a retarget keeps `pow_limit` below 2^248 and its window
//!   below 256, so the sum of targets fits), capped at the network's `pow_limit`, then rounded
//!   down to compact form.
//!
//! A steady hash rate gives a steady target; when miners join or leave, the weighting moves the
//! target most of the way within a window, and never by a factor of 16 in one step as counting hex
//! zeros would.

use crate::block::Header;
use crate::params::ChainParams;
use crate::pow::{CompactTarget, Target};
use crate::units::Height;
use ruint::aliases::U256;

/// How many ancestors (ending with the parent) [`next_bits`] reads for a block at `height`.
pub fn ancestors_needed(params: &ChainParams, height: Height) -> usize {
    match params.retarget_window {
        None => 0,
        Some(_) if height.0 <= 2 => 0,
        // n solve times need n + 1 timestamps, all at heights >= 1.
        Some(window) => (window.min(height.0 - 2) + 1) as usize,
    }
}

/// The `bits` a block at `height` must carry, given its ancestors' headers (oldest first, ending
/// with the parent; the last [`ancestors_needed`] of them are read).
pub fn next_bits(params: &ChainParams, height: Height, ancestors: &[Header]) -> CompactTarget {
    let Some(window) = params.retarget_window else {
        return params.pow_limit;
    };
    let needed = ancestors_needed(params, height);
    if needed == 0 || ancestors.len() < needed {
        return params.initial_bits;
    }
    let headers = &ancestors[ancestors.len() - needed..];
    debug_assert!(headers.len() as u64 <= window + 1);
    let n = (headers.len() - 1) as u64;
    let t = params.target_block_time.max(1);
    let pow_limit = params.pow_limit_target();

    let mut previous = headers[0].time;
    let mut weighted: u64 = 0;
    let mut sum = U256::ZERO;
    for (i, header) in headers.iter().enumerate().skip(1) {
        let time = header.time.max(previous.saturating_add(1));
        let solve_time = (time - previous).min(6 * t);
        previous = time;
        weighted += solve_time * i as u64;
        let target = header.bits.to_target().unwrap_or(pow_limit);
        sum = sum.saturating_add(target.0);
    }
    // floor(sum * weighted / divisor) without a 512-bit product: split sum by the divisor.
    let divisor = U256::from(n * t * n * (n + 1) / 2);
    let weighted = U256::from(weighted.max(1));
    let next = (sum / divisor)
        .checked_mul(weighted)
        .and_then(|high| high.checked_add((sum % divisor) * weighted / divisor))
        .map(Target)
        .unwrap_or(pow_limit);
    let next = if next > pow_limit || next.0 == U256::ZERO {
        pow_limit
    } else {
        next
    };
    next.to_compact()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::HEADER_VERSION;
    use crate::hash::{BlockHash, MerkleRoot};

    fn chain(bits: CompactTarget, times: impl IntoIterator<Item = u64>) -> Vec<Header> {
        times
            .into_iter()
            .map(|time| Header {
                version: HEADER_VERSION,
                prev_hash: BlockHash::ZERO,
                merkle_root: MerkleRoot::ZERO,
                time,
                bits,
                nonce: 0,
            })
            .collect()
    }

    #[test]
    fn regtest_never_retargets() {
        let params = ChainParams::regtest();
        let headers = chain(params.pow_limit, (0..100).map(|i| i * 1000));
        assert_eq!(next_bits(&params, Height(101), &headers), params.pow_limit);
    }

    #[test]
    fn the_first_blocks_use_the_initial_bits() {
        let params = ChainParams::devnet();
        assert_eq!(next_bits(&params, Height(1), &[]), params.initial_bits);
        assert_eq!(next_bits(&params, Height(2), &[]), params.initial_bits);
        assert_eq!(ancestors_needed(&params, Height(3)), 2);
        assert_eq!(ancestors_needed(&params, Height(1000)), 61);
    }

    #[test]
    fn on_time_blocks_keep_the_target() {
        let params = ChainParams::devnet();
        let bits = CompactTarget(0x1d40_0000);
        let headers = chain(bits, (0..61).map(|i| 1_000_000 + i * 10));
        assert_eq!(next_bits(&params, Height(100), &headers), bits);
    }

    #[test]
    fn fast_blocks_raise_difficulty_and_slow_blocks_lower_it_within_bounds() {
        let params = ChainParams::devnet();
        let bits = CompactTarget(0x1d40_0000);
        let target = bits.to_target().unwrap().0;
        let fast = chain(bits, (0..61).map(|i| 1_000_000 + i * 5));
        let fast_target = next_bits(&params, Height(100), &fast)
            .to_target()
            .unwrap()
            .0;
        assert_eq!(
            fast_target,
            target / U256::from(2u8),
            "half the time, half the target"
        );
        // Timestamps a day apart count as 6T each: at most 6x easier.
        let slow = chain(bits, (0..61).map(|i| 1_000_000 + i * 86_400));
        let slow_target = next_bits(&params, Height(100), &slow)
            .to_target()
            .unwrap()
            .0;
        assert_eq!(slow_target, target * U256::from(6u8));
    }

    #[test]
    fn backwards_timestamps_count_as_one_second() {
        let params = ChainParams::devnet();
        let bits = CompactTarget(0x1d40_0000);
        let headers = chain(bits, (0..61).map(|i| 1_000_000 - i));
        let tenth = Target(bits.to_target().unwrap().0 / U256::from(10u8));
        assert_eq!(
            next_bits(&params, Height(100), &headers),
            tenth.to_compact()
        );
    }

    #[test]
    fn the_result_never_exceeds_the_pow_limit() {
        let params = ChainParams::devnet();
        let headers = chain(params.pow_limit, (0..61).map(|i| i * 1_000_000));
        assert_eq!(next_bits(&params, Height(100), &headers), params.pow_limit);
    }

    #[test]
    fn a_short_history_averages_what_there_is() {
        let params = ChainParams::devnet();
        let bits = CompactTarget(0x1d40_0000);
        // Height 3: one solve time, between blocks 1 and 2, of 20 s: twice as easy.
        let headers = chain(bits, [1_000_000, 1_000_020]);
        let next = next_bits(&params, Height(3), &headers)
            .to_target()
            .unwrap()
            .0;
        assert_eq!(next, bits.to_target().unwrap().0 * U256::from(2u8));
    }
}
