//! The whole node as one sans-IO state machine: the peer [`Protocol`] (and through it the
//! ledger and its store) plus the node's own policy, which decides when blocks are committed
//! ([`batch`]), when the lookup indexes are deferred and caught up, when bans are saved, and
//! when a mining node makes a new template ([`mining`]).
//!
//! An adapter (`chain-net`'s core thread, or the deterministic simulation) feeds it [`Input`]s
//! with the time, calls [`Node::idle`] whenever no input is waiting, and carries out the
//! [`Output`]s: bytes to peers, dials, events for subscribers, templates for the mining
//! threads. It decides nothing; what the simulation runs is what TCP runs.
//!
//! Events for subscribers wait while a store batch is open and go out when it commits, so
//! nothing is reported that a crash could take back; messages to peers go out at once (block
//! requests must not wait for a commit).

pub mod batch;
pub mod mining;

use crate::Error;
use crate::address::Address;
use crate::block::Block;
use crate::chain::ChainEvent;
use crate::error::MempoolError;
use crate::ledger::Ledger;
use crate::mempool::Admitted;
use crate::protocol::frame::FrameError;
use crate::protocol::{Direction, DisconnectReason, Io, Message, NodeEvent, PeerId, Protocol};
use crate::store::Store;
use crate::tx::Transfer;
use crate::validate::VerifiedBlock;
use batch::{BatchPolicy, BatchStats};
use mining::{MiningJob, MiningSchedule};
use std::net::SocketAddr;

/// What happens to a node.
#[derive(Debug)]
pub enum Input {
    /// The once-a-second timer.
    Tick,
    /// A connection opened (inbound accepted, or outbound established).
    Connected {
        /// Its id.
        peer: PeerId,
        /// The remote address.
        addr: SocketAddr,
        /// Who dialled.
        direction: Direction,
    },
    /// A dial failed.
    ConnectFailed(SocketAddr),
    /// A message from a peer.
    Message(PeerId, Message),
    /// A block from a peer whose signatures the adapter verified already.
    VerifiedBlock(PeerId, VerifiedBlock),
    /// Bytes from a peer that are not a valid frame or message.
    Malformed(PeerId, FrameError),
    /// A connection closed.
    Disconnected(PeerId),
    /// A peer's send queue is full: it does not read fast enough to be kept.
    SendQueueFull(PeerId),
    /// The mining threads found a block on `job`.
    BlockFound {
        /// The job of the template it was found on.
        job: u64,
        /// The block.
        block: Block,
    },
}

impl Input {
    /// Whether it is a block from a peer (which joins a store batch).
    fn is_block(&self) -> bool {
        matches!(
            self,
            Input::VerifiedBlock(..) | Input::Message(_, Message::Block(_))
        )
    }
}

/// What a node asks its adapter to do.
#[derive(Debug)]
pub enum Output {
    /// Send a message to a peer.
    Send(PeerId, Message),
    /// Close a connection.
    Disconnect(PeerId, DisconnectReason),
    /// Open a connection.
    Connect(SocketAddr),
    /// Tell subscribers (only what is committed).
    Event(NodeEvent),
    /// Mine on this template from now on.
    Mine(MiningJob),
    /// Something failed that costs no more than `what` says (the node goes on): for the log.
    Warning {
        /// What could not be done.
        what: &'static str,
        /// Why.
        error: Error,
    },
}

/// What a node wants when no input is waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// Nothing until the next input (a store batch may stay open: more blocks are on their way,
    /// and the next other input, at the latest the tick, commits it).
    Wait,
    /// More background work (index catch-up): call [`Node::idle`] again if still no input.
    Busy,
}

/// A node: the protocol and the policy around it.
pub struct Node<S: Store> {
    protocol: Protocol<S>,
    batch: BatchPolicy,
    mining: MiningSchedule,
    /// Events held until the open batch commits.
    held: Vec<NodeEvent>,
    outbox: Vec<Output>,
}

impl<S: Store> Node<S> {
    /// A node around `protocol` (its ledger opened, its addresses and bans restored).
    pub fn new(protocol: Protocol<S>) -> Self {
        Self {
            protocol,
            batch: BatchPolicy::new(),
            mining: MiningSchedule::default(),
            held: Vec::new(),
            outbox: Vec::new(),
        }
    }

    /// The peer protocol, for reads (status, peers, sync progress).
    pub fn protocol(&self) -> &Protocol<S> {
        &self.protocol
    }

