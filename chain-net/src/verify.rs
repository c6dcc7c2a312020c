//! Checking blocks before the core thread sees them.
//!
//! Every block that arrives is checked on its own (form, then signatures: see
//! [`WellFormedBlock`]) by a pool of `verify_threads` checking threads ([`Checkers`]) that take
//! blocks from one queue in order of arrival across connections, while the core thread stores the
//! blocks before. A connection does not wait for one block's check before reading the next
//! frame: its reader queues the check, and a forwarder hands the connection's inputs to the core
//! in the order they arrived. During a sync from one peer many blocks are in flight, so both
//! cores check signatures while the core thread connects blocks in order; a checking thread
//! that finishes a block takes the next one from the queue at once, with no task to wake in
//! between.
//!
//! Bounds: [`BLOCK_BACKLOG`] blocks at most between their arrival and the core's channel, for the
//! whole node (queued, being checked, or checked and waiting for their turn), and
//! [`PIPELINE_DEPTH`] inputs per connection; a peer sending faster than the node checks waits in
//! TCP. A block that fails a check goes to the core as it is: the core finds the fault again and
//! penalises the peer. Nothing of a failed check is trusted.
//!
//! Only a block the node asked this peer for goes to the checking threads ([`Requested`]): a
//! block pushed unasked goes to the core as it came, where the protocol's rules for unrequested
//! blocks run first (one of a branch the node does not want is dropped unchecked, a low-work
//! orphan after its proof of work, an orphan's signatures wait for its parent), so a peer
//! cannot make the checking threads verify signatures the core would never need.
//!
//! A transfer the node's mempool verified already is not verified again here: the checking
//! threads share the chain's [`SignatureCache`].
//!
//! [`NodeCounters`] count the work: the CPU time of the signature checks alone is measured on
//! the checking thread (its own CPU clock, so time the thread spends preempted is not counted).

use crate::core::Input;
use crate::node::Shared;
use chain_core::block::Block;
use chain_core::hash::BlockHash;
use chain_core::params::ChainParams;
use chain_core::protocol::{Inventory, Message, PeerId};
use chain_core::sigcache::{SignatureCache, SignatureStats};
use chain_core::tx::Transaction;
use chain_core::validate::{VerifiedBlock, WellFormedBlock};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc as std_mpsc};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};

/// Blocks held by the node between their arrival and the core's input channel, at most.
pub(crate) const BLOCK_BACKLOG: usize = 256;

/// Inputs of one connection waiting to go to the core in order, at most.
pub(crate) const PIPELINE_DEPTH: usize = 64;

/// Blocks one connection's peer was asked for and has not sent yet, at most; requests past it
/// (more than any in-flight window) only lose their block the checking threads.
const MAX_REQUESTED: usize = 8_192;

/// The blocks the node asked one peer for and that have not come yet: the core thread notes
/// each `getdata` it sends, the connection's reader takes a block out as it arrives. What the
/// node asks for is the protocol's decision; this only carries it to the reader, which sends
/// requested blocks to the checking threads and the rest to the core as they came.
#[derive(Debug, Clone, Default)]
pub(crate) struct Requested(Arc<Mutex<HashSet<BlockHash>>>);

impl Requested {
    /// Notes the blocks `message` asks for, if it is a `getdata`.
    pub(crate) fn note(&self, message: &Message) {
        let Message::GetData(items) = message else {
            return;
        };
        let Ok(mut requested) = self.0.lock() else {
            return;
        };
        for item in items {
            if let Inventory::Block(hash) = item
                && requested.len() < MAX_REQUESTED
            {
                requested.insert(*hash);
            }
        }
    }

    /// Whether `hash` was asked for (and no longer is).
    pub(crate) fn take(&self, hash: &BlockHash) -> bool {
        self.0
            .lock()
            .map(|mut requested| requested.remove(hash))
            .unwrap_or(false)
    }
}

/// Counters of a node's work, for benchmarks and diagnostics (see [`NodeCounters`]; the
/// signature cache counts its own).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    blocks_checked: AtomicU64,
    signatures: AtomicU64,
    signature_cpu_ns: AtomicU64,
    form_cpu_ns: AtomicU64,
    pub(crate) batches: AtomicU64,
    pub(crate) batched_blocks: AtomicU64,
    pub(crate) commit_ns: AtomicU64,
    pub(crate) commit_buckets: [AtomicU64; COMMIT_BUCKETS],
}

