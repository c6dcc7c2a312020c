//! Batches of writes (`begin_batch`/`end_batch`): one commit for many blocks, kept or lost
//! whole; and the write-ahead log, whose checkpoints run on their own thread, stays bounded
//! while a writer keeps writing.

use chain_core::address::Address;
use chain_core::chain::Chain;
use chain_core::params::ChainParams;
use chain_core::state::{Account, AccountEntry};
use chain_core::store::{Batches, ChainRead, ChainWrite, ConnectBlock};
use chain_core::testkit::{Rng, conformance, key, next_block};
use chain_core::units::{Amount, Height};
use chain_store::{SqliteStore, StoreOptions};
use std::path::Path;

/// Opens the chain at `path` and adds `count` blocks in one batch, ended if `end`.
fn add_blocks(path: &Path, count: u64, end: bool) -> Chain<SqliteStore> {
    let params = ChainParams::regtest();
    let store = SqliteStore::open_with(path, &params, StoreOptions::node()).unwrap();
    let mut chain = Chain::open(params, store).unwrap();
    let miner = key(100).public_key().address();
    chain.store_mut().begin_batch().unwrap();
    for i in 0..count {
        let time = conformance::TIME + chain.tip().height.0 + i;
        let block = next_block(&chain, miner, vec![], time);
        chain.accept_block(block, time).unwrap();
    }
    if end {
        chain.store_mut().end_batch().unwrap();
    }
    chain
}

fn tip_height(path: &Path) -> Height {
    let params = ChainParams::regtest();
    let store = SqliteStore::open(path, &params).unwrap();
    let chain = Chain::open(params, store).unwrap();
    conformance::check_invariants(&chain, "after reopening");
    chain.tip().height
}

#[test]
fn a_batch_is_kept_whole_once_ended_and_lost_whole_if_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    drop(add_blocks(&path, 5, true));
    assert_eq!(tip_height(&path), Height(5));
    // Stopped before the batch ended (a crash, as far as the file can tell).
    let chain = add_blocks(&path, 4, false);
    assert_eq!(chain.tip().height, Height(9));
    drop(chain);
    assert_eq!(tip_height(&path), Height(5));
}

#[test]
fn a_write_that_fails_inside_a_batch_rolls_the_whole_batch_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    let mut chain = add_blocks(&path, 3, false);
    // A connect whose block does not extend the tip: refused, perhaps halfway.
    let genesis = chain.store().hash_at(Height(0)).unwrap().unwrap();
    let meta = chain.store().meta(&genesis).unwrap().unwrap();
    let block = chain.store().block(&genesis).unwrap().unwrap();
    let undo = Default::default();
    let refused = chain.store_mut().connect(ConnectBlock {
        meta: &meta,
        block: &block,
        accounts: &[],
        undo: &undo,
    });
    assert!(refused.is_err());
    let ended = chain.store_mut().end_batch();
    assert!(ended.is_err(), "the spoiled batch was committed");
    drop(chain);
    assert_eq!(tip_height(&path), Height(0));
    // The store works on after it.
    drop(add_blocks(&path, 2, true));
    assert_eq!(tip_height(&path), Height(2));
}

#[test]
fn the_log_stays_bounded_while_a_writer_never_pauses() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    let params = ChainParams::regtest();
    let mut store = SqliteStore::open_with(&path, &params, StoreOptions::node()).unwrap();
    let mut rng = Rng::new(7);
    let wal = dir.path().join("chain.db-wal");
    let mut largest = 0;
    // About 200 MiB of log pages, batch after batch with no pause between them: the log is
    // started over (and cut to the size limit) instead of growing with them.
    for _ in 0..60 {
        let entries: Vec<AccountEntry> = (0..4_000)
            .map(|_| {
                let mut address = [0u8; 20];
                address.copy_from_slice(&rng.bytes32()[..20]);
                AccountEntry {
                    address: Address(address),
                    account: Account {
                        balance: Amount(1 + rng.below(1_000)),
                        nonce: 0,
                    },
                }
            })
            .collect();
        store.begin_batch().unwrap();
        store.bench_put_accounts(&entries).unwrap();
        store.end_batch().unwrap();
        largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    assert!(
        largest < 120 * 1024 * 1024,
        "the log grew to {} MiB",
        largest / (1024 * 1024)
    );
    drop(store);
    // The last connection to close copies the rest and removes the log.
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0);
}
