//! The mempool: transfers waiting for a block. Policy, not consensus: another node may choose
//! differently without splitting the network.
//!
//! - Admission: valid on its own (signature, amount, memo); nonce not yet used and at most
//!   `max_nonce_gap` ahead of the sender's next (a gap is held until it fills); a fee of at least
//!   `min_fee_per_byte` per byte; the sender's confirmed balance covers all of its pending
//!   transfers together.
//! - Replace-by-fee: a transfer with the same sender and nonce replaces the pending one if its
//!   fee is at least `replacement_bump_percent` higher.
//! - Bounded in bytes: when full, the lowest fee rate goes first (with the sender's later nonces,
//!   which could no longer be mined).
//! - Expiry: transfers older than `expiry_secs` are dropped.
//! - Block templates take ready transfers (no nonce gap) by fee rate, each sender's in nonce
//!   order.

use crate::address::Address;
use crate::error::{MempoolError, StoreError, TxError};
use crate::hash::Txid;
use crate::params::NetworkId;
use crate::state::{Account, AccountRead};
use crate::tx::Transfer;
use crate::units::Amount;
use crate::validate::{check_transfer_form, check_transfer_signature};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

/// The mempool's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MempoolPolicy {
    /// Total encoded bytes held at most.
    pub max_bytes: usize,
    /// The lowest fee accepted, per encoded byte.
    pub min_fee_per_byte: u64,
    /// Pending transfers one sender may have.
    pub max_per_sender: usize,
    /// How far past the sender's next nonce a transfer may be held.
    pub max_nonce_gap: u64,
    /// Seconds a transfer may wait before it is dropped.
    pub expiry_secs: u64,
    /// How much more (percent) a replacement must pay.
    pub replacement_bump_percent: u64,
}

impl Default for MempoolPolicy {
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024 * 1024,
            min_fee_per_byte: 1,
            max_per_sender: 64,
            max_nonce_gap: 16,
            expiry_secs: 24 * 60 * 60,
            replacement_bump_percent: 10,
        }
    }
}

/// A pending transfer and what the pool knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolEntry {
    /// The transfer.
    pub transfer: Transfer,
    /// Its txid.
    pub txid: Txid,
    /// Its sender.
    pub sender: Address,
    /// Its encoded size.
    pub size: usize,
    /// When it entered the pool (unix seconds).
    pub added: u64,
}

impl PoolEntry {
    /// Orders by fee per byte, exactly (no floating point), then by txid for determinism.
    fn cmp_fee_rate(&self, other: &Self) -> Ordering {
        let lhs = u128::from(self.transfer.fee.0) * other.size as u128;
        let rhs = u128::from(other.transfer.fee.0) * self.size as u128;
        lhs.cmp(&rhs).then_with(|| other.txid.cmp(&self.txid))
    }
}

/// What admitting a transfer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    /// The transfer's txid.
    pub txid: Txid,
    /// The pending transfer it replaced, if any.
    pub replaced: Option<Txid>,
    /// Transfers evicted to make room.
    pub evicted: Vec<Txid>,
}

/// The pool of pending transfers.
#[derive(Debug, Clone, Default)]
pub struct Mempool {
    policy: MempoolPolicy,
    entries: HashMap<Txid, PoolEntry>,
    by_sender: HashMap<Address, BTreeMap<u64, Txid>>,
    bytes: usize,
}

