//! The core's store conformance suite, run against SQLite on real files.

use chain_core::params::ChainParams;
use chain_core::testkit::conformance;
use chain_store::{Durability, SqliteStore, StoreOptions};

/// Each store of the suite is a fresh file. `synchronous=NORMAL` keeps the suite fast on a slow
/// disk; durability does not change what a store reads back, and the crash test covers FULL.
#[test]
fn sqlite_store_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let mut count = 0;
    conformance::run_all(|| {
        count += 1;
        let options = StoreOptions {
            durability: Durability::Normal,
            ..StoreOptions::default()
        };
        SqliteStore::open_with(
            dir.path().join(format!("chain-{count}.db")),
            &ChainParams::regtest(),
            options,
        )
        .unwrap()
    });
}

/// The default (FULL) settings on a short run, so that both modes run the random reorgs.
#[test]
fn sqlite_store_with_full_durability_survives_random_reorgs() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("chain.db"), &ChainParams::regtest()).unwrap();
    let (_, stats) = conformance::random_reorgs(store, 7, 12);
    println!("{stats:?}");
}
