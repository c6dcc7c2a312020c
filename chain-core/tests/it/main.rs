//! Integration tests of the consensus core: one binary (fewer link steps on a small machine).

// Helpers outside `#[test]` functions panic on a broken invariant by design: that is how a test
// fails (clippy's `allow-unwrap-in-tests` covers only the test functions themselves).
#![allow(clippy::unwrap_used)]

mod adversary;
mod encoding;
mod liveness;
mod memory_store;
mod mempool;
mod regression;
mod rules;
mod scenario;
mod signature_cache;
mod simulation;
mod sync;
mod timestamps;
mod vectors;