impl Mempool {
    /// An empty pool with `policy`.
    pub fn new(policy: MempoolPolicy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    /// The pool's policy.
    pub fn policy(&self) -> &MempoolPolicy {
        &self.policy
    }

    /// How many transfers wait.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none wait.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Their total encoded size.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// A pending transfer.
    pub fn get(&self, txid: &Txid) -> Option<&PoolEntry> {
        self.entries.get(txid)
    }

    /// Every entry, highest fee rate first.
    pub fn entries(&self) -> Vec<&PoolEntry> {
        let mut all: Vec<&PoolEntry> = self.entries.values().collect();
        all.sort_by(|a, b| b.cmp_fee_rate(a));
        all
    }

    /// The sender's pending transfers in nonce order.
    pub fn by_sender(&self, sender: &Address) -> Vec<&PoolEntry> {
        self.by_sender
            .get(sender)
            .map(|nonces| {
                nonces
                    .values()
                    .filter_map(|t| self.entries.get(t))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What `address` has pending: the sum it will spend (amounts and fees) and will receive.
    pub fn pending_flows(&self, address: &Address) -> (Amount, Amount) {
        let mine = self.by_sender(address);
        let spend = mine
            .iter()
            .map(|e| e.transfer.total_cost().unwrap_or(Amount::ZERO));
        let receive = self
            .entries
            .values()
            .filter(|e| e.transfer.to == *address)
            .map(|e| e.transfer.amount);
        (
            Amount::checked_sum(spend).unwrap_or(Amount(u64::MAX)),
            Amount::checked_sum(receive).unwrap_or(Amount(u64::MAX)),
        )
    }

    /// The next nonce `sender` should use: after its confirmed and contiguous pending ones.
    pub fn next_nonce(&self, sender: &Address, confirmed: Account) -> u64 {
        let mut next = confirmed.nonce;
        if let Some(nonces) = self.by_sender.get(sender) {
            for &nonce in nonces.range(confirmed.nonce..).map(|(n, _)| n) {
                if nonce != next {
                    break;
                }
                next += 1;
            }
        }
        next
    }

    /// Checks and admits a transfer against the sender's confirmed state in `state`.
    ///
    /// # Errors
    ///
    /// A [`MempoolError`] naming the policy or rule it breaks; the pool is unchanged then.
    /// A store failure is reported as `Ok(Err(..))`'s outer error.
    pub fn insert(
        &mut self,
        transfer: Transfer,
        network: NetworkId,
        state: &impl AccountRead,
        now: u64,
    ) -> Result<Result<Admitted, MempoolError>, StoreError> {
        if let Err(e) = check_transfer_form(&transfer) {
            return Ok(Err(MempoolError::Invalid(e)));
        }
        self.insert_verified_by(transfer, state, now, |t| {
            check_transfer_signature(t, network)
        })
    }

    /// As [`Mempool::insert`] for a transfer whose signature was already verified (one that
    /// was in a block or in this pool before).
    ///
    /// # Errors
    ///
    /// As [`Mempool::insert`].
    pub fn insert_checked(
        &mut self,
        transfer: Transfer,
        state: &impl AccountRead,
        now: u64,
    ) -> Result<Result<Admitted, MempoolError>, StoreError> {
        self.insert_verified_by(transfer, state, now, |_| Ok(()))
    }

    /// As [`Mempool::insert_checked`], with `verify` (the signature check) run last, once every
    /// policy rule has passed: a duplicate, a used nonce or a losing fee race costs no signature
    /// check, however often a peer sends it.
    ///
    /// # Errors
    ///
    /// As [`Mempool::insert`].
    pub fn insert_verified_by(
        &mut self,
        transfer: Transfer,
        state: &impl AccountRead,
        now: u64,
        verify: impl FnOnce(&Transfer) -> Result<(), TxError>,
    ) -> Result<Result<Admitted, MempoolError>, StoreError> {
        let sender = transfer.sender();
        let account = state.account(&sender)?;
        Ok(self.admit(transfer, sender, account, now, verify))
    }

    fn admit(
        &mut self,
        transfer: Transfer,
        sender: Address,
        account: Account,
        now: u64,
        verify: impl FnOnce(&Transfer) -> Result<(), TxError>,
    ) -> Result<Admitted, MempoolError> {
        let txid = transfer.txid();
        if self.entries.contains_key(&txid) {
            return Err(MempoolError::Duplicate { txid });
        }
        let size = transfer.encoded_len();
        let min_fee = Amount((size as u64).saturating_mul(self.policy.min_fee_per_byte));
        if transfer.fee < min_fee {
            return Err(MempoolError::FeeTooLow {
                min: min_fee,
                got: transfer.fee,
            });
        }
        if transfer.nonce < account.nonce {
            return Err(MempoolError::NonceUsed {
                expected: account.nonce,
                got: transfer.nonce,
            });
        }
        if transfer.nonce - account.nonce > self.policy.max_nonce_gap {
            return Err(MempoolError::NonceTooFarAhead {
                expected: account.nonce,
                got: transfer.nonce,
            });
        }
        let cost = transfer
            .total_cost()
            .ok_or(MempoolError::Invalid(TxError::AmountOverflow))?;
        let pending = self.by_sender.get(&sender);
        let replaced = pending.and_then(|p| p.get(&transfer.nonce)).copied();
        if let Some(old) = replaced.and_then(|t| self.entries.get(&t)) {
            let bump = u128::from(old.transfer.fee.0)
                * u128::from(100 + self.policy.replacement_bump_percent);
            let min = Amount(
                u64::try_from(bump.div_ceil(100))
                    .unwrap_or(u64::MAX)
                    .max(old.transfer.fee.0 + 1),
            );
            if transfer.fee < min {
                return Err(MempoolError::ReplacementFeeTooLow { min });
            }
        } else if pending.is_some_and(|p| p.len() >= self.policy.max_per_sender) {
            return Err(MempoolError::TooManyPending {
                limit: self.policy.max_per_sender,
            });
        }
        let others = pending
            .into_iter()
            .flat_map(|p| p.iter())
            .filter(|(nonce, _)| **nonce != transfer.nonce)
            .filter_map(|(_, t)| self.entries.get(t))
            .map(|e| e.transfer.total_cost().unwrap_or(Amount(u64::MAX)));
        let needed = Amount::checked_sum(others.chain([cost])).unwrap_or(Amount(u64::MAX));
        if needed > account.balance {
            return Err(MempoolError::InsufficientBalance {
                available: account.balance,
                needed,
            });
        }
        verify(&transfer).map_err(MempoolError::Invalid)?;
        let entry = PoolEntry {
            transfer,
            txid,
            sender,
            size,
            added: now,
        };
        let replaced_entry = replaced.and_then(|old| self.remove_one(&old));
        self.add_entry(entry);
        let evicted = self.evict_to_fit();
        if evicted.iter().any(|e| e.txid == txid) {
            // Refused: put back what making room for it took out, so the pool is as it was.
            for entry in evicted.into_iter().filter(|e| e.txid != txid) {
                self.add_entry(entry);
            }
            if let Some(old) = replaced_entry {
                self.add_entry(old);
            }
            return Err(MempoolError::Full);
        }
        Ok(Admitted {
            txid,
            replaced,
            evicted: evicted.iter().map(|e| e.txid).collect(),
        })
    }

    fn add_entry(&mut self, entry: PoolEntry) {
        self.bytes += entry.size;
        self.by_sender
            .entry(entry.sender)
            .or_default()
            .insert(entry.transfer.nonce, entry.txid);
        self.entries.insert(entry.txid, entry);
    }

    fn remove_one(&mut self, txid: &Txid) -> Option<PoolEntry> {
        let entry = self.entries.remove(txid)?;
        self.bytes -= entry.size;
        if let Some(nonces) = self.by_sender.get_mut(&entry.sender) {
            nonces.remove(&entry.transfer.nonce);
            if nonces.is_empty() {
                self.by_sender.remove(&entry.sender);
            }
        }
        Some(entry)
    }

    /// Removes a transfer and the same sender's later nonces (which it would leave stuck).
    fn remove_with_descendants(&mut self, txid: &Txid) -> Vec<PoolEntry> {
        let Some(entry) = self.entries.get(txid) else {
            return Vec::new();
        };
        let later: Vec<Txid> = self
            .by_sender
            .get(&entry.sender)
            .map(|n| n.range(entry.transfer.nonce..).map(|(_, t)| *t).collect())
            .unwrap_or_default();
        later.iter().filter_map(|t| self.remove_one(t)).collect()
    }

    fn evict_to_fit(&mut self) -> Vec<PoolEntry> {
        let mut evicted = Vec::new();
        while self.bytes > self.policy.max_bytes {
            let Some(worst) = self
                .entries
                .values()
                .min_by(|a, b| a.cmp_fee_rate(b))
                .map(|e| e.txid)
            else {
                break;
            };
            evicted.extend(self.remove_with_descendants(&worst));
        }
        evicted
    }

    /// Drops transfers that waited longer than the policy allows; returns their txids.
    pub fn expire(&mut self, now: u64) -> Vec<Txid> {
        let cutoff = now.saturating_sub(self.policy.expiry_secs);
        let old: Vec<Txid> = self
            .entries
            .values()
            .filter(|e| e.added < cutoff)
            .map(|e| e.txid)
            .collect();
        old.iter()
            .flat_map(|t| self.remove_with_descendants(t))
            .map(|e| e.txid)
            .collect()
    }

    /// Brings the pool in line with a new tip: transfers of `disconnected` blocks come back,
    /// mined ones leave, and the pending transfers of every address the change touched are
    /// checked again against the new state. Returns the txids that left the pool.
    ///
    /// # Errors
    ///
    /// A store failure while reading accounts.
    pub fn reconcile(
        &mut self,
        disconnected: &[Transfer],
        mined: &[Txid],
        touched: &[Address],
        state: &impl AccountRead,
        now: u64,
    ) -> Result<Vec<Txid>, StoreError> {
        let mut removed: Vec<Txid> = mined
            .iter()
            .filter(|t| self.remove_one(t).is_some())
            .copied()
            .collect();
        let mut recheck: BTreeMap<Address, Vec<PoolEntry>> = BTreeMap::new();
        for address in touched {
            if let Some(nonces) = self.by_sender.get(address) {
                let txids: Vec<Txid> = nonces.values().copied().collect();
                for txid in txids {
                    if let Some(entry) = self.remove_one(&txid) {
                        recheck.entry(*address).or_default().push(entry);
                    }
                }
            }
        }
        for transfer in disconnected {
            let sender = transfer.sender();
            let entry = PoolEntry {
                txid: transfer.txid(),
                sender,
                size: transfer.encoded_len(),
                added: now,
                transfer: transfer.clone(),
            };
            recheck.entry(sender).or_default().push(entry);
        }
        for (sender, mut entries) in recheck {
            entries.sort_by_key(|e| e.transfer.nonce);
            let account = state.account(&sender)?;
            for entry in entries {
                let (txid, added) = (entry.txid, entry.added);
                // Their signatures verified when they entered the pool or their block.
                match self.admit(entry.transfer, sender, account, added, |_| Ok(())) {
                    // What it evicted to make room left the pool too.
                    Ok(admitted) => removed.extend(admitted.evicted),
                    Err(_) if !mined.contains(&txid) => removed.push(txid),
                    Err(_) => {}
                }
            }
        }
        Ok(removed)
    }

    /// Picks transfers for a block: ready ones (each sender's from its next nonce, without
    /// gaps) by fee rate, each sender's in nonce order, within `max_bytes` and every sender's
    /// balance.
    ///
    /// # Errors
    ///
    /// A store failure while reading accounts.
    pub fn select(
        &self,
        max_bytes: usize,
        state: &impl AccountRead,
    ) -> Result<Vec<Transfer>, StoreError> {
        struct Ready<'a>(&'a PoolEntry);
        impl PartialEq for Ready<'_> {
            fn eq(&self, other: &Self) -> bool {
                self.0.txid == other.0.txid
            }
        }
        impl Eq for Ready<'_> {}
        impl PartialOrd for Ready<'_> {
            fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
                Some(self.cmp(other))
            }
        }
        impl Ord for Ready<'_> {
            fn cmp(&self, other: &Self) -> Ordering {
                self.0.cmp_fee_rate(other.0)
            }
        }

        let mut accounts: HashMap<Address, Account> = HashMap::new();
        let mut heap = BinaryHeap::new();
        for (sender, nonces) in &self.by_sender {
            let account = state.account(sender)?;
            accounts.insert(*sender, account);
            if let Some(entry) = nonces.get(&account.nonce).and_then(|t| self.entries.get(t)) {
                heap.push(Ready(entry));
            }
        }
        let mut chosen = Vec::new();
        let mut bytes = 0usize;
        while let Some(Ready(entry)) = heap.pop() {
            if bytes + entry.size > max_bytes {
                continue;
            }
            let Some(account) = accounts.get_mut(&entry.sender) else {
                continue;
            };
            let Some(balance) = entry
                .transfer
                .total_cost()
                .and_then(|c| account.balance.checked_sub(c))
            else {
                continue;
            };
            *account = Account {
                balance,
                nonce: account.nonce + 1,
            };
            bytes += entry.size;
            chosen.push(entry.transfer.clone());
            let next = self
                .by_sender
                .get(&entry.sender)
                .and_then(|n| n.get(&account.nonce))
                .and_then(|t| self.entries.get(t));
            if let Some(next) = next {
                heap.push(Ready(next));
            }
        }
        Ok(chosen)
    }
}
