//! Sync harness: how fast a fresh node downloads and verifies a chain from a peer over loopback,
//! and how much of that time goes to checking signatures.
//!
//! ```text
//! cargo run --release -p benches --bin sync [-- --blocks N] [--normal]
//! ```
//!
//! 1. Builds a regtest chain: one block paying a funder key, then `N` blocks (default 10,000) of
//!    10 signed transfers each. The first 1,000 transfers fund 1,000 sender keys; every later one
//!    is from one of those senders (round robin, nonces in order) to a fresh address. The
//!    transfers are signed on two threads, and the blocks are accepted through
//!    `chain_core::chain::Chain` into node A's `SqliteStore`.
//! 2. Verifies every transfer's signature once more, alone, on one thread (`check_transfer`:
//!    the form and the signature, exactly what block validation does per transfer): `T_sig`.
//! 3. Starts node A over its store and a fresh node B (an empty `SqliteStore`, `verify_threads`
//!    2) that knows only A, both in this process on a two-thread tokio runtime, and measures the
//!    wall time from B's start until its tip is A's: `T_sync`. The process's CPU time over the
//!    same span comes from `/proc/self/stat`.
//! 4. Reports blocks/s and transfers/s, and the share of the sync spent verifying signatures:
//!    `T_sig / (T_sync × 2)`, the fraction of the two cores' time that the signature checks
//!    need (100 % would mean the sync runs exactly as fast as two cores can check signatures),
//!    and `T_sig / T_sync`, the fraction of the wall time they take when done on one thread.
//!
//! B's store uses `synchronous=FULL` (the default); `--normal` opens it with
//! `synchronous=NORMAL` instead. A's store is always NORMAL (its import is not what is
//! measured). The databases live in a temporary directory removed at the end.

use chain_core::address::Address;
use chain_core::block::{Block, HEADER_VERSION, Header};
use chain_core::chain::Chain;
use chain_core::difficulty::next_bits;
use chain_core::hash::{BlockHash, sha256};
use chain_core::keys::SecretKey;
use chain_core::merkle::merkle_root;
use chain_core::miner::mine_reference;
use chain_core::params::ChainParams;
use chain_core::tx::{Coinbase, Transaction, Transfer, UnsignedTransfer};
use chain_core::units::Amount;
use chain_core::validate::{check_transfer, median_time_past};
use chain_net::NodeConfig;
use chain_store::{Durability, SqliteStore, StoreOptions};
use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Transfers in each block after the first.
const PER_BLOCK: usize = 10;
/// Keys that send the transfers after the funding ones.
const SENDERS: usize = 1_000;
/// What the funder gives each sender.
const FUNDING: u64 = 1_000_000;
/// What each later transfer moves, and its fee.
const AMOUNT: u64 = 1_000;
const FEE: u64 = 1;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

struct Options {
    blocks: usize,
    durability: Durability,
}

