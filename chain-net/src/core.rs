//! The core thread: the one owner of the node state machine ([`chain_core::node::Node`], and
//! through it the protocol, the ledger and its store). Connection tasks, the ticker, the miner
//! and API handles send it inputs over one channel; it feeds them to the node with the time and
//! carries out what comes back. It decides nothing: when blocks commit, when indexes catch up,
//! when bans are saved and when a template is made are the node's decisions, so the simulation
//! runs them too.
//!
//! SQLite is blocking, so the store lives here, on a plain thread, never on the async runtime's
//! workers. Everything the node asks to send is encoded here once and handed to the
//! connection's writer task; a peer whose queue is full is reported to the node
//! ([`NodeInput::SendQueueFull`]), which drops it rather than let it hold memory.

use crate::command::Command;
use crate::miner::Miner;
use crate::queries;
use crate::verify::{Counters, Requested};
use crate::views::*;
use chain_core::address::Address;
use chain_core::block::Block;
use chain_core::node::{Idle, Input as NodeInput, Node, Output};
use chain_core::protocol::frame::{FrameError, encode_frame};
use chain_core::protocol::{Direction, NodeEvent, PeerId};
use chain_core::store::Store;
use chain_core::tx::Transaction;
use chain_core::units::Height;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

/// What the core thread is told.
#[derive(Debug)]
pub(crate) enum Input {
    Tick,
    Connected {
        peer: PeerId,
        addr: SocketAddr,
        direction: Direction,
        writer: mpsc::Sender<Arc<Vec<u8>>>,
        requested: Requested,
        cancel: CancellationToken,
    },
    ConnectFailed(SocketAddr),
    Message(PeerId, chain_core::protocol::Message),
    VerifiedBlock(PeerId, chain_core::validate::VerifiedBlock),
    Malformed(PeerId, FrameError),
    Disconnected(PeerId),
    BlockFound(u64, Block),
    Command(Command),
}

/// The mining settings of a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiningConfig {
    /// Who the coinbase pays.
    pub address: Address,
    /// Mining threads.
    pub threads: usize,
}

struct Connection {
    writer: mpsc::Sender<Arc<Vec<u8>>>,
    /// The blocks asked of the peer, for its reader (see [`Requested`]).
    requested: Requested,
    cancel: CancellationToken,
}

/// The mining threads and the hash rate measured from them.
struct Mining {
    config: MiningConfig,
    miner: Miner,
    /// Hashes counted at the last tick, when (unix seconds), and the rate since the one before.
    rate: (u64, u64, f64),
}

pub(crate) struct Core<S: Store> {
    node: Node<S>,
    connections: HashMap<PeerId, Connection>,
    events: broadcast::Sender<NodeEvent>,
    /// Words the events for the log.
    event_log: crate::event_log::EventLog,
    dial: Box<dyn Fn(SocketAddr) + Send>,
    inputs: mpsc::Sender<Input>,
    listen: Option<SocketAddr>,
    mining: Option<Mining>,
    counters: Arc<Counters>,
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl<S: Store> Core<S> {
    pub(crate) fn new(
        node: Node<S>,
        events: broadcast::Sender<NodeEvent>,
        dial: Box<dyn Fn(SocketAddr) + Send>,
        inputs: mpsc::Sender<Input>,
        listen: Option<SocketAddr>,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            node,
            connections: HashMap::new(),
            events,
            event_log: crate::event_log::EventLog::default(),
            dial,
            inputs,
            listen,
            mining: None,
            counters,
        }
    }

