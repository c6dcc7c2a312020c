//! Learning confirmations from the chain: the harness reads each new block of the nodes' best
//! chains once and notes every transfer of its own in it.
//!
//! Why blocks and not a lookup per transfer: a wallet waits while it has too many transfers not
//! yet seen confirmed, so the rate the harness can sustain is the rate it learns confirmations
//! at. Asked one transfer at a time (one request each), that rate was the lookups' own, about
//! 110 a second, and a run asked for 100 transfers a second fell to 46 once wallets waited on
//! each other. A block holds hundreds of transfers and costs one request.
//!
//! The walk goes from a node's tip back along parents until it meets a block already read, so
//! every block of every best chain the harness saw is read, reorgs included: a transfer that a
//! reorg moved shows up in the new block as well, which the book records as moved.

use super::Harness;
use chain_core::hash::BlockHash;
use std::collections::BTreeSet;

/// Blocks read per call at most, so that a long catch-up does not stall the sending; the walk
/// goes on where it stopped at the next call.
const BLOCKS_PER_CALL: usize = 64;

/// What the harness has read of the chains.
#[derive(Debug, Default)]
pub(super) struct Follower {
    /// Every block read, by hash (its transfers are in the book).
    read: BTreeSet<BlockHash>,
    /// Walks cut short by [`BLOCKS_PER_CALL`]: the node and the block to go on from.
    unfinished: Vec<(usize, BlockHash)>,
    /// The node asked last (nodes are taken in turn).
    turn: usize,
}

impl Follower {
    /// Blocks read so far.
    pub(super) fn blocks_read(&self) -> usize {
        self.read.len()
    }
}

impl Harness {
    /// Reads the new blocks of one live node's best chain (the next in turn), at most
    /// [`BLOCKS_PER_CALL`], and notes the harness's transfers in them as confirmed.
    pub(super) fn follow_chain(&mut self, live: &[usize]) {
        if live.is_empty() {
            return;
        }
        let (node, from) = match self.follower.unfinished.pop() {
            Some((node, from)) if live.contains(&node) => (node, from),
            _ => {
                self.follower.turn = (self.follower.turn + 1) % live.len();
                let node = live[self.follower.turn];
                let Ok(status) = self.nodes[node].api().status() else {
                    return;
                };
                self.tips_seen.insert(status.tip);
                self.heights[node] = Some(status.height.0);
                (node, status.tip)
            }
        };
        let api = self.nodes[node].api();
        let mut hash = from;
        for _ in 0..BLOCKS_PER_CALL {
            if self.follower.read.contains(&hash) {
                return;
            }
            // A node that does not answer, or that left this chain meanwhile: the next walk from
            // a tip finds whatever of it is still best. (The genesis block's parent is unknown
            // too: the first walk ends there.)
            let Ok(Some(block)) = api.block(&hash) else {
                return;
            };
            if !block.in_best_chain {
                return;
            }
            for tx in &block.txs {
                if self
                    .book
                    .confirmed(&tx.txid, block.summary.hash, block.summary.height, node)
                {
                    self.say(&format!(
                        "transfer {} moved: now in {} at {} on node {node}",
                        tx.txid, block.summary.hash, block.summary.height
                    ));
                }
            }
            self.follower.read.insert(hash);
            hash = block.prev_hash;
        }
        self.follower.unfinished.push((node, hash));
    }
}
