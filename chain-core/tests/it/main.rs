//! Integration tests of the consensus core: one binary (fewer link steps on a small machine).

mod encoding;
mod memory_store;
mod mempool;
mod rules;
