//! The lookup indexes (txid and address history) deferred during a sync and caught up after it:
//! they always cover the best chain up to their indexed height with no gaps, survive reopening
//! and reorganisations, and once caught up are exactly what indexing block by block writes.

use chain_core::chain::Chain;
use chain_core::params::ChainParams;
use chain_core::store::{ChainRead, IndexRead, IndexWrite};
use chain_core::testkit::{address, conformance, key, next_block, transfer};
use chain_core::units::{COIN, Height};
use chain_store::{SqliteStore, StoreOptions};
use std::path::Path;

const MINER: u64 = 100;

fn open(path: &Path) -> Chain<SqliteStore> {
    let params = ChainParams::regtest();
    let store = SqliteStore::open_with(path, &params, StoreOptions::node()).unwrap();
    Chain::open(params, store).unwrap()
}

/// Adds `count` blocks, each with a transfer from the miner (once it has coins) to a user.
fn add_blocks(chain: &mut Chain<SqliteStore>, count: u64) {
    add_blocks_at(chain, count, 0);
}

/// [`add_blocks`], with block times `later` seconds later (other blocks than before a rewind).
fn add_blocks_at(chain: &mut Chain<SqliteStore>, count: u64, later: u64) {
    let network = chain.params().network_id;
    for _ in 0..count {
        let height = chain.tip().height.0;
        let time = conformance::TIME + height + 1 + later;
        let miner = address(MINER);
        let account = chain.account(&miner).unwrap();
        let transfers = if account.balance.0 > 2 * COIN {
            vec![transfer(
                &key(MINER),
                address(height % 5),
                COIN,
                1_000,
                account.nonce,
                network,
            )]
        } else {
            Vec::new()
        };
        let block = next_block(chain, miner, transfers, time);
        chain.accept_block(block, time).unwrap();
    }
}

fn indexed(chain: &Chain<SqliteStore>) -> Option<u64> {
    chain.store().indexed_height().unwrap().map(|h| h.0)
}

#[test]
fn deferred_indexes_catch_up_to_what_block_by_block_indexing_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    let mut chain = open(&path);
    assert_eq!(indexed(&chain), Some(0), "genesis is indexed when created");
    add_blocks(&mut chain, 3);
    assert_eq!(indexed(&chain), Some(3));

    chain.store_mut().defer_indexes(true);
    add_blocks(&mut chain, 12);
    assert_eq!(chain.tip().height, Height(15));
    assert_eq!(indexed(&chain), Some(3), "deferred: no block indexed");
    let last = chain.store().hash_at(Height(15)).unwrap().unwrap();
    let last = chain.store().block(&last).unwrap().unwrap();
    assert_eq!(
        chain.store().tx_location(&last.txs[1].txid()).unwrap(),
        None
    );
    conformance::check_invariants(&chain, "deferred");

    // One transaction at most: one block (a block has at least its coinbase).
    assert!(chain.store_mut().catch_up_indexes(1).unwrap());
    assert_eq!(indexed(&chain), Some(4));
    // Whole blocks only: 3 transactions asked, two blocks of two given.
    assert!(chain.store_mut().catch_up_indexes(3).unwrap());
    assert_eq!(indexed(&chain), Some(6));
    conformance::check_invariants(&chain, "partly caught up");

    // The mark is in the file.
    drop(chain);
    let mut chain = open(&path);
    assert_eq!(indexed(&chain), Some(6));
    assert!(!chain.store_mut().catch_up_indexes(usize::MAX).unwrap());
    assert_eq!(indexed(&chain), Some(15));
    assert!(
        !chain.store_mut().catch_up_indexes(10).unwrap(),
        "nothing left"
    );
    conformance::check_invariants(&chain, "caught up");

    // Not deferred and caught up: each block is indexed as it is connected.
    chain.store_mut().defer_indexes(false);
    add_blocks(&mut chain, 2);
    assert_eq!(indexed(&chain), Some(17));
    conformance::check_invariants(&chain, "indexing again");
}

#[test]
fn a_block_connected_while_the_indexes_are_behind_waits_for_the_catch_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = open(&dir.path().join("chain.db"));
    chain.store_mut().defer_indexes(true);
    add_blocks(&mut chain, 4);
    chain.store_mut().defer_indexes(false);
    add_blocks(&mut chain, 2);
    assert_eq!(indexed(&chain), Some(0), "no gap: block 5 waits for 1 to 4");
    conformance::check_invariants(&chain, "behind");
    assert!(!chain.store_mut().catch_up_indexes(usize::MAX).unwrap());
    assert_eq!(indexed(&chain), Some(6));
    conformance::check_invariants(&chain, "caught up");
}

#[test]
fn disconnecting_moves_the_mark_back_only_past_indexed_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = open(&dir.path().join("chain.db"));
    add_blocks(&mut chain, 8);
    chain.store_mut().defer_indexes(true);
    add_blocks(&mut chain, 4);
    assert_eq!(indexed(&chain), Some(8));
    chain.rewind_to(Height(10)).unwrap();
    assert_eq!(
        indexed(&chain),
        Some(8),
        "blocks 11 and 12 were not indexed"
    );
    conformance::check_invariants(&chain, "unindexed blocks disconnected");
    chain.rewind_to(Height(5)).unwrap();
    assert_eq!(indexed(&chain), Some(5));
    conformance::check_invariants(&chain, "indexed blocks disconnected");
    add_blocks_at(&mut chain, 3, 1_000);
    assert_eq!(chain.tip().height, Height(8));
    assert_eq!(indexed(&chain), Some(5));
    assert!(!chain.store_mut().catch_up_indexes(usize::MAX).unwrap());
    assert_eq!(indexed(&chain), Some(8));
    conformance::check_invariants(&chain, "caught up after the reorganisation");
}

#[test]
fn a_database_of_schema_version_1_counts_its_indexes_complete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    let mut chain = open(&path);
    add_blocks(&mut chain, 5);
    drop(chain);
    // What version 1 wrote: no mark.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DELETE FROM meta WHERE key = 'index_next_height'; \
         UPDATE meta SET value = '1' WHERE key = 'schema_version'; PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let chain = open(&path);
    assert_eq!(indexed(&chain), Some(5));
    conformance::check_invariants(&chain, "migrated");
}