/// Buckets of the commit-time histogram ([`NodeCounters::commit_buckets`]).
pub const COMMIT_BUCKETS: usize = chain_core::node::batch::COMMIT_BUCKETS_MICROS.len() + 1;

impl Counters {
    pub(crate) fn snapshot(&self) -> NodeCounters {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        NodeCounters {
            blocks_checked: get(&self.blocks_checked),
            signatures: get(&self.signatures),
            signature_cpu: Duration::from_nanos(get(&self.signature_cpu_ns)),
            form_cpu: Duration::from_nanos(get(&self.form_cpu_ns)),
            batches: get(&self.batches),
            batched_blocks: get(&self.batched_blocks),
            commit_time: Duration::from_nanos(get(&self.commit_ns)),
            commit_buckets: std::array::from_fn(|i| get(&self.commit_buckets[i])),
            signature_cache: SignatureStats::default(),
        }
    }
}

/// What a node has done since it started, for benchmarks and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NodeCounters {
    /// Blocks from peers checked before the core thread (form and signatures).
    pub blocks_checked: u64,
    /// Transfers in those blocks: each one's signature verified, or skipped when the signature
    /// cache held it.
    pub signatures: u64,
    /// CPU time of those signature checks (cache lookups, signing hash and ECDSA), summed over
    /// the threads that ran them. Zero where threads have no CPU clock (not Unix).
    pub signature_cpu: Duration,
    /// Signatures verified and skipped by the node, in the mempool and in block checks alike
    /// (see [`chain_core::sigcache`]).
    pub signature_cache: SignatureStats,
    /// CPU time of the checks of those blocks' form (size, proof of work, merkle root, ...).
    pub form_cpu: Duration,
    /// Batches of blocks the core thread stored with one commit.
    pub batches: u64,
    /// Blocks in those batches.
    pub batched_blocks: u64,
    /// Wall time the core thread spent committing batches.
    pub commit_time: Duration,
    /// Those commits by time taken, in the buckets of
    /// [`chain_core::node::batch::COMMIT_BUCKETS_MICROS`] (the last: slower than all).
    pub commit_buckets: [u64; COMMIT_BUCKETS],
}

/// The CPU time the calling thread has used, if the platform tells.
#[cfg(unix)]
fn thread_cpu() -> Option<Duration> {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the duration of the call, and
    // CLOCK_THREAD_CPUTIME_ID is a clock every supported Unix provides.
    let result = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if result != 0 {
        return None;
    }
    Some(Duration::new(
        u64::try_from(now.tv_sec).ok()?,
        u32::try_from(now.tv_nsec).ok()?,
    ))
}

#[cfg(not(unix))]
fn thread_cpu() -> Option<Duration> {
    None
}