    /// The ledger, for reads (chain, mempool, store).
    pub fn ledger(&self) -> &Ledger<S> {
        self.protocol.ledger()
    }

    /// The batches committed so far.
    pub fn batch_stats(&self) -> BatchStats {
        self.batch.stats()
    }

    /// Who the coinbase pays while mining.
    pub fn miner(&self) -> Option<Address> {
        self.mining.miner()
    }

    /// Takes what the adapter must do now, in order.
    pub fn drain(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.outbox)
    }

    /// Handles one input at `now` (unix seconds).
    ///
    /// # Errors
    ///
    /// A store failure: the node cannot go on.
    pub fn handle(&mut self, input: Input, now: u64) -> Result<(), Error> {
        let block = input.is_block();
        if block {
            let far_behind = self.protocol.far_behind();
            let store = self.protocol.ledger_mut().chain_mut().store_mut();
            self.batch.before_block(store, far_behind)?;
        } else {
            // Anything else sees only what is committed.
            self.commit(now)?;
        }
        let handled = self.dispatch(input, now);
        if block && self.batch.after_block() {
            self.commit(now)?;
        }
        self.collect(now)?;
        handled
    }

    fn dispatch(&mut self, input: Input, now: u64) -> Result<(), Error> {
        match input {
            Input::Tick => {
                if self.mining.refresh_due(now) {
                    self.new_template(now)?;
                }
                self.protocol.tick(now)
            }
            Input::Connected {
                peer,
                addr,
                direction,
            } => {
                self.protocol.connected(peer, addr, direction, now);
                Ok(())
            }
            Input::ConnectFailed(addr) => {
                self.protocol.connect_failed(addr, now);
                Ok(())
            }
            Input::Message(peer, message) => self.protocol.received(peer, message, now),
            Input::VerifiedBlock(peer, block) => {
                self.protocol.received_verified_block(peer, block, now)
            }
            Input::Malformed(peer, error) => {
                self.protocol.malformed(peer, &error, now);
                Ok(())
            }
            Input::Disconnected(peer) => {
                self.protocol.disconnected(peer, now);
                Ok(())
            }
            Input::SendQueueFull(peer) => {
                self.outbox
                    .push(Output::Disconnect(peer, DisconnectReason::TooSlow));
                self.protocol.disconnected(peer, now);
                Ok(())
            }
            Input::BlockFound { job, block } => {
                if !self.mining.is_current(job) {
                    return Ok(());
                }
                match self.protocol.block_found(block, now) {
                    // A block on a tip that moved meanwhile: nothing lost but its hashes.
                    Ok(_) | Err(Error::Block(_)) => Ok(()),
                    Err(other) => Err(other),
                }
            }
        }
    }

    /// No input is waiting: commits a batch no more blocks are coming for, or does a run of
    /// index catch-up.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub fn idle(&mut self, now: u64) -> Result<Idle, Error> {
        if self.batch.is_open() {
            if self.protocol.is_syncing() {
                return Ok(Idle::Wait);
            }
            self.commit(now)?;
            self.collect(now)?;
        }
        let far_behind = self.protocol.far_behind();
        let store = self.protocol.ledger_mut().chain_mut().store_mut();
        let more = self.batch.catch_up(store, far_behind, now)?;
        Ok(if more { Idle::Busy } else { Idle::Wait })
    }

    /// Commits the open batch, if any, and releases the events it held. Call before reading
    /// the node outside [`Node::handle`] (a status or lookup command), so that the read sees
    /// only what a crash cannot take back.
    ///
    /// # Errors
    ///
    /// A store failure (the batch is lost, and the node cannot go on).
    pub fn commit(&mut self, now: u64) -> Result<(), Error> {
        let store = self.protocol.ledger_mut().chain_mut().store_mut();
        if self.batch.commit(store, now)? {
            let held = std::mem::take(&mut self.held);
            self.publish(held, now)?;
        }
        self.save_new_bans(now);
        Ok(())
    }

    /// A transfer from the local API or wallet.
    ///
    /// # Errors
    ///
    /// The outer error is a store failure; the inner one says why the mempool refused it.
    pub fn submit_transfer(
        &mut self,
        transfer: Transfer,
        now: u64,
    ) -> Result<Result<Admitted, MempoolError>, Error> {
        self.commit(now)?;
        let result = self.protocol.submit_transfer(transfer, now);
        self.collect(now)?;
        result
    }

    /// Adds a peer to dial now, unless it is connected or being dialled (and again later,
    /// from the address book).
    ///
    /// # Errors
    ///
    /// A store failure while events are published.
    pub fn add_peer(&mut self, addr: SocketAddr, now: u64) -> Result<(), Error> {
        self.protocol.connect_now(addr, now);
        self.collect(now)
    }

    /// Starts mining for `miner` (a first template goes out at once), or stops (`None`).
    ///
    /// # Errors
    ///
    /// A store failure while making the template.
    pub fn set_mining(&mut self, miner: Option<Address>, now: u64) -> Result<(), Error> {
        self.mining.set_miner(miner);
        if miner.is_some() {
            self.commit(now)?;
            self.new_template(now)?;
        }
        Ok(())
    }

    /// Stops: commits, saves the address book and the bans in force, and gives the store back
    /// with what is left to carry out (warnings of what could not be saved).
    pub fn shut_down(mut self, now: u64) -> (S, Vec<Output>) {
        if let Err(error) = self.commit(now) {
            self.outbox.push(Output::Warning {
                what: "commit the last blocks",
                error,
            });
        }
        let peers: Vec<(SocketAddr, u64)> = self
            .protocol
            .known_addresses()
            .iter()
            .map(|a| (a.addr, a.last_seen))
            .collect();
        if let Err(error) = self.store_mut().put_known_peers(&peers) {
            self.outbox.push(Output::Warning {
                what: "save the address book",
                error: error.into(),
            });
        }
        let bans = self.protocol.bans(now);
        self.save_bans(&bans, now);
        let outbox = std::mem::take(&mut self.outbox);
        (self.protocol.into_ledger().into_store(), outbox)
    }

    fn store_mut(&mut self) -> &mut S {
        self.protocol.ledger_mut().chain_mut().store_mut()
    }

    /// Moves what the protocol asked for into the outbox; events wait while a batch is open.
    fn collect(&mut self, now: u64) -> Result<(), Error> {
        let mut events = Vec::new();
        for io in self.protocol.drain_io() {
            match io {
                Io::Send(peer, message) => self.outbox.push(Output::Send(peer, message)),
                Io::Disconnect(peer, reason) => self.outbox.push(Output::Disconnect(peer, reason)),
                Io::Connect(addr) => self.outbox.push(Output::Connect(addr)),
                Io::Event(event) => events.push(event),
            }
        }
        if self.batch.is_open() {
            self.held.append(&mut events);
            Ok(())
        } else {
            self.save_new_bans(now);
            self.publish(events, now)
        }
    }

    /// Events out to subscribers; a new tip (once, however many) makes a new template.
    fn publish(&mut self, events: Vec<NodeEvent>, now: u64) -> Result<(), Error> {
        let mut tip_changed = false;
        for event in events {
            match &event {
                NodeEvent::Chain(ChainEvent::TipChanged(_)) => tip_changed = true,
                NodeEvent::TransferAccepted(_) => self.mining.mempool_changed(),
                _ => {}
            }
            self.outbox.push(Output::Event(event));
        }
        if tip_changed && self.mining.miner().is_some() {
            self.new_template(now)?;
        }
        Ok(())
    }

    fn new_template(&mut self, now: u64) -> Result<(), Error> {
        let Some(miner) = self.mining.miner() else {
            return Ok(());
        };
        let template = self.protocol.ledger().block_template(miner, now)?;
        let job = self.mining.new_job(template, now);
        self.outbox.push(Output::Mine(job));
        Ok(())
    }

    /// Saves the bans made since the last save, so that neither a restart nor a crash lifts
    /// them. Not while a batch is open: the write would join the batch, and a failure to save a
    /// ban must not cost the blocks (the bans wait for the commit).
    fn save_new_bans(&mut self, now: u64) {
        if self.batch.is_open() {
            return;
        }
        let bans = self.protocol.take_new_bans();
        if !bans.is_empty() {
            self.save_bans(&bans, now);
        }
    }

    /// A failure only costs the bans a restart would keep.
    fn save_bans(&mut self, bans: &[(crate::protocol::BanTarget, u64)], now: u64) {
        if let Err(error) = self.store_mut().put_bans(bans, now) {
            self.outbox.push(Output::Warning {
                what: "save the bans",
                error: error.into(),
            });
        }
    }
}
