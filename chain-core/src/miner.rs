//! The reference miner: one thread, one nonce at a time, plain SHA-256d. It defines what the fast
//! miner must find, and mines regtest blocks in tests, where a couple of hashes suffice.

use crate::block::Header;

/// Searches nonces from `header.nonce` upwards (at most `max_tries`) for one whose hash meets
/// the header's target; sets it and returns `true` if found.
pub fn mine_reference(header: &mut Header, max_tries: u64) -> bool {
    let Some(target) = header.bits.to_target() else {
        return false;
    };
    for _ in 0..max_tries {
        if target.is_met_by(&header.hash().0) {
            return true;
        }
        header.nonce = header.nonce.wrapping_add(1);
    }
    false
}
