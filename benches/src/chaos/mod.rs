//! The chaos harness (`src/bin/chaos.rs`): a network of real `chain node` processes on loopback,
//! their peer links through proxies the harness cuts and heals, nodes SIGKILLed and restarted,
//! transfers flowing all the while; at the end, checks that no transfer a node ever reported
//! confirmed was lost and that every node agrees on the chain and on every coin.
//!
//! Why processes, proxies and a seed: a SIGKILL between any two instructions is the fault a
//! store must survive, and only a process can take it; a proxy per directed link cuts exactly
//! one node's connections to another without privileges; and a seed makes every choice of the
//! harness (keys, fault plan, transfers) the same on a rerun, so that a failure can be chased
//! (the timing still differs: the nodes mine and talk in real time).
//!
//! The parts, each tested on its own: [`plan`] (the seeded fault schedule), [`proxy`] (a
//! cuttable link), [`wallets`] (keys, and one transfer per nonce, ever), [`book`] (every block
//! a transfer was seen in), [`verdict`] (the final rules), [`api`] (the node's JSON API),
//! [`cluster`] (the node processes) and [`watch`] (reorg events). [`run`] drives a run and
//! [`report`] says what it found.

pub mod api;
pub mod book;
pub mod cluster;
pub mod plan;
pub mod proxy;
pub mod report;
pub mod run;
pub mod verdict;
pub mod wallets;
pub mod watch;

use std::fmt;

/// Why a run could not be carried out (not a finding about the nodes: those are failures in
/// the report). The message says what was being done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error with its context.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}
