//! Before the chaos: the wallets are funded from the miners' coinbases, and the funding
//! transfers confirmed everywhere, so that every wallet can pay throughout the run.

use super::{FEE, FUNDING, Harness};
use crate::chaos::Error;
use crate::chaos::api::{Submitted, TxState};
use chain_core::hash::Txid;
use chain_core::units::Amount;
use std::time::{Duration, Instant};

/// Funding transfers of one miner pending at once, at most (the nodes' nonce window is 16).
const FUNDING_WINDOW: u64 = 12;

impl Harness {
    /// Funds every wallet from the miners' coinbases, and waits until those transfers are
    /// confirmed everywhere, two blocks deep.
    pub(super) fn fund(&mut self) -> Result<(), Error> {
        // A block lets each miner fund `FUNDING_WINDOW` more wallets.
        let rounds = self
            .keys
            .wallets
            .len()
            .div_ceil(self.keys.miners.len().max(1)) as u64
            / FUNDING_WINDOW;
        let limit = Duration::from_secs(90 + 30 * rounds);
        let deadline = Instant::now() + limit;
        // Coins of the last two blocks a miner found are not spent: a reorg could take them.
        let margin = Amount(2 * self.params.initial_subsidy.0);
        let need = Amount(FUNDING.0 + FEE.0);
        let mut reserved = vec![Amount::ZERO; self.keys.miners.len()];
        let mut funding: Vec<Txid> = Vec::new();
        let mut next_wallet = 0;
        self.say("funding the wallets from the miners' coinbases");
        while next_wallet < self.keys.wallets.len() {
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "only {next_wallet} of {} wallets funded within {limit:?} (heights {:?})",
                    self.keys.wallets.len(),
                    self.heights
                )));
            }
            std::thread::sleep(Duration::from_millis(500));
            if self.agreed_tip().is_none() {
                continue;
            }
            let api = self.nodes[0].api();
            for (m, reserved) in reserved.iter_mut().enumerate() {
                let address = self.keys.miners[m]
                    .address
                    .to_text(self.params.address_prefix);
                let Ok(account) = api.account(&address) else {
                    continue;
                };
                // The mempool holds 16 of a sender's transfers beyond its confirmed nonce: more
                // wallets than that wait for the next block.
                while next_wallet < self.keys.wallets.len()
                    && account.balance.0 >= reserved.0 + margin.0 + need.0
                    && self.keys.miners[m].next_nonce < account.nonce + FUNDING_WINDOW
                {
                    let to = self.keys.wallets[next_wallet].address;
                    let transfer =
                        self.keys.miners[m].transfer(self.params.network_id, to, FUNDING, FEE);
                    let txid = transfer.txid();
                    self.book
                        .signed(txid, &self.keys.miners[m].name, transfer.nonce);
                    match self.submit(0, &transfer) {
                        Ok(Submitted::Accepted) => {
                            self.keys.miners[m].accepted();
                            self.book.accepted(&txid);
                            *reserved = Amount(reserved.0 + need.0);
                            funding.push(txid);
                            next_wallet += 1;
                        }
                        Ok(Submitted::Refused { code }) => {
                            return Err(Error::new(format!(
                                "node 0 refused funding transfer {txid} from {}: {code}",
                                self.keys.miners[m].name
                            )));
                        }
                        Err(error) => return Err(error),
                    }
                }
            }
        }
        self.say(&format!(
            "{} funding transfers accepted; waiting for 2 confirmations everywhere",
            funding.len()
        ));
        loop {
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "the funding transfers were not confirmed everywhere within {limit:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(500));
            let Some((_, height)) = self.agreed_tip() else {
                continue;
            };
            let mut deep = true;
            for txid in &funding {
                for i in 0..self.nodes.len() {
                    match self.nodes[i].api().transfer(txid) {
                        Ok(TxState::Confirmed { block, height: at }) => {
                            self.book.confirmed(txid, block, at, i);
                            deep &= height.0 > at.0;
                        }
                        _ => deep = false,
                    }
                }
            }
            if deep {
                self.figures.start_height = height.0;
                self.say(&format!("wallets funded at height {height}"));
                return Ok(());
            }
        }
    }
}
