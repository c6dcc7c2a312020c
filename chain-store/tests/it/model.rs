//! The in-memory store is the reference: the same seeded run over both stores must leave the same
//! block tree, statuses, undo records and pending transfers behind.

use chain_core::params::ChainParams;
use chain_core::pow::Work;
use chain_core::store::{ChainRead, MemoryStore, PendingRead};
use chain_core::testkit::conformance;
use chain_store::{Durability, SqliteStore, StoreOptions};

#[test]
fn a_seeded_run_leaves_the_same_block_tree_as_the_memory_store() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        durability: Durability::Normal,
        ..StoreOptions::default()
    };
    let params = ChainParams::regtest();
    let sqlite = SqliteStore::open_with(dir.path().join("chain.db"), &params, options).unwrap();
    let seed = 21;
    let (memory, memory_stats) = conformance::random_reorgs(MemoryStore::new(), seed, 30);
    let (sqlite, sqlite_stats) = conformance::random_reorgs(sqlite, seed, 30);
    assert_eq!(memory_stats, sqlite_stats);
    assert!(
        memory_stats.reorgs > 0 && memory_stats.invalid > 0,
        "{memory_stats:?}"
    );
    let (expected, got) = (memory.chain().store(), sqlite.chain().store());

    let sorted = |mut metas: Vec<chain_core::store::BlockMeta>| {
        metas.sort_by_key(|m| m.hash);
        metas
    };
    let mut queue = vec![params.genesis_hash()];
    let mut blocks = 0;
    while let Some(hash) = queue.pop() {
        blocks += 1;
        let meta = expected.meta(&hash).unwrap();
        assert_eq!(got.meta(&hash).unwrap(), meta, "{hash}");
        // Work stored as big-endian bytes must compare as the number.
        let work = meta.unwrap().chain_work;
        assert_eq!(
            sorted(got.heavier_than(work).unwrap()),
            sorted(expected.heavier_than(work).unwrap()),
            "heavier than {hash}"
        );
        assert_eq!(
            got.block(&hash).unwrap(),
            expected.block(&hash).unwrap(),
            "{hash}"
        );
        assert_eq!(
            got.undo(&hash).unwrap(),
            expected.undo(&hash).unwrap(),
            "{hash}"
        );
        let children = expected.children(&hash).unwrap();
        assert_eq!(got.children(&hash).unwrap(), children, "{hash}");
        queue.extend(children);
    }
    assert!(blocks > 10, "{blocks} blocks");
    assert_eq!(
        sorted(got.heavier_than(Work::ZERO).unwrap()),
        sorted(expected.heavier_than(Work::ZERO).unwrap())
    );
    assert_eq!(got.max_seq().unwrap(), expected.max_seq().unwrap());
    assert_eq!(got.tip().unwrap(), expected.tip().unwrap());
    assert_eq!(got.pending().unwrap(), expected.pending().unwrap());
}
