//! The core thread: the one owner of the protocol state machine (and so of the ledger and its
//! store). Connection tasks, the ticker, the miner and API handles send it inputs over one
//! channel; it feeds them to the protocol and carries out what comes back.
//!
//! SQLite is blocking, so the store lives here, on a plain thread, never on the async runtime's
//! workers. Blocks that arrive together are stored in one batch (one commit, see
//! [`Core::run`]). While the node is far behind (an initial sync) the store leaves its lookup
//! indexes (txid, address history) for later, and the core catches them up whenever no input is
//! waiting once the sync is over or has stalled (see `chain_store`'s `index` module).
//! Everything the protocol asks to send is encoded here once and handed to the connection's
//! writer task; a peer too slow to drain its queue is disconnected rather than allowed to hold
//! memory.

use crate::command::Command;
use crate::miner::Miner;
use crate::verify::Counters;
use crate::views::*;
use chain_core::address::Address;
use chain_core::block::Block;
use chain_core::chain::ChainEvent;
use chain_core::merkle::MerkleProof;
use chain_core::protocol::frame::{FrameError, encode_frame};
use chain_core::protocol::{BanTarget, Direction, Io, NodeEvent, PeerId, Protocol};
use chain_core::store::Store;
use chain_core::tx::Transaction;
use chain_core::units::Height;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
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
    cancel: CancellationToken,
}

pub(crate) struct Core<S: Store> {
    protocol: Protocol<S>,
    connections: HashMap<PeerId, Connection>,
    events: broadcast::Sender<NodeEvent>,
    dial: Box<dyn Fn(SocketAddr) + Send>,
    inputs: mpsc::Sender<Input>,
    listen: Option<SocketAddr>,
    mining: Option<(MiningConfig, Miner)>,
    job: u64,
    template_dirty: bool,
    template_at: u64,
    rate: (u64, u64, f64),
    counters: Arc<Counters>,
    /// Whether a store batch is open (see [`Core::run`]).
    batch_open: bool,
    /// Events ([`Io::Event`]) held until the open batch commits.
    held_events: Vec<Io>,
    /// Whether the store's lookup indexes may be behind the tip (see [`Core::run`]).
    indexes_behind: bool,
    /// When the last batch of blocks was stored.
    last_batch: Option<std::time::Instant>,
}

/// Blocks stored in one batch at most. A batch also ends at any other input, such as the
/// once-a-second tick, so it holds about a second of blocks at most.
const MAX_BATCH: u64 = 1024;

/// Transactions added to the lookup indexes per catch-up transaction: about a tenth of a second
/// of the core thread on the development machine (0.45 s for 110,000), so that inputs wait
/// little.
const INDEX_CATCH_UP: usize = 20_000;

/// How long without a batch of blocks counts as a stalled sync: the indexes are then caught up
/// even though the node is still far behind (its only sync peer left, or a peer announced
/// headers whose blocks never come).
const SYNC_STALL: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether an input is a block from a peer (which may join a store batch).
fn is_block(input: &Input) -> bool {
    matches!(
        input,
        Input::VerifiedBlock(..) | Input::Message(_, chain_core::protocol::Message::Block(_))
    )
}

