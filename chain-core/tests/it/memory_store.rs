//! The store conformance suite against the in-memory store, plus what only it can show: the
//! whole state, compared exactly.

use chain_core::store::MemoryStore;
use chain_core::testkit::conformance;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

#[test]
fn memory_store_passes_the_conformance_suite() {
    conformance::run_all(MemoryStore::new);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, rng_seed: RngSeed::Fixed(0x5eed), ..ProptestConfig::default() })]

    /// Random valid chains with random reorganisations keep every invariant (checked after
    /// each step inside `random_reorgs`: state equals a replay from genesis, supply equals
    /// coins issued), and disconnecting back to genesis restores the genesis state exactly.
    #[test]
    fn random_reorgs_keep_invariants_and_rewind_to_genesis_exactly(seed in any::<u64>()) {
        let (ledger, _) = conformance::random_reorgs(MemoryStore::new(), seed, 30);
        prop_assert!(ledger.chain().store().accounts().is_empty(), "seed {}", seed);
    }
}
