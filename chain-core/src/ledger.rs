//! A [`Ledger`] is the chain and its mempool together, the unit a program embeds: it accepts
//! blocks and transfers, keeps the mempool in step with the tip (and saved in the store, so
//! pending transfers survive a restart), and assembles block templates for miners.

use crate::address::Address;
use crate::block::{Block, HEADER_LEN, HEADER_VERSION, Header};
use crate::chain::{AcceptOutcome, Arrival, Chain, ChainEvent, TipChange};
use crate::difficulty::next_bits;
use crate::error::{Error, MempoolError, StoreError};
use crate::fee_estimate::{self, FeeRates};
use crate::hash::Txid;
use crate::mempool::{Admitted, Mempool, MempoolPolicy};
use crate::merkle::merkle_root;
use crate::params::ChainParams;
use crate::sigcache::SignatureCache;
use crate::store::{Store, touched_addresses};
use crate::tx::{Coinbase, MIN_TX_BYTES, Transaction, Transfer};
use crate::units::Amount;
use crate::validate::{check_transfer_form, check_transfer_signature, median_time_past};
use std::sync::Arc;

/// The chain, its mempool, and the glue between them.
#[derive(Debug)]
pub struct Ledger<S: Store> {
    chain: Chain<S>,
    mempool: Mempool,
}

impl<S: Store> Ledger<S> {
    /// Opens the chain in `store` and reloads the pending transfers saved there, keeping those
    /// still valid against the tip.
    ///
    /// # Errors
    ///
    /// As [`Chain::open`].
    pub fn open(
        params: ChainParams,
        store: S,
        policy: MempoolPolicy,
        now: u64,
    ) -> Result<Self, Error> {
        Self::over(Chain::open(params, store)?, policy, now)
    }

    /// As [`Ledger::open`], with the cache of verified transfer signatures given (one shared
    /// with the threads that check blocks as they arrive, or one of another size).
    ///
    /// # Errors
    ///
    /// As [`Chain::open`].
    pub fn open_with_cache(
        params: ChainParams,
        store: S,
        policy: MempoolPolicy,
        now: u64,
        signatures: Arc<SignatureCache>,
    ) -> Result<Self, Error> {
        let mut chain = Chain::open(params, store)?;
        chain.set_signature_cache(signatures);
        Self::over(chain, policy, now)
    }

    /// The ledger over `chain`, with the pending transfers saved in its store that are still
    /// valid against the tip.
    fn over(chain: Chain<S>, policy: MempoolPolicy, now: u64) -> Result<Self, Error> {
        let mut ledger = Self {
            chain,
            mempool: Mempool::new(policy),
        };
        let mut saved = ledger.chain.store().pending()?;
        saved.sort_by_key(|t| (t.sender(), t.nonce));
        let mut dropped = Vec::new();
        for transfer in saved {
            let txid = transfer.txid();
            if ledger.admit(transfer, now)?.is_err() {
                dropped.push(txid);
            }
        }
        ledger.chain.store_mut().remove_pending(&dropped)?;
        Ok(ledger)
    }

    /// Checks a transfer (its signature only if the signature cache does not hold it) and
    /// admits it to the mempool, remembering its signature as verified.
    fn admit(
        &mut self,
        transfer: Transfer,
        now: u64,
    ) -> Result<Result<Admitted, MempoolError>, StoreError> {
        if let Err(e) = check_transfer_form(&transfer) {
            return Ok(Err(MempoolError::Invalid(e)));
        }
        let cache = Arc::clone(self.chain.signature_cache());
        let network = self.chain.params().network_id;
        let txid = transfer.txid();
        // The signature is checked last, after every policy rule (see
        // `Mempool::insert_verified_by`), and not at all if the cache holds it.
        let admitted =
            self.mempool
                .insert_verified_by(transfer, self.chain.store(), now, |transfer| {
                    if cache.contains(&txid) {
                        cache.note_skipped(1);
                        Ok(())
                    } else {
                        cache.note_verified(1);
                        check_transfer_signature(transfer, network)
                    }
                })?;
        if admitted.is_ok() {
            cache.remember(txid);
        }
        Ok(admitted)
    }

