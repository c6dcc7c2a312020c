//! `sync --trouble`: a fresh node B syncs the harness's chain from four serving peers, two of
//! them trouble, once per seed, against the one-peer time.
//!
//! The four peers, in an order the seed shuffles in B's peer list:
//! - A and A2, honest nodes over the harness's store and a copy of it;
//! - D, an honest node over another copy, shut down once B's tip passes a height the seed picks
//!   between 20 % and 60 % of the chain (a peer leaving mid-download, its requests unanswered);
//! - W, a [`Withholder`]: it announces the chain and never delivers a block.
//!
//! Each run must end with B at the tip (within ten times the one-peer time, and at least a
//! minute); the report gives every run's time, its ratio to the one-peer time (the bound
//! is 1.5), where D left, and how often B connected to W and how many blocks it asked of it.

use super::{Result, follow_to_tip, serving_node, syncing_config};
use benches::withholder::Withholder;
use chain_core::hash::BlockHash;
use chain_core::params::ChainParams;
use chain_core::testkit::Rng;
use chain_core::testkit::served::ServedChain;
use chain_store::{SqliteStore, StoreOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What the runs share.
pub(super) struct Setup<'a> {
    pub params: &'a ChainParams,
    /// The stores of A, A2 and D.
    pub serving: [&'a Path; 3],
    /// What W announces.
    pub chain: Arc<ServedChain>,
    pub dir: &'a Path,
    /// B's store options.
    pub store: StoreOptions,
    pub tip: BlockHash,
    pub height: u64,
}

/// One run's figures.
struct Run {
    wall: f64,
    left_at: u64,
    withholder_connections: u64,
    blocks_withheld: u64,
}

/// Two copies of the store at `path` (closed), for A2 and D, in `dir`.
pub(super) fn copy_store(path: &Path, dir: &Path) -> Result<[PathBuf; 2]> {
    let copy = |name: &str| -> Result<PathBuf> {
        let to = dir.join(name);
        std::fs::copy(path, &to)?;
        // A closed SQLite database in WAL mode has checkpointed its log; copy one if it is left.
        let wal = path.with_extension("db-wal");
        if wal.exists() {
            std::fs::copy(&wal, to.with_extension("db-wal"))?;
        }
        Ok(to)
    };
    Ok([copy("a2.db")?, copy("d.db")?])
}

/// Runs seeds 1 to `seeds` and prints each run and the summary against `one_peer` seconds.
pub(super) fn report(
    runtime: &tokio::runtime::Runtime,
    setup: &Setup<'_>,
    seeds: u64,
    one_peer: f64,
) -> Result<()> {
    let limit = Duration::from_secs_f64((one_peer * 10.0).max(60.0));
    let mut walls = Vec::new();
    for seed in 1..=seeds {
        let run = runtime.block_on(run(setup, seed, limit))?;
        println!(
            "trouble seed {seed}: B reached the tip in {:.2} s ({:.2}x the one-peer time); D left \
             at height {}; B connected to W {} times and asked it for {} blocks",
            run.wall,
            run.wall / one_peer,
            run.left_at,
            run.withholder_connections,
            run.blocks_withheld
        );
        walls.push(run.wall);
    }
    walls.sort_by(f64::total_cmp);
    let (min, median, max) = (walls[0], walls[walls.len() / 2], walls[walls.len() - 1]);
    println!(
        "trouble: {seeds} of {seeds} runs completed; time min {min:.2} s, median {median:.2} s, max \
         {max:.2} s: {:.2}x / {:.2}x / {:.2}x the one-peer {one_peer:.2} s (load average {})",
        min / one_peer,
        median / one_peer,
        max / one_peer,
        benches::sys::load_average()
    );
    Ok(())
}

async fn run(setup: &Setup<'_>, seed: u64, limit: Duration) -> Result<Run> {
    let params = setup.params;
    let mut rng = Rng::new(seed);
    let a = serving_node(params, setup.serving[0], 10 + seed).await?;
    let a2 = serving_node(params, setup.serving[1], 20 + seed).await?;
    let d = serving_node(params, setup.serving[2], 30 + seed).await?;
    let w = Withholder::start(setup.chain.clone()).await?;
    let mut peers = Vec::new();
    for node in [&a, &a2, &d] {
        peers.push(node.listen_addr().ok_or("a serving node listens")?);
    }
    peers.push(w.addr);
    // Fisher-Yates with the seed's generator.
    for i in (1..peers.len()).rev() {
        peers.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let left_at = setup.height * (20 + rng.below(41)) / 100;

    let b_path = setup.dir.join(format!("b-trouble-{seed}.db"));
    let b_store = SqliteStore::open_with(&b_path, params, setup.store)?;
    let started = Instant::now();
    let b = chain_net::start(syncing_config(params, peers, seed), b_store).await?;
    let (leave, mut leaving) = tokio::sync::watch::channel(false);
    let departure = {
        let d = d.clone();
        tokio::spawn(async move {
            if leaving.wait_for(|go| *go).await.is_ok() {
                d.shutdown().await;
            }
        })
    };
    let followed = follow_to_tip(&b, setup.tip, started, limit, |height| {
        if height >= left_at {
            let _ = leave.send(true);
        }
    })
    .await;
    let wall = started.elapsed().as_secs_f64();
    let _ = leave.send(true);
    let _ = departure.await;
    b.shutdown().await;
    a.shutdown().await;
    a2.shutdown().await;
    let run = Run {
        wall,
        left_at,
        withholder_connections: w.seen.connections.load(Ordering::Relaxed),
        blocks_withheld: w.seen.blocks_asked.load(Ordering::Relaxed),
    };
    drop(w);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", b_path.display()));
    }
    followed.map_err(|e| format!("seed {seed}: {e}"))?;
    Ok(run)
}
