//! Hash-rate harness: every available mining kernel on 1 and 2 threads, next to the bound
//! that `openssl speed` gives for SHA-256 on one core.
//!
//! ```text
//! cargo run --release -p benches --bin hashrate [-- --seconds S] [--repeats R] [--kernel NAME]...
//! ```
//!
//! Each measurement mines an impossible target through `chain_core::mining::mine` (so chunking,
//! the shared counter and thread start-up are included), warms up briefly, then counts the
//! nonces hashed in `S` seconds (default 3). Each is repeated `R` times (default 3) and the best
//! rate is reported: other work on the machine only ever slows a run down. On Linux the harness
//! also reads how much CPU other processes used during each run; runs where they used 5% or more
//! are marked `*` and retried (up to 10 times per measurement), and only undisturbed runs count
//! when there is one.
//!
//! The openssl bound: `openssl speed -evp sha256 -bytes 8192 -seconds 3` reports bytes per
//! second on one core; dividing by 64 gives SHA-256 compressions per second, and since every
//! nonce needs two compressions (the header's second block and the outer hash; the first block
//! is a per-job midstate), half of that is the nonces per second a miner built on that
//! implementation could reach. Lines `ratio <kernel> <threads> <value>` divide the measured
//! rate by that single-core bound (for 2 threads too), and `scaling <kernel> <value>` is the
//! 2-thread rate over the 1-thread rate.

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chain_core::mining::{HEADER_LEN, Job, Kernel, mine};

/// Thread counts measured for every kernel.
const THREADS: [usize; 2] = [1, 2];

/// A run is disturbed when other processes used this share of the machine's CPU meanwhile.
const DISTURBED: f64 = 0.05;

/// Disturbed runs tolerated per measurement before giving up on an undisturbed one.
const MAX_DISTURBED: usize = 10;

/// Busy CPU time of the whole machine and of this process, in clock ticks, if `/proc` tells.
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    let machine = cpu.first()? + cpu.get(1)? + cpu.get(2)? + cpu.get(5)? + cpu.get(6)?;
    let own = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Field 3 (the state) comes first after the parenthesised command name; utime and stime
    // are fields 14 and 15.
    let fields: Vec<&str> = own.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((machine, utime + stime))
}

/// Share of the machine's CPU time that other processes used since `before` was read.
fn foreign_share(before: Option<(u64, u64)>, elapsed: Duration) -> Option<f64> {
    let (m0, o0) = before?;
    let (m1, o1) = cpu_ticks()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Clock ticks are 1/100 s on Linux.
    let capacity = elapsed.as_secs_f64() * 100.0 * cores as f64;
    Some((m1.saturating_sub(m0) as f64 - o1.saturating_sub(o0) as f64).max(0.0) / capacity)
}

/// Nonces per second of `kernel` on `threads` threads, measured over `seconds`, and the share
/// of the machine's CPU time that other processes used meanwhile (if known).
fn measure(job: &Job, kernel: Kernel, threads: usize, seconds: f64) -> (f64, Option<f64>) {
    let stop = AtomicBool::new(false);
    let counter = AtomicU64::new(0);
    std::thread::scope(|scope| {
        let miner = scope.spawn(|| mine(job, kernel, threads, 0, &stop, &counter));
        std::thread::sleep(Duration::from_millis(300));
        let before = counter.load(Ordering::Relaxed);
        let ticks_before = cpu_ticks();
        let started = Instant::now();
        std::thread::sleep(Duration::from_secs_f64(seconds));
        let hashed = counter.load(Ordering::Relaxed) - before;
        let elapsed = started.elapsed();
        let foreign = foreign_share(ticks_before, elapsed);
        stop.store(true, Ordering::Relaxed);
        if let Ok(Some((nonce, _))) = miner.join() {
            eprintln!("unexpected: nonce {nonce} met an impossible target");
        }
        (hashed as f64 / elapsed.as_secs_f64(), foreign)
    })
}

