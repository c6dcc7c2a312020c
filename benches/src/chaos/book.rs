//! The harness's record of every transfer it signed: which node accepted it, and every block any
//! node ever reported it confirmed in.
//!
//! Why keep every block and not just "confirmed": a transfer confirmed in a block that a reorg
//! later abandons must come back (into a mempool, then a block of the winning chain). The final
//! chain tells where each transfer ended; comparing that with the blocks seen during the run
//! tells a transfer that stayed put from one that was reorganised and mined again, and from one
//! that was lost, which is the failure this harness exists to catch.

use chain_core::hash::{BlockHash, Txid};
use chain_core::units::Height;
use std::collections::BTreeMap;

/// One signed transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Who sent it (the harness's name for the key).
    pub sender: String,
    /// Its nonce.
    pub nonce: u64,
    /// Whether some node accepted it (or showed that it already had it).
    pub accepted: bool,
    /// Every distinct block it was reported confirmed in, in the order first seen, with the
    /// height and the node that reported it.
    pub blocks: Vec<(BlockHash, Height, usize)>,
}

/// Where a transfer reported confirmed during the run ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// In the final chain, in the only block it was ever seen in.
    Confirmed,
    /// In the final chain, after being seen in a block the final chain does not have: reorganised
    /// back into a mempool and mined again (or mined on both sides of a split).
    Remined,
    /// Not in the final chain: a confirmed transfer was lost.
    Lost,
}

/// Counts for the report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Transfers signed.
    pub signed: usize,
    /// Transfers some node accepted.
    pub accepted: usize,
    /// Transfers some node reported confirmed at some point.
    pub ever_confirmed: usize,
    /// Of those, confirmed in the final chain in the block first seen.
    pub confirmed: usize,
    /// Of those, reorganised and mined again.
    pub remined: usize,
    /// Of those, not in the final chain.
    pub lost: usize,
    /// Reported confirmed in more than one block during the run.
    pub moved: usize,
}

/// Every transfer the harness signed, by txid.
#[derive(Debug, Default)]
pub struct Book {
    records: BTreeMap<Txid, Record>,
    /// Per sender, its transfers accepted and not yet seen confirmed (kept with `records`, so
    /// a wallet's window is known without a walk over every record).
    outstanding: BTreeMap<String, usize>,
}

impl Book {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Notes a newly signed transfer (a second call for the same txid changes nothing).
    pub fn signed(&mut self, txid: Txid, sender: &str, nonce: u64) {
        self.records.entry(txid).or_insert_with(|| Record {
            sender: sender.to_string(),
            nonce,
            accepted: false,
            blocks: Vec::new(),
        });
    }

    /// Notes that a node accepted the transfer.
    pub fn accepted(&mut self, txid: &Txid) {
        if let Some(record) = self.records.get_mut(txid)
            && !record.accepted
        {
            record.accepted = true;
            if record.blocks.is_empty() {
                *self.outstanding.entry(record.sender.clone()).or_default() += 1;
            }
        }
    }

    /// How many of `sender`'s transfers were accepted and not yet seen confirmed.
    pub fn outstanding(&self, sender: &str) -> usize {
        self.outstanding.get(sender).copied().unwrap_or(0)
    }

    /// Notes that `node` reported the transfer confirmed in `block` at `height`. Returns `true`
    /// when that is a block it was not seen in before although it was seen in another: it moved.
    /// A transfer the harness did not sign is ignored.
    pub fn confirmed(
        &mut self,
        txid: &Txid,
        block: BlockHash,
        height: Height,
        node: usize,
    ) -> bool {
        let Some(record) = self.records.get_mut(txid) else {
            return false;
        };
        if record.blocks.iter().any(|(seen, _, _)| *seen == block) {
            return false;
        }
        if record.accepted
            && record.blocks.is_empty()
            && let Some(count) = self.outstanding.get_mut(&record.sender)
        {
            *count = count.saturating_sub(1);
        }
        // Confirmation implies acceptance, even if the answer to the submission was lost.
        record.accepted = true;
        record.blocks.push((block, height, node));
        record.blocks.len() > 1
    }

    /// The record of a transfer.
    pub fn get(&self, txid: &Txid) -> Option<&Record> {
        self.records.get(txid)
    }

    /// Every record, by txid.
    pub fn records(&self) -> impl Iterator<Item = (&Txid, &Record)> {
        self.records.iter()
    }

    /// Transfers some node reported confirmed.
    pub fn ever_confirmed(&self) -> Vec<Txid> {
        self.records
            .iter()
            .filter(|(_, r)| !r.blocks.is_empty())
            .map(|(txid, _)| *txid)
            .collect()
    }

    /// Accepted transfers not yet seen confirmed: what is worth asking about.
    pub fn unconfirmed(&self) -> Vec<Txid> {
        self.records
            .iter()
            .filter(|(_, r)| r.accepted && r.blocks.is_empty())
            .map(|(txid, _)| *txid)
            .collect()
    }

    /// Where a transfer ended, given the block the final chain holds it in (`None`: not in it).
    /// `None` for a transfer never reported confirmed (nothing was promised about it).
    pub fn outcome(&self, txid: &Txid, final_block: Option<BlockHash>) -> Option<Outcome> {
        let record = self.records.get(txid)?;
        if record.blocks.is_empty() {
            return None;
        }
        Some(match final_block {
            None => Outcome::Lost,
            Some(block) if record.blocks.iter().all(|(seen, _, _)| *seen == block) => {
                Outcome::Confirmed
            }
            Some(_) => Outcome::Remined,
        })
    }

