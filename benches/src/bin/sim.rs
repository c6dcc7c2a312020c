//! Simulation bench: the deterministic network of `chain_core::testkit::sim` at a size CI does
//! not run, with its time and memory.
//!
//! ```text
//! cargo run --release -p benches --bin sim [-- --nodes 1000] [--seeds 3] [--from 0] [--blocks 12] [--attacks 0]
//! ```
//!
//! Each seed runs the simulation's default network shape (latency 5-150 ms, 0.5 % of sends
//! breaking their connection, a partition that heals, transfers along the way; every node runs
//! the whole node machine over a `MemoryStore`) with `--nodes` nodes and `--blocks` blocks, then
//! prints whether every node ended on one tip, how many nodes' accounts do not add up to the
//! coins their chain issued, the height, the messages delivered, the virtual
//! and the wall time, and the process's peak resident memory (`VmHWM`, reset before each seed;
//! the allocator keeps what earlier seeds freed, so only the first seed of a process gives the
//! simulation's own peak: run one seed a process, `--seeds 1 --from N`, to compare).
//! `--attacks N` lets the simulation's adversary make N attacks over the run; the line then
//! also counts penalties honest nodes gave each other (a failure) and the adversary's bans.

use benches::sys;
use chain_core::testkit::sim::{SimConfig, simulate};
use std::error::Error;
use std::time::Instant;

fn main() -> Result<(), Box<dyn Error>> {
    let args = benches::args::Args::from_env(&["nodes", "seeds", "from", "blocks", "attacks"])?;
    let nodes: usize = args.get("nodes", 1_000)?;
    let seeds: u64 = args.get("seeds", 3)?;
    let from: u64 = args.get("from", 0)?;
    let blocks: usize = args.get("blocks", 12)?;
    let attacks: usize = args.get("attacks", 0)?;
    let pid = std::process::id();
    let mut failed = Vec::new();
    for seed in from..from + seeds {
        let reset = sys::reset_peak_rss();
        let config = SimConfig {
            nodes,
            blocks,
            attacks,
            ..SimConfig::default()
        };
        let started = Instant::now();
        let report = simulate(config, seed);
        let wall = started.elapsed().as_secs_f64();
        let peak = sys::peak_rss_kib(pid).filter(|_| reset);
        println!(
            "sim seed {seed}: {nodes} nodes, converged {}, {} unbalanced, height {}, {} messages \
             delivered ({} lost), {} attacks ({} bans, {} honest penalties), {} virtual s in \
             {wall:.1} s wall, peak RSS {}; load average {}",
            report.converged,
            report.unbalanced.len(),
            report.height,
            report.delivered,
            report.lost,
            report.attacks,
            report.adversary_bans,
            report.honest_penalties,
            report.virtual_secs,
            peak.map_or("?".into(), |kib| format!("{:.0} MiB", kib as f64 / 1024.0)),
            sys::load_average()
        );
        if !report.converged || !report.unbalanced.is_empty() || report.honest_penalties > 0 {
            failed.push(seed);
        }
    }
    if !failed.is_empty() {
        return Err(format!("seeds that failed: {failed:?}").into());
    }
    Ok(())
}
