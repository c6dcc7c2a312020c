//! The peer protocol as a sans-IO state machine: messages, connections and ticks go in; messages
//! to send, connections to open or close, and events come out. It owns the [`Ledger`] and does
//! no I/O and reads no clock of its own, so the TCP adapter in `chain-net` and the deterministic
//! simulation in this crate's tests drive the very same code.
//!
//! Jobs, one concern each:
//! - **handshake**: `version`/`verack` with protocol version, network id, genesis hash, best
//!   height and work, listen port and a nonce that detects a connection to oneself;
//! - **liveness**: pings with a timeout, and a deadline for the handshake;
//! - **addresses**: `getaddr`/`addr` gossip into a bounded address book, and outbound dialling
//!   with exponential backoff;
//! - **relay**: new blocks and transfers are announced by hash (`inv`) and fetched on request
//!   (`getdata`);
//! - **sync**: headers first. Headers are fetched with a block locator, checked (linkage, proof
//!   of work, retarget, time), then their blocks are fetched in a pipelined window spread over
//!   every peer that has them;
//! - **misbehaviour**: each fault adds a named [`Penalty`]; at [`BAN_SCORE`] the peer is banned.
//!
//! The limits are in `docs/NETWORK.md`.

pub mod frame;
pub mod message;
pub mod peer;

pub use frame::FrameError;
pub use message::{Inventory, Message, PeerAddress, Version};
pub use peer::{BAN_SCORE, BanTarget, Direction, PeerId, Penalty};

use crate::block::Header;
use crate::chain::{AcceptStatus, ChainEvent};
use crate::error::{BlockError, Error, MempoolError};
use crate::hash::{BlockHash, Txid};
use crate::ledger::Ledger;
use crate::mempool::Admitted;
use crate::store::Store;
use crate::tx::{Transaction, Transfer};
use crate::units::Height;
use crate::validate::{check_header_in_context, check_header_pow};
use message::{MAX_ADDRS, MAX_HEADERS, MAX_INV, MAX_LOCATOR};
use peer::{BoundedSet, MAX_TRANSFERS_REQUESTED, Peer};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;

/// The protocol version this node speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// Blocks asked for in one `getdata` at most; a peer asking for more is penalised.
pub const MAX_BLOCKS_PER_REQUEST: usize = 128;

/// While far behind, blocks are requested in runs of at least the per-peer limit divided by this
/// (16 of 128 by default), not one at a time.
const SYNC_REQUEST_RUN: usize = 8;

/// The longest the stall timeout grows to, in seconds ([`ProtocolConfig::stall_timeout`]).
pub const MAX_STALL_TIMEOUT: u64 = 64;

/// Seconds before the address of a peer dropped for stalling is dialled again.
pub const STALLER_REDIAL_SECS: u64 = 600;

/// Tunable limits of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolConfig {
    /// Outbound connections to keep.
    pub target_outbound: usize,
    /// Inbound connections accepted at most.
    pub max_inbound: usize,
    /// Seconds a handshake may take.
    pub handshake_timeout: u64,
    /// Seconds between pings.
    pub ping_interval: u64,
    /// Seconds a pong may take.
    pub ping_timeout: u64,
    /// Seconds a requested block may take before it is asked of another peer.
    pub block_timeout: u64,
    /// Seconds the block the chain needs next may be outstanding from one peer, while the tip
    /// stands still during a sync and another peer has that block, before the first peer is
    /// dropped as a staller: it holds up the whole download window. Doubled after each such
    /// drop (at most [`MAX_STALL_TIMEOUT`]), back down a step each time the tip moves, so a
    /// node whose own checks are slow does not drop its peers one after the other.
    pub stall_timeout: u64,
    /// Blocks requested from one peer at once.
    pub max_in_flight_per_peer: usize,
    /// Blocks requested from one peer at once while far behind (the best header more than
    /// `max_in_flight_per_peer` blocks past the tip): an initial sync from a single peer keeps
    /// that many blocks coming, so that the node checks blocks on every core while it stores the
    /// ones before. `download_window` still bounds the total.
    pub sync_in_flight_per_peer: usize,
    /// How far past the tip blocks are requested (must not exceed the orphan pool).
    pub download_window: u64,
    /// Announced items accepted per peer per `inv_window` seconds.
    pub max_inv_per_window: usize,
    /// The announcement rate window, in seconds.
    pub inv_window: u64,
    /// Seconds a ban lasts.
    pub ban_secs: u64,
    /// Addresses remembered at most.
    pub max_addresses: usize,
    /// Seconds between asking a peer for headers past our tip, in case an announcement was
    /// missed.
    pub resync_interval: u64,
    /// Seconds between replacing one outbound peer by a random other known address, so that
    /// a node whose connections all sit on one side of a healed partition finds the other.
    pub rotate_interval: u64,
    /// The port this node listens on (0: not listening), told to peers.
    pub listen_port: u16,
    /// Free text naming the software.
    pub agent: String,
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        Self {
            target_outbound: 8,
            max_inbound: 64,
            handshake_timeout: 30,
            ping_interval: 60,
            ping_timeout: 30,
            block_timeout: 30,
            stall_timeout: 2,
            max_in_flight_per_peer: 16,
            sync_in_flight_per_peer: 128,
            download_window: 128,
            max_inv_per_window: 5_000,
            inv_window: 10,
            ban_secs: 24 * 60 * 60,
            max_addresses: 1_000,
            resync_interval: 30,
            rotate_interval: 300,
            listen_port: 0,
            agent: format!("chain/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Why the protocol closes a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The peer reached the ban score.
    Banned(Penalty),
    /// The peer is on another network or genesis.
    WrongNetwork,
    /// The peer speaks an older protocol.
    ObsoleteVersion(u32),
    /// We connected to ourselves.
    SelfConnection,
    /// Handshake, ping or block request took too long.
    Timeout(&'static str),
    /// Too many inbound connections, or a duplicate.
    TooManyPeers,
    /// The peer's address is banned.
    AddressBanned,
    /// Replaced by another outbound peer, to keep the view of the network fresh.
    Rotated,
    /// It held back the block the chain needed next while another peer had it
    /// ([`ProtocolConfig::stall_timeout`]).
    Stalling,
    /// It reads too slowly: its send queue filled up.
    TooSlow,
}

/// Something for subscribers (API, CLI, web).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// The chain changed (new tip, reorganisation, invalid block).
    Chain(ChainEvent),
    /// A transfer entered the mempool.
    TransferAccepted(Txid),
    /// A peer finished its handshake.
    PeerReady {
        /// The peer.
        peer: PeerId,
        /// Its address.
        addr: SocketAddr,
        /// Its best height then.
        best_height: Height,
    },
    /// A peer went away.
    PeerDisconnected {
        /// The peer.
        peer: PeerId,
        /// Its address.
        addr: SocketAddr,
    },
    /// A peer was penalised.
    PeerPenalised {
        /// The peer.
        peer: PeerId,
        /// For what.
        penalty: Penalty,
        /// Its score now.
        score: u32,
    },
    /// Sync progress: our tip and the best header known.
    SyncProgress {
        /// Our tip height.
        height: Height,
        /// The best header's height.
        target: Height,
    },
}

/// What the adapter must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Io {
    /// Send a message to a peer.
    Send(PeerId, Message),
    /// Close a connection.
    Disconnect(PeerId, DisconnectReason),
    /// Open a connection.
    Connect(SocketAddr),
    /// Tell subscribers.
    Event(NodeEvent),
}

