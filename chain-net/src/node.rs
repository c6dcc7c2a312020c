//! Starting a node: bind the listener, spawn the ticker, the connection tasks and the core
//! thread, and hand back a [`NodeHandle`].
//!
//! Tasks (all on the caller's tokio runtime, tracked so shutdown can wait for every one):
//! - the **listener** accepts connections up to a cap (a semaphore) and spawns a connection task
//!   for each;
//! - a **dialler** task per outbound attempt, started when the protocol asks to connect;
//! - a **connection** task per peer: its reader forwards frames to the core; its writer drains
//!   the frames the core queues for it;
//! - the **ticker** sends the core a tick every second;
//! - the **core thread** (not a task: it owns the blocking store) runs the protocol;
//! - the **checking threads** check blocks from peers before the core sees them (`verify.rs`).

use crate::connection::{FrameReader, ReadOutcome, write_frames};
use crate::core::{Core, Input, MiningConfig, unix_now};
use crate::error::NetError;
use crate::handle::NodeHandle;
use crate::verify::{
    BLOCK_BACKLOG, Checkers, Counters, PIPELINE_DEPTH, Pending, Requested, forward_in_order,
    start_check,
};
use chain_core::ledger::Ledger;
use chain_core::mempool::MempoolPolicy;
use chain_core::params::{ChainParams, NetworkId};
use chain_core::protocol::{Direction, Message, NodeEvent, PeerId, Protocol, ProtocolConfig};
use chain_core::sigcache::{DEFAULT_SIGNATURE_CACHE_ENTRIES, SignatureCache};
use chain_core::store::Store;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Everything a node needs to start.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The network.
    pub params: ChainParams,
    /// Where to listen for peers (`None`: no inbound connections). Port 0 picks a free port.
    pub listen: Option<SocketAddr>,
    /// Peers to connect to at start.
    pub peers: Vec<SocketAddr>,
    /// Peers given by name: looked up at start and every 30 s after, each new address dialled
    /// (`names.rs`).
    pub peer_names: Vec<crate::PeerName>,
    /// Mining at start.
    pub mining: Option<MiningConfig>,
    /// Protocol limits and timers.
    pub protocol: ProtocolConfig,
    /// Mempool limits.
    pub mempool: MempoolPolicy,
    /// Threads that check blocks from peers (form and signatures), a block each at a time; and
    /// the threads the chain checks any other block on.
    pub verify_threads: usize,
    /// Transfers whose verified signatures are remembered, so their blocks need not verify them
    /// again (0: none; see [`chain_core::sigcache`]).
    pub signature_cache_entries: usize,
    /// Seed of the protocol's nonces (random per node in production).
    pub seed: u64,
    /// Connections (inbound and outbound together) at most.
    pub max_connections: usize,
}

impl NodeConfig {
    /// A node of `params` with defaults: listening nowhere, no peers, not mining.
    pub fn new(params: ChainParams) -> Self {
        Self {
            params,
            listen: None,
            peers: Vec::new(),
            peer_names: Vec::new(),
            mining: None,
            protocol: ProtocolConfig::default(),
            mempool: MempoolPolicy::default(),
            verify_threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            signature_cache_entries: DEFAULT_SIGNATURE_CACHE_ENTRIES,
            seed: random_seed(),
            max_connections: 128,
        }
    }
}

/// A seed that differs between nodes and runs (the standard library's per-process random hash
/// keys, mixed with the clock): nonces must differ between nodes, not be secret.
fn random_seed() -> u64 {
    use std::hash::BuildHasher;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    std::collections::hash_map::RandomState::new().hash_one(nanos)
}

/// The shared parts every task needs.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) inputs: mpsc::Sender<Input>,
    pub(crate) network: NetworkId,
    pub(crate) next_peer: Arc<AtomicU64>,
    pub(crate) tracker: TaskTracker,
    pub(crate) shutdown: CancellationToken,
    pub(crate) slots: Arc<Semaphore>,
    /// The threads that check blocks from peers (`verify_threads` of them).
    pub(crate) checkers: Arc<Checkers>,
    /// Blocks between arrival and the core's channel ([`BLOCK_BACKLOG`]).
    pub(crate) backlog: Arc<Semaphore>,
    pub(crate) counters: Arc<Counters>,
    /// The chain's cache of verified transfer signatures, shared with the checkers.
    pub(crate) signatures: Arc<SignatureCache>,
}

