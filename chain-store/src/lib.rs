//! The chain store on SQLite: `chain-core`'s storage traits ([`ChainRead`], [`ChainWrite`],
//! [`AccountRead`]) over one SQLite file, plus the node's list of known peers.
//!
//! ```
//! use chain_core::prelude::*;
//! use chain_store::SqliteStore;
//!
//! let dir = tempfile::tempdir()?;
//! let params = ChainParams::regtest();
//! let store = SqliteStore::open(dir.path().join("chain.db"), &params)?;
//! let ledger = Ledger::open(params, store, MempoolPolicy::default(), 1_800_000_000)?;
//! assert_eq!(ledger.chain().tip().height, Height(0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The core decides what to write (new account states, undo records); this crate records it,
//! and behaves exactly as the core's in-memory store (it runs the core's conformance suite).
//! Why SQLite: one file, transactions that survive crashes, indexes for the explorer's queries,
//! and nothing to install (the `bundled` feature compiles SQLite in).
//!
//! Main decisions, each explained where it is made:
//! - [`SqliteStore`]: WAL mode with `synchronous=FULL` by default, so a committed block survives a
//!   crash or a power loss; the store is `Send`, owned by one thread; memory is bounded by
//!   SQLite's page cache, not by the chain.
//! - `schema`: the tables and their indexes, versioned migrations, and the read-only checks that
//!   refuse a file that is not ours, newer, or of another network before anything is written.
//! - `write`: every write of the trait is one SQLite transaction, or a batch of them is.
//! - `index`: the txid and history indexes, written with each block, or deferred during an
//!   initial sync and caught up many blocks per transaction after it.
//! - `checkpoint`: WAL checkpoints run on a thread of their own, so that no commit waits for one.
//! - `row`: every value read back is checked; a damaged database gives
//!   [`chain_core::error::StoreError::Corrupt`], never a panic.
//!
//! - `users`: [`UserStore`], the web's users, sessions and login attempts, in a file of its own
//!   created readable by its owner only ([`private`]).
//!
//! Errors: this crate's [`Error`] for its own API (opening, peers), converted into the core's
//! `StoreError` where the traits need it.
//!
//! [`ChainRead`]: chain_core::store::ChainRead
//! [`ChainWrite`]: chain_core::store::ChainWrite
//! [`AccountRead`]: chain_core::state::AccountRead

#[cfg(feature = "bench-utils")]
#[doc(hidden)]
pub mod bench_utils;
mod checkpoint;
mod error;
mod index;
pub mod passwords;
mod peers;
pub mod private;
mod read;
mod row;
mod schema;
mod store;
pub mod usernames;
pub mod users;
mod write;

pub use error::Error;
pub use passwords::{HashedPassword, Passwords};
pub use peers::PeerRecord;
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use store::{Durability, SqliteStore, StoreOptions};
pub use users::{User, UserError, UserStore};