/// A block from a peer, with or without its signatures verified already.
enum IncomingBlock {
    Plain(crate::block::Block),
    Verified(crate::validate::VerifiedBlock),
}

/// A header this node has validated but whose block it has not stored yet.
#[derive(Debug, Clone, Copy)]
struct PendingHeader {
    header: Header,
    height: Height,
}

#[derive(Debug, Clone, Copy, Default)]
struct AddressInfo {
    last_seen: u64,
    last_try: u64,
    failures: u32,
    /// Not dialled before this time: the peer there was dropped for stalling a sync.
    stalled_until: u64,
}

/// The peer protocol state machine.
#[derive(Debug)]
pub struct Protocol<S: Store> {
    ledger: Ledger<S>,
    config: ProtocolConfig,
    nonce: u64,
    rng: u64,
    peers: BTreeMap<PeerId, Peer>,
    dialing: HashMap<SocketAddr, u64>,
    addresses: HashMap<SocketAddr, AddressInfo>,
    bans: HashMap<BanTarget, u64>,
    /// Bans made since the adapter last took them (to save them).
    new_bans: Vec<(BanTarget, u64)>,
    /// Validated headers whose blocks are not stored yet.
    headers: HashMap<BlockHash, PendingHeader>,
    /// The pending headers by parent, to find those a stored block lets in.
    header_children: HashMap<BlockHash, Vec<BlockHash>>,
    /// Pending blocks not requested from anyone, lowest first.
    queue: BTreeSet<(Height, BlockHash)>,
    /// Requested blocks: who has the request and since when.
    in_flight: HashMap<BlockHash, (PeerId, u64)>,
    best_header: Option<(BlockHash, Height)>,
    /// The tip, and since when it has been the tip (seen at ticks), for stall detection.
    tip_since: (BlockHash, u64),
    /// The stall timeout now: [`ProtocolConfig::stall_timeout`], doubled by each staller
    /// dropped and halved back as the tip moves.
    stall_timeout: u64,
    /// Transfers asked of a peer: not asked again unless that peer leaves or answers
    /// `notfound`, or the transfer is refused.
    requested_transfers: BoundedSet<Txid>,
    /// Transfers refused since the tip last changed: not asked for until it changes again.
    /// (then the latest are asked again of a peer that has them: `request_refused_again`).
    rejected_transfers: BoundedSet<Txid>,
    next_resync_at: u64,
    next_rotate_at: u64,
    outbox: Vec<Io>,
}

impl<S: Store> Protocol<S> {
    /// A protocol over `ledger`. `seed` feeds the nonces it sends (the handshake nonce that
    /// detects self-connections, ping nonces); give each node a different one.
    pub fn new(ledger: Ledger<S>, config: ProtocolConfig, seed: u64) -> Self {
        let stall_timeout = config.stall_timeout;
        let mut protocol = Self {
            ledger,
            config,
            nonce: 0,
            rng: seed,
            peers: BTreeMap::new(),
            dialing: HashMap::new(),
            addresses: HashMap::new(),
            bans: HashMap::new(),
            new_bans: Vec::new(),
            headers: HashMap::new(),
            header_children: HashMap::new(),
            queue: BTreeSet::new(),
            in_flight: HashMap::new(),
            best_header: None,
            tip_since: (BlockHash::ZERO, 0),
            stall_timeout,
            requested_transfers: BoundedSet::new(50_000),
            rejected_transfers: BoundedSet::new(50_000),
            next_resync_at: 0,
            next_rotate_at: 0,
            outbox: Vec::new(),
        };
        protocol.nonce = protocol.next_random();
        protocol
    }

