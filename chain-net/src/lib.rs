//! The TCP adapter for the core's peer protocol, and the embeddable [`Node`](start).
//!
//! ```no_run
//! # async fn run() -> Result<(), chain_net::NetError> {
//! use chain_core::params::ChainParams;
//! use chain_core::store::MemoryStore;
//! let mut config = chain_net::NodeConfig::new(ChainParams::regtest());
//! config.listen = Some("127.0.0.1:0".parse().expect("an address"));
//! let node = chain_net::start(config, MemoryStore::new()).await?;
//! println!("height {}", node.status().await?.height);
//! node.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Bird's-eye view: one **core thread** owns the protocol state machine, the ledger and its
//! (blocking) store; tokio tasks own the sockets. Inputs (frames, connection events, ticks,
//! found blocks, API commands) reach the core over one bounded channel; the core answers with
//! frames queued to each connection's writer, dials, disconnects and events on a broadcast
//! channel. Blocks are checked (form and signatures) before they reach the core, on up to
//! `verify_threads` threads at once, while the core stores the blocks before them. See `node.rs`
//! for the tasks, `core.rs` for the thread, `verify.rs` for the checks, `connection.rs` for
//! framing.

mod command;
pub mod connection;
mod core;
mod error;
mod event_log;
mod handle;
mod miner;
mod names;
mod node;
mod queries;
mod verify;
pub mod views;

pub use crate::core::{BlockRef, MiningConfig};
pub use error::NetError;
pub use handle::NodeHandle;
pub use names::{BadPeer, PeerName, RESOLVE_EVERY as PEER_NAMES_RESOLVED_EVERY};
pub use node::{NodeConfig, start};
pub use verify::NodeCounters;
