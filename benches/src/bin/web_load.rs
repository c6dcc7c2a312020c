//! Load harness of the web API's balance route, `GET /api/v1/addresses/{address}`: requests per
//! second and latency percentiles on this machine.
//!
//! ```text
//! cargo run --release -p benches --bin web_load [-- --seconds S] [--connections C] [--accounts N]
//! ```
//!
//! 1. Starts a regtest node over a `SqliteStore` (synchronous=NORMAL, as `chain devnet` opens
//!    it) in a temporary directory, and mines at least one block to each of `N` addresses (default 200),
//!    so that half of the looked-up addresses have a balance and a history.
//! 2. Serves the whole web application (`chain_web::serve_app`: pages and API, as `chain devnet`
//!    does) on a loopback port, on a two-thread tokio runtime, the runtime a node gets on this
//!    two-core machine.
//! 3. Runs `C` client threads (default 32), each with one keep-alive connection, each asking for
//!    balances in a closed loop: the funded addresses and as many never-used ones, in turn. A
//!    warm-up second is not counted; then `S` seconds (default 10) are.
//! 4. Prints requests per second, latency percentiles (nearest rank over every request), errors
//!    (any answer but 200 with a `balance`), and where the CPU went: the server's threads
//!    against the clients' (both share the two cores).

use benches::latency::{ms, summarize};
use benches::sys;
use chain_core::address::Address;
use chain_core::hash::sha256;
use chain_core::keys::SecretKey;
use chain_core::params::ChainParams;
use chain_net::{MiningConfig, NodeConfig, NodeHandle};
use chain_store::{Durability, SqliteStore, StoreOptions};
use chain_web::{ApiState, App, AppOptions};
use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

struct Options {
    seconds: u64,
    connections: usize,
    accounts: usize,
}

fn options() -> Result<Options> {
    let args = benches::args::Args::from_env(&["seconds", "connections", "accounts"])?;
    Ok(Options {
        seconds: args.get("seconds", 10u64)?.max(1),
        connections: args.get("connections", 32usize)?.max(1),
        accounts: args.get("accounts", 200usize)?.max(1),
    })
}

/// The address numbered `n` of this harness.
fn address(n: usize) -> Result<Address> {
    let key = SecretKey::from_bytes(sha256(&[b"web load", &n.to_le_bytes()]))?;
    Ok(key.public_key().address())
}

