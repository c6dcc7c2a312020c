//! Front door harness: floods from many client addresses against `chain devnet`, and what
//! everyone else gets meanwhile.
//!
//! ```text
//! cargo build --release -p chain-cli -p benches
//! target/release/front_door [--mode logins|half-open] [--addresses 100] [--per-address 10]
//!                           [--chain target/release/chain]
//! ```
//!
//! `--mode half-open`: `--addresses` clients each open `--per-address` connections that send
//! part of a request head and nothing more, and hold them; then a client on 127.0.0.1 asks
//! `/api/v1/status` 20 times, 100 ms apart. It prints how the status requests were answered
//! and how long they took, and how many of the flood's connections are still open, were
//! closed without an answer, or were answered (a refusal).
//!
//! `--mode logins` (the default):
//! a logged-in user (registered first, from 127.0.0.1) reads `/wallet` every 50 ms. Then
//! `--addresses` clients, each on its own loopback address (127.0.1.1, 127.0.1.2, ...), fetch
//! the login form once and send `--per-address` logins with a wrong password for names that do
//! not exist, all at once: the per-address quota lets each address's first ten through, and
//! each of those costs the server an Argon2id run at the password cost. The harness prints the
//! answers by status, how long the burst took, and the wallet page's latency before and during
//! it (min / median / p99 / max), from which the cost of the burst to everyone else is read.

use benches::devnet::{Browser, Devnet, csrf_of, wait_until_serving};
use std::collections::BTreeMap;
use std::error::Error;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

struct Options {
    half_open: bool,
    addresses: u8,
    per_address: u32,
    chain: PathBuf,
}

fn options() -> Result<Options> {
    let args = benches::args::Args::from_env(&["mode", "addresses", "per-address", "chain"])?;
    let exe = std::env::current_exe()?;
    let half_open = match args.get("mode", String::from("logins"))?.as_str() {
        "logins" => false,
        "half-open" => true,
        other => return Err(format!("--mode is logins or half-open, not {other}").into()),
    };
    Ok(Options {
        half_open,
        addresses: args.get("addresses", 100u8)?.clamp(1, 250),
        per_address: args.get("per-address", 10u32)?.max(1),
        chain: args.get("chain", exe.with_file_name("chain"))?,
    })
}

/// One HTTP/1.1 exchange on a new connection from `local` (closed after the answer): the
/// status and the whole answer.
fn exchange(local: Ipv4Addr, to: SocketAddr, request: &str) -> Result<(u16, String)> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((local, 0)).into())?;
    socket.connect_timeout(&to.into(), Duration::from_secs(10))?;
    let mut stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    stream.write_all(request.as_bytes())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or("no status line")?;
    Ok((status, answer))
}

