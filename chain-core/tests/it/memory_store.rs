//! The store conformance suite against the in-memory store, plus what only it can show: the
//! whole state, compared exactly.

use chain_core::store::MemoryStore;
use chain_core::testkit::conformance;

#[test]
fn memory_store_passes_the_conformance_suite() {
    conformance::run_all(MemoryStore::new);
}

#[test]
fn rewinding_to_genesis_restores_the_genesis_state_exactly() {
    for seed in 10..14 {
        let (ledger, stats) = conformance::random_reorgs(MemoryStore::new(), seed, 30);
        assert!(ledger.chain().store().accounts().is_empty(), "seed {seed}");
        println!("seed {seed}: {stats:?}");
    }
}