/// Mines one block to each of `accounts` addresses.
async fn fund(node: &NodeHandle, accounts: &[Address]) -> Result<()> {
    for address in accounts {
        let before = node.status().await?.height;
        node.set_mining(Some(MiningConfig {
            address: *address,
            threads: 1,
        }))
        .await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while node.status().await?.height == before {
            if Instant::now() > deadline {
                return Err("the node mined no block in 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    node.set_mining(None).await?;
    Ok(())
}

/// What one client thread saw.
#[derive(Default)]
struct ClientRun {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

fn client(
    base: &str,
    paths: &[String],
    offset: usize,
    measure_from: Instant,
    stop: &AtomicBool,
) -> ClientRun {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut run = ClientRun {
        latencies: Vec::with_capacity(200_000),
        ..ClientRun::default()
    };
    let mut next = offset;
    while !stop.load(Ordering::Relaxed) {
        let path = &paths[next % paths.len()];
        next += 1;
        let started = Instant::now();
        let outcome = agent
            .get(format!("{base}{path}"))
            .call()
            .map_err(|e| e.to_string())
            .and_then(|response| {
                let status = response.status();
                let body = response
                    .into_body()
                    .read_to_string()
                    .map_err(|e| e.to_string())?;
                if status == 200 && body.contains("\"balance\"") {
                    Ok(())
                } else {
                    Err(format!("{status}: {body}"))
                }
            });
        let elapsed = started.elapsed();
        if started < measure_from {
            continue;
        }
        match outcome {
            Ok(()) => run.latencies.push(elapsed),
            Err(error) => {
                run.errors += 1;
                run.first_error.get_or_insert(error);
            }
        }
    }
    run
}

fn main() -> Result<()> {
    let options = options()?;
    let dir = tempfile::tempdir()?;
    let params = ChainParams::regtest();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server")
        .enable_all()
        .build()?;

    let funded: Vec<Address> = (0..options.accounts).map(address).collect::<Result<_>>()?;
    let unused: Vec<Address> = (options.accounts..2 * options.accounts)
        .map(address)
        .collect::<Result<_>>()?;
    let prefix = params.address_prefix;
    let paths: Vec<String> = funded
        .iter()
        .zip(&unused)
        .flat_map(|(a, b)| [a, b])
        .map(|a| format!("/api/v1/addresses/{}", a.to_text(prefix)))
        .collect();

    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let (node, app, addr) = runtime.block_on(async {
        let store = SqliteStore::open_with(
            dir.path().join("chain.sqlite"),
            &params,
            StoreOptions {
                durability: Durability::Normal,
                ..StoreOptions::default()
            },
        )?;
        let node = chain_net::start(NodeConfig::new(params.clone()), store).await?;
        let started = Instant::now();
        fund(&node, &funded).await?;
        println!(
            "chain: {} blocks, at least one paying each of {} addresses, mined in {:.1} s",
            node.status().await?.height,
            funded.len(),
            started.elapsed().as_secs_f64()
        );
        let api = ApiState::new(node.clone(), Some(Arc::from("web-load")));
        let app = App::open(api, &dir.path().join("web"), AppOptions::default())?;
        let shutdown = async move {
            let _ = server_stopped.await;
        };
        let (addr, _task) =
            chain_web::serve_app(app.clone(), "127.0.0.1:0".parse()?, shutdown).await?;
        Ok::<_, Box<dyn Error>>((node, app, addr))
    })?;

    let base = format!("http://{addr}");
    let load_before = sys::load_average();
    let stop = AtomicBool::new(false);
    let warm_up = Duration::from_secs(1);
    let started = Instant::now();
    let measure_from = started + warm_up;
    let threads_before = sys::threads();
    let process_before = sys::process_cpu();
    let runs: Vec<ClientRun> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..options.connections)
            .map(|i| {
                let (base, paths, stop) = (&base, &paths, &stop);
                std::thread::Builder::new()
                    .name("client".into())
                    .spawn_scoped(scope, move || {
                        client(base, paths, i * 7, measure_from, stop)
                    })
            })
            .collect::<std::io::Result<_>>()?;
        std::thread::sleep(warm_up + Duration::from_secs(options.seconds));
        stop.store(true, Ordering::Relaxed);
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| "a client thread panicked".into()))
            .collect::<Result<Vec<_>>>()
    })?;
    let measured = started.elapsed().saturating_sub(warm_up);
    let threads_after = sys::threads();
    let process_after = sys::process_cpu();
    let load_after = sys::load_average();

    let mut latencies: Vec<Duration> = runs
        .iter()
        .flat_map(|r| r.latencies.iter().copied())
        .collect();
    let errors: u64 = runs.iter().map(|r| r.errors).sum();
    let summary = summarize(&mut latencies);
    let rate = summary.count as f64 / measured.as_secs_f64();
    let by_thread = sys::cpu_by_thread_name(&threads_before, &threads_after);
    let server_cpu: Duration = by_thread
        .iter()
        .filter(|(name, _)| name != "client")
        .map(|(_, cpu)| *cpu)
        .sum();
    let client_cpu = match (process_before, process_after) {
        (Some(before), Some(after)) => after.saturating_sub(before).saturating_sub(server_cpu),
        _ => Duration::ZERO,
    };
    let wall = started.elapsed().as_secs_f64();

    println!(
        "web load: GET /api/v1/addresses/{{address}}, {} connections, {} s measured after 1 s warm-up",
        options.connections, options.seconds
    );
    println!(
        "  requests:   {} answered 200 ({rate:.0} per second), {errors} errors",
        summary.count
    );
    if let Some(error) = runs.iter().find_map(|r| r.first_error.as_ref()) {
        println!("  first error: {error}");
    }
    println!(
        "  latency:    p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
        ms(summary.p50),
        ms(summary.p90),
        ms(summary.p99),
        ms(summary.p999),
        ms(summary.max)
    );
    println!(
        "  cpu:        server {:.1} s, clients {:.1} s, of {:.1} s on 2 cores",
        server_cpu.as_secs_f64(),
        client_cpu.as_secs_f64(),
        wall * 2.0
    );
    println!("  load average: {load_before} before, {load_after} after");

    let _ = stop_server.send(());
    runtime.block_on(async {
        app.shutdown().await;
        node.shutdown().await;
    });
    if errors > 0 {
        return Err(format!("{errors} requests failed").into());
    }
    Ok(())
}