    /// The chain.
    pub fn chain(&self) -> &Chain<S> {
        &self.chain
    }

    /// The chain, mutably (for settings such as verification threads).
    pub fn chain_mut(&mut self) -> &mut Chain<S> {
        &mut self.chain
    }

    /// Ends the ledger, giving back its store (to close it).
    pub fn into_store(self) -> S {
        self.chain.into_store()
    }

    /// The mempool.
    pub fn mempool(&self) -> &Mempool {
        &self.mempool
    }

    /// The network's parameters.
    pub fn params(&self) -> &ChainParams {
        self.chain.params()
    }

    /// Accepts a block (see [`Chain::accept_block`]) and updates the mempool from the tip
    /// changes it caused.
    ///
    /// # Errors
    ///
    /// As [`Chain::accept_block`].
    pub fn accept_block(&mut self, block: Block, now: u64) -> Result<AcceptOutcome, Error> {
        self.accept_block_from(block, Arrival::default(), now)
    }

    /// As [`Ledger::accept_block`], saying how the block came (see [`Arrival`]).
    ///
    /// # Errors
    ///
    /// As [`Chain::accept_block`].
    pub fn accept_block_from(
        &mut self,
        block: Block,
        arrival: Arrival,
        now: u64,
    ) -> Result<AcceptOutcome, Error> {
        let outcome = self.chain.accept_block_from(block, arrival, now)?;
        self.after_accept(outcome, now)
    }

    /// As [`Ledger::accept_block`] for a block whose signatures were already verified.
    ///
    /// # Errors
    ///
    /// As [`Chain::accept_block`].
    pub fn accept_verified(
        &mut self,
        block: crate::validate::VerifiedBlock,
        now: u64,
    ) -> Result<AcceptOutcome, Error> {
        self.accept_verified_from(block, Arrival::default(), now)
    }

    /// As [`Ledger::accept_verified`], saying how the block came.
    ///
    /// # Errors
    ///
    /// As [`Chain::accept_block`].
    pub fn accept_verified_from(
        &mut self,
        block: crate::validate::VerifiedBlock,
        arrival: Arrival,
        now: u64,
    ) -> Result<AcceptOutcome, Error> {
        let outcome = self.chain.accept_verified_from(block, arrival, now)?;
        self.after_accept(outcome, now)
    }

    fn after_accept(&mut self, outcome: AcceptOutcome, now: u64) -> Result<AcceptOutcome, Error> {
        for event in &outcome.events {
            if let ChainEvent::TipChanged(change) = event {
                self.apply_tip_change(change, now)?;
            }
        }
        Ok(outcome)
    }

    fn apply_tip_change(&mut self, change: &TipChange, now: u64) -> Result<(), Error> {
        let mut returned = Vec::new();
        let mut touched = Vec::new();
        for block in &change.disconnected {
            for tx in &block.block.txs {
                touched.extend(touched_addresses(tx));
                if let Transaction::Transfer(t) = tx {
                    returned.push(t.clone());
                }
            }
        }
        let mut mined = Vec::new();
        for block in &change.connected {
            for tx in &block.block.txs {
                touched.extend(touched_addresses(tx));
                if let Transaction::Transfer(t) = tx {
                    mined.push(t.txid());
                }
            }
        }
        touched.sort();
        touched.dedup();
        // A transfer mined on the new branch is not returned even if the old branch had it.
        returned.retain(|t| !mined.contains(&t.txid()));
        let removed =
            self.mempool
                .reconcile(&returned, &mined, &touched, self.chain.store(), now)?;
        let kept: Vec<Transfer> = returned
            .into_iter()
            .filter(|t| self.mempool.get(&t.txid()).is_some())
            .collect();
        // Their signatures verified when their blocks were checked; their next block need not
        // check them again.
        for transfer in &kept {
            self.chain.signature_cache().remember(transfer.txid());
        }
        let store = self.chain.store_mut();
        store.put_pending(&kept)?;
        store.remove_pending(&removed)?;
        Ok(())
    }

