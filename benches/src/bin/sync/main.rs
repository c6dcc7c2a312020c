//! Sync harness: how fast a fresh node downloads and verifies a chain from a peer over loopback,
//! and how much of that time goes to checking signatures.
//!
//! ```text
//! cargo run --release -p benches --bin sync [-- --blocks N] [--per-block T] [--full]
//!     [--trouble] [--seeds S]
//! ```
//!
//! 1. Builds a regtest chain: one block paying a funder key, then `N` blocks (default 10,000) of
//!    `T` signed transfers each (default 10). The first 1,000 transfers fund 1,000 sender keys; every later one
//!    is from one of those senders (round robin, nonces in order) to a fresh address. The
//!    transfers are signed on two threads, and the blocks are accepted through
//!    `chain_core::chain::Chain` into node A's `SqliteStore`.
//! 2. Verifies every transfer's signature once more, alone, on one thread (`check_transfer`:
//!    the form and the signature, exactly what block validation does per transfer): `T_sig`, a
//!    reference for the cost of a signature on this machine.
//! 3. Starts node A over its store and a fresh node B (an empty `SqliteStore`, `verify_threads`
//!    2) that knows only A, both in this process on a two-thread tokio runtime, and measures the
//!    wall time from B's start until its tip is A's: `T_sync`. The process's CPU time over the
//!    same span comes from `/proc/self/stat`.
//! 4. Reports blocks/s and transfers/s, blocks/s over each run of 10,000 blocks (the last
//!    against the first: does the sync slow as the chain grows?), the process's resident memory
//!    when B started and its peak until B reached the tip (`VmHWM`, reset when B starts), and
//!    the **signature share**: the CPU time B spent
//!    verifying signatures during the sync (`NodeCounters::signature_cpu`, measured on the
//!    checking threads' own CPU clocks around the signature checks alone: signing hash and
//!    ECDSA) divided by `T_sync × 2 cores`. 100 % would mean both cores did nothing but check
//!    signatures for the whole sync. (Until this version the share was `T_sig / (T_sync × 2)`,
//!    from the separate one-thread run of step 2; the two agree when the checks run at the same
//!    speed in both places.) Since other work on the machine takes cores away, it also reports
//!    the process's CPU time (as a share of two cores), the CPU time of each kind of thread
//!    (B's `chain-verify` checking threads, B's `chain-core`, A's, the tokio workers, the
//!    checkpoint threads), B's counters (form checks, store batches, commit time), how long the
//!    process's threads waited for a CPU while ready to run, and the load average before and
//!    after.
//! 5. Waits for B's lookup indexes (txid, address history), which B defers while far behind, to
//!    reach the tip, prints how long that took after the sync, and looks up every transfer of
//!    the tip block by txid.
//!
//! 6. With `--trouble`, then syncs a fresh B `S` times more (seeds 1 to `S`, default 10) from four
//!    serving peers, one withholding blocks and one leaving mid-download, against the one-peer
//!    time of step 3: see `trouble.rs`.
//!
//! B's store is opened as the CLI's nodes open theirs (`StoreOptions::node()`:
//! `synchronous=NORMAL`, 64 MiB page cache); `--full` makes it `synchronous=FULL` (`--normal`,
//! the default now, is still accepted). A's store is always opened that way (its import, 200
//! blocks to a commit, is not what is measured). The databases live in a temporary directory
//! removed at the end.

use benches::sys;
use chain_core::address::Address;
use chain_core::block::{Block, HEADER_VERSION, Header};
use chain_core::chain::{Chain, ChainEvent};
use chain_core::difficulty::next_bits;
use chain_core::hash::{BlockHash, sha256};
use chain_core::keys::SecretKey;
use chain_core::merkle::merkle_root;
use chain_core::miner::mine_reference;
use chain_core::params::ChainParams;
use chain_core::protocol::NodeEvent;
use chain_core::store::Batches;
use chain_core::testkit::served::ServedChain;
use chain_core::tx::{Coinbase, Transaction, Transfer, UnsignedTransfer};
use chain_core::units::Amount;
use chain_core::validate::{check_transfer, median_time_past};
use chain_net::{NodeConfig, NodeCounters};
use chain_store::{Durability, SqliteStore, StoreOptions};
use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Keys that send the transfers after the funding ones.
const SENDERS: usize = 1_000;
/// What the funder gives each sender.
const FUNDING: u64 = 1_000_000;
/// What each later transfer moves, and its fee.
const AMOUNT: u64 = 1_000;
const FEE: u64 = 1;

