//! Before the chaos: the wallets are funded from the miners' coinbases, and the funding
//! transfers confirmed everywhere, so that every wallet can pay throughout the run.

use super::{FEE, Harness, MAX_FUNDING, SEND_AMOUNT_MEAN};
use crate::chaos::Error;
use crate::chaos::api::{Submitted, TxState};
use crate::chaos::wallets::{HUB_FANOUT, Sender};
use chain_core::address::Address;
use chain_core::hash::Txid;
use chain_core::units::{Amount, COIN};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Funding transfers of one payer pending at once, at most (the nodes' nonce window is 16).
const FUNDING_WINDOW: u64 = 12;

/// Who pays a round of funding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Payers {
    /// The miners, from their coinbases.
    Miners,
    /// The hubs, from what the miners paid them.
    Hubs,
}

/// One funding transfer to make.
#[derive(Debug, Clone, Copy)]
struct Payment {
    to: Address,
    amount: Amount,
}

impl Harness {
    /// Funds every wallet from the miners' coinbases (through hubs when there are many
    /// wallets: the miners pay the hubs, each hub pays its wallets within one block), and waits
    /// until those transfers are confirmed everywhere, two blocks deep.
    pub(super) fn fund(&mut self) -> Result<(), Error> {
        let miners = self.keys.miners.len().max(1);
        let funding_each = self.funding_each();
        let direct = if self.keys.hubs.is_empty() {
            self.keys.wallets.len()
        } else {
            self.keys.hubs.len()
        };
        // A block lets each miner make `FUNDING_WINDOW` more payments, and brings a subsidy.
        let window_rounds = direct.div_ceil(miners) as u64 / FUNDING_WINDOW + 1;
        let coin_blocks = (funding_each.0 + FEE.0) * self.keys.wallets.len() as u64
            / self.params.initial_subsidy.0.max(1)
            + 2 * miners as u64;
        let limit = Duration::from_secs(90 + 30 * window_rounds.max(coin_blocks));
        let deadline = Instant::now() + limit;
        let wallet_payment = |w: &Sender| Payment {
            to: w.address,
            amount: funding_each,
        };
        let mut funding: Vec<Txid> = Vec::new();
        self.say(&format!(
            "funding the wallets from the miners' coinbases, {funding_each} each"
        ));
        if self.keys.hubs.is_empty() {
            let mut queues = vec![VecDeque::new(); miners];
            for (i, wallet) in self.keys.wallets.iter().enumerate() {
                queues[i % miners].push_back(wallet_payment(wallet));
            }
            self.pay(Payers::Miners, queues, deadline, &mut funding)?;
        } else {
            let mut to_hubs = vec![VecDeque::new(); miners];
            let mut from_hubs = vec![VecDeque::new(); self.keys.hubs.len()];
            for (w, wallet) in self.keys.wallets.iter().enumerate() {
                from_hubs[w / HUB_FANOUT].push_back(wallet_payment(wallet));
            }
            for (h, hub) in self.keys.hubs.iter().enumerate() {
                let count = from_hubs[h].len() as u64;
                to_hubs[h % miners].push_back(Payment {
                    to: hub.address,
                    amount: Amount((funding_each.0 + FEE.0) * count),
                });
            }
            self.pay(Payers::Miners, to_hubs, deadline, &mut funding)?;
            self.say(&format!(
                "{} hubs paid; they pay the wallets once that is confirmed",
                self.keys.hubs.len()
            ));
            self.pay(Payers::Hubs, from_hubs, deadline, &mut funding)?;
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

    /// What each wallet is paid: three times what the transfers it sends take on average (the
    /// rate asked spread over the wallets, amounts of 0.005 coin on average plus the fee), at
    /// most [`MAX_FUNDING`]; what they receive on the way comes on top.
    fn funding_each(&self) -> Amount {
        let sends = f64::from(self.options.rate) * self.options.seconds as f64
            / self.keys.wallets.len().max(1) as f64;
        let each = (SEND_AMOUNT_MEAN.0 + FEE.0) as f64 * sends * 3.0;
        Amount((each as u64).clamp(COIN / 10, MAX_FUNDING.0))
    }

    /// Payer `p` of `payers`.
    fn payer(&mut self, payers: Payers, p: usize) -> &mut Sender {
        match payers {
            Payers::Miners => &mut self.keys.miners[p],
            Payers::Hubs => &mut self.keys.hubs[p],
        }
    }

    /// Makes every payment of `queues` (one queue per payer of `payers`, paid in order) as the
    /// payers' confirmed balances allow, at most [`FUNDING_WINDOW`] pending per payer, each
    /// accepted transfer noted in `funding`. A miner keeps two blocks' worth of coins unspent: a
    /// reorg could take them.
    fn pay(
        &mut self,
        payers: Payers,
        mut queues: Vec<VecDeque<Payment>>,
        deadline: Instant,
        funding: &mut Vec<Txid>,
    ) -> Result<(), Error> {
        let margin = match payers {
            Payers::Miners => Amount(2 * self.params.initial_subsidy.0),
            Payers::Hubs => Amount::ZERO,
        };
        let mut reserved = vec![Amount::ZERO; queues.len()];
        while queues.iter().any(|q| !q.is_empty()) {
            if Instant::now() > deadline {
                let left: usize = queues.iter().map(VecDeque::len).sum();
                return Err(Error::new(format!(
                    "{left} funding payments of the {payers:?} not made in time (heights {:?})",
                    self.heights
                )));
            }
            std::thread::sleep(Duration::from_millis(500));
            if self.agreed_tip().is_none() {
                continue;
            }
            let api = self.nodes[0].api().clone();
            let (network, prefix) = (self.params.network_id, self.params.address_prefix);
            for (p, queue) in queues.iter_mut().enumerate() {
                let address = self.payer(payers, p).address.to_text(prefix);
                let Ok(account) = api.account(&address) else {
                    continue;
                };
                while let Some(payment) = queue.front().copied() {
                    let sender = self.payer(payers, p);
                    let need = payment.amount.0 + FEE.0;
                    if account.balance.0 < reserved[p].0 + margin.0 + need
                        || sender.next_nonce >= account.nonce + FUNDING_WINDOW
                    {
                        break;
                    }
                    let name = sender.name.clone();
                    let transfer = sender.transfer(network, payment.to, payment.amount, FEE);
                    let txid = transfer.txid();
                    self.book.signed(txid, &name, transfer.nonce);
                    match self.submit(0, &transfer)? {
                        Submitted::Accepted => {
                            self.payer(payers, p).accepted();
                            self.book.accepted(&txid);
                            reserved[p] = Amount(reserved[p].0 + need);
                            funding.push(txid);
                            queue.pop_front();
                        }
                        Submitted::Refused { code } => {
                            return Err(Error::new(format!(
                                "node 0 refused funding transfer {txid} from {name}: {code}"
                            )));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
