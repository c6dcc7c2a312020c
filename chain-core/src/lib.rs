//! The pure consensus core of the chain: everything a node agrees on with its peers, and nothing
//! that touches a socket, a file or the clock.
//!
//! Time, randomness and stop signals come in as arguments, storage through the [`store`]
//! traits, so the same code runs under the SQLite store (`chain-store`), the TCP node
//! (`chain-net`), a deterministic simulation, or a program that embeds a chain in memory:
//!
//! ```
//! use chain_core::prelude::*;
//!
//! let params = ChainParams::regtest();
//! let mut ledger = Ledger::open(params, MemoryStore::new(), MempoolPolicy::default(), 0).unwrap();
//! let miner = SecretKey::from_bytes([1; 32]).unwrap();
//! let mut block = ledger.block_template(miner.public_key().address(), 1_800_000_000).unwrap();
//! assert!(mine_reference(&mut block.header, 1_000));
//! ledger.accept_block(block, 1_800_000_000).unwrap();
//! assert_eq!(ledger.chain().tip().height, Height(1));
//! ```
//!
//! Map of the crate, from the bottom up:
//! - [`encode`]: the canonical binary encoding, strict on decode;
//! - [`hash`], [`units`], [`pow`]: hash, amount, height, target and work newtypes;
//! - [`keys`], [`address`]: secp256k1 keys and signatures, checksummed addresses;
//! - [`merkle`], [`tx`], [`block`]: the data that is hashed and signed;
//! - [`params`], [`difficulty`]: networks and the retarget rule;
//! - [`validate`], [`state`]: the validity rules, stateless and stateful; [`sigcache`]: the
//!   transfers whose signatures verified already;
//! - [`store`]: the storage seam, with an in-memory store;
//! - [`chain`]: fork choice, reorganisation, orphans;
//! - [`mempool`], [`ledger`]: pending transfers and block templates;
//! - [`miner`]: the reference miner; [`mining`]: the fast multi-threaded one (midstate,
//!   SHA-NI, AVX2 and AVX-512 kernels chosen at run time).

pub mod address;
pub mod block;
pub mod chain;
pub mod difficulty;
pub mod encode;
pub mod error;
pub mod fee_estimate;
pub mod fees;
pub mod hash;
pub mod keys;
pub mod keystore;
pub mod ledger;
pub mod mempool;
pub mod merkle;
pub mod miner;
pub mod mining;
pub mod node;
pub mod params;
pub mod pow;
pub mod protocol;
pub mod send;
pub mod sigcache;
pub mod state;
pub mod store;
pub mod tx;
pub mod units;
pub mod validate;

#[cfg(feature = "test-utils")]
pub mod testkit;

pub use error::Error;

/// The names most programs need.
pub mod prelude {
    pub use crate::address::Address;
    pub use crate::block::{Block, Header};
    pub use crate::chain::{AcceptStatus, Chain, ChainEvent};
    pub use crate::encode::{Decode, Encode};
    pub use crate::error::Error;
    pub use crate::hash::{BlockHash, Txid};
    pub use crate::keys::{PublicKey, SecretKey};
    pub use crate::ledger::Ledger;
    pub use crate::mempool::MempoolPolicy;
    pub use crate::miner::mine_reference;
    pub use crate::params::ChainParams;
    pub use crate::state::Account;
    pub use crate::store::{ChainRead, MemoryStore};
    pub use crate::tx::{Transfer, UnsignedTransfer};
    pub use crate::units::{Amount, COIN, Height};
}
