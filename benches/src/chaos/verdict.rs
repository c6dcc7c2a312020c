//! The final checks, over what every node says once the chaos has stopped and the network has
//! settled: pure functions of the collected views, so each rule is tested on its own here.
//!
//! The rules:
//! - every node has the same tip;
//! - every node gives every known address the same balance;
//! - those balances add up to exactly the coins issued: the subsidies of heights 1 to the tip
//!   (the genesis coinbase is zero, fees move coins from senders to miners, the nodes' miners
//!   claim the whole subsidy plus fees, and every coin the harness moves stays among its own and
//!   the miners' addresses), so a coin created or destroyed by a bad reorg shows;
//! - every transfer any node reported confirmed during the run is confirmed on every node, in
//!   the same block;
//! - so is every other transfer a node accepted: the harness never signs two transfers with one
//!   nonce and its wallets keep ample balances, so each stays valid on any branch and must be
//!   mined in the end (this is what caught transfers stranded in one node's mempool, issue 9).

use super::book::{Book, Outcome};
use chain_core::hash::{BlockHash, Txid};
use chain_core::params::ChainParams;
use chain_core::units::{Amount, Height};
use std::collections::{BTreeMap, BTreeSet};

/// What one node says at the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeView {
    /// The node's index.
    pub node: usize,
    /// Its tip's height.
    pub height: Height,
    /// Its tip.
    pub tip: BlockHash,
    /// The balance of every known address.
    pub balances: BTreeMap<String, Amount>,
    /// Where it holds each accepted transfer: the block, or `None` (pending or unknown).
    pub transfers: BTreeMap<Txid, Option<BlockHash>>,
    /// Which of those are in its mempool.
    pub pending: BTreeSet<Txid>,
}

/// The result of the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Every broken rule, in words (empty: pass).
    pub failures: Vec<String>,
    /// Where the final chain holds each transfer ever reported confirmed (`None` unless every
    /// node holds it in the same block).
    pub finals: BTreeMap<Txid, Option<BlockHash>>,
    /// The sum of the known balances, on the first node.
    pub balance_sum: Amount,
    /// The coins issued up to the first node's tip.
    pub issued: Amount,
    /// Accepted transfers never reported confirmed during the run that every node holds in
    /// one block at the end.
    pub confirmed_after: usize,
    /// Accepted transfers not held in one block by every node at the end.
    pub unmined: usize,
}

