//! A fee suggestion read from the mempool as it stands: what a transfer should pay per byte to
//! be in the next block, or within a few.
//!
//! Blocks take ready transfers by fee rate (`Mempool::select`), so packing the pending
//! transfers, highest rate first, into blocks of the network's size tells where each block's
//! boundary falls; a transfer paying one more per byte than the first transfer past the `n`th
//! boundary is ahead of everything that does not fit in `n` blocks. While the mempool fits in
//! `n` blocks the minimum rate the nodes relay is enough.
//!
//! This is a projection of what is pending now, like a block explorer's "projected blocks", not
//! an estimate from how long past transfers waited (Bitcoin Core's `estimatesmartfee`): it
//! ignores transfers that arrive later, senders' nonce gaps and balances, and the fact that a
//! miner may pick differently. On a quiet network it says the minimum, which is right.

use crate::mempool::Mempool;

/// Fee rates, in base units per encoded byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeRates {
    /// The least the nodes relay (`MempoolPolicy::min_fee_per_byte`).
    pub minimum: u64,
    /// To be in the next block, if mined now.
    pub next_block: u64,
    /// To be within the next 3 blocks.
    pub within_3_blocks: u64,
    /// To be within the next 6 blocks.
    pub within_6_blocks: u64,
}

/// The rates `mempool` calls for, with blocks of at most `block_bytes` of transfers.
pub fn suggest(mempool: &Mempool, block_bytes: usize) -> FeeRates {
    let minimum = mempool.policy().min_fee_per_byte;
    // Highest rate first.
    let pending: Vec<(u64, usize)> = mempool
        .entries()
        .into_iter()
        .map(|entry| (entry.transfer.fee.0, entry.size))
        .collect();
    let to_be_within = |blocks: usize| {
        let room = block_bytes.saturating_mul(blocks);
        let mut used = 0usize;
        for &(fee, size) in &pending {
            used = used.saturating_add(size);
            if used > room {
                // This one does not fit: pay strictly more per byte than it does.
                return (fee / size.max(1) as u64).saturating_add(1).max(minimum);
            }
        }
        minimum
    };
    FeeRates {
        minimum,
        next_block: to_be_within(1),
        within_3_blocks: to_be_within(3),
        within_6_blocks: to_be_within(6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;
    use crate::error::StoreError;
    use crate::mempool::MempoolPolicy;
    use crate::params::ChainParams;
    use crate::state::{Account, AccountRead};
    use crate::testkit::{address, key, transfer};
    use crate::units::{Amount, COIN};

    /// Every sender has a coin.
    struct Funded;
    impl AccountRead for Funded {
        fn account(&self, _: &Address) -> Result<Account, StoreError> {
            Ok(Account {
                balance: Amount(COIN),
                nonce: 0,
            })
        }
    }

    /// A mempool of `count` transfers from distinct senders, the `i`th paying `fee(i)`.
    fn pool(count: u64, fee: impl Fn(u64) -> u64) -> (Mempool, usize) {
        let network = ChainParams::regtest().network_id;
        let mut mempool = Mempool::new(MempoolPolicy::default());
        let mut size = 0;
        for i in 0..count {
            let t = transfer(&key(100 + i), address(1), 1_000, fee(i), 0, network);
            size = t.encoded_len();
            mempool.insert(t, network, &Funded, 0).unwrap().unwrap();
        }
        (mempool, size)
    }

    #[test]
    fn a_mempool_that_fits_in_a_block_needs_only_the_minimum() {
        let (mempool, size) = pool(10, |i| 1_000 + i);
        let rates = suggest(&mempool, 10 * size);
        assert_eq!(
            rates,
            FeeRates {
                minimum: 1,
                next_block: 1,
                within_3_blocks: 1,
                within_6_blocks: 1
            }
        );
    }

    #[test]
    fn a_full_mempool_asks_for_more_than_the_first_transfer_past_each_boundary() {
        // 40 transfers, paying 40 000, 39 000, ... 1 000: blocks of 10 transfers.
        let (mempool, size) = pool(40, |i| 1_000 * (40 - i));
        let rates = suggest(&mempool, 10 * size);
        let rate = |fee: u64| fee / size as u64 + 1;
        // The 11th (30 000), the 31st (10 000); six blocks hold all 40.
        assert_eq!(rates.next_block, rate(30_000));
        assert_eq!(rates.within_3_blocks, rate(10_000));
        assert_eq!(rates.within_6_blocks, 1);
        assert!(rates.next_block > rates.within_3_blocks);
        // A transfer paying the suggestion per byte outbids the first left out.
        assert!(rates.next_block * size as u64 > 30_000);
    }
}