    /// The counts, given where the final chain holds each transfer (a transfer missing from
    /// `finals` is taken as not in the final chain).
    pub fn tally(&self, finals: &BTreeMap<Txid, Option<BlockHash>>) -> Tally {
        let mut tally = Tally {
            signed: self.records.len(),
            ..Tally::default()
        };
        for (txid, record) in &self.records {
            tally.accepted += usize::from(record.accepted);
            tally.moved += usize::from(record.blocks.len() > 1);
            match self.outcome(txid, finals.get(txid).copied().flatten()) {
                None => {}
                Some(outcome) => {
                    tally.ever_confirmed += 1;
                    match outcome {
                        Outcome::Confirmed => tally.confirmed += 1,
                        Outcome::Remined => tally.remined += 1,
                        Outcome::Lost => tally.lost += 1,
                    }
                }
            }
        }
        tally
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txid(n: u8) -> Txid {
        Txid([n; 32])
    }

    fn block(n: u8) -> BlockHash {
        BlockHash([n; 32])
    }

    #[test]
    fn a_sender_s_outstanding_transfers_are_the_accepted_ones_not_yet_seen_confirmed() {
        let mut book = Book::new();
        for n in 1..=3 {
            book.signed(txid(n), "w0", u64::from(n));
        }
        book.signed(txid(4), "w1", 1);
        book.accepted(&txid(1));
        book.accepted(&txid(1));
        book.accepted(&txid(2));
        assert_eq!((book.outstanding("w0"), book.outstanding("w1")), (2, 0));
        // Seen confirmed twice (a second node, then a reorg): counted off once.
        book.confirmed(&txid(1), block(10), Height(5), 0);
        book.confirmed(&txid(1), block(10), Height(5), 1);
        book.confirmed(&txid(1), block(11), Height(5), 2);
        assert_eq!(book.outstanding("w0"), 1);
        // Confirmed although its acceptance was never answered: never counted, so not counted off.
        book.confirmed(&txid(3), block(12), Height(6), 0);
        book.accepted(&txid(3));
        assert_eq!(book.outstanding("w0"), 1);
        book.confirmed(&txid(2), block(12), Height(6), 0);
        assert_eq!(book.outstanding("w0"), 0);
    }

    #[test]
    fn a_transfer_is_confirmed_remined_or_lost_by_where_the_final_chain_has_it() {
        let mut book = Book::new();
        for n in 1..=5 {
            book.signed(txid(n), "w0", u64::from(n));
        }
        book.accepted(&txid(1));
        assert_eq!(book.unconfirmed(), vec![txid(1)]);
        // 1 stays in block 10; 2 is seen in 20 then in 21 (a reorg); 3 is seen in 30 only;
        // 4 is never seen confirmed; 5 is seen twice in the same block by two nodes.
        assert!(!book.confirmed(&txid(1), block(10), Height(5), 0));
        assert!(!book.confirmed(&txid(2), block(20), Height(6), 1));
        assert!(book.confirmed(&txid(2), block(21), Height(6), 2));
        assert!(!book.confirmed(&txid(3), block(30), Height(7), 3));
        assert!(!book.confirmed(&txid(5), block(50), Height(8), 0));
        assert!(!book.confirmed(&txid(5), block(50), Height(8), 4));
        assert!(
            book.get(&txid(3)).unwrap().accepted,
            "confirmed implies accepted"
        );
        assert_eq!(
            book.ever_confirmed(),
            vec![txid(1), txid(2), txid(3), txid(5)]
        );

        let finals = BTreeMap::from([
            (txid(1), Some(block(10))),
            (txid(2), Some(block(21))),
            (txid(3), None),
            (txid(4), None),
            (txid(5), Some(block(50))),
        ]);
        assert_eq!(
            book.outcome(&txid(1), Some(block(10))),
            Some(Outcome::Confirmed)
        );
        assert_eq!(
            book.outcome(&txid(2), Some(block(21))),
            Some(Outcome::Remined)
        );
        assert_eq!(book.outcome(&txid(3), None), Some(Outcome::Lost));
        assert_eq!(book.outcome(&txid(4), None), None);
        assert_eq!(
            book.tally(&finals),
            Tally {
                signed: 5,
                accepted: 4,
                ever_confirmed: 4,
                confirmed: 2,
                remined: 1,
                lost: 1,
                moved: 1,
            }
        );
    }

    #[test]
    fn a_transfer_seen_in_a_stale_block_and_back_in_the_first_is_remined() {
        // Seen in 10, then in 11 (a reorg), and the final chain went back to the branch with 10.
        let mut book = Book::new();
        book.signed(txid(1), "w0", 0);
        book.confirmed(&txid(1), block(10), Height(3), 0);
        book.confirmed(&txid(1), block(11), Height(3), 1);
        assert_eq!(
            book.outcome(&txid(1), Some(block(10))),
            Some(Outcome::Remined)
        );
    }

    #[test]
    fn unknown_transfers_and_repeated_signing_change_nothing() {
        let mut book = Book::new();
        book.signed(txid(1), "w0", 0);
        book.signed(txid(1), "w9", 9);
        assert_eq!(book.get(&txid(1)).unwrap().sender, "w0");
        assert!(!book.confirmed(&txid(2), block(1), Height(1), 0));
        book.accepted(&txid(2));
        assert_eq!(book.records().count(), 1);
        assert_eq!(book.tally(&BTreeMap::new()).ever_confirmed, 0);
    }
}
