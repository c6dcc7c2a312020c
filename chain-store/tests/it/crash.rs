//! Crash safety with real processes: a child process mines, reorganises and saves pending
//! transfers on a database file, part of the time in batches of several of those steps to one
//! commit (as a node stores a run of blocks during a sync), while the store's checkpoint thread
//! copies the log into the database; the test kills it with SIGKILL at random moments and, after
//! every kill, opens the file and checks every invariant of the chain (tip state equals a replay
//! from genesis, indexes agree with the blocks up to their indexed height, balances add up to the
//! coins issued). Some of the batches defer the lookup indexes, and catch-ups run between writes.
//! The next child then carries on with the same file.
//!
//! The child is this test binary itself, started with [`CHILD_ENV`] set and told to run only
//! [`crash_child`]. It prints [`READY`] once its store is open; the only waiting is the random
//! time the parent lets it live after that line.

use chain_core::address::Address;
use chain_core::chain::ChainEvent;
use chain_core::error::{BlockError, Error as CoreError};
use chain_core::ledger::Ledger;
use chain_core::mempool::MempoolPolicy;
use chain_core::params::ChainParams;
use chain_core::store::{Batches, ChainRead, IndexWrite};
use chain_core::testkit::{Rng, address, child_block, conformance, key, seal, transfer};
use chain_core::units::{COIN, Height};
use chain_store::{Durability, SqliteStore, StoreOptions};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the child's environment: `<database path>|<seed>`.
const CHILD_ENV: &str = "CHAIN_STORE_CRASH_CHILD";
/// The line (end) the child prints once its store is open.
const READY: &str = "crash-child-ready";
const SIGKILL: i32 = 9;
const SEED: u64 = 0x5eed_c0de;
const KILLS: u64 = 60;
/// Users and miners: the addresses `check_invariants` adds up.
const USERS: u64 = 5;
const MINERS: [u64; 3] = [100, 101, 102];

#[test]
fn sigkill_at_random_moments_leaves_a_consistent_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    let exe = std::env::current_exe().unwrap();
    let params = ChainParams::regtest();
    let mut rng = Rng::new(SEED);
    let started = Instant::now();
    let (mut reorgs, mut blocks) = (0, 0);
    for run in 0..KILLS {
        let context = format!("seed {SEED:#x} run {run}");
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "crash::crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, format!("{}|{}", path.display(), SEED + run))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            if stdout.read_line(&mut line).unwrap() == 0 {
                let mut stderr = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .unwrap();
                panic!("{context}: the child ended before it was ready:\n{stderr}");
            }
            // libtest may print `test crash::crash_child ... ` on the same line first.
            if line.trim_end().ends_with(READY) {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(5 + rng.below(56)));
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        if status.signal() != Some(SIGKILL) {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            panic!("{context}: the child stopped by itself ({status}):\n{rest}\n{stderr}");
        }
        reorgs += rest.lines().filter(|l| l.starts_with("reorg")).count();
        blocks += rest.lines().filter(|l| l.starts_with("block")).count();

        let store = SqliteStore::open(&path, &params)
            .unwrap_or_else(|e| panic!("{context}: the file does not open: {e}"));
        let ledger = Ledger::open(
            params.clone(),
            store,
            MempoolPolicy::default(),
            conformance::TIME,
        )
        .unwrap_or_else(|e| panic!("{context}: the chain does not open: {e}"));
        conformance::check_invariants(ledger.chain(), &context);
    }
    let store = SqliteStore::open(&path, &params).unwrap();
    let height = store
        .hash_at(Height(0))
        .unwrap()
        .and_then(|_| store.tip().unwrap())
        .and_then(|tip| store.meta(&tip).unwrap())
        .map(|m| m.height.0)
        .unwrap();
    println!(
        "{KILLS} kills in {:?}: final height {height}, {blocks} blocks and {reorgs} reorgs reported",
        started.elapsed()
    );
    assert!(height >= 20, "too little progress: height {height}");
    assert!(reorgs > 0, "no reorganisation happened");
}

/// The child process; does nothing unless started by the test above.
#[test]
#[ignore = "the child process of sigkill_at_random_moments_leaves_a_consistent_store"]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (path, seed) = spec.rsplit_once('|').unwrap();
    let seed: u64 = seed.parse().unwrap();
    run_child(Path::new(path), seed);
}

