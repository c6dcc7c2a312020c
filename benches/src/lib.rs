//! Criterion benchmarks and speed harnesses of the project, and what the harnesses share.

pub mod args;
pub mod chaos;
pub mod devnet;
pub mod latency;
pub mod sys;
pub mod testbed;
pub mod withholder;