    fn next_random(&mut self) -> u64 {
        // SplitMix64: the seed comes from the caller, so runs replay exactly.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The ledger (chain and mempool), for queries.
    pub fn ledger(&self) -> &Ledger<S> {
        &self.ledger
    }

    /// Ends the protocol, giving back its ledger.
    pub fn into_ledger(self) -> Ledger<S> {
        self.ledger
    }

    /// The ledger, mutably (for settings).
    pub fn ledger_mut(&mut self) -> &mut Ledger<S> {
        &mut self.ledger
    }

    /// The configuration.
    pub fn config(&self) -> &ProtocolConfig {
        &self.config
    }

    /// Takes what the adapter must do now.
    pub fn drain_io(&mut self) -> Vec<Io> {
        std::mem::take(&mut self.outbox)
    }

    /// Connected peers: id, address, direction, handshake done, best height, score.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.peers
            .iter()
            .map(|(id, p)| PeerInfo {
                id: *id,
                addr: p.addr,
                direction: p.direction,
                ready: p.ready,
                best_height: p.best_height,
                score: p.score,
                agent: p
                    .version
                    .as_ref()
                    .map(|v| v.agent.clone())
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// Addresses in the address book, most recently seen first.
    pub fn known_addresses(&self) -> Vec<PeerAddress> {
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

    /// The best header height known (our tip if no better header is known).
    pub fn best_header_height(&self) -> Height {
        let tip = self.ledger.chain().tip().height;
        self.best_header
            .map(|(_, h)| h)
            .filter(|h| *h > tip)
            .unwrap_or(tip)
    }

    /// Sync internals for diagnostics: validated headers waiting for blocks, blocks queued,
    /// blocks in flight.
    pub fn sync_counts(&self) -> (usize, usize, usize) {
        (self.headers.len(), self.queue.len(), self.in_flight.len())
    }

    /// Whether the best header known is more than `max_in_flight_per_peer` blocks past the tip:
    /// an initial sync, or one after a long time offline. Blocks are then requested in larger
    /// numbers, and a node may store them more cheaply (deferring its lookup indexes).
    pub fn far_behind(&self) -> bool {
        let tip = self.ledger.chain().tip().height;
        let behind = self.best_header_height().0.saturating_sub(tip.0);
        behind > self.config.max_in_flight_per_peer as u64
    }

    /// Whether blocks are still being downloaded.
    pub fn is_syncing(&self) -> bool {
        !self.queue.is_empty() || !self.in_flight.is_empty()
    }

    /// Remembers an address to dial (from configuration, the store or the user).
    pub fn add_address(&mut self, addr: SocketAddr, last_seen: u64) {
        if self.addresses.len() >= self.config.max_addresses && !self.addresses.contains_key(&addr)
        {
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

    /// The bans in force at `now`, until when each lasts, in a stable order: what a node saves
    /// so that a restart does not lift them.
    pub fn bans(&self, now: u64) -> Vec<(BanTarget, u64)> {
        let mut bans: Vec<(BanTarget, u64)> = self
            .bans
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(target, until)| (*target, *until))
            .collect();
        bans.sort_unstable();
        bans
    }

    /// The bans made since the last call, for the adapter to save as they happen.
    pub fn take_new_bans(&mut self) -> Vec<(BanTarget, u64)> {
        std::mem::take(&mut self.new_bans)
    }

    /// Bans `target` until `until` (unix seconds), as saved before a restart; a longer ban
    /// already in force stays.
    pub fn restore_ban(&mut self, target: BanTarget, until: u64) {
        let entry = self.bans.entry(target).or_insert(until);
        *entry = (*entry).max(until);
    }

    fn is_banned(&self, addr: SocketAddr, now: u64) -> bool {
        self.bans
            .get(&BanTarget::of(addr))
            .is_some_and(|until| *until > now)
    }

    /// A connection is open (inbound accepted or outbound established).
    pub fn connected(&mut self, peer: PeerId, addr: SocketAddr, direction: Direction, now: u64) {
        self.dialing.remove(&addr);
        if self.is_banned(addr, now) {
            self.outbox
                .push(Io::Disconnect(peer, DisconnectReason::AddressBanned));
            return;
        }
        let inbound = self
            .peers
            .values()
            .filter(|p| p.direction == Direction::Inbound)
            .count();
        if direction == Direction::Inbound && inbound >= self.config.max_inbound {
            self.outbox
                .push(Io::Disconnect(peer, DisconnectReason::TooManyPeers));
            return;
        }
        let mut state = Peer::new(addr, direction, now);
        if direction == Direction::Outbound {
            let info = self.addresses.entry(addr).or_default();
            info.failures = 0;
            info.last_seen = now;
            state.sent_version = true;
            self.peers.insert(peer, state);
            self.send_version(peer);
        } else {
            self.peers.insert(peer, state);
        }
    }

    /// Dialling `addr` failed.
    pub fn connect_failed(&mut self, addr: SocketAddr, now: u64) {
        self.dialing.remove(&addr);
        let info = self.addresses.entry(addr).or_default();
        info.failures = info.failures.saturating_add(1);
        info.last_try = now;
    }

    /// A connection closed (by either side).
    pub fn disconnected(&mut self, peer: PeerId, now: u64) {
        let Some(state) = self.peers.remove(&peer) else {
            return;
        };
        // Blocks it had in flight go back to the queue.
        for hash in &state.in_flight {
            self.in_flight.remove(hash);
            self.requeue(hash);
        }
        // Transfers asked of it and never delivered may be asked of the next peer to announce
        // them; otherwise one lost answer would keep a transfer from this node for good.
        self.requested_transfers
            .remove_all(&state.transfers_requested);
        if let Some(info) = self.addresses.get_mut(&state.addr) {
            info.last_try = now;
        }
        self.outbox.push(Io::Event(NodeEvent::PeerDisconnected {
            peer,
            addr: state.addr,
        }));
        self.request_blocks(now);
    }

    /// Bytes from a peer that are not a valid frame or message.
    pub fn malformed(&mut self, peer: PeerId, _error: &FrameError, now: u64) {
        self.penalise(peer, Penalty::MalformedMessage, now);
    }

    /// Adds a penalty; bans and disconnects at [`BAN_SCORE`].
    pub fn penalise(&mut self, peer: PeerId, penalty: Penalty, now: u64) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        state.score = state.score.saturating_add(penalty.score());
        let score = state.score;
        let addr = state.addr;
        self.outbox.push(Io::Event(NodeEvent::PeerPenalised {
            peer,
            penalty,
            score,
        }));
        if score >= BAN_SCORE {
            let ban = (
                BanTarget::of(addr),
                now.saturating_add(self.config.ban_secs),
            );
            self.bans.insert(ban.0, ban.1);
            self.new_bans.push(ban);
            self.addresses.remove(&addr);
            self.outbox
                .push(Io::Disconnect(peer, DisconnectReason::Banned(penalty)));
            self.disconnected(peer, now);
        }
    }

    fn send(&mut self, peer: PeerId, message: Message) {
        self.outbox.push(Io::Send(peer, message));
    }

    fn send_version(&mut self, peer: PeerId) {
        let tip = *self.ledger.chain().tip();
        let params = self.ledger.params();
        let version = Version {
            version: PROTOCOL_VERSION,
            network: params.network_id,
            genesis: params.genesis_hash(),
            best_height: tip.height,
            best_work: tip.chain_work,
            listen_port: self.config.listen_port,
            nonce: self.nonce,
            agent: self.config.agent.clone(),
        };
        self.send(peer, Message::Version(version));
    }

    /// A message arrived from a peer.
    ///
    /// # Errors
    ///
    /// Only a failure of the store; everything a peer can cause is handled (and penalised).
    pub fn received(&mut self, peer: PeerId, message: Message, now: u64) -> Result<(), Error> {
        let Some(state) = self.peers.get(&peer) else {
            return Ok(());
        };
        match (&message, state.ready) {
            (Message::Version(v), _) => {
                let v = v.clone();
                self.on_version(peer, v, now);
                return Ok(());
            }
            (Message::Verack, false) => {
                self.on_verack(peer, now);
                return Ok(());
            }
            (_, false) | (Message::Verack, true) => {
                self.penalise(peer, Penalty::HandshakeViolation, now);
                return Ok(());
            }
            _ => {}
        }
        match message {
            Message::Version(_) | Message::Verack => {}
            Message::Ping(nonce) => self.send(peer, Message::Pong(nonce)),
            Message::Pong(nonce) => {
                if let Some(state) = self.peers.get_mut(&peer)
                    && state.ping.is_some_and(|(expected, _)| expected == nonce)
                {
                    state.ping = None;
                }
            }
            Message::GetAddr => {
                let mut addrs = self.known_addresses();
                addrs.truncate(MAX_ADDRS);
                self.send(peer, Message::Addr(addrs));
            }
            Message::Addr(addrs) => {
                for entry in addrs {
                    if entry.addr.port() != 0 && !self.is_banned(entry.addr, now) {
                        self.add_address(entry.addr, entry.last_seen.min(now));
                    }
                }
            }
            Message::Inv(items) => self.on_inv(peer, items, now)?,
            Message::GetData(items) => self.on_getdata(peer, items, now)?,
            Message::NotFound(items) => {
                let mut transfers = HashSet::new();
                for item in items {
                    match item {
                        Inventory::Block(hash) => self.unassign(peer, &hash),
                        Inventory::Transfer(txid) => {
                            transfers.insert(txid);
                        }
                    }
                    // It does not have it after all: ask someone else.
                    if let Some(state) = self.peers.get_mut(&peer) {
                        state.known.remove(&item);
                        match item {
                            Inventory::Block(hash) => {
                                state.pending_blocks.remove(&hash);
                            }
                            Inventory::Transfer(txid) => {
                                state.transfers_requested.remove(&txid);
                            }
                        }
                    }
                }
                // A transfer it no longer has may be asked of the next peer that announces it.
                self.requested_transfers.remove_all(&transfers);
                self.request_blocks(now);
            }
            Message::GetHeaders { locator, stop } => self.on_getheaders(peer, &locator, stop)?,
            Message::Headers(headers) => self.on_headers(peer, headers, now)?,
            Message::Block(block) => self.on_block(peer, IncomingBlock::Plain(block), now)?,
            Message::Transfer(transfer) => {
                // Refusals are answered with penalties inside; nothing to return to a peer.
                let _ = self.on_transfer(Some(peer), transfer, now)?;
            }
        }
        Ok(())
    }

    fn on_version(&mut self, peer: PeerId, version: Version, now: u64) {
        let params = self.ledger.params();
        let (network, genesis) = (params.network_id, params.genesis_hash());
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        if state.version.is_some() {
            self.penalise(peer, Penalty::HandshakeViolation, now);
            return;
        }
        let reason = if version.network != network || version.genesis != genesis {
            Some(DisconnectReason::WrongNetwork)
        } else if version.nonce == self.nonce {
            Some(DisconnectReason::SelfConnection)
        } else if version.version < PROTOCOL_VERSION {
            Some(DisconnectReason::ObsoleteVersion(version.version))
        } else {
            None
        };
        if let Some(reason) = reason {
            if reason == DisconnectReason::SelfConnection {
                let addr = state.addr;
                self.addresses.remove(&addr);
            }
            self.outbox.push(Io::Disconnect(peer, reason));
            self.disconnected(peer, now);
            return;
        }
        state.best_height = version.best_height;
        state.best_work = version.best_work;
        state.version = Some(version);
        let send_version = !state.sent_version;
        state.sent_version = true;
        if send_version {
            self.send_version(peer);
        }
        self.send(peer, Message::Verack);
    }

    fn on_verack(&mut self, peer: PeerId, now: u64) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        if state.version.is_none() {
            self.penalise(peer, Penalty::HandshakeViolation, now);
            return;
        }
        state.ready = true;
        state.next_ping_at = now + self.config.ping_interval;
        let (addr, best_height, best_work, direction) = (
            state.addr,
            state.best_height,
            state.best_work,
            state.direction,
        );
        let listen = state.listen_addr();
        if let Some(listen) = listen {
            self.add_address(listen, now);
        }
        self.outbox.push(Io::Event(NodeEvent::PeerReady {
            peer,
            addr,
            best_height,
        }));
        if direction == Direction::Outbound {
            self.send(peer, Message::GetAddr);
        }
        if best_work > self.ledger.chain().tip().chain_work {
            self.send_getheaders(peer, BlockHash::ZERO);
        }
        self.announce_pending(peer);
    }

    /// Tells a peer that just became ready about our pending transfers: one `inv` of at most
    /// [`MAX_INV`], highest fee rate first, of those it is not known to have. A transfer is
    /// otherwise announced only when it enters the mempool, so one accepted while this node had
    /// no ready peer (cut off, or just restarted with its mempool reloaded from the store) would
    /// wait here, unmined unless this node mines, until it expires.
    fn announce_pending(&mut self, peer: PeerId) {
        let txids: Vec<Txid> = self
            .ledger
            .mempool()
            .entries()
            .into_iter()
            .map(|entry| entry.txid)
            .collect();
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let mut items = Vec::new();
        for txid in txids {
            if items.len() == MAX_INV {
                break;
            }
            let item = Inventory::Transfer(txid);
            if state.known.insert(item) {
                items.push(item);
            }
        }
        if !items.is_empty() {
            self.send(peer, Message::Inv(items));
        }
    }

    /// Hashes from the parent of the best known header (or the tip) back to genesis: ten dense,
    /// then doubling gaps. Starting below the best header makes a peer that has it answer with
    /// at least that header, so the node learns the peer has the chain under it (a peer on the
    /// same tip would otherwise answer nothing, and never be asked for the pending blocks).
    pub fn locator(&self) -> Result<Vec<BlockHash>, Error> {
        let mut locator = Vec::new();
        // Start with validated headers above the tip, newest first; the rest of the pending
        // chain is not walked, the stored part follows from the tip.
        let mut cursor = self
            .best_header
            .and_then(|(hash, _)| self.headers.get(&hash))
            .map(|best| best.header.prev_hash);
        while let Some(hash) = cursor
            && locator.len() < 10
        {
            let Some(pending) = self.headers.get(&hash) else {
                break;
            };
            locator.push(hash);
            cursor = Some(pending.header.prev_hash);
        }
        let store = self.ledger.chain().store();
        let tip = self.ledger.chain().tip().height.0;
        let mut step = 1u64;
        let mut height = tip;
        loop {
            if let Some(hash) = store.hash_at(Height(height))? {
                locator.push(hash);
            }
            if height == 0 || locator.len() >= MAX_LOCATOR - 1 {
                break;
            }
            if locator.len() >= 10 {
                step *= 2;
            }
            height = height.saturating_sub(step);
        }
        if let Some(genesis) = store.hash_at(Height::GENESIS)?
            && locator.last() != Some(&genesis)
        {
            locator.push(genesis);
        }
        Ok(locator)
    }

    fn send_getheaders(&mut self, peer: PeerId, stop: BlockHash) {
        match self.locator() {
            Ok(locator) => self.send(peer, Message::GetHeaders { locator, stop }),
            Err(_) => {
                // A store failure here only delays sync; the next announcement retries.
            }
        }
    }

    fn on_getheaders(
        &mut self,
        peer: PeerId,
        locator: &[BlockHash],
        stop: BlockHash,
    ) -> Result<(), Error> {
        let store = self.ledger.chain().store();
        let mut start = Height(1);
        for hash in locator {
            if let Some(meta) = store.meta(hash)?
                && store.hash_at(meta.height)? == Some(*hash)
            {
                start = Height(meta.height.0 + 1);
                break;
            }
        }
        let tip = self.ledger.chain().tip().height;
        let mut headers = Vec::new();
        let mut height = start;
        while height <= tip && headers.len() < MAX_HEADERS {
            let Some(hash) = store.hash_at(height)? else {
                break;
            };
            let Some(meta) = store.meta(&hash)? else {
                break;
            };
            headers.push(meta.header);
            if hash == stop {
                break;
            }
            height = Height(height.0 + 1);
        }
        self.send(peer, Message::Headers(headers));
        Ok(())
    }

    fn known_block(&self, hash: &BlockHash) -> Result<bool, Error> {
        Ok(self.headers.contains_key(hash)
            || self.ledger.chain().is_orphan(hash)
            || self.ledger.chain().store().meta(hash)?.is_some())
    }

    fn on_inv(&mut self, peer: PeerId, items: Vec<Inventory>, now: u64) -> Result<(), Error> {
        let (window, limit) = (self.config.inv_window, self.config.max_inv_per_window);
        let Some(state) = self.peers.get_mut(&peer) else {
            return Ok(());
        };
        if now >= state.inv_window_start + window {
            state.inv_window_start = now;
            state.inv_in_window = 0;
        }
        state.inv_in_window += items.len();
        if state.inv_in_window > limit {
            self.penalise(peer, Penalty::InventoryFlood, now);
            return Ok(());
        }
        for item in &items {
            state.known.insert(*item);
        }
        let mut wanted = Vec::new();
        let mut unknown_block = None;
        for item in items {
            match item {
                Inventory::Block(hash) => {
                    if !self.known_block(&hash)? {
                        unknown_block = Some(hash);
                    }
                    // A peer announcing a block whose header is pending has the blocks under it:
                    // it can serve them if the peer first asked does not.
                    self.mark_has_pending(peer, hash);
                }
                Inventory::Transfer(txid) => {
                    if self.ledger.mempool().get(&txid).is_none()
                        && !self.rejected_transfers.contains(&txid)
                        && self.requested_transfers.insert(txid)
                    {
                        wanted.push(Inventory::Transfer(txid));
                    }
                }
            }
        }
        if let Some(hash) = unknown_block {
            // Ask for the headers up to it; the blocks follow through the download pipeline.
            self.send_getheaders(peer, hash);
        }
        if !wanted.is_empty() {
            self.request_items(peer, wanted);
        }
        Ok(())
    }

    /// Sends `getdata` for `items`, noting the transfers among them as asked of `peer` (so that
    /// they may be asked of another peer if this one leaves without answering).
    fn request_items(&mut self, peer: PeerId, items: Vec<Inventory>) {
        if let Some(state) = self.peers.get_mut(&peer) {
            for item in &items {
                if let Inventory::Transfer(txid) = item
                    && state.transfers_requested.len() < MAX_TRANSFERS_REQUESTED
                {
                    state.transfers_requested.insert(*txid);
                }
            }
        }
        self.send(peer, Message::GetData(items));
    }

    fn on_getdata(&mut self, peer: PeerId, items: Vec<Inventory>, now: u64) -> Result<(), Error> {
        let blocks = items
            .iter()
            .filter(|i| matches!(i, Inventory::Block(_)))
            .count();
        if blocks > MAX_BLOCKS_PER_REQUEST {
            self.penalise(peer, Penalty::OversizedRequest, now);
            return Ok(());
        }
        let mut missing = Vec::new();
        for item in items {
            match item {
                Inventory::Block(hash) => match self.ledger.chain().store().block(&hash)? {
                    Some(block) => self.send(peer, Message::Block(block)),
                    None => missing.push(item),
                },
                Inventory::Transfer(txid) => match self.ledger.mempool().get(&txid) {
                    Some(entry) => {
                        let transfer = entry.transfer.clone();
                        self.send(peer, Message::Transfer(transfer));
                    }
                    None => missing.push(item),
                },
            }
        }
        if !missing.is_empty() {
            self.send(peer, Message::NotFound(missing));
        }
        Ok(())
    }

    /// Ancestor headers of a header whose parent is `parent` (pending or stored), oldest first.
    fn header_ancestors(
        &self,
        parent: BlockHash,
        count: usize,
    ) -> Result<Option<Vec<Header>>, Error> {
        let mut out = Vec::with_capacity(count);
        let mut cursor = parent;
        while out.len() < count {
            if let Some(pending) = self.headers.get(&cursor) {
                out.push(pending.header);
                cursor = pending.header.prev_hash;
                continue;
            }
            let Some(meta) = self.ledger.chain().store().meta(&cursor)? else {
                return Ok(None);
            };
            // The rest comes from the store.
            out.reverse();
            let mut stored = self.ledger.chain().ancestor_headers(&meta)?;
            let keep = count - out.len();
            if stored.len() > keep {
                stored.drain(..stored.len() - keep);
            }
            stored.extend(out);
            return Ok(Some(stored));
        }
        out.reverse();
        Ok(Some(out))
    }

    fn height_of(&self, hash: &BlockHash) -> Result<Option<Height>, Error> {
        if let Some(pending) = self.headers.get(hash) {
            return Ok(Some(pending.height));
        }
        Ok(self.ledger.chain().store().meta(hash)?.map(|m| m.height))
    }

    fn on_headers(&mut self, peer: PeerId, headers: Vec<Header>, now: u64) -> Result<(), Error> {
        if headers.is_empty() {
            return Ok(());
        }
        let params = self.ledger.params().clone();
        let full = headers.len() == MAX_HEADERS;
        let mut last = None;
        for header in headers {
            let hash = header.hash();
            let Some(parent_height) = self.height_of(&header.prev_hash)? else {
                self.penalise(peer, Penalty::InvalidHeaders, now);
                return Ok(());
            };
            let height = Height(parent_height.0 + 1);
            if !self.known_block(&hash)? {
                let needed = crate::difficulty::ancestors_needed(&params, height)
                    .max(params.median_time_span);
                let Some(ancestors) = self.header_ancestors(header.prev_hash, needed)? else {
                    self.penalise(peer, Penalty::InvalidHeaders, now);
                    return Ok(());
                };
                let checked = check_header_pow(&params, &header).and_then(|()| {
                    check_header_in_context(&params, &header, height, &ancestors, now)
                });
                match checked {
                    Ok(()) => {}
                    Err(BlockError::TimeTooNew { .. }) => return Ok(()),
                    Err(_) => {
                        self.penalise(peer, Penalty::InvalidHeaders, now);
                        return Ok(());
                    }
                }
                self.add_header(hash, PendingHeader { header, height });
                if self.best_header.is_none_or(|(_, best)| height > best) {
                    self.best_header = Some((hash, height));
                }
            }
            if let Some(state) = self.peers.get_mut(&peer)
                && height > state.best_height
            {
                state.best_height = height;
            }
            self.mark_has_pending(peer, hash);
            last = Some(hash);
        }
        if let Some(last) = last
            && let Some(state) = self.peers.get_mut(&peer)
        {
            // Not to be announced back to it.
            state.known.insert(Inventory::Block(last));
        }
        if full && let Some(last) = last {
            self.send(
                peer,
                Message::GetHeaders {
                    locator: vec![last],
                    stop: BlockHash::ZERO,
                },
            );
        }
        self.request_blocks(now);
        Ok(())
    }

    /// A peer that has a block has all its ancestors: records the pending ones as fetchable from
    /// it. The walk ends at the first one already recorded (its ancestors are too), so marking
    /// every header of a sync costs one step per header, not one per pending header.
    fn mark_has_pending(&mut self, peer: PeerId, hash: BlockHash) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let mut cursor = hash;
        while let Some(pending) = self.headers.get(&cursor)
            && state.pending_blocks.insert(cursor)
        {
            cursor = pending.header.prev_hash;
        }
    }

    /// Takes `hash` back from `peer` if it had the request, and queues it again.
    fn unassign(&mut self, peer: PeerId, hash: &BlockHash) {
        if self.in_flight.get(hash).is_some_and(|(p, _)| *p == peer) {
            self.in_flight.remove(hash);
            self.requeue(hash);
        }
        if let Some(state) = self.peers.get_mut(&peer) {
            state.in_flight.remove(hash);
        }
    }

    /// Queues a pending block for download again (nothing if its header is not pending).
    fn requeue(&mut self, hash: &BlockHash) {
        if let Some(pending) = self.headers.get(hash) {
            self.queue.insert((pending.height, *hash));
        }
    }

    /// Records a validated header whose block is to be fetched.
    fn add_header(&mut self, hash: BlockHash, pending: PendingHeader) {
        self.header_children
            .entry(pending.header.prev_hash)
            .or_default()
            .push(hash);
        self.queue.insert((pending.height, hash));
        self.headers.insert(hash, pending);
    }

    /// Forgets a pending header (its block is stored, or invalid).
    fn forget_header(&mut self, hash: &BlockHash) {
        let Some(pending) = self.headers.remove(hash) else {
            return;
        };
        self.queue.remove(&(pending.height, *hash));
        for peer in self.peers.values_mut() {
            peer.pending_blocks.remove(hash);
        }
        let parent = pending.header.prev_hash;
        if let Some(siblings) = self.header_children.get_mut(&parent) {
            siblings.retain(|h| h != hash);
            if siblings.is_empty() {
                self.header_children.remove(&parent);
            }
        }
    }

    /// Blocks one peer may have in flight now: more while far behind.
    fn in_flight_limit(&self) -> usize {
        let normal = self.config.max_in_flight_per_peer;
        if self.far_behind() {
            normal.max(self.config.sync_in_flight_per_peer)
        } else {
            normal
        }
    }

    /// Hands queued blocks within the download window to peers that have them, lowest first.
    /// Blocks out of the window, or that no free peer has, stay queued for a later call. The
    /// queue is kept in height order, so this looks at the window's blocks only, not at every
    /// pending header.
    fn request_blocks(&mut self, now: u64) {
        if self.queue.is_empty() {
            return;
        }
        // A node that starts to download on a tip it has not seen move yet counts a stall from
        // here, not from its next tick.
        self.note_tip(now);
        let tip = self.ledger.chain().tip().height;
        let limit = Height(tip.0.saturating_add(self.config.download_window));
        let max = self.in_flight_limit();
        let mut free: usize = self
            .peers
            .values()
            .filter(|p| p.ready)
            .map(|p| max.saturating_sub(p.in_flight.len()))
            .sum();
        if free == 0 {
            return;
        }
        // A block that came before its parent waits in the chain's orphan pool: not asked for
        // again (it would come back an orphan again, as often as asked) unless the pool lets it
        // go before the parent arrives.
        let chain = self.ledger.chain();
        let window: Vec<(Height, BlockHash)> = self
            .queue
            .iter()
            .take_while(|(height, _)| *height <= limit)
            .filter(|(_, hash)| !chain.is_orphan(hash))
            .copied()
            .collect();
        if self.wait_for_a_run(&window, limit, free, max) {
            return;
        }
        let mut requests: BTreeMap<PeerId, Vec<Inventory>> = BTreeMap::new();
        for (height, hash) in window {
            if free == 0 {
                break;
            }
            // Only a peer that announced or sent this block's header has it: a peer on another
            // fork at a greater height does not.
            let item = Inventory::Block(hash);
            let candidate = self
                .peers
                .iter()
                .filter(|(_, p)| {
                    p.ready && p.pending_blocks.contains(&hash) && p.in_flight.len() < max
                })
                .min_by_key(|(id, p)| (p.in_flight.len(), **id))
                .map(|(id, _)| *id);
            let Some(peer) = candidate else {
                continue;
            };
            if let Some(state) = self.peers.get_mut(&peer) {
                if state.in_flight.is_empty() {
                    // The delivery clock starts with the first request outstanding.
                    state.last_delivery = now;
                }
                state.in_flight.insert(hash);
            }
            self.queue.remove(&(height, hash));
            self.in_flight.insert(hash, (peer, now));
            requests.entry(peer).or_default().push(item);
            free -= 1;
        }
        for (peer, items) in requests {
            for chunk in items.chunks(MAX_BLOCKS_PER_REQUEST) {
                self.send(peer, Message::GetData(chunk.to_vec()));
            }
        }
    }

    /// Whether to hold back requests until a run of them can go at once. While far behind,
    /// blocks are asked for in runs of at least the per-peer limit / [`SYNC_REQUEST_RUN`],
    /// not one by one as each arrives: one `getdata`, and one wake-up of each side, for many
    /// blocks. A shorter run goes when it is all there is to ask for (no block waits past the
    /// window), when the tip's next block (or one at or below the tip, of another branch) is
    /// among it, or when nothing is in flight (nothing would call again).
    fn wait_for_a_run(
        &self,
        window: &[(Height, BlockHash)],
        limit: Height,
        free: usize,
        max: usize,
    ) -> bool {
        if !self.far_behind() || self.in_flight.is_empty() {
            return false;
        }
        let run = (max / SYNC_REQUEST_RUN).max(1);
        let next = Height(self.ledger.chain().tip().height.0.saturating_add(1));
        let more_later = self.queue.last().is_some_and(|(height, _)| *height > limit);
        let next_is_queued = window.first().is_some_and(|(height, _)| *height <= next);
        window.len().min(free) < run && more_later && !next_is_queued
    }

    /// A block from a peer whose signatures the adapter already verified (see
    /// [`crate::validate::WellFormedBlock`]); otherwise as a `block` message.
    ///
    /// # Errors
    ///
    /// Only a failure of the store.
    pub fn received_verified_block(
        &mut self,
        peer: PeerId,
        block: crate::validate::VerifiedBlock,
        now: u64,
    ) -> Result<(), Error> {
        if !self.peers.get(&peer).is_some_and(|p| p.ready) {
            self.penalise(peer, Penalty::HandshakeViolation, now);
            return Ok(());
        }
        self.on_block(peer, IncomingBlock::Verified(block), now)
    }

    fn on_block(&mut self, peer: PeerId, block: IncomingBlock, now: u64) -> Result<(), Error> {
        let hash = match &block {
            IncomingBlock::Plain(block) => block.hash(),
            IncomingBlock::Verified(block) => block.hash(),
        };
        let requested = self.in_flight.get(&hash).is_some_and(|(p, _)| *p == peer);
        self.unassign(peer, &hash);
        if let Some(state) = self.peers.get_mut(&peer) {
            state.known.insert(Inventory::Block(hash));
            if requested {
                state.last_delivery = now;
            }
        }
        let accepted = match block {
            IncomingBlock::Plain(block) => self.ledger.accept_block(block, now),
            IncomingBlock::Verified(block) => self.ledger.accept_verified(block, now),
        };
        match accepted {
            Ok(outcome) => {
                match outcome.status {
                    AcceptStatus::Orphan { missing } => {
                        if !self.known_block(&missing)? {
                            self.send_getheaders(peer, BlockHash::ZERO);
                        }
                    }
                    AcceptStatus::Stored { .. } | AcceptStatus::Duplicate => {}
                }
                self.forget_stored_headers(hash)?;
                self.publish_chain_events(outcome.events, Some(peer), now);
            }
            Err(Error::Block(BlockError::TimeTooNew { .. })) => {}
            Err(Error::Block(_)) => {
                self.forget_header(&hash);
                self.penalise(peer, Penalty::InvalidBlock, now);
            }
            Err(other) => return Err(other),
        }
        self.request_blocks(now);
        Ok(())
    }

    /// Drops pending headers whose blocks are now stored: the block just received, and the
    /// pending descendants that its arrival let the chain store (orphans waiting for it). Only
    /// those can have changed, so the store is asked about them alone, not about every pending
    /// header (thousands during a sync, for every block).
    fn forget_stored_headers(&mut self, received: BlockHash) -> Result<(), Error> {
        let store = self.ledger.chain().store();
        let mut stored = Vec::new();
        let mut frontier = vec![received];
        while let Some(hash) = frontier.pop() {
            if store.meta(&hash)?.is_none() {
                continue;
            }
            stored.push(hash);
            if let Some(children) = self.header_children.get(&hash) {
                frontier.extend(children.iter().copied());
            }
        }
        for hash in stored {
            self.forget_header(&hash);
        }
        Ok(())
    }

    /// A transfer refused against the old tip (its sender unfunded, its nonce ahead) may be
    /// valid on the new one. The refusals are forgotten, and the latest refused (at most
    /// [`MAX_INV`]) are asked again of a ready peer that has them; the others are asked for when
    /// announced again.
    fn request_refused_again(&mut self) {
        let refused: Vec<Txid> = self
            .rejected_transfers
            .newest_first()
            .take(MAX_INV)
            .copied()
            .collect();
        self.rejected_transfers.clear();
        let mut requests: BTreeMap<PeerId, Vec<Inventory>> = BTreeMap::new();
        for txid in refused {
            let item = Inventory::Transfer(txid);
            if self.ledger.mempool().get(&txid).is_some() {
                continue;
            }
            let holder = self
                .peers
                .iter()
                .find(|(_, peer)| peer.ready && peer.known.contains(&item))
                .map(|(id, _)| *id);
            if let Some(peer) = holder
                && self.requested_transfers.insert(txid)
            {
                requests.entry(peer).or_default().push(item);
            }
        }
        for (peer, items) in requests {
            self.request_items(peer, items);
        }
    }

    fn publish_chain_events(&mut self, events: Vec<ChainEvent>, from: Option<PeerId>, now: u64) {
        for event in events {
            if let ChainEvent::TipChanged(change) = &event {
                self.note_tip(now);
                self.request_refused_again();
                if let Some(last) = change.connected.last() {
                    // Announce every new tip: peers that know it already are skipped, and a peer
                    // that is behind learns where to sync to.
                    self.announce(Inventory::Block(last.hash), from);
                    let target = self.best_header_height();
                    self.outbox.push(Io::Event(NodeEvent::SyncProgress {
                        height: last.height,
                        target,
                    }));
                }
                // Transfers of the abandoned branch that went back into the mempool are still
                // valid: announce them again, since the side that won has never seen them.
                let returned: Vec<Txid> = change
                    .disconnected
                    .iter()
                    .flat_map(|b| b.block.txs.iter())
                    .filter_map(|tx| match tx {
                        Transaction::Transfer(t) => Some(t.txid()),
                        Transaction::Coinbase(_) => None,
                    })
                    .filter(|txid| self.ledger.mempool().get(txid).is_some())
                    .collect();
                for txid in returned {
                    self.announce(Inventory::Transfer(txid), None);
                }
            }
            if let ChainEvent::BlockInvalid { hash, .. } = &event {
                self.forget_header(hash);
                if let Some(peer) = from {
                    self.penalise(peer, Penalty::InvalidBlock, now);
                }
            }
            self.outbox.push(Io::Event(NodeEvent::Chain(event)));
        }
    }

    fn announce(&mut self, item: Inventory, except: Option<PeerId>) {
        let targets: Vec<PeerId> = self
            .peers
            .iter_mut()
            .filter(|(id, p)| p.ready && Some(**id) != except && !p.known.contains(&item))
            .map(|(id, p)| {
                p.known.insert(item);
                *id
            })
            .collect();
        for peer in targets {
            self.send(peer, Message::Inv(vec![item]));
        }
    }

    fn on_transfer(
        &mut self,
        from: Option<PeerId>,
        transfer: Transfer,
        now: u64,
    ) -> Result<Result<Admitted, MempoolError>, Error> {
        let txid = transfer.txid();
        if let Some(peer) = from.and_then(|p| self.peers.get_mut(&p)) {
            peer.known.insert(Inventory::Transfer(txid));
            peer.transfers_requested.remove(&txid);
        }
        match self.ledger.submit_transfer(transfer, now) {
            Ok(admitted) => {
                self.outbox
                    .push(Io::Event(NodeEvent::TransferAccepted(txid)));
                self.announce(Inventory::Transfer(txid), from);
                Ok(Ok(admitted))
            }
            Err(Error::Mempool(error)) => {
                // Not asked for again while the chain stays as it is: the refusal is remembered
                // until the tip changes (see `publish_chain_events`), not as a request made.
                self.requested_transfers.remove(&txid);
                self.rejected_transfers.insert(txid);
                if let Some(peer) = from {
                    let penalty = match &error {
                        MempoolError::Invalid(crate::error::TxError::Signature(_))
                        | MempoolError::Invalid(crate::error::TxError::ZeroAmount)
                        | MempoolError::Invalid(crate::error::TxError::MemoTooLong { .. })
                        | MempoolError::Invalid(crate::error::TxError::AmountOverflow) => {
                            Some(Penalty::InvalidTransfer)
                        }
                        MempoolError::NonceUsed { .. }
                        | MempoolError::ReplacementFeeTooLow { .. } => {
                            Some(Penalty::ConflictingTransfer)
                        }
                        _ => None,
                    };
                    if let Some(penalty) = penalty {
                        self.penalise(peer, penalty, now);
                    }
                }
                Ok(Err(error))
            }
            Err(other) => Err(other),
        }
    }

    /// A transfer from the local API or wallet: admitted and announced.
    ///
    /// # Errors
    ///
    /// The outer error is a store failure; the inner one says why the mempool refused it.
    pub fn submit_transfer(
        &mut self,
        transfer: Transfer,
        now: u64,
    ) -> Result<Result<Admitted, MempoolError>, Error> {
        self.on_transfer(None, transfer, now)
    }

    /// A block from the local miner: accepted and announced.
    ///
    /// # Errors
    ///
    /// [`Error::Block`] if it is invalid (a stale template), or a store failure.
    pub fn block_found(
        &mut self,
        block: crate::block::Block,
        now: u64,
    ) -> Result<AcceptStatus, Error> {
        let outcome = self.ledger.accept_block(block, now)?;
        let status = outcome.status;
        self.publish_chain_events(outcome.events, None, now);
        Ok(status)
    }

    /// Time passes: pings, timeouts, retries, outbound dialling, mempool expiry.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub fn tick(&mut self, now: u64) -> Result<(), Error> {
        self.bans.retain(|_, until| *until > now);
        let mut timed_out = Vec::new();
        let mut pings = Vec::new();
        for (id, peer) in &mut self.peers {
            if !peer.ready {
                if now >= peer.connected_at + self.config.handshake_timeout {
                    timed_out.push((*id, "handshake"));
                }
                continue;
            }
            match peer.ping {
                Some((_, sent)) if now >= sent + self.config.ping_timeout => {
                    timed_out.push((*id, "ping"));
                }
                None if now >= peer.next_ping_at => pings.push(*id),
                _ => {}
            }
        }
        for id in pings {
            let nonce = self.next_random();
            if let Some(peer) = self.peers.get_mut(&id) {
                peer.ping = Some((nonce, now));
                peer.next_ping_at = now + self.config.ping_interval;
            }
            self.send(id, Message::Ping(nonce));
        }
        // Block requests that took too long go to someone else; the slow peer is dropped. With
        // many blocks requested at once (a sync) the last may come long after it was asked for:
        // a peer that keeps delivering requested blocks is not stalled, unless it holds back the
        // block the chain needs next (blocks are served in the order asked, so an honest peer
        // sends that one first): the tip has then not moved for the timeout, while the peer
        // could drip the others for a long time.
        let timeout = self.config.block_timeout;
        let tip = *self.ledger.chain().tip();
        self.note_tip(now);
        let tip_since = self.tip_since.1;
        if let Some((hash, peer)) = self.staller(tip.height, tip_since, now) {
            self.unassign(peer, &hash);
            // Dialled again at once, it would be handed a share of the window and stall it
            // again; an inbound staller may come back on its own.
            let addrs = self
                .peers
                .get(&peer)
                .map(|p| [Some(p.addr), p.listen_addr()])
                .unwrap_or_default();
            for addr in addrs.into_iter().flatten() {
                if let Some(info) = self.addresses.get_mut(&addr) {
                    info.stalled_until = now.saturating_add(STALLER_REDIAL_SECS);
                }
            }
            self.outbox
                .push(Io::Disconnect(peer, DisconnectReason::Stalling));
            self.disconnected(peer, now);
            self.stall_timeout = (self.stall_timeout * 2).min(MAX_STALL_TIMEOUT);
        }
        let next = tip.height.0.saturating_add(1);
        let stalled: Vec<(BlockHash, PeerId)> = self
            .in_flight
            .iter()
            .filter(|(hash, (peer, at))| {
                if now < at + timeout {
                    return false;
                }
                let needed_next = self.headers.get(hash).is_none_or(|p| p.height.0 <= next);
                let delivering = self
                    .peers
                    .get(peer)
                    .is_some_and(|p| now < p.last_delivery + timeout);
                !delivering || (needed_next && now >= tip_since + timeout)
            })
            .map(|(hash, (peer, _))| (*hash, *peer))
            .collect();
        for (hash, peer) in stalled {
            self.unassign(peer, &hash);
            timed_out.push((peer, "block download"));
        }
        timed_out.sort();
        timed_out.dedup_by_key(|(id, _)| *id);
        for (id, what) in timed_out {
            self.outbox
                .push(Io::Disconnect(id, DisconnectReason::Timeout(what)));
            self.disconnected(id, now);
        }
        if now >= self.next_resync_at {
            self.next_resync_at = now + self.config.resync_interval;
            let ready: Vec<PeerId> = self
                .peers
                .iter()
                .filter(|(_, p)| p.ready)
                .map(|(id, _)| *id)
                .collect();
            if !ready.is_empty() {
                let pick = ready[(self.next_random() % ready.len() as u64) as usize];
                self.send_getheaders(pick, BlockHash::ZERO);
            }
        }
        if self.next_rotate_at == 0 {
            self.next_rotate_at = now + self.config.rotate_interval;
        } else if now >= self.next_rotate_at {
            self.next_rotate_at = now + self.config.rotate_interval;
            self.rotate_outbound(now);
        }
        self.dial(now);
        self.request_blocks(now);
        self.ledger.expire_pending(now)?;
        Ok(())
    }

    /// Notes when the tip changed (at `now`, if it differs from the one noted), for the stall
    /// rules; each change brings the stall timeout a step back towards the configured one.
    fn note_tip(&mut self, now: u64) {
        let tip = self.ledger.chain().tip().hash;
        if self.tip_since.0 != tip {
            self.tip_since = (tip, now);
            self.stall_timeout = (self.stall_timeout / 2).max(self.config.stall_timeout);
        }
    }

    /// The request that stalls a sync, and its peer: the block the chain needs next, asked
    /// at least `stall_timeout` seconds ago, while the tip has not moved for as long and
    /// another ready peer has the block (dropping the only peer that has it would not help).
    /// Bitcoin Core's block-stalling rule, in whole seconds of the tick.
    fn staller(&self, tip: Height, tip_since: u64, now: u64) -> Option<(BlockHash, PeerId)> {
        let wait = self.stall_timeout;
        if !self.far_behind() || now < tip_since.saturating_add(wait) {
            return None;
        }
        let next = tip.0.saturating_add(1);
        self.in_flight
            .iter()
            .filter(|(hash, (_, at))| {
                now >= at.saturating_add(wait)
                    && self.headers.get(hash).is_some_and(|p| p.height.0 <= next)
            })
            .filter(|(hash, (holder, _))| {
                self.peers
                    .iter()
                    .any(|(id, p)| id != holder && p.ready && p.pending_blocks.contains(hash))
            })
            // The same choice on every run (the map's order is not).
            .min_by_key(|(hash, _)| **hash)
            .map(|(hash, (holder, _))| (*hash, *holder))
    }

    /// Drops the longest-connected outbound peer when outbound connections are full and the
    /// address book has someone else to try.
    fn rotate_outbound(&mut self, now: u64) {
        let outbound: Vec<(PeerId, u64)> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.direction == Direction::Outbound && p.ready && p.in_flight.is_empty()
            })
            .map(|(id, p)| (*id, p.connected_at))
            .collect();
        if outbound.len() < self.config.target_outbound || self.addresses.len() <= outbound.len() {
            return;
        }
        if let Some((oldest, _)) = outbound.iter().min_by_key(|(id, at)| (*at, *id)) {
            self.outbox
                .push(Io::Disconnect(*oldest, DisconnectReason::Rotated));
            self.disconnected(*oldest, now);
        }
    }

    fn dial(&mut self, now: u64) {
        let outbound = self
            .peers
            .values()
            .filter(|p| p.direction == Direction::Outbound)
            .count()
            + self.dialing.len();
        if outbound >= self.config.target_outbound {
            return;
        }
        let connected: Vec<SocketAddr> = self
            .peers
            .values()
            .flat_map(|p| [Some(p.addr), p.listen_addr()])
            .flatten()
            .collect();
        let mut candidates: Vec<(SocketAddr, AddressInfo)> = self
            .addresses
            .iter()
            .filter(|(addr, info)| {
                let backoff = 5u64.saturating_mul(1 << info.failures.min(7));
                !connected.contains(addr)
                    && !self.dialing.contains_key(addr)
                    && !self.is_banned(**addr, now)
                    && (info.last_try == 0 || now >= info.last_try + backoff)
                    && now >= info.stalled_until
            })
            .map(|(a, i)| (*a, *i))
            .collect();
        // A random order: always dialling the most recently seen would keep a node inside the
        // group it already knows.
        candidates.sort_by_key(|c| c.0);
        for i in (1..candidates.len()).rev() {
            let j = (self.next_random() % (i as u64 + 1)) as usize;
            candidates.swap(i, j);
        }
        for (addr, _) in candidates
            .into_iter()
            .take(self.config.target_outbound - outbound)
        {
            if let Some(info) = self.addresses.get_mut(&addr) {
                info.last_try = now;
            }
            self.dialing.insert(addr, now);
            self.outbox.push(Io::Connect(addr));
        }
    }
}

/// A connected peer, for status pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerInfo {
    /// Connection id.
    pub id: PeerId,
    /// Remote address.
    pub addr: SocketAddr,
    /// Who dialled.
    pub direction: Direction,
    /// Handshake done.
    pub ready: bool,
    /// Its best height as we know it.
    pub best_height: Height,
    /// Misbehaviour score.
    pub score: u32,
    /// Its software.
    pub agent: String,
}
