//! The address book and the bans: which addresses a node knows, when each may be dialled again,
//! and which are banned until when.
//!
//! It owns its state and knows nothing of connections: the protocol tells it what happened (a
//! dial failed, a peer connected or left, a peer was banned or stalled a sync) and asks it whom
//! to dial. Limits and backoff are in `docs/NETWORK.md` §6 and §7.

use super::message::PeerAddress;
use super::peer::BanTarget;
use std::collections::HashMap;
use std::net::SocketAddr;

/// What the book knows of one address.
#[derive(Debug, Clone, Copy, Default)]
struct AddressInfo {
    last_seen: u64,
    last_try: u64,
    failures: u32,
    /// Not dialled before this time: the peer there was dropped for stalling a sync.
    stalled_until: u64,
}

impl AddressInfo {
    /// Whether its backoff (5 s × 2^failures, at most 640 s) and any stall penalty are over.
    fn may_dial(&self, now: u64) -> bool {
        let backoff = 5u64.saturating_mul(1 << self.failures.min(7));
        (self.last_try == 0 || now >= self.last_try.saturating_add(backoff))
            && now >= self.stalled_until
    }
}

/// Known addresses (at most `max`, the one seen longest ago forgotten first) and bans.
#[derive(Debug)]
pub(super) struct AddressBook {
    max: usize,
    addresses: HashMap<SocketAddr, AddressInfo>,
    bans: HashMap<BanTarget, u64>,
    /// Bans made since the adapter last took them (to save them).
    new_bans: Vec<(BanTarget, u64)>,
    /// This node's own addresses (a dial that reached itself): never remembered again, however
    /// often gossip brings them back. Bounded: one per own address a peer can name.
    own: std::collections::HashSet<SocketAddr>,
}

impl AddressBook {
    pub(super) fn new(max: usize) -> Self {
        Self {
            max,
            addresses: HashMap::new(),
            bans: HashMap::new(),
            new_bans: Vec::new(),
            own: std::collections::HashSet::new(),
        }
    }

    /// Addresses known.
    pub(super) fn len(&self) -> usize {
        self.addresses.len()
    }

    /// Remembers `addr`, seen at `last_seen` (a later sighting wins).
    pub(super) fn add(&mut self, addr: SocketAddr, last_seen: u64) {
        if self.own.contains(&addr) {
            return;
        }
        if self.addresses.len() >= self.max && !self.addresses.contains_key(&addr) {
            // Forget the address seen longest ago.
            if let Some(oldest) = self
                .addresses
                .iter()
                .min_by_key(|(a, i)| (i.last_seen, **a))
                .map(|(a, _)| *a)
            {
                self.addresses.remove(&oldest);
            }
        }
        let info = self.addresses.entry(addr).or_default();
        info.last_seen = info.last_seen.max(last_seen);
    }

    /// Forgets `addr` for good: it is this node's own (at most 64 are kept; past that, the
    /// handshake's self-connection check still catches a dial to itself).
    pub(super) fn forget_as_own(&mut self, addr: SocketAddr) {
        self.addresses.remove(&addr);
        if self.own.len() < 64 {
            self.own.insert(addr);
        }
    }

