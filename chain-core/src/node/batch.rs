//! When blocks are committed, and when the lookup indexes are deferred and caught up.
//!
//! Group commit: a block from a peer opens a store batch, and the blocks that follow it join
//! it, up to [`MAX_BATCH`], until any other input arrives (a message, a command, the tick) or
//! the download is over; the batch then commits as one transaction. A sync thus pays one commit
//! per batch instead of two per block, and a crash keeps a batch whole or loses it whole.
//!
//! Index deferral: while the node is far behind, the store may leave its lookup indexes (txid,
//! address history) for later. They are caught up one run at a time whenever no input is
//! waiting, once the node is no longer far behind or no batch has come for [`SYNC_STALL_SECS`]
//! (the sync is over, or stalled).

use crate::Error;
use crate::store::Store;
use crate::store::{Batches, IndexWrite};

/// Blocks stored in one batch at most. A batch also ends at any other input, such as the
/// once-a-second tick, so it holds about a second of blocks at most.
pub const MAX_BATCH: u64 = 1024;

/// Transactions added to the lookup indexes per catch-up run: about a tenth of a second of the
/// core thread on the development machine (0.45 s for 110,000), so that inputs wait little.
pub const INDEX_CATCH_UP: usize = 20_000;

/// Seconds without a batch of blocks that count as a stalled sync: the indexes are then caught
/// up although the node is still far behind (its sync peer left, or withholds the blocks).
pub const SYNC_STALL_SECS: u64 = 2;

/// Upper bounds (microseconds) of the buckets of [`BatchStats::commit_buckets`]; a last bucket
/// counts the commits slower than all of them.
pub const COMMIT_BUCKETS_MICROS: [u64; 10] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
];

/// Batches committed, the blocks in them, and the time spent committing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Batches committed.
    pub batches: u64,
    /// Blocks stored in them.
    pub blocks: u64,
    /// Nanoseconds spent in the commits (a measurement only: no decision reads it).
    pub commit_ns: u64,
    /// Commits by how long each took: bucket `i` counts those of at most
    /// [`COMMIT_BUCKETS_MICROS`]`[i]` and more than the bucket before; the last, the slower.
    pub commit_buckets: [u64; COMMIT_BUCKETS_MICROS.len() + 1],
}

impl BatchStats {
    fn record_commit(&mut self, blocks: u64, took: std::time::Duration) {
        self.batches += 1;
        self.blocks += blocks;
        self.commit_ns += u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let bucket = COMMIT_BUCKETS_MICROS
            .iter()
            .position(|&bound| micros <= bound)
            .unwrap_or(COMMIT_BUCKETS_MICROS.len());
        self.commit_buckets[bucket] += 1;
    }
}

/// The store-batch and index policy of a node.
#[derive(Debug)]
pub(super) struct BatchPolicy {
    /// Blocks in the open batch (`None`: no batch open).
    open: Option<u64>,
    /// Whether the lookup indexes may be behind the tip.
    indexes_behind: bool,
    /// When the last batch committed (unix seconds).
    last_commit: Option<u64>,
    stats: BatchStats,
}

impl BatchPolicy {
    pub(super) fn new() -> Self {
        Self {
            open: None,
            // Perhaps left behind by a sync that stopped: the first idle moment finds out.
            indexes_behind: true,
            last_commit: None,
            stats: BatchStats::default(),
        }
    }

    pub(super) fn is_open(&self) -> bool {
        self.open.is_some()
    }

    pub(super) fn stats(&self) -> BatchStats {
        self.stats
    }

    /// Before a block is stored: opens a batch if none is, and lets the store defer its indexes
    /// while the node is `far_behind`.
    pub(super) fn before_block<S: Store>(
        &mut self,
        store: &mut S,
        far_behind: bool,
    ) -> Result<(), Error> {
        if self.open.is_none() {
            store.begin_batch()?;
            self.open = Some(0);
        }
        self.indexes_behind |= far_behind;
        store.defer_indexes(far_behind);
        Ok(())
    }