/// Starts a node over `store` on the current tokio runtime.
///
/// # Errors
///
/// [`NetError::Io`] if the listener cannot bind, [`NetError::Core`] if the store cannot be
/// opened as this network's chain.
pub async fn start<S: Store + Send + 'static>(
    config: NodeConfig,
    store: S,
) -> Result<NodeHandle, NetError> {
    let now = unix_now();
    let listener = match config.listen {
        Some(addr) => Some(TcpListener::bind(addr).await?),
        None => None,
    };
    let listen = match &listener {
        Some(listener) => Some(listener.local_addr()?),
        None => None,
    };
    let params = config.params.clone();
    let (inputs, receiver) = mpsc::channel::<Input>(4_096);
    let (events, _) = broadcast::channel::<NodeEvent>(4_096);
    let counters = Arc::new(Counters::default());
    let signatures = Arc::new(SignatureCache::new(
        params.network_id,
        config.signature_cache_entries,
    ));
    let checkers = Checkers::start(
        config.verify_threads,
        Arc::new(config.params.clone()),
        counters.clone(),
        signatures.clone(),
    )?;
    let shared = Shared {
        inputs: inputs.clone(),
        network: params.network_id,
        next_peer: Arc::new(AtomicU64::new(1)),
        tracker: TaskTracker::new(),
        shutdown: CancellationToken::new(),
        slots: Arc::new(Semaphore::new(config.max_connections)),
        checkers: Arc::new(checkers),
        backlog: Arc::new(Semaphore::new(BLOCK_BACKLOG)),
        counters,
        signatures: signatures.clone(),
    };

    // Open the ledger on a blocking thread: opening may write the genesis block.
    let mempool = config.mempool.clone();
    let verify_threads = config.verify_threads;
    let mut protocol_config = config.protocol.clone();
    protocol_config.listen_port = listen.map(|a| a.port()).unwrap_or(0);
    let seed = config.seed;
    let open = tokio::task::spawn_blocking(move || -> Result<Protocol<S>, chain_core::Error> {
        let saved_peers = store.known_peers()?;
        let saved_bans = store.bans()?;
        let mut ledger = Ledger::open_with_cache(params, store, mempool, now, signatures)?;
        ledger.chain_mut().set_verify_threads(verify_threads);
        let mut protocol = Protocol::new(ledger, protocol_config, seed);
        for (addr, seen) in saved_peers {
            protocol.add_address(addr, seen);
        }
        for (target, until) in saved_bans {
            protocol.restore_ban(target, until);
        }
        Ok(protocol)
    });
    let mut protocol = open.await.map_err(|_| NetError::Stopped)??;
    for peer in &config.peers {
        protocol.add_address(*peer, now);
    }

    let dial = {
        let shared = shared.clone();
        let runtime = tokio::runtime::Handle::current();
        Box::new(move |addr: SocketAddr| {
            let shared = shared.clone();
            let _guard = runtime.enter();
            shared.tracker.clone().spawn(dial(addr, shared));
        })
    };
    let mut core = Core::new(
        chain_core::node::Node::new(protocol),
        events.clone(),
        dial,
        inputs.clone(),
        listen,
        shared.counters.clone(),
    );
    let (stopped_tx, stopped_rx) = oneshot::channel();
    let mining = config.mining.clone();
    let thread = std::thread::Builder::new()
        .name("chain-core".into())
        .spawn(move || {
            // A store failure while making the first template is logged there; the loop then
            // meets the same store at its first step.
            if mining.is_some() {
                let _ = core.set_mining(mining);
            }
            let store = core.run(receiver);
            drop(store);
            let _ = stopped_tx.send(());
        })?;

    if let Some(listener) = listener {
        shared.tracker.spawn(accept_loop(listener, shared.clone()));
    }
    shared.tracker.spawn(ticker(shared.clone()));
    if !config.peer_names.is_empty() {
        shared.tracker.spawn(crate::names::keep_resolving(
            config.peer_names.clone(),
            inputs.clone(),
            shared.shutdown.clone(),
        ));
    }
    // First tick at once: dial the configured peers without waiting a second.
    let _ = inputs.send(Input::Tick).await;

    Ok(NodeHandle::new(
        inputs,
        events,
        shared,
        stopped_rx,
        thread,
        listen,
        config.params,
    ))
}