/// Mines blocks with transfers, reorganises and mines invalid blocks until killed; some batches
/// defer the lookup indexes, and catch-ups of a few transactions run between writes.
fn run_child(path: &Path, seed: u64) -> ! {
    let params = ChainParams::regtest();
    let net = params.network_id;
    let mut rng = Rng::new(seed);
    // Both durability modes: FULL syncs every commit, NORMAL leaves the WAL to the OS.
    let durability = if seed.is_multiple_of(2) {
        Durability::Full
    } else {
        Durability::Normal
    };
    let options = StoreOptions {
        durability,
        ..StoreOptions::default()
    };
    let store = SqliteStore::open_with(path, &params, options).unwrap();
    let mut ledger =
        Ledger::open(params, store, MempoolPolicy::default(), conformance::TIME).unwrap();
    println!("{READY}");
    let senders: Vec<u64> = (0..USERS).chain(MINERS).collect();
    // Steps left in the open batch (0: none open).
    let mut batch_left = 0;
    loop {
        if batch_left == 0 && rng.below(4) == 0 {
            let store = ledger.chain_mut().store_mut();
            store.begin_batch().unwrap();
            // Half the batches leave the lookup indexes behind, as a node does while far behind.
            store.defer_indexes(rng.below(2) == 0);
            batch_left = 2 + rng.below(10);
        } else if batch_left == 0 && rng.below(3) == 0 {
            // Catching up, a few transactions at a time.
            let max = 1 + rng.below(20) as usize;
            ledger
                .chain_mut()
                .store_mut()
                .catch_up_indexes(max)
                .unwrap();
        }
        let tip = *ledger.chain().tip();
        let now = tip.header.time.max(conformance::TIME) + 1 + rng.below(20);
        let miner = address(MINERS[rng.below(3) as usize]);
        let action = rng.below(100);
        let events = if action < 60 {
            for _ in 0..rng.below(4) {
                let n = senders[rng.below(senders.len() as u64) as usize];
                let from = address(n);
                let account = ledger.chain().account(&from).unwrap();
                let (spend, _) = ledger.mempool().pending_flows(&from);
                let free = account.balance.0.saturating_sub(spend.0);
                if free < 2 * COIN {
                    continue;
                }
                let nonce = ledger.mempool().next_nonce(&from, account);
                let to = address(rng.below(USERS));
                let amount = 1 + rng.below(free / 2);
                let t = transfer(&key(n), to, amount, 500 + rng.below(2_000), nonce, net);
                match ledger.submit_transfer(t, now) {
                    Ok(_) | Err(CoreError::Mempool(_)) => {}
                    Err(other) => panic!("submit: {other}"),
                }
            }
            let mut block = ledger.block_template(miner, now).unwrap();
            seal(&mut block);
            ledger.accept_block(block, now).unwrap().events
        } else if action < 85 && tip.height.0 >= 2 {
            // A branch from a few blocks back that ends one block higher than the tip.
            let depth = 1 + rng.below(3.min(tip.height.0 - 1));
            let fork_hash = ledger
                .chain()
                .store()
                .hash_at(Height(tip.height.0 - depth))
                .unwrap()
                .unwrap();
            let mut parent = ledger.chain().store().meta(&fork_hash).unwrap().unwrap();
            let mut events = Vec::new();
            for i in 0..=depth {
                let block = child_block(ledger.chain(), &parent, miner, vec![], now + i);
                let hash = block.hash();
                events.extend(ledger.accept_block(block, now + i).unwrap().events);
                parent = ledger.chain().store().meta(&hash).unwrap().unwrap();
            }
            events
        } else {
            // An overspending block: stored, then found invalid when connected.
            let rich: Address = address(MINERS[0]);
            let account = ledger.chain().account(&rich).unwrap();
            let overspend = transfer(
                &key(MINERS[0]),
                address(0),
                account.balance.0 + 1,
                500,
                account.nonce,
                net,
            );
            let block = child_block(ledger.chain(), &tip, miner, vec![overspend], now);
            match ledger.accept_block(block, now) {
                Ok(outcome) => outcome.events,
                // The same block was made (and found invalid) before.
                Err(CoreError::Block(BlockError::KnownInvalid { .. })) => Vec::new(),
                Err(other) => panic!("overspend: {other}"),
            }
        };
        for event in events {
            match event {
                ChainEvent::TipChanged(change) => {
                    if change.is_reorg() {
                        println!("reorg {}", change.disconnected.len());
                    }
                    for block in &change.connected {
                        println!("block {}", block.height);
                    }
                }
                ChainEvent::BlockInvalid { hash, .. } => println!("invalid {hash}"),
            }
        }
        if batch_left > 0 {
            batch_left -= 1;
            if batch_left == 0 {
                let store = ledger.chain_mut().store_mut();
                store.end_batch().unwrap();
                store.defer_indexes(false);
            }
        }
    }
}
