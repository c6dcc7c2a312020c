//! The node's miner: worker threads that search nonces for the current template, restarted the
//! moment a new template arrives (a new tip, new transfers, a clock step), so no hash is spent on
//! a stale block for more than a few milliseconds.

use chain_core::block::Block;
use chain_core::mining::{Job, Kernel, mine};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

/// Counters the node reads for its status.
#[derive(Debug, Default)]
pub struct MinerStats {
    /// Hashes tried since start.
    pub hashes: AtomicU64,
    /// Blocks found since start.
    pub found: AtomicU64,
}

/// A running miner.
#[derive(Debug)]
pub struct Miner {
    jobs: Option<mpsc::Sender<(u64, Block)>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<MinerStats>,
    threads: usize,
    kernel: Kernel,
}

impl Miner {
    /// Starts `threads` mining threads; found blocks go to `found` with the job id.
    pub fn start(threads: usize, found: impl Fn(u64, Block) + Send + 'static) -> Self {
        let (jobs, receiver) = mpsc::channel::<(u64, Block)>();
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(MinerStats::default());
        let kernel = Kernel::best();
        let threads = threads.max(1);
        let thread = {
            let (stop, stats) = (stop.clone(), stats.clone());
            std::thread::Builder::new()
                .name("miner".into())
                .spawn(move || supervise(receiver, stop, stats, threads, kernel, found))
                .ok()
        };
        Self {
            jobs: Some(jobs),
            stop,
            thread,
            stats,
            threads,
            kernel,
        }
    }

    /// Replaces the block being mined (stops the current search at once).
    pub fn set_job(&self, id: u64, template: Block) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send((id, template));
        }
    }

    /// Counters.
    pub fn stats(&self) -> &Arc<MinerStats> {
        &self.stats
    }

    /// Threads in use.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The kernel in use.
    pub fn kernel(&self) -> Kernel {
        self.kernel
    }
}

impl Drop for Miner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Mining takes only the CPU that validation, sync and the API leave: the supervising thread
/// drops to the lowest priority (nice 19) before it starts the hashing threads, which inherit it
/// (Linux keeps a nice value per thread and copies it to the threads a thread creates). On an
/// idle machine the hash rate is the same; on a busy one, blocks from peers and requests are
/// served first instead of sharing the cores equally with hashing.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `setpriority` reads only its three integer arguments; `who = 0` with
        // PRIO_PROCESS names the calling thread on Linux. A failure leaves the priority as it was.
        let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 19) };
        if result != 0 {
            tracing::debug!("the miner's priority could not be lowered");
        }
    }
}

fn supervise(
    jobs: mpsc::Receiver<(u64, Block)>,
    stop: Arc<AtomicBool>,
    stats: Arc<MinerStats>,
    threads: usize,
    kernel: Kernel,
    found: impl Fn(u64, Block),
) {
    lower_priority();
    let mut current = None;
    loop {
        // Take the newest job; wait for one when idle.
        let next = match current.take() {
            Some(job) => Some(job),
            None => jobs.recv().ok(),
        };
        let Some(mut newest) = next else { return };
        while let Ok(job) = jobs.try_recv() {
            newest = job;
        }
        let (id, mut block) = newest;
        stop.store(false, Ordering::SeqCst);
        let Some(target) = block.header.bits.to_target() else {
            // A template always carries valid bits; wait for the next one if not.
            current = jobs.recv().ok();
            if current.is_none() {
                return;
            }
            continue;
        };
        let job = Job::new(&block.header.to_array(), &target.to_be_bytes());
        let start = block.header.nonce;
        match mine(&job, kernel, threads, start, &stop, &stats.hashes) {
            Some((nonce, _hash)) => {
                block.header.nonce = nonce;
                stats.found.fetch_add(1, Ordering::Relaxed);
                found(id, block);
                // Wait for the next template (the tip moved).
                current = jobs.recv().ok();
                if current.is_none() {
                    return;
                }
            }
            None => {
                // Stopped by a new job or by shutdown: a closed channel ends the thread.
                match jobs.recv() {
                    Ok(job) => current = Some(job),
                    Err(_) => return,
                }
            }
        }
    }
}