impl Verdict {
    /// Whether every rule held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The coins issued by a chain of `height` blocks above genesis: the subsidies of heights
/// `1..=height` (the genesis block issues nothing).
pub fn issued(params: &ChainParams, height: Height) -> Amount {
    let mut total = Amount::ZERO;
    for h in 1..=height.0 {
        // Subsidies halve, so the sum stays below 2 × 50 coins × halving interval: no overflow.
        total = total
            .checked_add(params.subsidy(Height(h)))
            .unwrap_or(Amount(u64::MAX));
    }
    total
}

/// Checks the views of every node against each other, the coins issued and the book.
pub fn judge(params: &ChainParams, views: &[NodeView], book: &Book) -> Verdict {
    let mut failures = Vec::new();
    let Some(first) = views.first() else {
        return Verdict {
            failures: vec!["no node answered at the end".into()],
            finals: BTreeMap::new(),
            balance_sum: Amount::ZERO,
            issued: Amount::ZERO,
            confirmed_after: 0,
            unmined: 0,
        };
    };
    for view in &views[1..] {
        if (view.tip, view.height) != (first.tip, first.height) {
            failures.push(format!(
                "tips differ: node {} has {} at height {}, node {} has {} at height {}",
                first.node, first.tip, first.height, view.node, view.tip, view.height
            ));
        }
        for (address, balance) in &first.balances {
            let other = view.balances.get(address);
            if other != Some(balance) {
                failures.push(format!(
                    "balances differ for {address}: node {} says {balance}, node {} says {}",
                    first.node,
                    view.node,
                    other.map_or("nothing".into(), |b| b.to_string())
                ));
            }
        }
    }
    let balance_sum =
        Amount::checked_sum(first.balances.values().copied()).unwrap_or(Amount(u64::MAX));
    let issued = issued(params, first.height);
    if balance_sum != issued {
        failures.push(format!(
            "the known balances add up to {balance_sum} on node {}, but {issued} were issued by height {}",
            first.node, first.height
        ));
    }
    let mut finals = BTreeMap::new();
    for txid in book.ever_confirmed() {
        let mut agreed = views
            .iter()
            .map(|view| view.transfers.get(&txid).copied().flatten())
            .collect::<Vec<_>>();
        agreed.dedup();
        let final_block = match agreed.as_slice() {
            [Some(block)] => Some(*block),
            _ => None,
        };
        finals.insert(txid, final_block);
        if book.outcome(&txid, final_block) == Some(Outcome::Lost) {
            let seen = book
                .get(&txid)
                .map(|r| {
                    let blocks: Vec<String> = r
                        .blocks
                        .iter()
                        .map(|(b, h, n)| format!("{b} at {h} (node {n})"))
                        .collect();
                    format!(
                        "{} nonce {}, seen in {}",
                        r.sender,
                        r.nonce,
                        blocks.join(", ")
                    )
                })
                .unwrap_or_default();
            let now: Vec<String> = views
                .iter()
                .map(|v| match v.transfers.get(&txid).copied().flatten() {
                    Some(block) => format!("node {}: {block}", v.node),
                    None => format!("node {}: not confirmed", v.node),
                })
                .collect();
            failures.push(format!(
                "transfer {txid} was reported confirmed and is not confirmed everywhere: {seen}; now {}",
                now.join(", ")
            ));
        }
    }
    let (mut confirmed_after, mut unmined) = (0, 0);
    for (txid, record) in book.records() {
        if !record.accepted || !record.blocks.is_empty() {
            continue;
        }
        let places: Vec<Option<BlockHash>> = views
            .iter()
            .map(|view| view.transfers.get(txid).copied().flatten())
            .collect();
        if places.iter().all(|p| p.is_some() && *p == places[0]) {
            confirmed_after += 1;
            continue;
        }
        unmined += 1;
        let on = |pick: &dyn Fn(&NodeView) -> bool| -> Vec<usize> {
            views.iter().filter(|v| pick(v)).map(|v| v.node).collect()
        };
        failures.push(format!(
            "transfer {txid} ({} nonce {}) was accepted but is not mined everywhere: pending on nodes {:?}, confirmed on nodes {:?}",
            record.sender,
            record.nonce,
            on(&|v| v.pending.contains(txid)),
            on(&|v| v.transfers.get(txid).copied().flatten().is_some()),
        ));
    }
    Verdict {
        failures,
        finals,
        balance_sum,
        issued,
        confirmed_after,
        unmined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_core::units::COIN;

    fn params() -> ChainParams {
        ChainParams::regtest()
    }

    fn view(node: usize, tip: u8, height: u64, balances: &[(&str, u64)]) -> NodeView {
        NodeView {
            node,
            height: Height(height),
            tip: BlockHash([tip; 32]),
            balances: balances
                .iter()
                .map(|(a, b)| (a.to_string(), Amount(*b)))
                .collect(),
            transfers: BTreeMap::new(),
            pending: BTreeSet::new(),
        }
    }

    #[test]
    fn issued_sums_the_subsidies_above_genesis_across_a_halving() {
        let params = params();
        assert_eq!(issued(&params, Height(0)), Amount::ZERO);
        assert_eq!(issued(&params, Height(3)), Amount(150 * COIN));
        // Regtest halves every 150 blocks: heights 1..=149 at 50, 150 and 151 at 25.
        assert_eq!(params.halving_interval, 150);
        assert_eq!(
            issued(&params, Height(151)),
            Amount((149 * 50 + 2 * 25) * COIN)
        );
    }

    #[test]
    fn agreeing_nodes_with_every_coin_accounted_for_pass() {
        let balances = [("a", 100 * COIN), ("b", 49 * COIN), ("c", COIN)];
        let views = [view(0, 9, 3, &balances), view(1, 9, 3, &balances)];
        let verdict = judge(&params(), &views, &Book::new());
        assert!(verdict.passed(), "{:?}", verdict.failures);
        assert_eq!(verdict.balance_sum, verdict.issued);
    }

    #[test]
    fn a_different_tip_a_different_balance_or_a_coin_too_many_fail() {
        let balances = [("a", 150 * COIN)];
        let tip = judge(
            &params(),
            &[view(0, 9, 3, &balances), view(1, 8, 3, &balances)],
            &Book::new(),
        );
        assert!(
            tip.failures.iter().any(|f| f.contains("tips differ")),
            "{:?}",
            tip.failures
        );

        let balance = judge(
            &params(),
            &[
                view(0, 9, 3, &balances),
                view(1, 9, 3, &[("a", 149 * COIN)]),
            ],
            &Book::new(),
        );
        assert_eq!(balance.failures.len(), 1, "{:?}", balance.failures);
        assert!(balance.failures[0].contains("balances differ for a"));

        let minted = judge(
            &params(),
            &[view(0, 9, 3, &[("a", 150 * COIN + 1)])],
            &Book::new(),
        );
        assert!(
            minted.failures[0].contains("add up to"),
            "{:?}",
            minted.failures
        );

        assert!(!judge(&params(), &[], &Book::new()).passed());
    }

    #[test]
    fn an_accepted_transfer_must_be_mined_in_the_end_even_if_never_seen_confirmed() {
        let (mined, stranded, refused) = (Txid([1; 32]), Txid([2; 32]), Txid([3; 32]));
        let mut book = Book::new();
        for (n, txid) in [mined, stranded, refused].iter().enumerate() {
            book.signed(*txid, "w1", n as u64);
        }
        book.accepted(&mined);
        book.accepted(&stranded);
        let balances = [("a", 150 * COIN)];
        let mut views = [view(0, 9, 3, &balances), view(1, 9, 3, &balances)];
        for view in &mut views {
            view.transfers.insert(mined, Some(BlockHash([5; 32])));
            view.transfers.insert(stranded, None);
        }
        views[1].pending.insert(stranded);
        let verdict = judge(&params(), &views, &book);
        assert_eq!((verdict.confirmed_after, verdict.unmined), (1, 1));
        assert_eq!(verdict.failures.len(), 1, "{:?}", verdict.failures);
        assert!(
            verdict.failures[0].contains("w1 nonce 1) was accepted but is not mined everywhere: pending on nodes [1], confirmed on nodes []"),
            "{}",
            verdict.failures[0]
        );
    }

    #[test]
    fn a_confirmed_transfer_must_be_in_the_same_block_on_every_node() {
        let (kept, moved, lost, split) =
            (Txid([1; 32]), Txid([2; 32]), Txid([3; 32]), Txid([4; 32]));
        let mut book = Book::new();
        for (n, txid) in [kept, moved, lost, split].iter().enumerate() {
            book.signed(*txid, "w0", n as u64);
            book.confirmed(txid, BlockHash([10 + n as u8; 32]), Height(2), 0);
        }
        let balances = [("a", 150 * COIN)];
        let mut views = [view(0, 9, 3, &balances), view(1, 9, 3, &balances)];
        for view in &mut views {
            view.transfers.insert(kept, Some(BlockHash([10; 32])));
            view.transfers.insert(moved, Some(BlockHash([99; 32])));
            view.transfers.insert(lost, None);
        }
        views[0].transfers.insert(split, Some(BlockHash([13; 32])));
        let verdict = judge(&params(), &views, &book);
        assert_eq!(verdict.finals[&kept], Some(BlockHash([10; 32])));
        assert_eq!(verdict.finals[&moved], Some(BlockHash([99; 32])));
        assert_eq!(verdict.finals[&lost], None);
        assert_eq!(verdict.finals[&split], None, "node 1 does not have it");
        assert_eq!(verdict.failures.len(), 2, "{:?}", verdict.failures);
        assert!(
            verdict
                .failures
                .iter()
                .all(|f| f.contains("is not confirmed everywhere"))
        );
        let tally = book.tally(&verdict.finals);
        assert_eq!((tally.confirmed, tally.remined, tally.lost), (1, 1, 2));
    }
}