    /// Every address, most recently seen first.
    pub(super) fn list(&self) -> Vec<PeerAddress> {
        let mut all: Vec<PeerAddress> = self
            .addresses
            .iter()
            .map(|(addr, info)| PeerAddress {
                addr: *addr,
                last_seen: info.last_seen,
            })
            .collect();
        all.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then(a.addr.cmp(&b.addr)));
        all
    }

    /// We connected to `addr` at `now`: its failures are forgotten.
    pub(super) fn connected(&mut self, addr: SocketAddr, now: u64) {
        let info = self.addresses.entry(addr).or_default();
        info.failures = 0;
        info.last_seen = now;
    }

    /// Dialling `addr` failed at `now`.
    pub(super) fn dial_failed(&mut self, addr: SocketAddr, now: u64) {
        let info = self.addresses.entry(addr).or_default();
        info.failures = info.failures.saturating_add(1);
        info.last_try = now;
    }

    /// A connection to `addr` closed, or a dial to it started, at `now`: it waits out its
    /// backoff before it is dialled again.
    pub(super) fn tried(&mut self, addr: &SocketAddr, now: u64) {
        if let Some(info) = self.addresses.get_mut(addr) {
            info.last_try = now;
        }
    }

    /// The peer at `addr` stalled a sync: not dialled before `until`.
    pub(super) fn stalled(&mut self, addr: &SocketAddr, until: u64) {
        if let Some(info) = self.addresses.get_mut(addr) {
            info.stalled_until = until;
        }
    }

    /// Addresses that may be dialled at `now` (past their backoff, not banned) and that
    /// `skip` does not rule out, in address order.
    pub(super) fn dial_candidates(
        &self,
        now: u64,
        skip: impl Fn(&SocketAddr) -> bool,
    ) -> Vec<SocketAddr> {
        let mut candidates: Vec<SocketAddr> = self
            .addresses
            .iter()
            .filter(|(addr, info)| {
                !skip(addr) && !self.is_banned(**addr, now) && info.may_dial(now)
            })
            .map(|(addr, _)| *addr)
            .collect();
        candidates.sort();
        candidates
    }

    /// Bans `addr`'s target until `until` and forgets the address.
    pub(super) fn ban(&mut self, addr: SocketAddr, until: u64) {
        let target = BanTarget::of(addr);
        self.bans.insert(target, until);
        self.new_bans.push((target, until));
        self.addresses.remove(&addr);
    }

    /// Bans `target` until `until`, as saved before a restart; a longer ban in force stays.
    pub(super) fn restore_ban(&mut self, target: BanTarget, until: u64) {
        let entry = self.bans.entry(target).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// Whether `addr` is banned at `now`.
    pub(super) fn is_banned(&self, addr: SocketAddr, now: u64) -> bool {
        self.bans
            .get(&BanTarget::of(addr))
            .is_some_and(|until| *until > now)
    }

    /// Forgets the bans over at `now`.
    pub(super) fn expire_bans(&mut self, now: u64) {
        self.bans.retain(|_, until| *until > now);
    }

    /// The bans in force at `now`, in a stable order.
    pub(super) fn bans(&self, now: u64) -> Vec<(BanTarget, u64)> {
        let mut bans: Vec<(BanTarget, u64)> = self
            .bans
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(target, until)| (*target, *until))
            .collect();
        bans.sort_unstable();
        bans
    }

    /// The bans made since the last call.
    pub(super) fn take_new_bans(&mut self) -> Vec<(BanTarget, u64)> {
        std::mem::take(&mut self.new_bans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    #[test]
    fn forgets_the_address_seen_longest_ago_when_full() {
        let mut book = AddressBook::new(2);
        book.add(addr(1), 10);
        book.add(addr(2), 5);
        book.add(addr(3), 20);
        let kept: Vec<SocketAddr> = book.list().iter().map(|a| a.addr).collect();
        assert_eq!(kept, vec![addr(3), addr(1)]);
    }

    #[test]
    fn failures_back_off_and_a_connection_forgets_them() {
        let mut book = AddressBook::new(10);
        book.add(addr(1), 0);
        book.dial_failed(addr(1), 100);
        book.dial_failed(addr(1), 100);
        // Two failures: 20 s.
        assert!(book.dial_candidates(119, |_| false).is_empty());
        assert_eq!(book.dial_candidates(120, |_| false), vec![addr(1)]);
        book.connected(addr(1), 130);
        book.tried(&addr(1), 130);
        assert_eq!(book.dial_candidates(135, |_| false), vec![addr(1)]);
    }

    #[test]
    fn a_staller_waits_and_a_ban_forgets_the_address() {
        let mut book = AddressBook::new(10);
        book.add(addr(1), 0);
        book.add(addr(2), 0);
        book.stalled(&addr(1), 700);
        assert_eq!(book.dial_candidates(699, |_| false), vec![addr(2)]);
        book.ban(addr(2), 1_000);
        assert!(book.is_banned(addr(2), 999) && !book.is_banned(addr(2), 1_000));
        assert_eq!(book.len(), 1);
        assert_eq!(book.take_new_bans().len(), 1);
        assert!(book.take_new_bans().is_empty());
    }
}