/// Bytes per second of `openssl speed -evp sha256` on 8192-byte blocks, or why not.
///
/// `openssl speed` divides by its own CPU user time (not wall-clock time), so other processes on
/// the machine barely move its figure.
fn openssl_bytes_per_second() -> Result<f64, String> {
    let output = Command::new("openssl")
        .args(["speed", "-evp", "sha256", "-bytes", "8192", "-seconds", "3"])
        .output()
        .map_err(|e| format!("cannot run openssl: {e}"))?;
    if !output.status.success() {
        return Err(format!("openssl speed failed: {}", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The result line: "sha256   1751285.76k" (thousands of bytes per second).
    stdout
        .lines()
        .filter(|line| line.starts_with("sha256"))
        .filter_map(|line| line.split_whitespace().last())
        .filter_map(|field| field.strip_suffix('k'))
        .find_map(|kilo| kilo.parse::<f64>().ok())
        .map(|kilo| kilo * 1000.0)
        .ok_or_else(|| format!("no sha256 rate in openssl output:\n{stdout}"))
}

fn main() {
    let mut seconds = 3.0f64;
    let mut repeats = 3usize;
    let mut kernels = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--seconds", Some(value)) => match value.parse() {
                Ok(value) => seconds = value,
                Err(_) => return eprintln!("--seconds takes a number, not {value:?}"),
            },
            ("--repeats", Some(value)) => match value.parse() {
                Ok(value) if value > 0 => repeats = value,
                _ => return eprintln!("--repeats takes a positive integer, not {value:?}"),
            },
            ("--kernel", Some(name)) => match Kernel::from_name(&name) {
                Some(kernel) => kernels.push(kernel),
                None => return eprintln!("unknown kernel {name:?}"),
            },
            _ => {
                return eprintln!(
                    "usage: hashrate [--seconds S] [--repeats R] \
                     [--kernel portable|sha-ni|avx2|avx512]..."
                );
            }
        }
    }
    let available = Kernel::available();
    for kernel in Kernel::ALL {
        if !available.contains(&kernel) {
            println!("kernel {kernel}: not available on this CPU, skipped");
        }
    }
    if kernels.is_empty() {
        kernels = available.clone();
    }
    kernels.retain(|k| available.contains(k));

    // openssl first, while nothing else runs.
    let bound = match openssl_bytes_per_second() {
        Ok(bytes) => {
            let compressions = bytes / 64.0;
            let bound = compressions / 2.0;
            println!(
                "openssl speed -evp sha256 -bytes 8192 -seconds 3: {:.2} kB/s on one core",
                bytes / 1000.0
            );
            println!(
                "openssl bound: {:.2} M compressions/s / 2 compressions per nonce \
                 (second header block + outer hash) = {:.2} M nonces/s per core",
                compressions / 1e6,
                bound / 1e6
            );
            Some(bound)
        }
        Err(why) => {
            println!("openssl bound unavailable ({why}); printing rates without ratios");
            None
        }
    };

    // The all-zero target is never met, so the miners run until stopped.
    let job = Job::new(&[0x5a; HEADER_LEN], &[0; 32]);
    println!(
        "best kernel: {}; best of {repeats} runs of {seconds} s per measurement \
         (* = run disturbed by other processes, retried)",
        Kernel::best()
    );
    let mut lines = Vec::new();
    for &kernel in &kernels {
        let mut rates = Vec::new();
        for threads in THREADS {
            // Runs that other processes disturbed are retried (up to `MAX_DISTURBED` of them);
            // the best undisturbed run is reported, or the best run if none was undisturbed.
            let mut runs: Vec<(f64, bool)> = Vec::new();
            while runs.iter().filter(|r| !r.1).count() < repeats
                && runs.iter().filter(|r| r.1).count() < MAX_DISTURBED
            {
                let (rate, foreign) = measure(&job, kernel, threads, seconds);
                runs.push((rate, foreign.is_some_and(|f| f >= DISTURBED)));
            }
            let best = |disturbed: bool| {
                runs.iter()
                    .filter(|r| r.1 == disturbed)
                    .map(|r| r.0)
                    .fold(None, |best: Option<f64>, r| {
                        Some(best.map_or(r, |b| b.max(r)))
                    })
            };
            let (rate, note) = match (best(false), best(true)) {
                (Some(rate), _) => (rate, String::new()),
                (None, Some(rate)) => (rate, " [every run disturbed by other processes]".into()),
                (None, None) => (0.0, String::new()),
            };
            let shown: Vec<String> = runs
                .iter()
                .map(|&(r, disturbed)| {
                    format!("{:.2}{}", r / 1e6, if disturbed { "*" } else { "" })
                })
                .collect();
            println!(
                "hashrate {kernel} {threads} {rate:.0} ({:.2} MH/s; runs {} MH/s){note}",
                rate / 1e6,
                shown.join(", ")
            );
            rates.push((threads, rate));
        }
        lines.push((kernel, rates));
    }
    if let Some(bound) = bound {
        for (kernel, rates) in &lines {
            for (threads, rate) in rates {
                println!("ratio {kernel} {threads} {:.2}", rate / bound);
            }
        }
    }
    for (kernel, rates) in &lines {
        if let [(1, one), (2, two)] = rates[..] {
            println!("scaling {kernel} {:.2}", two / one);
        }
    }
}
