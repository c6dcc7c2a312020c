//! The `chain` binary: argument parsing and printing over the library crates.
fn main() {}
