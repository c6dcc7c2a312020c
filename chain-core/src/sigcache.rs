//! Transfers whose signatures were already verified, so a block that carries them does not cost
//! the same ECDSA checks again.
//!
//! A node verifies a transfer's signature when the transfer enters its mempool; most blocks it
//! receives then carry transfers it has already seen. A [`SignatureCache`] remembers the ids of
//! those transfers (a [`Txid`] is the hash of the whole encoding, signature included), and a
//! block check skips the signature of a transfer it finds there.
//!
//! Why this is safe without ever clearing it: whether a signature is valid depends only on the
//! transfer's bytes and the network, never on the chain. A reorganisation changes balances and
//! nonces, which are checked when the block connects, not here; so an entry stays true across any
//! reorganisation, and a cache can only make a check cheaper, never change its outcome. A cache
//! serves one network (the signing hash includes the network id; see [`SignatureCache::new`]).
//!
//! Bounds: at most `capacity` ids (32 bytes each; with the set's and the queue's overhead 80 to
//! 130 bytes an entry), the oldest forgotten first. A transfer found while checking a block is
//! taken out (it is mined once; the entry is not needed again), and put back when a
//! reorganisation returns the transfer to the mempool. A forgotten or taken entry costs one
//! verification more, nothing else.
//!
//! The cache is shared between the chain's thread (the mempool) and the threads that check
//! blocks as they arrive, behind one lock held for a set lookup, never during a verification.

use crate::hash::Txid;
use crate::params::NetworkId;
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Entries kept by default: the transfers of about 13 MiB of mempool, in 8 to 13 MiB of memory.
pub const DEFAULT_SIGNATURE_CACHE_ENTRIES: usize = 100_000;

/// Ids of transfers whose signatures verified, for one network (see the module docs).
pub struct SignatureCache {
    network: NetworkId,
    capacity: usize,
    entries: Mutex<Entries>,
    verified: AtomicU64,
    skipped: AtomicU64,
}

/// How often a cache spared a verification, for diagnostics and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SignatureStats {
    /// Signatures verified (by the mempool or by a block check).
    pub verified: u64,
    /// Signatures a block check skipped because the cache held the transfer.
    pub skipped: u64,
}

/// Shows the sizes and counts, not the ids.
impl std::fmt::Debug for SignatureCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureCache")
            .field("network", &self.network)
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .field("stats", &self.stats())
            .finish()
    }
}

#[derive(Default)]
struct Entries {
    set: HashSet<Txid>,
    /// Ids in the order they were remembered. An id taken out of `set` stays here until it
    /// comes to the front, so the queue (not the set) is what `capacity` bounds.
    order: VecDeque<Txid>,
}

impl SignatureCache {
    /// An empty cache of at most `capacity` entries for `network` (0 keeps nothing: every
    /// signature is verified every time).
    pub fn new(network: NetworkId, capacity: usize) -> Self {
        Self {
            network,
            capacity,
            entries: Mutex::new(Entries::default()),
            verified: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
        }
    }

    /// The network whose signatures it holds.
    pub fn network(&self) -> NetworkId {
        self.network
    }

    /// Entries kept at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Notes that `txid`'s signature verified for this cache's network.
    pub fn remember(&self, txid: Txid) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        if !entries.set.insert(txid) {
            return;
        }
        entries.order.push_back(txid);
        while entries.order.len() > self.capacity {
            if let Some(oldest) = entries.order.pop_front() {
                entries.set.remove(&oldest);
            }
        }
    }

    /// Takes `txid` out if it is held: `true` means its signature verified before and need not
    /// be checked again; the caller counts the skip with [`SignatureCache::note_skipped`].
    pub fn take(&self, txid: &Txid) -> bool {
        if self.capacity == 0 {
            return false;
        }
        self.lock().set.remove(txid)
    }

    /// Whether `txid` is held.
    pub fn contains(&self, txid: &Txid) -> bool {
        self.lock().set.contains(txid)
    }

    /// Ids held now.
    pub fn len(&self) -> usize {
        self.lock().set.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts `n` signatures verified.
    pub fn note_verified(&self, n: u64) {
        self.verified.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` signatures skipped because they were held.
    pub fn note_skipped(&self, n: u64) {
        self.skipped.fetch_add(n, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn stats(&self) -> SignatureStats {
        SignatureStats {
            verified: self.verified.load(Ordering::Relaxed),
            skipped: self.skipped.load(Ordering::Relaxed),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // The lock guards plain set operations, which do not panic while it is held; if a
        // holder panicked anyway, the set is still a set of verified ids.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> Txid {
        Txid([n; 32])
    }

    #[test]
    fn remembers_then_takes_once() {
        let cache = SignatureCache::new(NetworkId(*b"test"), 4);
        cache.remember(id(1));
        assert!(cache.contains(&id(1)));
        assert!(cache.take(&id(1)));
        assert!(!cache.take(&id(1)), "taken ids are gone");
        assert!(cache.is_empty());
    }

    #[test]
    fn forgets_the_oldest_beyond_capacity() {
        let cache = SignatureCache::new(NetworkId(*b"test"), 3);
        for n in 1..=5 {
            cache.remember(id(n));
        }
        assert_eq!(cache.len(), 3);
        assert!(!cache.contains(&id(1)) && !cache.contains(&id(2)));
        assert!((3..=5).all(|n| cache.contains(&id(n))));
    }

    #[test]
    fn taken_ids_still_count_against_capacity_until_they_leave_the_queue() {
        let cache = SignatureCache::new(NetworkId(*b"test"), 2);
        cache.remember(id(1));
        assert!(cache.take(&id(1)));
        cache.remember(id(2));
        cache.remember(id(3));
        // The queue held [1, 2, 3]: 1 left it, and the set keeps 2 and 3.
        assert!(cache.contains(&id(2)) && cache.contains(&id(3)));
        assert_eq!(cache.entries.lock().map(|e| e.order.len()).ok(), Some(2));
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let cache = SignatureCache::new(NetworkId(*b"test"), 0);
        cache.remember(id(1));
        assert!(!cache.take(&id(1)));
        assert!(cache.is_empty());
    }
}