mod trouble;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

struct Options {
    blocks: usize,
    per_block: usize,
    store: StoreOptions,
    /// Seeds of the four-peer runs (`--trouble`), none without it.
    trouble_seeds: Option<u64>,
}

fn options() -> Result<Options> {
    let mut options = Options {
        blocks: 10_000,
        per_block: 10,
        store: StoreOptions::node(),
        trouble_seeds: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--blocks" => {
                options.blocks = args.next().ok_or("--blocks needs a number")?.parse()?;
            }
            "--per-block" => {
                options.per_block = args.next().ok_or("--per-block needs a number")?.parse()?;
            }
            "--normal" => options.store.durability = Durability::Normal,
            "--full" => options.store.durability = Durability::Full,
            "--trouble" => {
                options.trouble_seeds.get_or_insert(10);
            }
            "--seeds" => {
                let seeds = args.next().ok_or("--seeds needs a number")?.parse()?;
                options.trouble_seeds = Some(seeds);
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if options.blocks * options.per_block < SENDERS {
        return Err(format!("at least {SENDERS} transfers").into());
    }
    Ok(options)
}

fn secret(label: &str, n: u64) -> Result<SecretKey> {
    Ok(SecretKey::from_bytes(sha256(&[
        label.as_bytes(),
        &n.to_le_bytes(),
    ]))?)
}

/// The transfers, in chain order, unsigned, with the key that signs each.
fn plan(count: usize, senders: &[SecretKey]) -> Vec<(usize, UnsignedTransfer)> {
    (0..count)
        .map(|k| {
            if k < SENDERS {
                // The funder pays sender k; `usize::MAX` marks the funder's key.
                let to = senders[k].public_key().address();
                let transfer = UnsignedTransfer {
                    to,
                    amount: Amount(FUNDING),
                    fee: Amount(FEE),
                    nonce: k as u64,
                    memo: Vec::new(),
                };
                (usize::MAX, transfer)
            } else {
                let sender = k % SENDERS;
                let mut to = [0u8; 20];
                to.copy_from_slice(&sha256(&[b"receiver", &(k as u64).to_le_bytes()])[..20]);
                let transfer = UnsignedTransfer {
                    to: Address(to),
                    amount: Amount(AMOUNT),
                    fee: Amount(FEE),
                    nonce: (k / SENDERS - 1) as u64,
                    memo: Vec::new(),
                };
                (sender, transfer)
            }
        })
        .collect()
}

/// Signs the plan on `threads` threads, printing progress.
fn sign_all(
    plan: Vec<(usize, UnsignedTransfer)>,
    funder: &SecretKey,
    senders: &[SecretKey],
    params: &ChainParams,
    threads: usize,
) -> Vec<Transfer> {
    let network = params.network_id;
    let total = plan.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let chunk = total.div_ceil(threads);
    let mut signed: Vec<Transfer> = Vec::with_capacity(total);
    std::thread::scope(|scope| {
        let handles: Vec<_> = plan
            .chunks(chunk)
            .map(|part| {
                let done = &done;
                scope.spawn(move || {
                    part.iter()
                        .map(|(who, unsigned)| {
                            let key = if *who == usize::MAX {
                                funder
                            } else {
                                &senders[*who]
                            };
                            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            if n.is_multiple_of(20_000) {
                                eprintln!("  signed {n} of {total}");
                            }
                            unsigned.clone().sign(key, network)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for handle in handles {
            signed.extend(handle.join().expect("signing does not panic"));
        }
    });
    signed
}

/// A regtest block on `chain`'s tip paying `miner`, holding `transfers`.
fn next_block(chain: &Chain<SqliteStore>, miner: Address, transfers: &[Transfer]) -> Result<Block> {
    let params = chain.params();
    let tip = *chain.tip();
    let height = tip.height.next().ok_or("height overflow")?;
    let ancestors = chain.ancestor_headers(&tip)?;
    let fees = Amount::checked_sum(transfers.iter().map(|t| t.fee)).ok_or("fees overflow")?;
    let amount = params
        .subsidy(height)
        .checked_add(fees)
        .ok_or("coinbase overflow")?;
    let mut txs = vec![Transaction::Coinbase(Coinbase {
        height,
        to: miner,
        amount,
    })];
    txs.extend(transfers.iter().cloned().map(Transaction::Transfer));
    let txids: Vec<_> = txs.iter().map(Transaction::txid).collect();
    let mut header = Header {
        version: HEADER_VERSION,
        prev_hash: tip.hash,
        merkle_root: merkle_root(&txids),
        // One second per block from genesis: always past the median time, and in the past.
        time: (params.genesis_time + height.0).max(median_time_past(params, &ancestors) + 1),
        bits: next_bits(params, height, &ancestors),
        nonce: 0,
    };
    if !mine_reference(&mut header, u64::MAX) {
        return Err("no nonce found".into());
    }
    Ok(Block { header, txs })
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// For each thread of the process, how long it has waited for a CPU while ready to run
/// (`/proc/self/task/*/schedstat`, second field, nanoseconds).
fn run_delays() -> std::collections::HashMap<u64, u64> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return std::collections::HashMap::new();
    };
    tasks
        .filter_map(|task| {
            let task = task.ok()?;
            let tid = task.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            let delay = stat.split_whitespace().nth(1)?.parse().ok()?;
            Some((tid, delay))
        })
        .collect()
}

/// What the sync measured.
struct SyncRun {
    wall: f64,
    process_cpu: Option<Duration>,
    b_core_cpu: Option<Duration>,
    /// CPU time per thread name over the sync, largest first; the node threads B started are
    /// named `B:<name>` (the tokio workers and blocking threads serve both nodes).
    by_thread: Vec<(String, Duration)>,
    /// How long after reaching the tip B's lookup indexes reached it too.
    indexes: Duration,
    /// Time the process's threads spent ready to run but waiting for a CPU.
    run_delay: Duration,
    counters: NodeCounters,
    load: (String, String),
    /// Seconds from B's start until its tip reached each multiple of [`SEGMENT`] blocks.
    marks: Vec<f64>,
    /// The process's resident memory when B started, and its peak until B reached the tip
    /// (KiB; `None` where the kernel cannot say or reset the peak).
    rss: (Option<u64>, Option<u64>),
}

/// Blocks per segment in the sync's growth figures: blocks/s over the first segment against the
/// last one shows whether the sync slows as the chain grows.
const SEGMENT: u64 = 10_000;

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self> {
        let path = std::env::temp_dir().join(format!("chain-sync-{}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn main() -> Result<()> {
    let options = options()?;
    let params = ChainParams::regtest();
    let per_block = options.per_block;
    let transfers_total = options.blocks * per_block;
    let dir = TempDir::new()?;
    println!(
        "sync harness: {} blocks of {per_block} transfers ({transfers_total} transfers) after a \
         funding block, regtest, node B's store synchronous={} with a {} MiB cache",
        options.blocks,
        match options.store.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        },
        options.store.cache_kib / 1024
    );

    // 1. The chain, into A's store.
    let funder = secret("sync funder", 0)?;
    let senders = (0..SENDERS as u64)
        .map(|n| secret("sync sender", n))
        .collect::<Result<Vec<_>>>()?;
    let started = Instant::now();
    let transfers = sign_all(
        plan(transfers_total, &senders),
        &funder,
        &senders,
        &params,
        2,
    );
    println!(
        "built: {transfers_total} transfers signed on 2 threads in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let a_path = dir.path().join("a.db");
    let started = Instant::now();
    let now = unix_now();
    let store = SqliteStore::open_with(&a_path, &params, StoreOptions::node())?;
    let mut chain = Chain::open(params.clone(), store)?;
    chain.set_verify_threads(2);
    let miner = secret("sync miner", 0)?.public_key().address();
    // The withholder of `--trouble` serves the chain's headers from memory.
    let mut served = Vec::new();
    let mut keep = |block: &Block| {
        if options.trouble_seeds.is_some() {
            served.push(block.clone());
        }
    };
    let block = next_block(&chain, funder.public_key().address(), &[])?;
    keep(&block);
    chain.accept_block(block, now)?;
    // Stored 200 blocks to a commit, as a node does during a sync.
    chain.store_mut().begin_batch()?;
    for (i, batch) in transfers.chunks(per_block).enumerate() {
        let block = next_block(&chain, miner, batch)?;
        keep(&block);
        let outcome = chain.accept_block(block, now)?;
        if outcome.events.is_empty() {
            return Err(format!("block {} was not connected", i + 2).into());
        }
        if (i + 1).is_multiple_of(200) {
            chain.store_mut().end_batch()?;
            chain.store_mut().begin_batch()?;
        }
        if (i + 1).is_multiple_of(2_000) {
            eprintln!("  accepted {} blocks", i + 2);
        }
    }
    chain.store_mut().end_batch()?;
    let tip = *chain.tip();
    println!(
        "built: {} blocks accepted into A's store in {:.1} s",
        tip.height,
        started.elapsed().as_secs_f64()
    );
    drop(chain);
    let copies = match options.trouble_seeds {
        Some(_) => Some(trouble::copy_store(&a_path, dir.path())?),
        None => None,
    };

    // 2. Signatures alone, one thread.
    let started = Instant::now();
    let cpu_before = sys::thread_cpu();
    for transfer in &transfers {
        check_transfer(transfer, params.network_id)?;
    }
    let t_sig = started.elapsed().as_secs_f64();
    let t_sig_cpu = sys::thread_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before).as_secs_f64());
    println!(
        "signatures alone: {transfers_total} checked on one thread in {t_sig:.2} s ({:.1} µs \
         each; {} s of CPU)",
        t_sig * 1e6 / transfers_total as f64,
        t_sig_cpu.map_or("?".into(), |c| format!("{c:.2}"))
    );
    drop(transfers);

    // 3. The sync.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let run = runtime.block_on(sync(&params, &a_path, dir.path(), &options, tip.hash))?;
    let t_sync = run.wall;

    // 4. Figures.
    let blocks = tip.height.0 as f64;
    println!(
        "sync: B reached A's tip (height {}) in {t_sync:.2} s: {:.0} blocks/s, {:.0} transfers/s \
         (load average {} before, {} after)",
        tip.height,
        blocks / t_sync,
        transfers_total as f64 / t_sync,
        run.load.0,
        run.load.1
    );
    let rates = segment_rates(&run.marks, tip.height.0, t_sync);
    if rates.len() > 1 {
        let listed: Vec<String> = rates
            .iter()
            .map(|(height, rate)| format!("to {height}: {rate:.0}"))
            .collect();
        let (first, last) = (rates[0].1, rates[rates.len() - 1].1);
        println!(
            "growth: blocks/s per {SEGMENT} blocks: {}; the last segment ran at {:.0} % of the \
             first",
            listed.join(", "),
            last * 100.0 / first
        );
    }
    if let (Some(before), Some(peak)) = run.rss {
        println!(
            "memory: the process (A serving, B syncing) held {:.0} MiB when B started and at \
             most {:.0} MiB until B reached the tip: B's peak is at most {:.0} MiB (what A \
             grew by while serving, its page cache above all, is counted in)",
            before as f64 / 1024.0,
            peak as f64 / 1024.0,
            peak.saturating_sub(before) as f64 / 1024.0
        );
    }
    let sig_cpu = run.counters.signature_cpu.as_secs_f64();
    println!(
        "signatures during the sync: {} in {} blocks, {sig_cpu:.2} s of CPU ({:.1} µs each); \
         form checks {:.2} s of CPU",
        run.counters.signatures,
        run.counters.blocks_checked,
        sig_cpu * 1e6 / run.counters.signatures.max(1) as f64,
        run.counters.form_cpu.as_secs_f64()
    );
    if let Some(cpu) = run.process_cpu {
        let cpu = cpu.as_secs_f64();
        println!(
            "cpu: the process (A serving, B syncing) used {cpu:.2} s of CPU during the sync, {:.0} % \
             of two cores; signature checks were {:.0} % of that",
            cpu * 100.0 / (t_sync * 2.0),
            sig_cpu * 100.0 / cpu
        );
    }
    if let Some(core) = run.b_core_cpu {
        println!(
            "cpu: B's core thread (chain and store) was busy {:.2} s, {:.0} % of the sync's wall \
             time; it stored {} blocks in {} batches ({:.1} a batch), committing for {:.2} s",
            core.as_secs_f64(),
            core.as_secs_f64() * 100.0 / t_sync,
            run.counters.batched_blocks,
            run.counters.batches,
            run.counters.batched_blocks as f64 / run.counters.batches.max(1) as f64,
            run.counters.commit_time.as_secs_f64()
        );
    }
    println!(
        "indexes: B's txid and history indexes, deferred during the sync, reached the tip {:.2} s \
         after it (then every transfer of the tip block was found by txid)",
        run.indexes.as_secs_f64()
    );
    let by_thread: Vec<String> = run
        .by_thread
        .iter()
        .map(|(name, cpu)| format!("{name} {:.2} s", cpu.as_secs_f64()))
        .collect();
    println!("cpu by thread: {}", by_thread.join(", "));
    println!(
        "cpu: the process's threads waited {:.2} s for a CPU while ready to run (other programs \
         and the process's own threads beyond two)",
        run.run_delay.as_secs_f64()
    );
    println!(
        "signature share: signature CPU / (T_sync x 2 cores) = {:.0} % (target >= 70 %); \
         reference: T_sig / (T_sync x 2) = {:.0} %",
        sig_cpu * 100.0 / (t_sync * 2.0),
        t_sig * 100.0 / (t_sync * 2.0)
    );
    let t_indexed = t_sync + run.indexes.as_secs_f64();
    println!(
        "signature share until the indexes too were at the tip ({t_indexed:.2} s): {:.0} %",
        sig_cpu * 100.0 / (t_indexed * 2.0),
    );

    // 6. Four peers, two of them trouble.
    if let (Some(seeds), Some(copies)) = (options.trouble_seeds, copies) {
        let chain = std::sync::Arc::new(ServedChain::from_blocks(
            params.clone(),
            served,
            tip.chain_work,
        ));
        let setup = trouble::Setup {
            params: &params,
            serving: [a_path.as_path(), &copies[0], &copies[1]],
            chain,
            dir: dir.path(),
            store: options.store,
            tip: tip.hash,
            height: tip.height.0,
        };
        trouble::report(&runtime, &setup, seeds, t_sync)?;
    }
    Ok(())
}

/// Waits for B's lookup indexes (deferred during the sync) to reach `tip`, then checks that the
/// tip block's transfers are found by txid. Answers the time it took.
async fn index_catch_up(
    b: &chain_net::NodeHandle,
    tip: BlockHash,
    at_tip: Instant,
) -> Result<Duration> {
    let started = at_tip;
    let height = b.status().await?.height;
    loop {
        if b.status().await?.indexed_height >= height {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err("B's indexes did not catch up within ten minutes".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let took = started.elapsed();
    let block = b.block_by_hash(tip).await?.ok_or("B has the tip block")?;
    for tx in &block.txs {
        match b.transfer(tx.txid).await? {
            Some(found) if matches!(found.status, chain_net::views::TxStatus::Confirmed { .. }) => {
            }
            other => return Err(format!("transfer {} looked up as {other:?}", tx.txid).into()),
        }
    }
    Ok(took)
}

/// Starts a node that serves the chain in the store at `path`, listening on a free loopback
/// port.
async fn serving_node(
    params: &ChainParams,
    path: &Path,
    seed: u64,
) -> Result<chain_net::NodeHandle> {
    let mut config = NodeConfig::new(params.clone());
    config.listen = Some("127.0.0.1:0".parse()?);
    config.verify_threads = 2;
    config.seed = seed;
    let store = SqliteStore::open_with(path, params, StoreOptions::node())?;
    Ok(chain_net::start(config, store).await?)
}

/// The configuration of a fresh node B that syncs from `peers`.
fn syncing_config(params: &ChainParams, peers: Vec<std::net::SocketAddr>, seed: u64) -> NodeConfig {
    let mut config = NodeConfig::new(params.clone());
    config.peers = peers;
    config.verify_threads = 2;
    config.seed = seed;
    config
}

/// Runs A over its store and a fresh B against it until B has `tip`.
async fn sync(
    params: &ChainParams,
    a_path: &Path,
    dir: &Path,
    options: &Options,
    tip: BlockHash,
) -> Result<SyncRun> {
    let a = serving_node(params, a_path, 1).await?;

    let b_store = SqliteStore::open_with(dir.join("b.db"), params, options.store)?;
    let b_config = syncing_config(params, vec![a.listen_addr().ok_or("A listens")?], 2);
    let load_before = sys::load_average();
    let threads_at_start = sys::threads();
    let threads_before: Vec<u64> = threads_at_start.iter().map(|(tid, _, _)| *tid).collect();
    let delays_before = run_delays();
    let cpu_before = sys::process_cpu();
    let pid = std::process::id();
    let rss_before = sys::rss_kib(pid);
    let peak_reset = sys::reset_peak_rss();
    let mut marks = Vec::new();
    let started = Instant::now();
    let b = chain_net::start(b_config, b_store).await?;
    follow_to_tip(&b, tip, started, Duration::from_secs(3_600), |height| {
        while height >= (marks.len() as u64 + 1) * SEGMENT {
            marks.push(started.elapsed().as_secs_f64());
        }
    })
    .await?;
    let at_tip = Instant::now();
    let wall = (at_tip - started).as_secs_f64();
    let peak_rss = sys::peak_rss_kib(pid).filter(|_| peak_reset);
    let counters = b.counters();
    let run_delay = Duration::from_nanos(
        run_delays()
            .into_iter()
            .map(|(tid, delay)| delay.saturating_sub(delays_before.get(&tid).copied().unwrap_or(0)))
            .sum(),
    );
    let process_cpu = sys::process_cpu()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    // B's node threads (`chain-core`, `chain-checkpoint`) are the ones that started with B.
    let threads_at_end: Vec<(u64, String, Duration)> = sys::threads()
        .into_iter()
        .map(|(tid, name, cpu)| {
            if name.starts_with("chain-") && !threads_before.contains(&tid) {
                (tid, format!("B:{name}"), cpu)
            } else {
                (tid, name, cpu)
            }
        })
        .collect();
    let b_core_cpu = threads_at_end
        .iter()
        .find(|(_, name, _)| name == "B:chain-core")
        .map(|(_, _, cpu)| *cpu);
    let by_thread = sys::cpu_by_thread_name(&threads_at_start, &threads_at_end);
    let load = (load_before, sys::load_average());
    let indexes = index_catch_up(&b, tip, at_tip).await?;
    b.shutdown().await;
    a.shutdown().await;
    Ok(SyncRun {
        wall,
        process_cpu,
        b_core_cpu,
        by_thread,
        indexes,
        run_delay,
        counters,
        load,
        marks,
        rss: (rss_before, peak_rss),
    })
}

/// Follows node `b` (started at `started`) until its tip is `tip`, calling `reached` with each
/// height it connects; fails after `limit`.
///
/// B's events say when it reaches the tip; its status is asked once a second too, in case an
/// event was missed (a lagging subscriber loses events). Asking more often would end B's store
/// batches early (a command is handled after the batch commits).
async fn follow_to_tip(
    b: &chain_net::NodeHandle,
    tip: BlockHash,
    started: Instant,
    limit: Duration,
    mut reached: impl FnMut(u64),
) -> Result<()> {
    let mut events = b.subscribe();
    let mut last_report = Instant::now();
    loop {
        match tokio::time::timeout(Duration::from_secs(1), events.recv()).await {
            Ok(Ok(NodeEvent::Chain(ChainEvent::TipChanged(change)))) => {
                let Some(last) = change.connected.last() else {
                    continue;
                };
                reached(last.height.0);
                if last.hash == tip {
                    return Ok(());
                }
                continue;
            }
            Ok(Ok(_)) => continue,
            Ok(Err(broadcast::error::RecvError::Lagged(_))) | Err(_) => {}
            Ok(Err(broadcast::error::RecvError::Closed)) => return Err("B stopped".into()),
        }
        let status = b.status().await?;
        reached(status.height.0);
        if status.tip == tip {
            return Ok(());
        }
        if last_report.elapsed() >= Duration::from_secs(5) {
            last_report = Instant::now();
            eprintln!(
                "  B at height {} after {:.0} s",
                status.height,
                started.elapsed().as_secs_f64()
            );
        }
        if started.elapsed() > limit {
            return Err(format!("B did not sync within {} s", limit.as_secs()).into());
        }
    }
}

/// Blocks/s over each segment of [`SEGMENT`] blocks, the last one ending at the tip at `wall`
/// seconds (a remainder under half a segment, such as the funding block, joins the segment
/// before it).
fn segment_rates(marks: &[f64], tip: u64, wall: f64) -> Vec<(u64, f64)> {
    let mut ends: Vec<(u64, f64)> = marks
        .iter()
        .enumerate()
        .map(|(i, at)| ((i as u64 + 1) * SEGMENT, *at))
        .collect();
    let last_end = ends.last().map_or(0, |last| last.0);
    if tip > last_end && tip - last_end < SEGMENT / 2 && !ends.is_empty() {
        ends.pop();
    }
    if tip > ends.last().map_or(0, |last| last.0) {
        ends.push((tip, wall));
    }
    let mut from = (0, 0.0);
    ends.into_iter()
        .map(|(height, at)| {
            let rate = (height - from.0) as f64 / (at - from.1);
            from = (height, at);
            (height, rate)
        })
        .collect()
}