    /// After a block was handled: whether the batch is full and must commit now.
    pub(super) fn after_block(&mut self) -> bool {
        match &mut self.open {
            Some(blocks) => {
                *blocks += 1;
                *blocks >= MAX_BATCH
            }
            None => false,
        }
    }

    /// Commits the open batch, if any; answers whether one was open.
    pub(super) fn commit<S: Batches + IndexWrite>(
        &mut self,
        store: &mut S,
        now: u64,
    ) -> Result<bool, Error> {
        let Some(blocks) = self.open.take() else {
            return Ok(false);
        };
        let started = std::time::Instant::now();
        let committed = store.end_batch();
        store.defer_indexes(false);
        self.last_commit = Some(now);
        self.stats.record_commit(blocks, started.elapsed());
        committed?;
        Ok(true)
    }

    /// Whether blocks are streaming in: far behind, with a batch committed within
    /// [`SYNC_STALL_SECS`]. The indexes wait while they are.
    fn syncing_blocks(&self, far_behind: bool, now: u64) -> bool {
        far_behind
            && self
                .last_commit
                .is_some_and(|at| now < at.saturating_add(SYNC_STALL_SECS))
    }

    /// With no input waiting: adds one run of blocks to the lookup indexes if they are behind and
    /// no sync is streaming. Answers whether more runs are needed.
    pub(super) fn catch_up<S: IndexWrite>(
        &mut self,
        store: &mut S,
        far_behind: bool,
        now: u64,
    ) -> Result<bool, Error> {
        if !self.indexes_behind || self.syncing_blocks(far_behind, now) {
            return Ok(false);
        }
        self.indexes_behind = store.catch_up_indexes(INDEX_CATCH_UP)?;
        Ok(self.indexes_behind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn a_batch_is_full_at_max_batch_blocks() {
        let mut store = MemoryStore::new();
        let mut policy = BatchPolicy::new();
        for _ in 1..MAX_BATCH {
            policy.before_block(&mut store, true).unwrap();
            assert!(!policy.after_block());
        }
        policy.before_block(&mut store, true).unwrap();
        assert!(policy.after_block());
        assert!(policy.commit(&mut store, 100).unwrap());
        assert!(!policy.is_open());
        assert!(!policy.commit(&mut store, 100).unwrap(), "nothing open");
        assert_eq!(policy.stats().batches, 1);
        assert_eq!(policy.stats().blocks, MAX_BATCH);
    }

    #[test]
    fn each_commit_is_counted_in_the_bucket_of_its_time() {
        use std::time::Duration;
        let mut stats = BatchStats::default();
        stats.record_commit(3, Duration::from_micros(250));
        stats.record_commit(1, Duration::from_micros(251));
        stats.record_commit(1, Duration::from_secs(2));
        assert_eq!(stats.commit_buckets[0], 1, "at most its bound");
        assert_eq!(stats.commit_buckets[1], 1);
        assert_eq!(
            stats.commit_buckets[COMMIT_BUCKETS_MICROS.len()],
            1,
            "slower than all"
        );
        assert_eq!((stats.batches, stats.blocks), (3, 5));
        assert_eq!(stats.commit_ns, 2_000_501_000);
    }

    #[test]
    fn indexes_wait_while_blocks_stream_in_and_catch_up_once_the_sync_stalls() {
        let mut store = MemoryStore::new();
        let mut policy = BatchPolicy::new();
        policy.before_block(&mut store, true).unwrap();
        policy.after_block();
        policy.commit(&mut store, 100).unwrap();
        assert!(policy.syncing_blocks(true, 100 + SYNC_STALL_SECS - 1));
        assert!(
            !policy.syncing_blocks(true, 100 + SYNC_STALL_SECS),
            "stalled"
        );
        assert!(
            !policy.syncing_blocks(false, 100),
            "caught up with the best header"
        );
        // The memory store keeps no deferred index: one run finds nothing left.
        assert!(!policy.catch_up(&mut store, false, 100).unwrap());
        assert!(!policy.indexes_behind);
    }
}