/// Seconds between template refreshes when only the mempool or the clock changed.
const TEMPLATE_REFRESH_SECS: u64 = 2;

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl<S: Store> Core<S> {
    pub(crate) fn new(
        protocol: Protocol<S>,
        events: broadcast::Sender<NodeEvent>,
        dial: Box<dyn Fn(SocketAddr) + Send>,
        inputs: mpsc::Sender<Input>,
        listen: Option<SocketAddr>,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            protocol,
            connections: HashMap::new(),
            events,
            dial,
            inputs,
            listen,
            mining: None,
            job: 0,
            template_dirty: false,
            template_at: 0,
            rate: (0, 0, 0.0),
            counters,
            batch_open: false,
            held_events: Vec::new(),
            // Perhaps left behind by a sync that stopped: the first idle moment finds out.
            indexes_behind: true,
            last_batch: None,
        }
    }

    /// Runs until told to shut down or every sender is gone.
    ///
    /// Group commit: a block opens a batch in the store, and the blocks that follow it join the
    /// batch, up to [`MAX_BATCH`], until any other input arrives (a message, a command, the
    /// once-a-second tick) or the sync is over; then the batch commits as one transaction. A
    /// sync thus pays one commit per batch instead of two per block, and a crash keeps a batch
    /// whole or loses it whole. While a batch is open, messages to peers go out at once (block
    /// requests must not wait for the commit), but events for subscribers wait for the commit,
    /// so nothing is reported that a crash could take back; any other input is handled only
    /// after the commit.
    ///
    /// Index catch-up: blocks stored while far behind may leave the store's lookup indexes
    /// behind the tip. Once the node is no longer far behind, or no block has come for
    /// [`SYNC_STALL`], each time no input is waiting the core adds one run of blocks
    /// ([`INDEX_CATCH_UP`] transactions) to them, until they reach the tip; inputs wait at most
    /// one run. (The tick wakes the loop every second, so a stall is noticed.)
    pub(crate) fn run(mut self, mut inputs: mpsc::Receiver<Input>) -> S
    where
        S: Send,
    {
        let mut next = None;
        loop {
            if next.is_none() && self.indexes_behind && !self.syncing_blocks() {
                match inputs.try_recv() {
                    Ok(input) => next = Some(input),
                    Err(mpsc::error::TryRecvError::Empty) => {
                        if !self.catch_up_indexes() {
                            break;
                        }
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => break,
                }
            }
            let Some(input) = next.take().or_else(|| inputs.blocking_recv()) else {
                break;
            };
            if !is_block(&input) {
                let keep_going = self.handle(input, unix_now());
                self.execute();
                if keep_going {
                    continue;
                }
                break;
            }
            let (keep_going, after) = self.batch(input, &mut inputs);
            next = after;
            if !keep_going {
                break;
            }
        }
        self.mining = None;
        for (_, connection) in self.connections.drain() {
            connection.cancel.cancel();
        }
        let peers: Vec<(SocketAddr, u64)> = self
            .protocol
            .known_addresses()
            .iter()
            .map(|a| (a.addr, a.last_seen))
            .collect();
        let _ = self.store_mut().put_known_peers(&peers);
        let now = unix_now();
        let bans = self.protocol.bans(now);
        self.save_bans(&bans, now);
        self.protocol.into_ledger().into_store()
    }

    /// Saves the bans made since the last save, so that neither a restart nor a crash lifts
    /// them. Not while a batch of blocks is open: the write would join the batch, and a failure
    /// to save a ban must not cost the blocks (the bans wait for the commit).
    fn save_new_bans(&mut self) {
        if self.batch_open {
            return;
        }
        let bans = self.protocol.take_new_bans();
        if !bans.is_empty() {
            self.save_bans(&bans, unix_now());
        }
    }

    /// A failure only costs the bans a restart would keep.
    fn save_bans(&mut self, bans: &[(BanTarget, u64)], now: u64) {
        if let Err(error) = self.store_mut().put_bans(bans, now) {
            tracing::warn!(%error, "could not save the bans");
        }
    }

    /// Whether blocks are streaming in: far behind, with a batch stored within [`SYNC_STALL`].
    /// The lookup indexes wait while they are.
    fn syncing_blocks(&self) -> bool {
        self.protocol.far_behind() && self.last_batch.is_some_and(|at| at.elapsed() < SYNC_STALL)
    }

    /// Adds one run of blocks to the store's lookup indexes (when the node is idle after a sync).
    /// Returns whether to keep going (false: the store failed).
    fn catch_up_indexes(&mut self) -> bool {
        match self.store_mut().catch_up_indexes(INDEX_CATCH_UP) {
            Ok(more) => {
                self.indexes_behind = more;
                true
            }
            Err(error) => {
                tracing::error!(%error, "the chain store failed; stopping the node");
                false
            }
        }
    }

    /// Lets the store defer its lookup indexes while the node is far behind, and notes that
    /// they will need catching up.
    fn defer_indexes_if_far_behind(&mut self) {
        let defer = self.protocol.far_behind();
        self.indexes_behind |= defer;
        self.store_mut().defer_indexes(defer);
    }

    /// Handles `first` (a block) and the blocks that follow it in one store batch. Returns
    /// whether to keep going, and the input that ended the batch, to handle next.
    fn batch(&mut self, first: Input, inputs: &mut mpsc::Receiver<Input>) -> (bool, Option<Input>) {
        if let Err(error) = self.store_mut().begin_batch() {
            tracing::error!(%error, "the chain store failed; stopping the node");
            return (false, None);
        }
        self.batch_open = true;
        self.defer_indexes_if_far_behind();
        let mut keep_going = self.handle(first, unix_now());
        // The requests for the next blocks go out at once; events wait for the commit.
        self.execute();
        let mut blocks = 1u64;
        let mut after = None;
        while keep_going && blocks < MAX_BATCH {
            let input = match inputs.try_recv() {
                Ok(input) => input,
                Err(mpsc::error::TryRecvError::Empty) if self.protocol.is_syncing() => {
                    // Nothing waiting, but more blocks are coming: wait with the batch open.
                    match inputs.blocking_recv() {
                        Some(input) => input,
                        None => break,
                    }
                }
                Err(_) => break,
            };
            if !is_block(&input) {
                after = Some(input);
                break;
            }
            self.defer_indexes_if_far_behind();
            keep_going = self.handle(input, unix_now());
            self.execute();
            blocks += 1;
        }
        let started = std::time::Instant::now();
        let committed = self.store_mut().end_batch();
        self.store_mut().defer_indexes(false);
        self.batch_open = false;
        self.save_new_bans();
        self.last_batch = Some(std::time::Instant::now());
        let counters = &self.counters;
        counters
            .commit_ns
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        counters.batches.fetch_add(1, Ordering::Relaxed);
        counters.batched_blocks.fetch_add(blocks, Ordering::Relaxed);
        if let Err(error) = committed {
            tracing::error!(%error, "the chain store failed; stopping the node");
            return (false, None);
        }
        self.execute();
        (keep_going, after)
    }

    fn store_mut(&mut self) -> &mut S {
        self.protocol.ledger_mut().chain_mut().store_mut()
    }

    fn handle(&mut self, input: Input, now: u64) -> bool {
        let result = match input {
            Input::Tick => {
                self.refresh_template_if_due(now);
                self.protocol.tick(now)
            }
            Input::Connected {
                peer,
                addr,
                direction,
                writer,
                cancel,
            } => {
                self.connections.insert(peer, Connection { writer, cancel });
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
                self.connections.remove(&peer);
                self.protocol.disconnected(peer, now);
                Ok(())
            }
            Input::BlockFound(job, block) => {
                if job == self.job {
                    match self.protocol.block_found(block, now) {
                        Ok(_) => Ok(()),
                        // A block on a tip that moved meanwhile: nothing lost but its hashes.
                        Err(chain_core::Error::Block(_)) => Ok(()),
                        Err(other) => Err(other),
                    }
                } else {
                    Ok(())
                }
            }
            Input::Command(Command::Shutdown(reply)) => {
                drop(reply);
                return false;
            }
            Input::Command(command) => {
                self.command(command, now);
                Ok(())
            }
        };
        if let Err(error) = result {
            tracing::error!(%error, "the chain store failed; stopping the node");
            return false;
        }
        true
    }

    /// Carries out what the protocol asked for; events wait while a batch is open.
    fn execute(&mut self) {
        self.save_new_bans();
        let network = self.protocol.ledger().params().network_id;
        let mut ios = self.protocol.drain_io();
        if self.batch_open {
            let (events, others) = ios.into_iter().partition(|io| matches!(io, Io::Event(_)));
            self.held_events.extend::<Vec<Io>>(events);
            ios = others;
        } else if !self.held_events.is_empty() {
            let mut held = std::mem::take(&mut self.held_events);
            held.append(&mut ios);
            ios = held;
        }
        for io in ios {
            match io {
                Io::Send(peer, message) => {
                    let Some(connection) = self.connections.get(&peer) else {
                        continue;
                    };
                    let frame = Arc::new(encode_frame(&message, network));
                    if connection.writer.try_send(frame).is_err() {
                        // Its queue is full: too slow to keep up.
                        if let Some(connection) = self.connections.remove(&peer) {
                            connection.cancel.cancel();
                        }
                        self.protocol.disconnected(peer, unix_now());
                    }
                }
                Io::Disconnect(peer, reason) => {
                    tracing::debug!(peer, ?reason, "disconnecting");
                    if let Some(connection) = self.connections.remove(&peer) {
                        connection.cancel.cancel();
                    }
                }
                Io::Connect(addr) => (self.dial)(addr),
                Io::Event(event) => {
                    if let NodeEvent::Chain(ChainEvent::TipChanged(_)) = &event {
                        self.new_template(unix_now());
                    }
                    if let NodeEvent::TransferAccepted(_) = &event {
                        self.template_dirty = true;
                    }
                    let _ = self.events.send(event);
                }
            }
        }
    }

    fn refresh_template_if_due(&mut self, now: u64) {
        if self.mining.is_some()
            && now >= self.template_at + TEMPLATE_REFRESH_SECS
            && (self.template_dirty || now >= self.template_at + 10)
        {
            self.new_template(now);
        }
        if let Some((_, miner)) = &self.mining {
            let hashes = miner.stats().hashes.load(Ordering::Relaxed);
            let (last_hashes, last_at, _) = self.rate;
            if now > last_at {
                let rate = hashes.saturating_sub(last_hashes) as f64 / (now - last_at) as f64;
                self.rate = (hashes, now, if last_at == 0 { 0.0 } else { rate });
            }
        }
    }

    fn new_template(&mut self, now: u64) {
        let Some((config, miner)) = &self.mining else {
            return;
        };
        match self.protocol.ledger().block_template(config.address, now) {
            Ok(mut template) => {
                self.job += 1;
                // Threads of different nodes start at different nonces.
                template.header.nonce = self.job.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                miner.set_job(self.job, template);
                self.template_dirty = false;
                self.template_at = now;
            }
            Err(error) => tracing::error!(%error, "could not build a block template"),
        }
    }

    pub(crate) fn set_mining(&mut self, config: Option<MiningConfig>) {
        self.mining = None;
        self.rate = (0, 0, 0.0);
        if let Some(config) = config {
            let inputs = self.inputs.clone();
            let miner = Miner::start(config.threads, move |job, block| {
                let _ = inputs.blocking_send(Input::BlockFound(job, block));
            });
            self.mining = Some((config, miner));
            self.new_template(unix_now());
        }
    }

    fn command(&mut self, command: Command, now: u64) {
        match command {
            Command::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Command::SubmitTransfer(transfer, reply) => {
                let result = self.protocol.submit_transfer(transfer, now);
                let _ = reply.send(result.map(|r| r.map(|admitted| admitted.txid)));
            }
            Command::Block(which, reply) => {
                let _ = reply.send(self.block_view(which));
            }
            Command::Blocks {
                before,
                limit,
                reply,
            } => {
                let _ = reply.send(self.block_list(before, limit));
            }
            Command::Transfer(txid, reply) => {
                let _ = reply.send(self.tx_lookup(&txid));
            }
            Command::Proof(txid, reply) => {
                let _ = reply.send(self.proof(&txid));
            }
            Command::Account(address, reply) => {
                let _ = reply.send(self.account(&address));
            }
            Command::History {
                address,
                before,
                limit,
                reply,
            } => {
                let _ = reply.send(self.history(&address, before, limit));
            }
            Command::Mempool(reply) => {
                let prefix = self.protocol.ledger().params().address_prefix;
                let items = self
                    .protocol
                    .ledger()
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
            Command::Peers(reply) => {
                let peers = self
                    .protocol
                    .peers()
                    .into_iter()
                    .map(|p| PeerView {
                        id: p.id,
                        addr: p.addr.to_string(),
                        direction: match p.direction {
                            Direction::Inbound => "inbound",
                            Direction::Outbound => "outbound",
                        },
                        ready: p.ready,
                        best_height: p.best_height,
                        score: p.score,
                        agent: p.agent,
                    })
                    .collect();
                let _ = reply.send(peers);
            }
            Command::AddPeer(addr) => {
                self.protocol.add_address(addr, now);
                (self.dial)(addr);
            }
            Command::SetMining(config, reply) => {
                self.set_mining(config);
                let _ = reply.send(());
            }
            Command::Shutdown(_) => {}
        }
    }

    fn status(&self) -> NodeStatus {
        let ledger = self.protocol.ledger();
        let tip = *ledger.chain().tip();
        let params = ledger.params();
        let mining = match &self.mining {
            Some((config, miner)) => MiningStatus {
                enabled: true,
                address: Some(config.address.to_text(params.address_prefix)),
                threads: miner.threads(),
                hash_rate: self.rate.2,
                kernel: miner.kernel().name().to_string(),
                blocks_found: miner.stats().found.load(Ordering::Relaxed),
            },
            None => MiningStatus::default(),
        };
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
            best_header_height: self.protocol.best_header_height(),
            syncing: self.protocol.is_syncing(),
            // A store that cannot say is read as having indexed nothing above genesis.
            indexed_height: ledger
                .chain()
                .store()
                .indexed_height()
                .ok()
                .flatten()
                .unwrap_or(Height::GENESIS),
            peers: self.protocol.peers().iter().filter(|p| p.ready).count(),
            mempool_transfers: ledger.mempool().len(),
            mempool_bytes: ledger.mempool().bytes(),
            mining,
            listen: self.listen.map(|a| a.to_string()),
        }
    }

    fn block_view(&self, which: BlockRef) -> Result<Option<BlockView>, chain_core::Error> {
        let ledger = self.protocol.ledger();
        let store = ledger.chain().store();
        let hash = match which {
            BlockRef::Hash(hash) => hash,
            BlockRef::Height(height) => match store.hash_at(height)? {
                Some(hash) => hash,
                None => return Ok(None),
            },
        };
        let (Some(meta), Some(block)) = (store.meta(&hash)?, store.block(&hash)?) else {
            return Ok(None);
        };
        let params = ledger.params();
        let tip = ledger.chain().tip().height;
        let in_best_chain = store.hash_at(meta.height)? == Some(hash);
        Ok(Some(BlockView {
            summary: BlockSummary::of(&meta, &block, params),
            prev_hash: meta.header.prev_hash,
            merkle_root: meta.header.merkle_root.to_string(),
            bits: meta.header.bits.to_string(),
            nonce: meta.header.nonce,
            in_best_chain,
            confirmations: if in_best_chain {
                tip.0 - meta.height.0 + 1
            } else {
                0
            },
            txs: block
                .txs
                .iter()
                .map(|tx| TxView::of(tx, params.address_prefix))
                .collect(),
        }))
    }

    fn block_list(
        &self,
        before: Option<Height>,
        limit: usize,
    ) -> Result<Vec<BlockSummary>, chain_core::Error> {
        let ledger = self.protocol.ledger();
        let store = ledger.chain().store();
        let tip = ledger.chain().tip().height;
        let top = before
            .map(|h| h.0.saturating_sub(1))
            .unwrap_or(tip.0)
            .min(tip.0);
        let mut out = Vec::new();
        let mut height = top;
        while out.len() < limit.min(100) {
            if let Some(hash) = store.hash_at(Height(height))?
                && let (Some(meta), Some(block)) = (store.meta(&hash)?, store.block(&hash)?)
            {
                out.push(BlockSummary::of(&meta, &block, ledger.params()));
            }
            if height == 0 {
                break;
            }
            height -= 1;
        }
        Ok(out)
    }

    fn tx_lookup(
        &self,
        txid: &chain_core::hash::Txid,
    ) -> Result<Option<TxLookup>, chain_core::Error> {
        let ledger = self.protocol.ledger();
        let prefix = ledger.params().address_prefix;
        if let Some(entry) = ledger.mempool().get(txid) {
            return Ok(Some(TxLookup {
                tx: TxView::of(&Transaction::Transfer(entry.transfer.clone()), prefix),
                status: TxStatus::Pending,
            }));
        }
        let store = ledger.chain().store();
        let Some(location) = store.tx_location(txid)? else {
            return Ok(None);
        };
        let Some(block) = store.block(&location.block)? else {
            return Ok(None);
        };
        let Some(tx) = block.txs.get(location.index as usize) else {
            return Ok(None);
        };
        let tip = ledger.chain().tip().height;
        Ok(Some(TxLookup {
            tx: TxView::of(tx, prefix),
            status: TxStatus::Confirmed {
                block: location.block,
                height: location.height,
                confirmations: tip.0.saturating_sub(location.height.0) + 1,
            },
        }))
    }

    fn proof(&self, txid: &chain_core::hash::Txid) -> Result<Option<ProofView>, chain_core::Error> {
        let store = self.protocol.ledger().chain().store();
        let Some(location) = store.tx_location(txid)? else {
            return Ok(None);
        };
        let Some(block) = store.block(&location.block)? else {
            return Ok(None);
        };
        let txids = block.txids();
        Ok(
            MerkleProof::build(&txids, location.index as usize).map(|proof| ProofView {
                txid: *txid,
                block: location.block,
                height: location.height,
                merkle_root: block.header.merkle_root,
                proof,
            }),
        )
    }

    fn account(&self, address: &Address) -> Result<AccountView, chain_core::Error> {
        let ledger = self.protocol.ledger();
        let account = ledger.chain().account(address)?;
        let (pending_out, pending_in) = ledger.mempool().pending_flows(address);
        Ok(AccountView {
            address: address.to_text(ledger.params().address_prefix),
            balance: account.balance,
            nonce: account.nonce,
            pending_out,
            pending_in,
            next_nonce: ledger.mempool().next_nonce(address, account),
        })
    }

    fn history(
        &self,
        address: &Address,
        before: Option<chain_core::store::HistoryCursor>,
        limit: usize,
    ) -> Result<HistoryPage, chain_core::Error> {
        let ledger = self.protocol.ledger();
        let store = ledger.chain().store();
        let limit = limit.clamp(1, 100);
        let entries = store.history(address, before, limit + 1)?;
        let more = entries.len() > limit;
        let tip = ledger.chain().tip().height;
        let prefix = ledger.params().address_prefix;
        let mut items = Vec::with_capacity(limit);
        let mut blocks: HashMap<Height, Block> = HashMap::new();
        for entry in entries.iter().take(limit) {
            if !blocks.contains_key(&entry.height)
                && let Some(hash) = store.hash_at(entry.height)?
                && let Some(block) = store.block(&hash)?
            {
                blocks.insert(entry.height, block);
            }
            let Some(tx) = blocks
                .get(&entry.height)
                .and_then(|b| b.txs.get(entry.index as usize))
            else {
                continue;
            };
            items.push(HistoryItem {
                tx: TxView::of(tx, prefix),
                height: entry.height,
                index: entry.index,
                confirmations: tip.0.saturating_sub(entry.height.0) + 1,
            });
        }
        let next = if more {
            entries.get(limit - 1).map(|e| format_cursor(e.cursor()))
        } else {
            None
        };
        Ok(HistoryPage { items, next })
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