    /// Runs until told to shut down, every sender is gone, or the store fails; then saves what
    /// the node keeps across restarts and gives the store back.
    ///
    /// Each input goes to the node at once; when none is waiting the node is asked what it
    /// wants ([`Node::idle`]): it may commit a batch no more blocks are coming for, or do a run
    /// of index catch-up and ask to be called again. (The tick wakes the loop every second.)
    pub(crate) fn run(mut self, mut inputs: mpsc::Receiver<Input>) -> S
    where
        S: Send,
    {
        loop {
            let input = match inputs.try_recv() {
                Ok(input) => input,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    let idle = self.node.idle(unix_now());
                    let busy = matches!(idle, Ok(Idle::Busy));
                    if !self.carry_out(idle.map(|_| ())) {
                        break;
                    }
                    if busy {
                        continue;
                    }
                    match inputs.blocking_recv() {
                        Some(input) => input,
                        None => break,
                    }
                }
            };
            if !self.handle(input) {
                break;
            }
        }
        self.mining = None;
        for (_, connection) in self.connections.drain() {
            connection.cancel.cancel();
        }
        let (store, outputs) = self.node.shut_down(unix_now());
        for output in outputs {
            if let Output::Warning { what, error } = output {
                tracing::warn!(%error, "could not {what}");
            }
        }
        store
    }

    /// Handles one input; answers whether to keep going.
    fn handle(&mut self, input: Input) -> bool {
        let now = unix_now();
        let input = match input {
            Input::Tick => {
                self.measure_hash_rate(now);
                NodeInput::Tick
            }
            Input::Connected {
                peer,
                addr,
                direction,
                writer,
                requested,
                cancel,
            } => {
                let connection = Connection {
                    writer,
                    requested,
                    cancel,
                };
                self.connections.insert(peer, connection);
                NodeInput::Connected {
                    peer,
                    addr,
                    direction,
                }
            }
            Input::ConnectFailed(addr) => NodeInput::ConnectFailed(addr),
            Input::Message(peer, message) => NodeInput::Message(peer, message),
            Input::VerifiedBlock(peer, block) => NodeInput::VerifiedBlock(peer, block),
            Input::Malformed(peer, error) => NodeInput::Malformed(peer, error),
            Input::Disconnected(peer) => {
                self.connections.remove(&peer);
                NodeInput::Disconnected(peer)
            }
            Input::BlockFound(job, block) => NodeInput::BlockFound { job, block },
            Input::Command(Command::Shutdown(reply)) => {
                drop(reply);
                return false;
            }
            Input::Command(command) => {
                let done = self.command(command, now);
                return self.carry_out(done);
            }
        };
        let handled = self.node.handle(input, now);
        self.carry_out(handled)
    }

    /// Carries out what the node asked for after a step that returned `step`; answers whether
    /// to keep going (a store failure stops the node).
    fn carry_out(&mut self, step: Result<(), chain_core::Error>) -> bool {
        let mut step = step;
        loop {
            let mut too_slow = Vec::new();
            for output in self.node.drain() {
                self.output(output, &mut too_slow);
            }
            if step.is_err() || too_slow.is_empty() {
                break;
            }
            for peer in too_slow {
                if let Some(connection) = self.connections.remove(&peer) {
                    connection.cancel.cancel();
                }
                step = self.node.handle(NodeInput::SendQueueFull(peer), unix_now());
                if step.is_err() {
                    break;
                }
            }
        }
        let stats = self.node.batch_stats();
        let counters = &self.counters;
        counters.batches.store(stats.batches, Ordering::Relaxed);
        counters
            .batched_blocks
            .store(stats.blocks, Ordering::Relaxed);
        counters.commit_ns.store(stats.commit_ns, Ordering::Relaxed);
        for (bucket, count) in counters.commit_buckets.iter().zip(stats.commit_buckets) {
            bucket.store(count, Ordering::Relaxed);
        }
        if let Err(error) = step {
            tracing::error!(%error, "the chain store failed; stopping the node");
            return false;
        }
        true
    }

    fn output(&mut self, output: Output, too_slow: &mut Vec<PeerId>) {
        match output {
            Output::Send(peer, message) => {
                let Some(connection) = self.connections.get(&peer) else {
                    return;
                };
                let network = self.node.ledger().params().network_id;
                connection.requested.note(&message);
                let frame = Arc::new(encode_frame(&message, network));
                if connection.writer.try_send(frame).is_err() {
                    too_slow.push(peer);
                }
            }
            Output::Disconnect(peer, reason) => {
                tracing::debug!(peer, ?reason, "disconnecting");
                if let Some(connection) = self.connections.remove(&peer) {
                    connection.cancel.cancel();
                }
            }
            Output::Connect(addr) => (self.dial)(addr),
            Output::Event(event) => {
                self.event_log.note(&event, std::time::Instant::now());
                let _ = self.events.send(event);
            }
            Output::Mine(job) => {
                if let Some(mining) = &self.mining {
                    mining.miner.set_job(job.job, job.template);
                }
            }
            Output::Warning { what, error } => tracing::warn!(%error, "could not {what}"),
        }
    }

    fn measure_hash_rate(&mut self, now: u64) {
        let Some(mining) = &mut self.mining else {
            return;
        };
        let hashes = mining.miner.stats().hashes.load(Ordering::Relaxed);
        let (last_hashes, last_at, _) = mining.rate;
        if now > last_at {
            let rate = hashes.saturating_sub(last_hashes) as f64 / (now - last_at) as f64;
            mining.rate = (hashes, now, if last_at == 0 { 0.0 } else { rate });
        }
    }

    /// Starts the mining threads for `config` (the node sends them a template at once), or
    /// stops them.
    pub(crate) fn set_mining(&mut self, config: Option<MiningConfig>) -> bool {
        self.mining = None;
        let address = config.as_ref().map(|c| c.address);
        if let Some(config) = config {
            let inputs = self.inputs.clone();
            let miner = Miner::start(config.threads, move |job, block| {
                let _ = inputs.blocking_send(Input::BlockFound(job, block));
            });
            self.mining = Some(Mining {
                config,
                miner,
                rate: (0, 0, 0.0),
            });
        }
        let set = self.node.set_mining(address, unix_now());
        self.carry_out(set)
    }

    /// Answers a command; the open batch commits first, so that answers show only what a crash
    /// cannot take back. The error is a store failure.
    fn command(&mut self, command: Command, now: u64) -> Result<(), chain_core::Error> {
        self.node.commit(now)?;
        match command {
            Command::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Command::SubmitTransfer(transfer, reply) => {
                let result = self.node.submit_transfer(transfer, now);
                let _ = reply.send(result.map(|r| r.map(|admitted| admitted.txid)));
            }
            Command::Block(which, reply) => {
                let _ = reply.send(queries::block_view(self.node.ledger(), which));
            }
            Command::Blocks {
                before,
                limit,
                reply,
            } => {
                let _ = reply.send(queries::block_list(self.node.ledger(), before, limit));
            }
            Command::Transfer(txid, reply) => {
                let _ = reply.send(queries::tx_lookup(self.node.ledger(), &txid));
            }
            Command::Proof(txid, reply) => {
                let _ = reply.send(queries::proof(self.node.ledger(), &txid));
            }
            Command::Account(address, reply) => {
                let _ = reply.send(queries::account(self.node.ledger(), &address));
            }
            Command::History {
                address,
                before,
                limit,
                reply,
            } => {
                let _ = reply.send(queries::history(
                    self.node.ledger(),
                    &address,
                    before,
                    limit,
                ));
            }
            Command::Mempool(reply) => {
                let ledger = self.node.ledger();
                let prefix = ledger.params().address_prefix;
                let items = ledger
                    .mempool()
                    .entries()
                    .into_iter()
                    .map(|e| PendingView {
                        tx: TxView::of(&Transaction::Transfer(e.transfer.clone()), prefix),
                        size: e.size,
                        added: e.added,
                    })
                    .collect();
                let _ = reply.send(items);
            }
            Command::Fees(reply) => {
                let ledger = self.node.ledger();
                let mempool = ledger.mempool();
                let _ = reply.send(FeesView::of(
                    ledger.fee_rates(),
                    mempool.len(),
                    mempool.bytes(),
                ));
            }
            Command::Peers(reply) => {
                let peers = self
                    .node
                    .protocol()
                    .peers()
                    .into_iter()
                    .map(|p| PeerView {
                        id: p.id,
                        addr: p.addr.to_string(),
                        direction: match p.direction {
                            Direction::Inbound => PeerDirection::Inbound,
                            Direction::Outbound => PeerDirection::Outbound,
                        },
                        ready: p.ready,
                        best_height: p.best_height,
                        score: p.score,
                        agent: p.agent,
                    })
                    .collect();
                let _ = reply.send(peers);
            }
            Command::AddPeer(addr) => self.node.add_peer(addr, now)?,
            Command::SetMining(config, reply) => {
                // A store failure here is logged and stops the node in `set_mining`.
                let _ = self.set_mining(config);
                let _ = reply.send(());
            }
            Command::Shutdown(_) => {}
        }
        Ok(())
    }

    fn status(&self) -> NodeStatus {
        let protocol = self.node.protocol();
        let ledger = self.node.ledger();
        let tip = *ledger.chain().tip();
        let params = ledger.params();
        let mining = match &self.mining {
            Some(mining) => MiningStatus {
                enabled: true,
                address: Some(mining.config.address.to_text(params.address_prefix)),
                threads: mining.miner.threads(),
                hash_rate: mining.rate.2,
                kernel: mining.miner.kernel().name().to_string(),
                blocks_found: mining.miner.stats().found.load(Ordering::Relaxed),
            },
            None => MiningStatus::default(),
        };
        let ready: Vec<_> = protocol.peers().into_iter().filter(|p| p.ready).collect();
        NodeStatus {
            network: params.name.to_string(),
            height: tip.height,
            tip: tip.hash,
            tip_time: tip.header.time,
            bits: tip.header.bits.to_string(),
            difficulty: tip
                .header
                .bits
                .to_target()
                .map(|t| t.work().as_f64())
                .unwrap_or(0.0),
            best_header_height: protocol.best_header_height(),
            syncing: protocol.is_syncing(),
            // A store that cannot say is read as having indexed nothing above genesis.
            indexed_height: ledger
                .chain()
                .store()
                .indexed_height()
                .ok()
                .flatten()
                .unwrap_or(Height::GENESIS),
            peers: ready.len(),
            peers_inbound: ready
                .iter()
                .filter(|p| p.direction == Direction::Inbound)
                .count(),
            peers_outbound: ready
                .iter()
                .filter(|p| p.direction == Direction::Outbound)
                .count(),
            banned: protocol.bans(unix_now()).len(),
            chain_work: tip.chain_work.as_f64(),
            mempool_transfers: ledger.mempool().len(),
            mempool_bytes: ledger.mempool().bytes(),
            mining,
            listen: self.listen.map(|a| a.to_string()),
        }
    }
}

/// Which block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockRef {
    /// By hash (any stored block).
    Hash(chain_core::hash::BlockHash),
    /// By height on the best chain.
    Height(Height),
}
