//! Transfer load harness: 8 nodes on loopback, signed transfers submitted through their JSON APIs
//! at a steady rate; how many are accepted, how long they take to confirm, and whether any is
//! lost.
//!
//! ```text
//! cargo run --release -p benches --bin tx_load [-- --rate 500] [--seconds 60] [--nodes 8]
//!     [--sig-cache 100000]
//! ```
//!
//! 1. Starts `N` nodes (default 8) in this process, each over its own `SqliteStore`
//!    (synchronous=NORMAL) in a temporary directory, each with the JSON API on a loopback port;
//!    node i dials node 0 and node i-1. Nodes 0 and 1 mine with one thread each. The network is
//!    regtest with a retarget: LWMA over 30 blocks aiming at one block every 2 s, starting at a
//!    difficulty of about 2^24 hashes.
//! 2. Funds 1,000 sender keys in two rounds (node 0's miner pays a funder key, which pays 40
//!    hubs, each of which pays 25 senders), submitted to node 0 directly, at most 16 pending per
//!    payer (the mempool's nonce window), and confirmed.
//! 3. For `S` seconds (default 60), one submitter thread per node signs and posts transfers to its
//!    node's `POST /api/v1/transfers` on a fixed schedule (`rate / N` per second each, catching
//!    up if late); its senders take turns, each with its own nonce sequence.
//! 4. An observer follows the last node's events and notes when each transfer first appears in a
//!    connected block. After the submitting stops, the harness waits (at most 120 s) until every
//!    accepted transfer is confirmed, then checks every node's tip and each accepted transfer on
//!    the final chain.
//! 5. Prints the rate asked for and the rate accepted, refusals, time from submission to the
//!    first block holding it (median, p99, max), transfers lost (accepted but not on the final
//!    chain), blocks and reorganisations seen, and the load average; and the signature work of
//!    the submitting and draining, summed over the nodes: signatures verified and skipped (each
//!    node's cache of verified signatures holds `--sig-cache` transfers, 0 for none), per
//!    accepted transfer, and the CPU time of the block checks' signature work.

use benches::latency::{ms, summarize};
use benches::sys;
use chain_core::address::Address;
use chain_core::chain::ChainEvent;
use chain_core::encode::Encode;
use chain_core::hash::{Txid, sha256, to_hex};
use chain_core::keys::SecretKey;
use chain_core::params::ChainParams;
use chain_core::pow::CompactTarget;
use chain_core::protocol::NodeEvent;
use chain_core::sigcache::DEFAULT_SIGNATURE_CACHE_ENTRIES;
use chain_core::tx::{Transaction, Transfer, UnsignedTransfer};
use chain_core::units::Amount;
use chain_net::views::TxStatus;
use chain_net::{MiningConfig, NodeConfig, NodeHandle};
use chain_store::{Durability, SqliteStore, StoreOptions};
use chain_web::ApiState;
use std::collections::HashMap;
use std::error::Error;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const HUBS: usize = 40;
const SENDERS_PER_HUB: usize = 25;
/// How many transfers of one sender the mempool holds beyond its confirmed nonce.
const NONCE_WINDOW: usize = 16;
const SENDERS: usize = HUBS * SENDERS_PER_HUB;
/// What each sender gets, what each transfer moves and pays.
const SENDER_FUNDS: u64 = 10_000_000;
const AMOUNT: u64 = 1_000;
const FEE: u64 = 1_000;

struct Options {
    rate: u64,
    seconds: u64,
    nodes: usize,
    sig_cache: usize,
}

fn options() -> Result<Options> {
    let args = benches::args::Args::from_env(&["rate", "seconds", "nodes", "sig-cache"])?;
    Ok(Options {
        rate: args.get("rate", 500u64)?.max(1),
        seconds: args.get("seconds", 60u64)?.max(1),
        nodes: args.get("nodes", 8usize)?.max(2),
        sig_cache: args.get("sig-cache", DEFAULT_SIGNATURE_CACHE_ENTRIES)?,
    })
}

/// Regtest with LWMA over 30 blocks aiming at 2 s, from about 2^24 hashes a block.
fn params() -> ChainParams {
    let mut params = ChainParams::regtest();
    params.retarget_window = Some(30);
    params.target_block_time = 2;
    params.initial_bits = CompactTarget(0x1e01_0000);
    params
}