    /// Admits a transfer to the mempool and saves it.
    ///
    /// # Errors
    ///
    /// [`Error::Mempool`] with the reason it is refused, or a store failure.
    pub fn submit_transfer(&mut self, transfer: Transfer, now: u64) -> Result<Admitted, Error> {
        let admitted = self.admit(transfer, now)??;
        let saved = self.mempool.get(&admitted.txid).map(|e| e.transfer.clone());
        let store = self.chain.store_mut();
        store.put_pending(&saved.into_iter().collect::<Vec<_>>())?;
        let mut gone: Vec<Txid> = admitted.evicted.clone();
        gone.extend(admitted.replaced);
        store.remove_pending(&gone)?;
        Ok(admitted)
    }

    /// Drops transfers that waited too long.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub fn expire_pending(&mut self, now: u64) -> Result<Vec<Txid>, Error> {
        let gone = self.mempool.expire(now);
        self.chain.store_mut().remove_pending(&gone)?;
        Ok(gone)
    }

    /// The fee rates the mempool calls for now (`fee_estimate`), with blocks of what a
    /// template holds.
    pub fn fee_rates(&self) -> FeeRates {
        fee_estimate::suggest(&self.mempool, transfer_room(self.chain.params()))
    }

    /// A block to mine on the tip, paying `miner` the subsidy and fees, with nonce 0. Its time is
    /// `now`, or just past the median time past if the clock lags.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub fn block_template(&self, miner: Address, now: u64) -> Result<Block, Error> {
        let params = self.chain.params();
        let tip = *self.chain.tip();
        let height = tip
            .height
            .next()
            .ok_or_else(|| Error::Store(StoreError::Corrupt("height overflow".into())))?;
        let ancestors = self.chain.ancestor_headers(&tip)?;
        let bits = next_bits(params, height, &ancestors);
        let time = now.max(median_time_past(params, &ancestors) + 1);
        let transfers = self
            .mempool
            .select(transfer_room(params), self.chain.store())?;
        let fees = Amount::checked_sum(transfers.iter().map(|t| t.fee)).unwrap_or(Amount::ZERO);
        let amount = params
            .subsidy(height)
            .checked_add(fees)
            .unwrap_or(params.subsidy(height));
        let mut txs = Vec::with_capacity(transfers.len() + 1);
        txs.push(Transaction::Coinbase(Coinbase {
            height,
            to: miner,
            amount,
        }));
        txs.extend(transfers.into_iter().map(Transaction::Transfer));
        let header = Header {
            version: HEADER_VERSION,
            prev_hash: tip.hash,
            merkle_root: merkle_root(&txs.iter().map(Transaction::txid).collect::<Vec<_>>()),
            time,
            bits,
            nonce: 0,
        };
        Ok(Block { header, txs })
    }

    /// The reason a transfer would be refused, without admitting it.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub fn check_transfer(
        &self,
        transfer: &Transfer,
        now: u64,
    ) -> Result<Result<(), MempoolError>, Error> {
        let mut trial = self.mempool.clone();
        let network = self.chain.params().network_id;
        Ok(trial
            .insert(transfer.clone(), network, self.chain.store(), now)?
            .map(|_| ()))
    }
}

/// The bytes of transfers a block holds: its size less the header, the list length and the
/// coinbase.
fn transfer_room(params: &ChainParams) -> usize {
    params
        .max_block_bytes
        .saturating_sub(HEADER_LEN + 9 + MIN_TX_BYTES)
}