fn options() -> Result<Options> {
    let mut options = Options {
        blocks: 10_000,
        durability: Durability::Full,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--blocks" => {
                options.blocks = args.next().ok_or("--blocks needs a number")?.parse()?;
            }
            "--normal" => options.durability = Durability::Normal,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if options.blocks * PER_BLOCK < SENDERS {
        return Err(format!("at least {} blocks", SENDERS / PER_BLOCK).into());
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
                            if n % 20_000 == 0 {
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

/// CPU time (user + system) this process has used so far, from `/proc/self/stat`.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // Clock ticks are 100 per second on Linux.
    Some(Duration::from_millis((utime + stime) * 10))
}

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
    let transfers_total = options.blocks * PER_BLOCK;
    let dir = TempDir::new()?;
    println!(
        "sync harness: {} blocks of {PER_BLOCK} transfers ({transfers_total} transfers) after a \
         funding block, regtest, node B's store synchronous={}",
        options.blocks,
        match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
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
    let store = SqliteStore::open_with(
        &a_path,
        &params,
        StoreOptions {
            durability: Durability::Normal,
            ..StoreOptions::default()
        },
    )?;
    let mut chain = Chain::open(params.clone(), store)?;
    chain.set_verify_threads(2);
    let miner = secret("sync miner", 0)?.public_key().address();
    let block = next_block(&chain, funder.public_key().address(), &[])?;
    chain.accept_block(block, now)?;
    for (i, batch) in transfers.chunks(PER_BLOCK).enumerate() {
        let block = next_block(&chain, miner, batch)?;
        let outcome = chain.accept_block(block, now)?;
        if outcome.events.is_empty() {
            return Err(format!("block {} was not connected", i + 2).into());
        }
        if (i + 1) % 2_000 == 0 {
            eprintln!("  accepted {} blocks", i + 2);
        }
    }
    let tip = *chain.tip();
    println!(
        "built: {} blocks accepted into A's store in {:.1} s",
        tip.height,
        started.elapsed().as_secs_f64()
    );
    drop(chain);

    // 2. Signatures alone, one thread.
    let started = Instant::now();
    for transfer in &transfers {
        check_transfer(transfer, params.network_id)?;
    }
    let t_sig = started.elapsed().as_secs_f64();
    println!(
        "signatures alone: {transfers_total} checked on one thread in {t_sig:.2} s ({:.1} µs each)",
        t_sig * 1e6 / transfers_total as f64
    );
    drop(transfers);

    // 3. The sync.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (t_sync, cpu) = runtime.block_on(sync(&params, &a_path, dir.path(), &options, tip.hash))?;

    // 4. Figures.
    let blocks = tip.height.0 as f64;
    println!(
        "sync: B reached A's tip (height {}) in {t_sync:.2} s: {:.0} blocks/s, {:.0} transfers/s",
        tip.height,
        blocks / t_sync,
        transfers_total as f64 / t_sync
    );
    if let Some(cpu) = cpu {
        println!(
            "cpu: the process (A serving, B syncing) used {:.2} s of CPU during the sync: {:.0} % \
             of two cores",
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 100.0 / (t_sync * 2.0)
        );
    }
    println!(
        "signature share: T_sig / (T_sync x 2 cores) = {:.0} % (signatures spread over both cores \
         would need this fraction of the time); T_sig / T_sync = {:.0} % (the same work on one \
         thread, as B does for blocks under 64 transactions)",
        t_sig * 100.0 / (t_sync * 2.0),
        t_sig * 100.0 / t_sync
    );
    Ok(())
}

/// Runs A over its store and a fresh B against it; returns B's time to reach `tip` and the
/// process's CPU time meanwhile.
async fn sync(
    params: &ChainParams,
    a_path: &Path,
    dir: &Path,
    options: &Options,
    tip: BlockHash,
) -> Result<(f64, Option<Duration>)> {
    let mut a_config = NodeConfig::new(params.clone());
    a_config.listen = Some("127.0.0.1:0".parse()?);
    a_config.verify_threads = 2;
    a_config.seed = 1;
    let a_store = SqliteStore::open(a_path, params)?;
    let a = chain_net::start(a_config, a_store).await?;

    let b_store = SqliteStore::open_with(
        dir.join("b.db"),
        params,
        StoreOptions {
            durability: options.durability,
            ..StoreOptions::default()
        },
    )?;
    let mut b_config = NodeConfig::new(params.clone());
    b_config.peers = vec![a.listen_addr().ok_or("A listens")?];
    b_config.verify_threads = 2;
    b_config.seed = 2;
    let cpu_before = cpu_time();
    let started = Instant::now();
    let b = chain_net::start(b_config, b_store).await?;
    let mut last_report = Instant::now();
    loop {
        let status = b.status().await?;
        if status.tip == tip {
            break;
        }
        if last_report.elapsed() >= Duration::from_secs(5) {
            last_report = Instant::now();
            eprintln!(
                "  B at height {} after {:.0} s",
                status.height,
                started.elapsed().as_secs_f64()
            );
        }
        if started.elapsed() > Duration::from_secs(3_600) {
            return Err("B did not sync within an hour".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let t_sync = started.elapsed().as_secs_f64();
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    b.shutdown().await;
    a.shutdown().await;
    Ok((t_sync, cpu))
}
