//! Integration tests of the TCP node over loopback: one binary.

// Helpers outside `#[test]` functions panic on a broken invariant by design: that is how a test
// fails.
#![allow(clippy::unwrap_used)]

mod hostile;
mod network;
mod raw;
mod support;
