//! Integration tests of the SQLite store: one binary (fewer link steps on a small machine).

// Helpers outside `#[test]` functions panic on failure too: that is how a test fails.
#![allow(clippy::unwrap_used)]

mod batch;
mod conformance;
#[cfg(unix)]
mod crash;
mod damage;
mod index;
mod model;
mod node;
mod open;
mod reopen;
