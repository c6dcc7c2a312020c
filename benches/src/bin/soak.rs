//! Soak run: `chain devnet` with its web application under light load for a long time, recording
//! the process's memory and open file descriptors at intervals. Neither may grow without bound.
//!
//! ```text
//! cargo build --release -p chain-cli -p benches
//! target/release/soak [--minutes 30] [--interval 30] [--nodes 3] [--chain target/release/chain]
//! ```
//!
//! The load, the whole time: every second the home page, the explorer and the status, block and
//! mempool routes; an event stream kept open (and reopened each minute, as browsers do when a
//! page changes); a web user registered with a miner of their own, whose wallet page is read
//! every 10 s; and every 5 s a signed transfer through the API from a key the harness holds,
//! funded by pointing the last node's miner at it (`POST /api/v1/mining`).
//!
//! Each sample prints the elapsed time, the devnet process's resident memory (VmRSS), its open
//! descriptors, threads, the chain height and how many requests and transfers went through. At
//! the end the devnet gets SIGTERM and must exit cleanly; the verdict compares the last samples
//! with those a third of the way in (after warm-up), and fails if memory grew by more than a
//! quarter or descriptors by more than 16.

use benches::devnet::{Browser, Devnet, csrf_of, wait_until_serving};
use benches::sys;
use chain_core::address::Address;
use chain_core::encode::Encode;
use chain_core::hash::{sha256, to_hex};
use chain_core::keys::SecretKey;
use chain_core::params::ChainParams;
use chain_core::tx::UnsignedTransfer;
use chain_core::units::Amount;
use serde_json::{Value, json};
use std::error::Error;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

struct Options {
    minutes: u64,
    interval: u64,
    nodes: u16,
    chain: PathBuf,
}

