//! What the protocol knows about one connected peer, and the penalties it can earn.

use super::message::{Inventory, Version};
use crate::hash::{BlockHash, Txid};
use crate::pow::Work;
use crate::units::Height;

pub use crate::store::BanTarget;
use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;

/// Identifies a connection; the adapter assigns it and never reuses one.
pub type PeerId = u64;

/// Misbehaviour score at which a peer is banned.
pub const BAN_SCORE: u32 = 100;

/// Something a peer did wrong, with the score it adds. A peer reaching [`BAN_SCORE`] is
/// disconnected and banned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Penalty {
    /// Bytes that are not a frame or message (garbage, bad checksum, oversized length).
    MalformedMessage,
    /// A message other than the handshake before the handshake finished, or a second version.
    HandshakeViolation,
    /// A block that breaks a consensus rule.
    InvalidBlock,
    /// Headers that do not connect or break a rule.
    InvalidHeaders,
    /// A transfer with a bad signature or form (consensus-invalid on its own).
    InvalidTransfer,
    /// A transfer this node holds already, sent without being asked for.
    UnrequestedDuplicate,
    /// More announcements than the rate limit allows.
    InventoryFlood,
    /// Asking for more data at once than allowed.
    OversizedRequest,
}

impl Penalty {
    /// The score this penalty adds.
    pub fn score(self) -> u32 {
        match self {
            Penalty::MalformedMessage
            | Penalty::HandshakeViolation
            | Penalty::InvalidBlock
            | Penalty::InvalidHeaders
            | Penalty::InvalidTransfer => BAN_SCORE,
            Penalty::InventoryFlood => 50,
            Penalty::OversizedRequest => 20,
            Penalty::UnrequestedDuplicate => 10,
        }
    }
}

/// Where a connection came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// The peer dialled us.
    Inbound,
    /// We dialled the peer.
    Outbound,
}

/// A set that forgets its oldest entries past a capacity.
#[derive(Debug, Clone, Default)]
pub(crate) struct BoundedSet<T: std::hash::Hash + Eq + Copy> {
    items: HashSet<T>,
    order: VecDeque<T>,
    capacity: usize,
}

impl<T: std::hash::Hash + Eq + Copy> BoundedSet<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            items: HashSet::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    pub(crate) fn insert(&mut self, item: T) -> bool {
        if !self.items.insert(item) {
            return false;
        }
        self.order.push_back(item);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.items.remove(&old);
            }
        }
        true
    }

    pub(crate) fn remove(&mut self, item: &T) {
        if self.items.remove(item) {
            self.order.retain(|i| i != item);
        }
    }

    pub(crate) fn contains(&self, item: &T) -> bool {
        self.items.contains(item)
    }

    /// The items, the latest inserted first.
    pub(crate) fn newest_first(&self) -> impl Iterator<Item = &T> {
        self.order.iter().rev()
    }

    pub(crate) fn clear(&mut self) {
        self.items.clear();
        self.order.clear();
    }

    /// Removes every item of `gone` in one pass over the order (not one pass per item).
    pub(crate) fn remove_all(&mut self, gone: &HashSet<T>) {
        let before = self.items.len();
        self.items.retain(|item| !gone.contains(item));
        if self.items.len() != before {
            self.order.retain(|item| !gone.contains(item));
        }
    }
}

/// Transfer requests tracked per peer, at most: a peer that never answers cannot grow the set
/// without bound (requests past this are remembered only by the node, as before).
pub(crate) const MAX_TRANSFERS_REQUESTED: usize = 10_000;

/// Seconds between two `inv`s of a peer's announcement backlog: two of
/// [`MAX_INV`](super::message::MAX_INV) per 10 s leaves most of a peer's announcement allowance
/// (`ProtocolConfig::max_inv_per_window`, 5,000 per 10 s by default) to live relay.
pub(crate) const BACKLOG_INV_EVERY: u64 = 5;

/// A connected peer.
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub(crate) addr: SocketAddr,
    pub(crate) direction: Direction,
    pub(crate) connected_at: u64,
    pub(crate) version: Option<Version>,
    pub(crate) sent_version: bool,
    pub(crate) ready: bool,
    pub(crate) score: u32,
    pub(crate) best_height: Height,
    pub(crate) best_work: Work,
    pub(crate) ping: Option<(u64, u64)>,
    pub(crate) next_ping_at: u64,
    /// Inventory the peer is known to have, for relay: what not to announce to it again.
    /// Bounded, so it forgets; never the record of where a block can be fetched.
    pub(crate) known: BoundedSet<Inventory>,
    /// Pending blocks (header validated, block not stored) this peer has: the pending ancestors
    /// of every header it sent or announced. Closed under pending ancestors, so marking a chain
    /// stops at the first block already in it; a block leaves every peer's set when its header
    /// stops being pending. Bounded by the pending headers, and unlike `known` it never forgets
    /// a block the node still has to fetch (a sync of more blocks than `known` holds once
    /// stalled for good when the early ones were evicted).
    pub(crate) pending_blocks: HashSet<BlockHash>,
    pub(crate) in_flight: HashSet<BlockHash>,
    /// When it last delivered a block it was asked for (or was asked, with nothing pending).
    pub(crate) last_delivery: u64,
    /// Transfers requested from this peer and not delivered yet (at most
    /// [`MAX_TRANSFERS_REQUESTED`]): forgotten by the node if the peer leaves without them.
    pub(crate) transfers_requested: HashSet<Txid>,
    pub(crate) inv_window_start: u64,
    pub(crate) inv_in_window: usize,
    /// Pending transfers not yet announced to it since it became ready (past the first `inv`),
    /// announced [`MAX_INV`](super::message::MAX_INV) at a time, one `inv` per
    /// [`BACKLOG_INV_EVERY`] seconds.
    pub(crate) announce_backlog: VecDeque<Txid>,
    /// When the next `inv` of the backlog is due.
    pub(crate) next_backlog_inv_at: u64,
    /// Its header sync while its branch has less work than the keep threshold
    /// (`presync.rs`).
    pub(crate) header_sync: Option<super::HeaderSync>,
}

impl Peer {
    pub(crate) fn new(addr: SocketAddr, direction: Direction, now: u64) -> Self {
        Self {
            addr,
            direction,
            connected_at: now,
            version: None,
            sent_version: false,
            ready: false,
            score: 0,
            best_height: Height(0),
            best_work: Work::ZERO,
            ping: None,
            next_ping_at: now,
            known: BoundedSet::new(10_000),
            pending_blocks: HashSet::new(),
            in_flight: HashSet::new(),
            last_delivery: now,
            transfers_requested: HashSet::new(),
            inv_window_start: now,
            inv_in_window: 0,
            announce_backlog: VecDeque::new(),
            next_backlog_inv_at: now,
            header_sync: None,
        }
    }

    /// The address the peer listens on, if it said.
    pub(crate) fn listen_addr(&self) -> Option<SocketAddr> {
        let port = self.version.as_ref()?.listen_port;
        (port != 0).then(|| SocketAddr::new(self.addr.ip(), port))
    }
}
