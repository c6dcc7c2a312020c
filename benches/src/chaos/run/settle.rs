//! After the chaos: every link healed and every node restarted, a bounded wait for agreement
//! (and for every transfer to be mined), mining stopped, then every node's view collected and
//! judged.

use super::Harness;
use crate::chaos::Error;
use crate::chaos::api::TxState;
use crate::chaos::verdict::{NodeView, Verdict, judge};
use chain_core::hash::{BlockHash, Txid};
use chain_core::units::Height;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

impl Harness {
    /// Heals every link, restarts every node, and waits (bounded) until every node agrees on
    /// the tip and holds every transfer ever reported confirmed; then stops mining and waits
    /// for a still tip.
    pub(super) fn settle(&mut self) -> Result<(), Error> {
        let begin = Instant::now();
        for link in self.links.values() {
            link.heal();
        }
        self.cuts.clear();
        self.say("chaos over: every link healed, every node restarted");
        for i in 0..self.nodes.len() {
            self.nodes[i].kill();
            self.ready[i] = false;
        }
        self.start_all()?;
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut agreed = false;
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(500));
            let Some((tip, height)) = self.agreed_tip() else {
                continue;
            };
            let api = self.nodes[0].api();
            let missing = self.book.ever_confirmed().into_iter().find(|txid| {
                Instant::now() > deadline
                    || !matches!(api.transfer(txid), Ok(TxState::Confirmed { .. }))
            });
            match missing {
                None => {
                    self.say(&format!(
                        "every node at {tip} (height {height}) with every confirmed transfer"
                    ));
                    agreed = true;
                    break;
                }
                Some(txid) => {
                    if self.rng.chance(10) {
                        self.say(&format!(
                            "agreed at height {height}; waiting for {txid} to be mined again"
                        ));
                    }
                }
            }
        }
        if !agreed {
            self.say("no agreement with every confirmed transfer within 90 s; checking anyway");
        }
        // Then, for a while longer, the transfers accepted but never seen confirmed: they must be
        // mined too.
        let deadline = Instant::now() + Duration::from_secs(45);
        let mut waiting = self.book.unconfirmed();
        while agreed && !waiting.is_empty() && Instant::now() < deadline {
            let api = self.nodes[0].api();
            waiting.retain(|txid| !matches!(api.transfer(txid), Ok(TxState::Confirmed { .. })));
            if !waiting.is_empty() {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        if agreed {
            self.say(&format!(
                "{} accepted transfers never seen confirmed are still not mined",
                waiting.len()
            ));
        }
        self.figures.settle_secs = begin.elapsed().as_secs_f64();
        for i in 0..self.options.miners.min(self.nodes.len()) {
            if let Err(error) = self.nodes[i].api().set_mining(None) {
                self.say(&format!("cannot stop mining on node {i}: {error}"));
            }
        }
        // Two blocks found at one height just as mining stopped split the nodes for good, each
        // keeping the one it saw first (equal work). As on a live network, the next block
        // decides: one miner finds one more, at most three times.
        for _ in 0..3 {
            if self.wait_for_one_tip().is_some() {
                return Ok(());
            }
            let Some(miner) = self.keys.miners.first() else {
                break;
            };
            let address = miner.address.to_text(self.params.address_prefix);
            let api = self.nodes[0].api();
            let before = api.status().map(|s| s.height).ok();
            self.say("two tips of equal work: node 0 mines one more block to settle it");
            api.set_mining(Some(&address))?;
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline && api.status().map(|s| s.height).ok() == before {
                std::thread::sleep(Duration::from_millis(200));
            }
            api.set_mining(None)?;
        }
        Ok(())
    }

    /// Waits (30 s at most) until every node reports one tip twice in a row, a second apart (a
    /// block found as mining stopped may still travel); that tip.
    fn wait_for_one_tip(&mut self) -> Option<(BlockHash, Height)> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut previous = None;
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_secs(1));
            let tip = self.agreed_tip();
            if tip.is_some() && tip == previous {
                return tip;
            }
            previous = tip;
        }
        None
    }

    /// Collects every node's view, judges it, and fills in the figures.
    pub(super) fn conclude(&mut self) -> Result<(), Error> {
        let addresses: Vec<String> = self
            .keys
            .addresses()
            .into_iter()
            .map(|(_, a)| a.to_text(self.params.address_prefix))
            .collect();
        let asked: Vec<Txid> = self
            .book
            .records()
            .filter(|(_, r)| r.accepted)
            .map(|(txid, _)| *txid)
            .collect();
        let accepted: BTreeSet<Txid> = asked.iter().copied().collect();
        let mut views = Vec::new();
        for i in 0..self.nodes.len() {
            let api = self.nodes[i].api();
            let view = (|| -> Result<NodeView, Error> {
                let status = api.status()?;
                let mut pending = BTreeSet::new();
                let mut balances = BTreeMap::new();
                for address in &addresses {
                    balances.insert(address.clone(), api.account(address)?.balance);
                }
                // The node's best chain, read block by block from its tip (a few dozen calls,
                // not one per transfer); then each accepted transfer it does not hold, asked
                // about on its own (pending, or unknown).
                let mut transfers = BTreeMap::new();
                let mut hash = status.tip;
                loop {
                    let Some(block) = api.block(&hash)? else {
                        return Err(Error::new(format!(
                            "block {hash} of its best chain is not found"
                        )));
                    };
                    for tx in &block.txs {
                        if accepted.contains(&tx.txid) {
                            transfers.insert(tx.txid, Some(block.summary.hash));
                        }
                    }
                    if block.summary.height.0 == 0 {
                        break;
                    }
                    hash = block.prev_hash;
                }
                for txid in &asked {
                    if transfers.contains_key(txid) {
                        continue;
                    }
                    let block = match api.transfer(txid)? {
                        TxState::Confirmed { block, .. } => Some(block),
                        TxState::Pending => {
                            pending.insert(*txid);
                            None
                        }
                        TxState::Unknown => None,
                    };
                    transfers.insert(*txid, block);
                }
                Ok(NodeView {
                    node: i,
                    height: status.height,
                    tip: status.tip,
                    balances,
                    transfers,
                    pending,
                })
            })();
            match view {
                Ok(view) => views.push(view),
                Err(error) => self
                    .failures
                    .push(format!("node {i} did not answer at the end: {error}")),
            }
        }
        let verdict: Verdict = judge(&self.params, &views, &self.book);
        self.failures.extend(verdict.failures.iter().cloned());
        for node in &self.nodes {
            self.failures.extend(node.crashes.iter().cloned());
        }
        self.figures.tally = self.book.tally(&verdict.finals);
        self.figures.confirmed_after = verdict.confirmed_after;
        self.figures.unconfirmed_at_end = verdict.unmined;
        if let Some(first) = views.first() {
            self.figures.final_height = first.height.0;
            let api = self.nodes[first.node].api();
            self.figures.stale_tips = self
                .tips_seen
                .iter()
                .filter(|tip| !matches!(api.in_best_chain(tip), Ok(Some(true))))
                .count();
        }
        self.figures.balance_sum = verdict.balance_sum;
        self.figures.issued = verdict.issued;
        Ok(())
    }
}