fn key(label: &str, n: usize) -> Result<SecretKey> {
    Ok(SecretKey::from_bytes(sha256(&[
        b"tx load ",
        label.as_bytes(),
        &n.to_le_bytes(),
    ]))?)
}

fn transfer(
    from: &SecretKey,
    to: Address,
    amount: u64,
    nonce: u64,
    params: &ChainParams,
) -> Transfer {
    UnsignedTransfer {
        to,
        amount: Amount(amount),
        fee: Amount(FEE),
        nonce,
        memo: Vec::new(),
    }
    .sign(from, params.network_id)
}

async fn start_nodes(
    count: usize,
    sig_cache: usize,
    params: &ChainParams,
    dir: &std::path::Path,
    miners: &[Address],
) -> Result<Vec<(NodeHandle, SocketAddr)>> {
    let mut nodes: Vec<(NodeHandle, SocketAddr)> = Vec::new();
    let mut listens: Vec<SocketAddr> = Vec::new();
    for i in 0..count {
        let store = SqliteStore::open_with(
            dir.join(format!("node-{i}.sqlite")),
            params,
            StoreOptions {
                durability: Durability::Normal,
                ..StoreOptions::default()
            },
        )?;
        let mut config = NodeConfig::new(params.clone());
        config.listen = Some("127.0.0.1:0".parse()?);
        config.verify_threads = 1;
        config.signature_cache_entries = sig_cache;
        config.peers = [listens.first(), listens.last()]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        config.peers.dedup();
        config.mining = miners.get(i).map(|address| MiningConfig {
            address: *address,
            threads: 1,
        });
        let node = chain_net::start(config, store).await?;
        listens.push(
            node.listen_addr()
                .ok_or("a node without a listen address")?,
        );
        // Every transfer comes from this one address: no per-address write limit.
        let api = ApiState::new(node.clone(), None).with_write_quota(None);
        let (addr, _server) =
            chain_web::serve(api, "127.0.0.1:0".parse()?, std::future::pending()).await?;
        nodes.push((node, addr));
    }
    Ok(nodes)
}

/// The signature work of all nodes so far.
#[derive(Debug, Clone, Copy, Default)]
struct SignatureWork {
    verified: u64,
    skipped: u64,
    in_blocks: u64,
    block_cpu: Duration,
}

impl SignatureWork {
    fn since(&self, before: &Self) -> Self {
        Self {
            verified: self.verified - before.verified,
            skipped: self.skipped - before.skipped,
            in_blocks: self.in_blocks - before.in_blocks,
            block_cpu: self.block_cpu.saturating_sub(before.block_cpu),
        }
    }
}

fn signature_work(nodes: &[(NodeHandle, SocketAddr)]) -> SignatureWork {
    nodes
        .iter()
        .map(|(node, _)| node.counters())
        .fold(SignatureWork::default(), |sum, c| SignatureWork {
            verified: sum.verified + c.signature_cache.verified,
            skipped: sum.skipped + c.signature_cache.skipped,
            in_blocks: sum.in_blocks + c.signatures,
            block_cpu: sum.block_cpu + c.signature_cpu,
        })
}

