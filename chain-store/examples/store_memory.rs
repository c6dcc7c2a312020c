//! Memory harness: does the store's memory stay flat as the chain grows?
//!
//! Mines small regtest blocks (a coinbase and one transfer each) through the core's [`Chain`]
//! onto a SQLite file, and prints the resident memory (`VmRSS` from `/proc/self/status`) after
//! 1,000 and 100,000 blocks (and points between). The target: RSS at 100,000 blocks at most 1.5
//! times RSS at 1,000. Run it optimised:
//!
//! ```sh
//! cargo run --release -p chain-store --example store_memory [blocks]
//! ```
//!
//! It uses `synchronous=NORMAL`: with FULL every block would wait for two disk syncs and the run
//! would take many minutes, while memory does not depend on it.

use chain_core::chain::Chain;
use chain_core::params::ChainParams;
use chain_core::testkit::{address, conformance::TIME, key, next_block, transfer};
use chain_store::{Durability, SqliteStore, StoreOptions};
use std::time::Instant;

/// Resident memory in KiB, from `/proc/self/status` (Linux).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: u64 = match std::env::args().nth(1) {
        Some(text) => text.parse()?,
        None => 100_000,
    };
    let checkpoints = [1_000, 10_000, 50_000, total];
    let dir = std::env::temp_dir().join(format!("store_memory_{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("chain.db");
    let params = ChainParams::regtest();
    let net = params.network_id;
    let options = StoreOptions {
        durability: Durability::Normal,
        ..StoreOptions::default()
    };
    let store = SqliteStore::open_with(&path, &params, options)?;
    let mut chain = Chain::open(params, store)?;
    let miner = key(100);
    let miner_address = miner.public_key().address();
    let started = Instant::now();
    let mut at_1k = None;
    println!("blocks  rss_kib  db_kib  seconds");
    for height in 1..=total {
        let transfers = if height > 1 {
            let to = address(1_000 + height % 1_000);
            vec![transfer(&miner, to, 1_000, 1_000, height - 2, net)]
        } else {
            Vec::new()
        };
        let time = TIME + height;
        let block = next_block(&chain, miner_address, transfers, time);
        chain.accept_block(block, time)?;
        if checkpoints.contains(&height) {
            let rss = rss_kib().unwrap_or(0);
            let db = std::fs::metadata(&path)
                .map(|m| m.len() / 1024)
                .unwrap_or(0);
            println!(
                "{height:>6}  {rss:>7}  {db:>6}  {:>7.1}",
                started.elapsed().as_secs_f64()
            );
            if height == 1_000 {
                at_1k = Some(rss);
            }
        }
    }
    if let (Some(first), Some(last)) = (at_1k, rss_kib()) {
        let ratio = last as f64 / first.max(1) as f64;
        println!("rss ratio {total} / 1000 blocks: {ratio:.2} (target <= 1.5)");
    }
    drop(chain);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
