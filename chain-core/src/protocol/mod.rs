//! The peer protocol as a sans-IO state machine: messages, connections and ticks go in; messages
//! to send, connections to open or close, and events come out. It owns the [`Ledger`] and does
//! no I/O and reads no clock of its own, so the TCP adapter in `chain-net` and the deterministic
//! simulation in this crate's tests drive the very same code.
//!
//! `Protocol` here is the dispatcher: it routes each message and tick to the part that owns the
//! concern, one file each:
//! - `handshake.rs`: connections, `version`/`verack` (protocol version, network id, genesis
//!   hash, best height and work, listen port, a nonce that detects a connection to oneself),
//!   pings and their timeouts, outbound dialling and rotation;
//! - `addresses.rs`: the address book (`getaddr`/`addr` gossip into it, backoff) and the bans,
//!   a state of its own;
//! - `headers.rs`: sync, headers first: headers fetched with a block locator and checked
//!   (linkage, proof of work, retarget, time), kept as pending, their branch wanted once it
//!   could beat the tip; `presync.rs`: the headers of a low-work branch counted before they
//!   are kept;
//! - `download.rs`: the blocks of wanted branches fetched in a pipelined window spread over
//!   every peer that has them, with the timeout and stalling rules;
//! - `relay.rs`: new blocks and transfers announced by hash (`inv`) and fetched on request
//!   (`getdata`);
//! - misbehaviour ([`Protocol::penalise`], `peer.rs`): each fault adds a named [`Penalty`]; at
//!   [`BAN_SCORE`] the peer is banned;
//! - `config.rs`, `message.rs`, `frame.rs`: the limits, the messages and their framing.
//!
//! The limits are in `docs/NETWORK.md`.

mod addresses;
mod config;
mod download;
pub mod frame;
mod handshake;
mod headers;
pub mod message;
pub mod peer;
mod presync;
mod relay;

pub use config::ProtocolConfig;
pub use frame::FrameError;
pub use message::{Inventory, Message, PeerAddress, Version};
pub use peer::{BAN_SCORE, BanTarget, Direction, PeerId, Penalty};
pub use presync::{HEADER_WORK_HEADROOM, MARK_SPACING};
use presync::{HeaderSync, Placement};

use crate::block::Header;
use crate::chain::{AcceptStatus, Arrival, ChainEvent};
use crate::error::{BlockError, Error, MempoolError};
use crate::hash::{BlockHash, Txid};
use crate::ledger::Ledger;
use crate::mempool::Admitted;
use crate::pow::Work;
use crate::store::Store;
use crate::tx::{Transaction, Transfer};
use crate::units::Height;
use crate::validate::{check_header_in_context, check_header_pow};
use addresses::AddressBook;
use message::{MAX_ADDRS, MAX_HEADERS, MAX_INV, MAX_LOCATOR};
use peer::{BACKLOG_INV_EVERY, BoundedSet, MAX_TRANSFERS_REQUESTED, Peer};
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
    /// The mempool refused a transfer (from a peer or from this node's API).
    TransferRefused {
        /// The transfer.
        txid: Txid,
        /// Why ([`MempoolError::code`](crate::error::MempoolError::code)).
        reason: &'static str,
    },
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
    /// The work of the chain it ends.
    chain_work: Work,
    /// Its block is to be downloaded: it or a pending descendant ends a chain with more work
    /// than the tip had when that header came. A branch that could not beat the tip is not
    /// downloaded at all (`docs/NETWORK.md` §4).
    wanted: bool,
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
    addresses: AddressBook,
    /// Validated headers whose blocks are not stored yet.
    headers: HashMap<BlockHash, PendingHeader>,
    /// The pending headers by parent, to find those a stored block lets in.
    header_children: HashMap<BlockHash, Vec<BlockHash>>,
    /// Pending blocks not requested from anyone, lowest first.
    queue: BTreeSet<(Height, BlockHash)>,
    /// Requested blocks: who has the request and since when.
    in_flight: HashMap<BlockHash, (PeerId, u64)>,
    /// The pending header with the most work: its hash, height and chain work.
    best_header: Option<(BlockHash, Height, Work)>,
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
        let mut addresses = AddressBook::new(config.max_addresses);
        // Its own external address, gossiped back, is not a peer to dial.
        if let Some(external) = config.external_addr {
            addresses.forget_as_own(external);
        }
        let mut protocol = Self {
            ledger,
            config,
            nonce: 0,
            rng: seed,
            peers: BTreeMap::new(),
            dialing: HashMap::new(),
            addresses,
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
        self.addresses.list()
    }

    /// Remembers an address to dial (from configuration, the store or the user).
    pub fn add_address(&mut self, addr: SocketAddr, last_seen: u64) {
        self.addresses.add(addr, last_seen);
    }

    /// The bans in force at `now`, until when each lasts, in a stable order: what a node saves
    /// so that a restart does not lift them.
    pub fn bans(&self, now: u64) -> Vec<(BanTarget, u64)> {
        self.addresses.bans(now)
    }

    /// The bans made since the last call, for the adapter to save as they happen.
    pub fn take_new_bans(&mut self) -> Vec<(BanTarget, u64)> {
        self.addresses.take_new_bans()
    }

    /// Bans `target` until `until` (unix seconds), as saved before a restart; a longer ban
    /// already in force stays.
    pub fn restore_ban(&mut self, target: BanTarget, until: u64) {
        self.addresses.restore_ban(target, until);
    }

    fn is_banned(&self, addr: SocketAddr, now: u64) -> bool {
        self.addresses.is_banned(addr, now)
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
            self.addresses
                .ban(addr, now.saturating_add(self.config.ban_secs));
            self.outbox
                .push(Io::Disconnect(peer, DisconnectReason::Banned(penalty)));
            self.disconnected(peer, now);
        }
    }

    fn send(&mut self, peer: PeerId, message: Message) {
        self.outbox.push(Io::Send(peer, message));
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
                let mut addrs: Vec<PeerAddress> = self
                    .config
                    .external_addr
                    .map(|addr| PeerAddress {
                        addr,
                        last_seen: now,
                    })
                    .into_iter()
                    .collect();
                addrs.extend(self.known_addresses());
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
        self.addresses.expire_bans(now);
        let mut timed_out = self.liveness_timeouts(now);
        timed_out.extend(self.download_timeouts(now));
        timed_out.sort();
        timed_out.dedup_by_key(|(id, _)| *id);
        for (id, what) in timed_out {
            self.outbox
                .push(Io::Disconnect(id, DisconnectReason::Timeout(what)));
            self.disconnected(id, now);
        }
        self.resync_if_due(now);
        self.rotate_if_due(now);
        self.dial(now);
        self.request_blocks(now);
        self.announce_backlogs(now);
        self.ledger.expire_pending(now)?;
        Ok(())
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
