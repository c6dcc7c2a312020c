//! Damaged contents of an opened database give `StoreError::Corrupt` naming what was read, never
//! a panic.

use chain_core::chain::Chain;
use chain_core::error::{Error as CoreError, StoreError};
use chain_core::params::ChainParams;
use chain_core::state::AccountRead;
use chain_core::store::{ChainRead, IndexRead, PendingRead};
use chain_core::testkit::{address, conformance::TIME, key, next_block, transfer};
use chain_core::units::COIN;
use chain_store::SqliteStore;
use rusqlite::Connection;
use std::path::Path;

/// A chain of two blocks (one transfer) in a file, and the second block's hash.
fn two_blocks(path: &Path) -> chain_core::hash::BlockHash {
    let params = ChainParams::regtest();
    let mut chain = Chain::open(params.clone(), SqliteStore::open(path, &params).unwrap()).unwrap();
    let miner = key(100);
    let b1 = next_block(&chain, miner.public_key().address(), vec![], TIME);
    chain.accept_block(b1, TIME).unwrap();
    let pay = transfer(&miner, address(1), COIN, 1_000, 0, params.network_id);
    let b2 = next_block(&chain, address(2), vec![pay], TIME + 1);
    let hash = b2.hash();
    chain.accept_block(b2, TIME + 1).unwrap();
    hash
}

fn expect_corrupt<T: std::fmt::Debug>(result: Result<T, StoreError>, mentions: &str) {
    match result {
        Err(StoreError::Corrupt(what)) => assert!(what.contains(mentions), "{what}"),
        other => panic!("expected Corrupt mentioning {mentions:?}, got {other:?}"),
    }
}

#[test]
fn damaged_rows_are_corrupt_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    let hash = two_blocks(&path);
    let raw = Connection::open(&path).unwrap();
    let store = SqliteStore::open(&path, &ChainParams::regtest()).unwrap();
    let key_blob = hash.0.to_vec();

    raw.execute(
        "UPDATE bodies SET data = x'0001' WHERE hash = ?1",
        [&key_blob],
    )
    .unwrap();
    expect_corrupt(store.block(&hash), "body of block");

    raw.execute("UPDATE undo SET data = x'05' WHERE hash = ?1", [&key_blob])
        .unwrap();
    expect_corrupt(store.undo(&hash), "undo record of block");

    raw.execute("UPDATE blocks SET status = 7 WHERE hash = ?1", [&key_blob])
        .unwrap();
    expect_corrupt(store.meta(&hash), "unknown block status 7");

    raw.execute(
        "UPDATE blocks SET header = x'00' WHERE hash = ?1",
        [&key_blob],
    )
    .unwrap();
    expect_corrupt(store.meta(&hash), "header");

    raw.execute("UPDATE accounts SET balance = 'lots'", [])
        .unwrap();
    expect_corrupt(store.account(&address(1)), "account");

    raw.execute("UPDATE main_chain SET hash = x'01' WHERE height = 2", [])
        .unwrap();
    expect_corrupt(store.tip(), "tip hash");

    raw.execute("DELETE FROM main_chain WHERE height = 1", [])
        .unwrap();
    let coinbase_1 = raw
        .query_row("SELECT txid FROM txs WHERE height = 1", [], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .unwrap();
    let txid = chain_core::hash::Txid(coinbase_1.try_into().unwrap());
    expect_corrupt(store.tx_location(&txid), "no best-chain block at height 1");

    raw.execute("INSERT INTO pending VALUES (x'00', x'00')", [])
        .unwrap();
    expect_corrupt(store.pending(), "pending txid");
}

#[test]
fn a_chain_over_a_damaged_store_reports_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    let hash = two_blocks(&path);
    let raw = Connection::open(&path).unwrap();
    raw.execute(
        "UPDATE blocks SET chain_work = x'00' WHERE hash = ?1",
        [hash.0.to_vec()],
    )
    .unwrap();
    let params = ChainParams::regtest();
    let store = SqliteStore::open(&path, &params).unwrap();
    match Chain::open(params, store) {
        Err(CoreError::Store(StoreError::Corrupt(what))) => {
            assert!(what.contains("chain_work"), "{what}")
        }
        other => panic!("expected a corrupt store, got {other:?}"),
    }
}