fn add(counter: &AtomicU64, since: Option<Duration>, until: Option<Duration>) {
    if let (Some(since), Some(until)) = (since, until) {
        let ns = until.saturating_sub(since).as_nanos();
        counter.fetch_add(u64::try_from(ns).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

/// Checks a block's form, then its signatures on this thread (those `signatures` does not hold),
/// counting the CPU time of each. A block that fails comes back as it is.
fn check(
    params: &ChainParams,
    block: Block,
    counters: &Counters,
    signatures: &SignatureCache,
) -> Result<VerifiedBlock, Block> {
    let started = thread_cpu();
    let formed = WellFormedBlock::check(params, block);
    let checked = thread_cpu();
    add(&counters.form_cpu_ns, started, checked);
    let formed = formed.map_err(|refused| refused.0)?;
    let transfers = formed
        .block()
        .txs
        .iter()
        .filter(|tx| matches!(tx, Transaction::Transfer(_)))
        .count();
    let verified = formed.verify_signatures(1, Some(signatures));
    add(&counters.signature_cpu_ns, checked, thread_cpu());
    counters.blocks_checked.fetch_add(1, Ordering::Relaxed);
    counters
        .signatures
        .fetch_add(transfers as u64, Ordering::Relaxed);
    verified.map_err(|refused| refused.0)
}

/// What a check gives: the verified block, or the block as it came when a check failed.
type Checked = Result<VerifiedBlock, Block>;

/// A block to check and where its result goes.
struct Job {
    block: Block,
    result: oneshot::Sender<Checked>,
}

/// The checking threads of a node and the queue they take blocks from.
pub(crate) struct Checkers {
    /// `None` once stopped.
    queue: Mutex<Option<std_mpsc::Sender<Job>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Checkers {
    /// Starts `threads` checking threads (at least one), named `chain-verify`, that skip the
    /// signatures `signatures` holds.
    pub(crate) fn start(
        threads: usize,
        params: Arc<ChainParams>,
        counters: Arc<Counters>,
        signatures: Arc<SignatureCache>,
    ) -> std::io::Result<Self> {
        let (queue, jobs) = std_mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let mut handles = Vec::new();
        for _ in 0..threads.max(1) {
            let (jobs, params, counters, signatures) = (
                jobs.clone(),
                params.clone(),
                counters.clone(),
                signatures.clone(),
            );
            let handle = std::thread::Builder::new()
                .name("chain-verify".into())
                .spawn(move || check_until_closed(&jobs, &params, &counters, &signatures))?;
            handles.push(handle);
        }
        Ok(Self {
            queue: Mutex::new(Some(queue)),
            threads: Mutex::new(handles),
        })
    }

    /// Queues a block; the receiver gets its result. `None` once the checkers are stopped.
    fn submit(&self, block: Block) -> Option<oneshot::Receiver<Checked>> {
        let (result, receiver) = oneshot::channel();
        let queue = self.queue.lock().ok()?;
        queue.as_ref()?.send(Job { block, result }).ok()?;
        Some(receiver)
    }

    /// Closes the queue and waits for the threads: each finishes the block it is checking, and
    /// skips the blocks still queued, whose connections are gone by then. (A node dropped
    /// without [`crate::NodeHandle::shutdown`] keeps its threads, as it keeps its core thread.)
    pub(crate) fn stop(&self) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.take();
        }
        let threads = match self.threads.lock() {
            Ok(mut threads) => std::mem::take(&mut *threads),
            Err(_) => return,
        };
        for thread in threads {
            let _ = thread.join();
        }
    }
}

/// A checking thread: takes blocks from the queue until it closes.
fn check_until_closed(
    jobs: &Mutex<std_mpsc::Receiver<Job>>,
    params: &ChainParams,
    counters: &Counters,
    signatures: &SignatureCache,
) {
    loop {
        // The lock is held only while waiting for the next job, never during a check.
        let next = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        let Ok(Job { block, result }) = next else {
            return;
        };
        // A closed receiver means the connection is gone: the result is not wanted.
        if result.is_closed() {
            continue;
        }
        // A check does not panic on any input; if one ever did, only its block's connection
        // would be dropped (the result's sender with it), and the thread would go on checking.
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            check(params, block, counters, signatures)
        }));
        match checked {
            Ok(checked) => {
                let _ = result.send(checked);
            }
            Err(_) => tracing::error!("a block check panicked; dropping the peer's connection"),
        }
    }
}

/// An input of a connection on its way to the core.
pub(crate) enum Pending {
    /// Ready to go.
    Ready(Input),
    /// A block being checked, with its place in the node's backlog.
    Checking(oneshot::Receiver<Checked>, OwnedSemaphorePermit),
}

/// Queues a block from a peer for checking once there is a place in the backlog. `None` when the
/// node is shutting down.
pub(crate) async fn start_check(shared: &Shared, block: Block) -> Option<Pending> {
    let backlog = shared.backlog.clone().acquire_owned().await.ok()?;
    let result = shared.checkers.submit(block)?;
    Some(Pending::Checking(result, backlog))
}

/// Hands a connection's inputs to the core in the order they arrived, each block once its check
/// is done, until the reader stops or the core is gone.
pub(crate) async fn forward_in_order(
    peer: PeerId,
    mut pending: mpsc::Receiver<Pending>,
    inputs: mpsc::Sender<Input>,
) {
    while let Some(next) = pending.recv().await {
        let (input, backlog) = match next {
            Pending::Ready(input) => (input, None),
            Pending::Checking(result, backlog) => match result.await {
                Ok(Ok(verified)) => (Input::VerifiedBlock(peer, verified), Some(backlog)),
                Ok(Err(block)) => (Input::Message(peer, Message::Block(block)), Some(backlog)),
                // The checkers stopped (the node is shutting down) or a check panicked (it does
                // not on any input): drop the connection rather than pass the block on.
                Err(_) => break,
            },
        };
        if inputs.send(input).await.is_err() {
            break;
        }
        drop(backlog);
    }
}