fn options() -> Result<Options> {
    let args = benches::args::Args::from_env(&["minutes", "interval", "nodes", "chain"])?;
    let exe = std::env::current_exe()?;
    let options = Options {
        minutes: args.get("minutes", 30u64)?,
        interval: args.get("interval", 30u64)?.max(1),
        nodes: args.get("nodes", 3u16)?.max(1),
        chain: args.get("chain", exe.with_file_name("chain"))?,
    };
    if !options.chain.is_file() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p chain-cli`, or pass --chain",
            options.chain.display()
        )
        .into());
    }
    Ok(options)
}

fn get_json(agent: &ureq::Agent, url: &str) -> Result<Value> {
    let text = agent.get(url).call()?.into_body().read_to_string()?;
    Ok(serde_json::from_str(&text)?)
}

fn post_json(agent: &ureq::Agent, url: &str, token: &str, body: &Value) -> Result<(u16, Value)> {
    let response = agent
        .post(url)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .send(body.to_string())?;
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string()?;
    Ok((status, serde_json::from_str(&text)?))
}

/// Counters the load threads keep.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    failures: AtomicU64,
    transfers: AtomicU64,
    events: AtomicU64,
}

impl Counters {
    fn count<T>(&self, result: Result<T>) -> Option<T> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.fail(&format!("request failed: {error}"));
                None
            }
        }
    }

    /// Counts a failure; the first ten are printed with what went wrong.
    fn fail(&self, what: &str) {
        if self.failures.fetch_add(1, Ordering::Relaxed) < 10 {
            eprintln!("  failure: {what}");
        }
    }
}

/// Pages and reads, every second.
fn reader(base: &str, counters: &Counters, stop: &AtomicBool) {
    let mut browser = Browser::new(base);
    while !stop.load(Ordering::Relaxed) {
        for path in [
            "/",
            "/explorer",
            "/api/v1/status",
            "/api/v1/blocks?limit=20",
            "/api/v1/mempool",
        ] {
            if let Some((status, body)) = counters.count(browser.get(path))
                && status != 200
            {
                counters.fail(&format!("GET {path}: {status} {body:.200}"));
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// An event stream, reopened every minute.
fn listener(addr: &str, counters: &Counters, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let opened = Instant::now();
        let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
            counters.fail("cannot connect for events");
            std::thread::sleep(Duration::from_secs(1));
            continue;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request = format!("GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\n\r\n");
        if stream.write_all(request.as_bytes()).is_err() {
            continue;
        }
        let mut lines = BufReader::new(stream);
        let mut line = String::new();
        while !stop.load(Ordering::Relaxed) && opened.elapsed() < Duration::from_secs(60) {
            line.clear();
            match lines.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) if line.starts_with("event:") => {
                    counters.events.fetch_add(1, Ordering::Relaxed);
                }
                // A read timeout: check the clock and the stop flag, and read on.
                _ => {}
            }
        }
    }
}

/// A web user with a miner, whose wallet is read every 10 s.
fn web_user(base: &str, counters: &Counters, stop: &AtomicBool) -> Result<()> {
    let mut browser = Browser::new(base);
    let (_, page) = browser.get("/register")?;
    let csrf = csrf_of(&page).ok_or("no form token on /register")?;
    let (status, _) = browser.post_form(
        "/register",
        &[
            ("csrf", &csrf),
            ("username", "soak"),
            ("password", "soak password"),
            ("miner", "on"),
        ],
    )?;
    if status != 303 {
        return Err(format!("registration answered {status}").into());
    }
    while !stop.load(Ordering::Relaxed) {
        if let Some((status, body)) = counters.count(browser.get("/wallet"))
            && status != 200
        {
            counters.fail(&format!("GET /wallet: {status} {body:.200}"));
        }
        std::thread::sleep(Duration::from_secs(10));
    }
    Ok(())
}

/// A transfer every 5 s from the harness's key, once it has coins.
fn payer(
    api: &str,
    token: &str,
    key: &SecretKey,
    params: &ChainParams,
    counters: &Counters,
    stop: &AtomicBool,
) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let from = key.public_key().address().to_text(params.address_prefix);
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_secs(5));
        let Some(account) = counters.count(get_json(&agent, &format!("{api}/addresses/{from}")))
        else {
            continue;
        };
        let balance = account["balance"].as_u64().unwrap_or(0);
        let pending = account["pending_out"].as_u64().unwrap_or(0);
        let confirmed_nonce = account["nonce"].as_u64().unwrap_or(0);
        let nonce = account["next_nonce"].as_u64().unwrap_or(0);
        // Stay inside the mempool's nonce window (16 beyond the confirmed nonce): when blocks
        // come slowly, wait for them rather than be refused.
        if balance.saturating_sub(pending) < 2_000_000 || nonce >= confirmed_nonce + 16 {
            continue;
        }
        n += 1;
        let to = match SecretKey::from_bytes(sha256(&[b"soak receiver", &n.to_le_bytes()])) {
            Ok(receiver) => receiver.public_key().address(),
            Err(_) => continue,
        };
        let transfer = UnsignedTransfer {
            to,
            amount: Amount(1_000_000),
            fee: Amount(10_000),
            nonce,
            memo: Vec::new(),
        }
        .sign(key, params.network_id);
        let body = json!({ "transfer": to_hex(&transfer.to_bytes()) });
        if let Some((status, answer)) =
            counters.count(post_json(&agent, &format!("{api}/transfers"), token, &body))
        {
            if status == 202 {
                counters.transfers.fetch_add(1, Ordering::Relaxed);
            } else {
                counters.fail(&format!("POST /transfers: {status} {answer}"));
            }
        }
    }
}

/// One sample of the devnet process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    seconds: u64,
    rss_kib: u64,
    fds: usize,
    threads: u64,
    height: u64,
}

fn main() -> Result<()> {
    let options = options()?;
    let dir = tempfile::tempdir()?;
    let (mut devnet, _p2p, api_port) = Devnet::start(&options.chain, options.nodes, dir.path())?;
    let pid = devnet.0.id();
    let base = format!("http://127.0.0.1:{api_port}");
    let api = format!("{base}/api/v1");
    let last_api = format!("http://127.0.0.1:{}/api/v1", api_port + options.nodes - 1);
    let last_token_file = dir
        .path()
        .join(format!("devnet/node-{}/api-token", options.nodes - 1));
    let first_token_file = dir.path().join("devnet/node-0/api-token");
    // Every node serves, and has written its token, before the load starts.
    wait_until_serving(&api, &first_token_file, &mut devnet)?;
    wait_until_serving(&last_api, &last_token_file, &mut devnet)?;
    let token = std::fs::read_to_string(&first_token_file)?;
    let token = token.trim().to_string();

    // The last node mines to the harness's key from now on.
    let params = ChainParams::devnet();
    let key = SecretKey::from_bytes(sha256(&[b"soak payer"]))?;
    let payer_address: Address = key.public_key().address();
    let last_token = std::fs::read_to_string(&last_token_file)?;
    let agent = ureq::Agent::new_with_defaults();
    let (status, answer) = post_json(
        &agent,
        &format!("{last_api}/mining"),
        last_token.trim(),
        &json!({ "enabled": true, "address": payer_address.to_text(params.address_prefix) }),
    )?;
    if status != 200 {
        return Err(format!("mining to the payer was refused: {answer}").into());
    }

    println!(
        "soak: `chain devnet --nodes {}` (pid {pid}) for {} min, a sample every {} s; data in {}",
        options.nodes,
        options.minutes,
        options.interval,
        dir.path().display()
    );
    println!(
        "{:>7} {:>10} {:>6} {:>8} {:>7} {:>9} {:>9} {:>7} {:>7}",
        "min", "rss KiB", "fds", "threads", "height", "requests", "transfers", "events", "failed"
    );

    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut samples = Vec::new();
    let addr = format!("127.0.0.1:{api_port}");
    let outcome = std::thread::scope(|scope| -> Result<()> {
        scope.spawn(|| reader(&base, &counters, &stop));
        scope.spawn(|| listener(&addr, &counters, &stop));
        let user = scope.spawn(|| web_user(&base, &counters, &stop).map_err(|e| e.to_string()));
        scope.spawn(|| payer(&api, &token, &key, &params, &counters, &stop));

        let end = started + Duration::from_secs(options.minutes * 60);
        let mut next = started;
        let result = loop {
            if let Some(status) = devnet.0.try_wait()? {
                break Err(format!("the devnet exited during the run: {status}").into());
            }
            if Instant::now() >= next {
                let height = get_json(&agent, &format!("{api}/status"))
                    .ok()
                    .and_then(|s| s["height"].as_u64())
                    .unwrap_or(0);
                let sample = Sample {
                    seconds: started.elapsed().as_secs(),
                    rss_kib: sys::rss_kib(pid).unwrap_or(0),
                    fds: sys::open_fds(pid).unwrap_or(0),
                    threads: sys::thread_count(pid).unwrap_or(0),
                    height,
                };
                println!(
                    "{:>7.1} {:>10} {:>6} {:>8} {:>7} {:>9} {:>9} {:>7} {:>7}",
                    sample.seconds as f64 / 60.0,
                    sample.rss_kib,
                    sample.fds,
                    sample.threads,
                    sample.height,
                    counters.requests.load(Ordering::Relaxed),
                    counters.transfers.load(Ordering::Relaxed),
                    counters.events.load(Ordering::Relaxed),
                    counters.failures.load(Ordering::Relaxed),
                );
                samples.push(sample);
                if Instant::now() >= end {
                    break Ok(());
                }
                next += Duration::from_secs(options.interval);
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        stop.store(true, Ordering::Relaxed);
        match user.join() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("  the web user failed: {error}"),
            Err(_) => eprintln!("  the web user's thread panicked"),
        }
        result
    });
    outcome?;

    // A clean stop: SIGTERM, then the process must exit by itself.
    let stopping = Instant::now();
    Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()?;
    let exit = loop {
        if let Some(status) = devnet.0.try_wait()? {
            break status;
        }
        if stopping.elapsed() > Duration::from_secs(60) {
            return Err("the devnet did not stop within 60 s of SIGTERM".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    println!(
        "stopped by SIGTERM in {:.1} s: {exit}",
        stopping.elapsed().as_secs_f64()
    );

    let failures = counters.failures.load(Ordering::Relaxed);
    let verdict = judge(&samples);
    println!("{}", verdict.1);
    if !verdict.0 || !exit.success() || failures > 0 {
        return Err(format!("soak failed ({failures} failed requests, exit {exit})").into());
    }
    Ok(())
}

/// Whether memory and descriptors stayed bounded: the last samples against those a third of the
/// way in (the first third is warm-up: caches fill, the user's miner syncs).
fn judge(samples: &[Sample]) -> (bool, String) {
    if samples.len() < 3 {
        return (false, "too few samples to judge".into());
    }
    let reference = samples[samples.len() / 3];
    let last = samples[samples.len() - 1];
    let peak_rss = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let peak_fds = samples.iter().map(|s| s.fds).max().unwrap_or(0);
    let rss_ok = last.rss_kib * 4 <= reference.rss_kib * 5;
    let fds_ok = last.fds <= reference.fds + 16;
    (
        rss_ok && fds_ok,
        format!(
            "verdict: rss {} KiB at {:.0} min -> {} KiB at the end (peak {peak_rss}) {}; fds {} -> {} (peak {peak_fds}) {}",
            reference.rss_kib,
            reference.seconds as f64 / 60.0,
            last.rss_kib,
            if rss_ok { "bounded" } else { "GREW" },
            reference.fds,
            last.fds,
            if fds_ok { "bounded" } else { "GREW" },
        ),
    )
}