/// Waits (polling every 100 ms, at most `secs`) until `check` holds.
async fn wait_until<F, Fut>(what: &str, secs: u64, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await? {
        if Instant::now() > deadline {
            return Err(format!("timed out after {secs} s waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Each payer pays `amount` to each of its receivers (nonces from 0), through `node`, in
/// rounds of at most [`NONCE_WINDOW`] transfers a payer: the mempool refuses nonces further ahead
/// of the confirmed one, so a round waits for the payer's previous round to be mined.
async fn pay_all(
    node: &NodeHandle,
    payers: &[(&SecretKey, &[Address])],
    amount: u64,
    params: &ChainParams,
) -> Result<()> {
    let rounds = payers
        .iter()
        .map(|(_, to)| to.len().div_ceil(NONCE_WINDOW))
        .max()
        .unwrap_or(0);
    for round in 0..rounds {
        let first = round * NONCE_WINDOW;
        for (from, to) in payers {
            let Some(chunk) = to.get(first..to.len().min(first + NONCE_WINDOW)) else {
                continue;
            };
            let address = from.public_key().address();
            wait_until("a payer's earlier round", 120, || async {
                Ok(node.account(address).await?.nonce >= first as u64)
            })
            .await?;
            for (offset, receiver) in chunk.iter().enumerate() {
                let t = transfer(from, *receiver, amount, (first + offset) as u64, params);
                node.submit_transfer(t)
                    .await?
                    .map_err(|e| format!("funding refused: {e}"))?;
            }
        }
    }
    Ok(())
}

/// Funds every sender: the funder pays the hubs, the hubs pay the senders.
async fn fund(
    node: &NodeHandle,
    funder: &SecretKey,
    hubs: &[SecretKey],
    senders: &[Address],
    params: &ChainParams,
) -> Result<()> {
    let hub_funds = SENDERS_PER_HUB as u64 * (SENDER_FUNDS + FEE);
    let needed = HUBS as u64 * (hub_funds + FEE);
    let funder_address = funder.public_key().address();
    wait_until("the funder's coinbases", 120, || async {
        Ok(node.account(funder_address).await?.balance.0 >= needed)
    })
    .await?;
    let hub_addresses: Vec<Address> = hubs.iter().map(|k| k.public_key().address()).collect();
    pay_all(node, &[(funder, &hub_addresses)], hub_funds, params).await?;
    wait_until("the hubs' funds", 120, || async {
        Ok(node.account(funder_address).await?.nonce >= HUBS as u64)
    })
    .await?;
    let payers: Vec<(&SecretKey, &[Address])> =
        hubs.iter().zip(senders.chunks(SENDERS_PER_HUB)).collect();
    pay_all(node, &payers, SENDER_FUNDS, params).await?;
    let last = *senders.last().ok_or("no senders")?;
    wait_until("the senders' funds", 120, || async {
        for hub in hubs {
            if node.account(hub.public_key().address()).await?.nonce < SENDERS_PER_HUB as u64 {
                return Ok(false);
            }
        }
        Ok(node.account(last).await?.balance.0 >= SENDER_FUNDS)
    })
    .await?;
    Ok(())
}

/// What the submitters saw.
#[derive(Default)]
struct Submissions {
    accepted: HashMap<Txid, Instant>,
    refused: u64,
    first_refusal: Option<String>,
}

/// One submitter: `senders` take turns posting to `api` at `per_second`.
#[allow(clippy::too_many_arguments)]
fn submitter(
    api: &str,
    senders: &[(SecretKey, u64)],
    per_second: f64,
    seconds: u64,
    receiver: Address,
    params: &ChainParams,
    submissions: &Mutex<Submissions>,
) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut senders: Vec<(SecretKey, u64)> = senders.to_vec();
    let period = Duration::from_secs_f64(1.0 / per_second);
    let started = Instant::now();
    let end = started + Duration::from_secs(seconds);
    let mut next = started;
    let mut turn = 0usize;
    while next < end {
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        next += period;
        let index = turn % senders.len();
        turn += 1;
        let (key, nonce) = &mut senders[index];
        let t = transfer(key, receiver, AMOUNT, *nonce, params);
        let body = format!("{{\"transfer\":\"{}\"}}", to_hex(&t.to_bytes()));
        let submitted = Instant::now();
        let response = agent
            .post(format!("{api}/transfers"))
            .header("content-type", "application/json")
            .send(body)?;
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string()?;
        let mut record = submissions.lock().map_err(|_| "a poisoned lock")?;
        if status == 202 {
            *nonce += 1;
            record.accepted.insert(t.txid(), submitted);
        } else {
            record.refused += 1;
            record
                .first_refusal
                .get_or_insert(format!("{status}: {text}"));
        }
    }
    Ok(())
}

/// When each transfer first appeared in a connected block, and how many reorgs were seen.
#[derive(Default)]
struct Observed {
    confirmed: HashMap<Txid, Instant>,
    blocks: u64,
    reorgs: u64,
    largest_block: usize,
    block_times: Vec<u64>,
}

fn observe(node: &NodeHandle, observed: Arc<Mutex<Observed>>, stop: Arc<AtomicBool>) {
    let mut events = node.subscribe();
    tokio::spawn(async move {
        while !stop.load(Ordering::Relaxed) {
            let event = match tokio::time::timeout(Duration::from_millis(200), events.recv()).await
            {
                Ok(Ok(event)) => event,
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => {
                    eprintln!("  the observer missed {n} events");
                    continue;
                }
                Ok(Err(_)) => return,
                Err(_) => continue,
            };
            let NodeEvent::Chain(ChainEvent::TipChanged(change)) = event else {
                continue;
            };
            let now = Instant::now();
            let Ok(mut seen) = observed.lock() else {
                return;
            };
            if change.is_reorg() {
                seen.reorgs += 1;
            }
            for block in &change.connected {
                seen.blocks += 1;
                seen.largest_block = seen.largest_block.max(block.block.txs.len() - 1);
                seen.block_times.push(block.block.header.time);
                for tx in &block.block.txs {
                    if let Transaction::Transfer(t) = tx {
                        seen.confirmed.entry(t.txid()).or_insert(now);
                    }
                }
            }
        }
    });
}

fn main() -> Result<()> {
    let options = options()?;
    let params = params();
    let dir = tempfile::tempdir()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    let funder = key("funder", 0)?;
    let hubs: Vec<SecretKey> = (0..HUBS).map(|i| key("hub", i)).collect::<Result<_>>()?;
    let senders: Vec<SecretKey> = (0..SENDERS)
        .map(|i| key("sender", i))
        .collect::<Result<_>>()?;
    let sender_addresses: Vec<Address> = senders.iter().map(|k| k.public_key().address()).collect();
    let miners = [
        funder.public_key().address(),
        key("miner", 1)?.public_key().address(),
    ];
    let receiver = key("receiver", 0)?.public_key().address();

    let setup = Instant::now();
    let nodes = runtime.block_on(async {
        let nodes = start_nodes(
            options.nodes,
            options.sig_cache,
            &params,
            dir.path(),
            &miners,
        )
        .await?;
        fund(&nodes[0].0, &funder, &hubs, &sender_addresses, &params).await?;
        // Every node must know the funds before it is asked to accept their spending.
        let funded_height = nodes[0].0.status().await?.height;
        wait_until("every node at the funded height", 60, || async {
            for (node, _) in &nodes {
                if node.status().await?.height < funded_height {
                    return Ok(false);
                }
            }
            Ok(true)
        })
        .await?;
        Ok::<_, Box<dyn Error + Send + Sync>>(nodes)
    })?;
    let height_before = runtime.block_on(nodes[0].0.status())?.height.0;
    println!(
        "setup: {} nodes, {SENDERS} senders funded, height {height_before}, in {:.1} s",
        options.nodes,
        setup.elapsed().as_secs_f64()
    );

    let observer = &nodes[options.nodes - 1].0;
    let observed = Arc::new(Mutex::new(Observed::default()));
    let stop = Arc::new(AtomicBool::new(false));
    {
        let _guard = runtime.enter();
        observe(observer, observed.clone(), stop.clone());
    }

    let load_before = sys::load_average();
    let counters_before = signature_work(&nodes);
    let cpu_before = sys::process_cpu();
    let threads_before = sys::threads();
    let submissions = Mutex::new(Submissions::default());
    let per_node = options.rate as f64 / options.nodes as f64;
    let started = Instant::now();
    std::thread::scope(|scope| -> Result<()> {
        let handles: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(i, (_, addr))| {
                let mine: Vec<(SecretKey, u64)> = senders
                    .iter()
                    .skip(i)
                    .step_by(options.nodes)
                    .map(|k| (k.clone(), 0))
                    .collect();
                let api = format!("http://{addr}/api/v1");
                let (params, submissions) = (&params, &submissions);
                scope.spawn(move || {
                    submitter(
                        &api,
                        &mine,
                        per_node,
                        options.seconds,
                        receiver,
                        params,
                        submissions,
                    )
                    .map_err(|e| e.to_string())
                })
            })
            .collect();
        for handle in handles {
            handle
                .join()
                .map_err(|_| "a submitter panicked")?
                .map_err(|e| format!("a submitter failed: {e}"))?;
        }
        Ok(())
    })?;
    let submit_time = started.elapsed();
    let cpu_after = sys::process_cpu();
    let by_thread = sys::cpu_by_thread_name(&threads_before, &sys::threads());
    let load_after = sys::load_average();

    let submissions = submissions.into_inner().map_err(|_| "a poisoned lock")?;
    let accepted = submissions.accepted.len();

    // Drain: wait until every accepted transfer has been seen in a block (at most 120 s).
    let drain = Instant::now();
    while drain.elapsed() < Duration::from_secs(120) {
        let seen = observed.lock().map_err(|_| "a poisoned lock")?;
        if submissions
            .accepted
            .keys()
            .all(|t| seen.confirmed.contains_key(t))
        {
            break;
        }
        drop(seen);
        std::thread::sleep(Duration::from_millis(200));
    }
    let drained_in = drain.elapsed();
    let signatures = signature_work(&nodes).since(&counters_before);

    // Every node on one tip (at most 60 s), then each accepted transfer on the final chain.
    let tips = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut tips = Vec::new();
            for (node, _) in &nodes {
                tips.push(node.status().await?.tip);
            }
            if tips.windows(2).all(|w| w[0] == w[1]) || Instant::now() > deadline {
                return Ok::<_, Box<dyn Error + Send + Sync>>(tips);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })?;
    let agree = tips.windows(2).all(|w| w[0] == w[1]);
    stop.store(true, Ordering::Relaxed);
    let lost: Vec<Txid> = runtime.block_on(async {
        let mut lost = Vec::new();
        for txid in submissions.accepted.keys() {
            let confirmed = matches!(
                observer.transfer(*txid).await?.map(|l| l.status),
                Some(TxStatus::Confirmed { .. })
            );
            if !confirmed {
                lost.push(*txid);
            }
        }
        Ok::<_, Box<dyn Error + Send + Sync>>(lost)
    })?;

    let seen = observed.lock().map_err(|_| "a poisoned lock")?;
    let mut latencies: Vec<Duration> = submissions
        .accepted
        .iter()
        .filter_map(|(txid, at)| {
            seen.confirmed
                .get(txid)
                .map(|c| c.saturating_duration_since(*at))
        })
        .collect();
    let summary = summarize(&mut latencies);
    let span = seen
        .block_times
        .first()
        .zip(seen.block_times.last())
        .map(|(a, b)| b.saturating_sub(*a))
        .unwrap_or(0);
    let interval = span as f64 / seen.blocks.saturating_sub(1).max(1) as f64;
    let cpu = cpu_before
        .zip(cpu_after)
        .map(|(a, b)| b.saturating_sub(a).as_secs_f64())
        .unwrap_or(0.0);

    println!(
        "tx load: {} nodes, asked {} transfers/s for {} s through the API",
        options.nodes, options.rate, options.seconds
    );
    println!(
        "  accepted:     {accepted} ({:.1}/s), refused {}",
        accepted as f64 / submit_time.as_secs_f64(),
        submissions.refused
    );
    if let Some(refusal) = &submissions.first_refusal {
        println!("  first refusal: {refusal}");
    }
    println!(
        "  confirmation: p50 {}  p90 {}  p99 {}  max {}  ({} seen in a block; drained {:.1} s after the last submission)",
        ms(summary.p50),
        ms(summary.p90),
        ms(summary.p99),
        ms(summary.max),
        summary.count,
        drained_in.as_secs_f64()
    );
    println!(
        "  blocks:       {} seen, every {interval:.1} s by their timestamps, largest {} transfers, {} reorganisations",
        seen.blocks, seen.largest_block, seen.reorgs
    );
    println!(
        "  final chain:  tips {}; lost {} of {accepted}",
        if agree { "agree" } else { "DIFFER" },
        lost.len()
    );
    println!(
        "  cpu:          {cpu:.1} s over {:.1} s of submitting on 2 cores; load average {load_before} before, {load_after} after",
        submit_time.as_secs_f64()
    );
    let per_transfer = |n: u64| n as f64 / accepted.max(1) as f64;
    println!(
        "  signatures:   {} verified, {} skipped by the caches ({} entries each): {:.2} verified per accepted transfer",
        signatures.verified,
        signatures.skipped,
        options.sig_cache,
        per_transfer(signatures.verified)
    );
    println!(
        "  block checks: {} transfers in blocks checked on arrival; their signature work {:.3} s CPU, {:.1} µs per accepted transfer",
        signatures.in_blocks,
        signatures.block_cpu.as_secs_f64(),
        signatures.block_cpu.as_secs_f64() * 1e6 / accepted.max(1) as f64
    );
    let breakdown: Vec<String> = by_thread
        .iter()
        .map(|(name, cpu)| format!("{name} {:.1} s", cpu.as_secs_f64()))
        .collect();
    println!(
        "  by thread:    {} (submitters: the rest)",
        breakdown.join(", ")
    );
    drop(seen);

    runtime.block_on(async {
        for (node, _) in &nodes {
            node.shutdown().await;
        }
    });
    if !lost.is_empty() || !agree {
        return Err(format!("{} transfers lost; tips agree: {agree}", lost.len()).into());
    }
    Ok(())
}