/// One client address's burst: the login form, then `count` wrong logins. The statuses.
fn burst(local: Ipv4Addr, to: SocketAddr, count: u32) -> Result<Vec<u16>> {
    let get = "GET /login HTTP/1.1\r\nhost: devnet\r\nconnection: close\r\n\r\n";
    let (_, page) = exchange(local, to, get)?;
    let csrf = csrf_of(&page).ok_or("no form token on /login")?;
    let mut statuses = Vec::new();
    for i in 0..count {
        let body = format!("csrf={csrf}&username=spray-{local}-{i}&password=wrong-password");
        let request = format!(
            "POST /login HTTP/1.1\r\nhost: devnet\r\nconnection: close\r\n\
             cookie: chain_form={csrf}\r\ncontent-type: application/x-www-form-urlencoded\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        );
        statuses.push(exchange(local, to, &request).map_or(0, |(status, _)| status));
    }
    Ok(statuses)
}

/// How many requests got each status (0: no answer: the connection failed or was closed).
fn tally(statuses: &BTreeMap<u16, u32>) -> String {
    let parts: Vec<String> = statuses
        .iter()
        .map(|(status, count)| match status {
            0 => format!("{count} with no answer"),
            _ => format!("{count} x {status}"),
        })
        .collect();
    parts.join(", ")
}

/// Min / median / p99 / max of `samples`, in milliseconds.
fn summary(samples: &mut [f64]) -> String {
    if samples.is_empty() {
        return "no samples".into();
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    format!(
        "{:.1} / {:.1} / {:.1} / {:.1} ms over {} requests",
        at(0.0),
        at(0.5),
        at(0.99),
        at(1.0),
        samples.len()
    )
}

fn main() -> Result<()> {
    let options = options()?;
    if !options.chain.is_file() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p chain-cli`, or pass --chain",
            options.chain.display()
        )
        .into());
    }
    let dir = tempfile::tempdir()?;
    let (mut devnet, _, api_port) = Devnet::start(&options.chain, 1, dir.path())?;
    let base = format!("http://127.0.0.1:{api_port}");
    let token = dir.path().join("devnet/node-0/api-token");
    wait_until_serving(&format!("{base}/api/v1"), &token, &mut devnet)?;
    let to: SocketAddr = ([127, 0, 0, 1], api_port).into();
    println!(
        "front door: `chain devnet --nodes 1` (pid {}), {} addresses x {} {} each",
        devnet.0.id(),
        options.addresses,
        options.per_address,
        if options.half_open {
            "half-open connections"
        } else {
            "wrong logins"
        }
    );
    if options.half_open {
        half_open_flood(&options, to)?;
    } else {
        login_burst(&options, &base, to)?;
    }
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(devnet.0.id().to_string())
        .status();
    let _ = devnet.0.wait();
    Ok(())
}

/// The `half-open` mode (see the module documentation).
fn half_open_flood(options: &Options, to: SocketAddr) -> Result<()> {
    let started = Instant::now();
    let mut held = Vec::new();
    let mut not_connected = 0;
    for i in 1..=options.addresses {
        for _ in 0..options.per_address {
            let local = Ipv4Addr::new(127, 0, 2, i);
            let opened = (|| -> Result<TcpStream> {
                let socket =
                    socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
                socket.bind(&SocketAddr::from((local, 0)).into())?;
                socket.connect_timeout(&to.into(), Duration::from_secs(5))?;
                let mut stream: TcpStream = socket.into();
                stream.write_all(b"GET /api/v1/status HTTP/1.1\r\nhost: fl")?;
                Ok(stream)
            })();
            match opened {
                Ok(stream) => held.push(stream),
                Err(_) => not_connected += 1,
            }
        }
    }
    println!(
        "flood: {} connections opened in {:.1} s ({not_connected} could not connect)",
        held.len(),
        started.elapsed().as_secs_f64()
    );
    let mut statuses = BTreeMap::<u16, u32>::new();
    let mut latencies = Vec::new();
    let request = "GET /api/v1/status HTTP/1.1\r\nhost: devnet\r\nconnection: close\r\n\r\n";
    for _ in 0..20 {
        let asked = Instant::now();
        let status = exchange(Ipv4Addr::LOCALHOST, to, request).map_or(0, |(status, _)| status);
        latencies.push(asked.elapsed().as_secs_f64() * 1e3);
        *statuses.entry(status).or_default() += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let (mut open, mut closed, mut answered) = (0, 0, 0);
    for stream in &mut held {
        stream.set_nonblocking(true)?;
        let mut byte = [0u8; 1];
        match stream.read(&mut byte) {
            Ok(0) => closed += 1,
            Ok(_) => answered += 1,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => open += 1,
            Err(_) => closed += 1,
        }
    }
    println!(
        "status requests during the flood: {}; {}",
        tally(&statuses),
        summary(&mut latencies)
    );
    println!(
        "flood connections after: {open} still open, {closed} closed without an answer, \
         {answered} answered (refused)"
    );
    Ok(())
}

/// The `logins` mode (see the module documentation).
fn login_burst(options: &Options, base: &str, to: SocketAddr) -> Result<()> {
    // A user who reads their wallet throughout.
    let mut user = Browser::new(base);
    let (_, page) = user.get("/register")?;
    let csrf = csrf_of(&page).ok_or("no form token on /register")?;
    let (status, _) = user.post_form(
        "/register",
        &[
            ("csrf", &csrf),
            ("username", "reader"),
            ("password", "reader password"),
        ],
    )?;
    if status != 303 {
        return Err(format!("registering the reader answered {status}").into());
    }
    let latencies = Arc::new(Mutex::new(Vec::<(Instant, f64)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let reader = {
        let (latencies, stop) = (latencies.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                if let Ok((200, _)) = user.get("/wallet") {
                    let ms = started.elapsed().as_secs_f64() * 1e3;
                    latencies
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push((started, ms));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    std::thread::sleep(Duration::from_secs(3));

    let started = Instant::now();
    let workers: Vec<_> = (1..=options.addresses)
        .map(|i| {
            let local = Ipv4Addr::new(127, 0, 1, i);
            let count = options.per_address;
            std::thread::spawn(move || burst(local, to, count).map_err(|e| e.to_string()))
        })
        .collect();
    let mut statuses = BTreeMap::<u16, u32>::new();
    for worker in workers {
        match worker.join() {
            Ok(Ok(answers)) => {
                for status in answers {
                    *statuses.entry(status).or_default() += 1;
                }
            }
            Ok(Err(error)) => {
                eprintln!("a burst stopped: {error}");
                *statuses.entry(0).or_default() += 1;
            }
            Err(_) => return Err("a burst thread panicked".into()),
        }
    }
    let burst_time = started.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    reader.join().map_err(|_| "the reader panicked")?;

    let latencies = latencies.lock().unwrap_or_else(|p| p.into_inner());
    let (mut before, mut during): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    for &(at, ms) in latencies.iter() {
        if at < started {
            before.push(ms);
        } else if at < started + burst_time {
            during.push(ms);
        }
    }
    println!(
        "answers: {} in {:.1} s",
        tally(&statuses),
        burst_time.as_secs_f64()
    );
    println!("wallet page before the burst: {}", summary(&mut before));
    println!("wallet page during the burst: {}", summary(&mut during));
    Ok(())
}