async fn ticker(shared: Shared) {
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = interval.tick() => {
                if shared.inputs.send(Input::Tick).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Shared) {
    loop {
        let permit = tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            permit = shared.slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let accepted = tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, addr)) => {
                let task = run_connection(stream, addr, Direction::Inbound, shared.clone());
                shared.tracker.spawn(async move {
                    task.await;
                    drop(permit);
                });
            }
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn dial(addr: SocketAddr, shared: Shared) {
    let Ok(permit) = shared.slots.clone().try_acquire_owned() else {
        let _ = shared.inputs.send(Input::ConnectFailed(addr)).await;
        return;
    };
    let connect = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(addr));
    let stream = tokio::select! {
        _ = shared.shutdown.cancelled() => return,
        result = connect => result,
    };
    match stream {
        Ok(Ok(stream)) => {
            run_connection(stream, addr, Direction::Outbound, shared).await;
        }
        _ => {
            let _ = shared.inputs.send(Input::ConnectFailed(addr)).await;
        }
    }
    drop(permit);
}

async fn run_connection(stream: TcpStream, addr: SocketAddr, direction: Direction, shared: Shared) {
    let _ = stream.set_nodelay(true);
    let peer: PeerId = shared.next_peer.fetch_add(1, Ordering::Relaxed);
    let (read, write) = stream.into_split();
    let (writer, frames) = mpsc::channel(1_024);
    let cancel = shared.shutdown.child_token();
    let requested = Requested::default();
    shared.tracker.spawn(write_frames(write, frames));
    let connected = Input::Connected {
        peer,
        addr,
        direction,
        writer,
        requested: requested.clone(),
        cancel: cancel.clone(),
    };
    if shared.inputs.send(connected).await.is_err() {
        return;
    }
    // The reader reads frames and starts checking blocks without waiting for the checks; the
    // forwarder hands everything to the core in order of arrival (see `verify.rs`).
    let (pending, queued) = mpsc::channel(PIPELINE_DEPTH);
    let forward = forward_in_order(peer, queued, shared.inputs.clone());
    let read = read_frames(
        FrameReader::new(read, shared.network),
        peer,
        addr,
        pending,
        &requested,
        &shared,
        &cancel,
    );
    tokio::join!(read, forward);
    let _ = shared.inputs.send(Input::Disconnected(peer)).await;
}

/// Reads a connection's frames until it closes, breaks or is cancelled, queueing what they carry
/// for the forwarder (blocks with their checks under way).
async fn read_frames(
    mut reader: FrameReader,
    peer: PeerId,
    addr: SocketAddr,
    pending: mpsc::Sender<Pending>,
    requested: &Requested,
    shared: &Shared,
    cancel: &CancellationToken,
) {
    loop {
        let outcome = tokio::select! {
            _ = cancel.cancelled() => break,
            outcome = reader.read() => outcome,
        };
        let next = match outcome {
            ReadOutcome::Message(Message::Block(block)) if requested.take(&block.hash()) => {
                let started = tokio::select! {
                    _ = cancel.cancelled() => None,
                    started = start_check(shared, block) => started,
                };
                match started {
                    Some(checking) => checking,
                    None => break,
                }
            }
            ReadOutcome::Message(message) => Pending::Ready(Input::Message(peer, message)),
            ReadOutcome::Closed => break,
            ReadOutcome::Malformed(error) => {
                tracing::debug!(peer, %addr, %error, "malformed frame");
                let _ = pending
                    .send(Pending::Ready(Input::Malformed(peer, error)))
                    .await;
                break;
            }
        };
        if pending.send(next).await.is_err() {
            break;
        }
    }
}
