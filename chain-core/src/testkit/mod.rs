//! Test helpers (feature `test-utils`): a seeded generator, keys from numbers, block builders
//! that mine on regtest with the reference miner, and the store conformance suite.

// Test helpers panic on a broken invariant by design: that is how a test fails.
#![allow(clippy::unwrap_used)]

pub mod conformance;
pub mod served;
pub mod sim;

use crate::address::Address;
use crate::block::{Block, HEADER_VERSION, Header};
use crate::chain::Chain;
use crate::difficulty::next_bits;
use crate::hash::sha256;
use crate::keys::SecretKey;
use crate::merkle::merkle_root;
use crate::miner::mine_reference;
use crate::params::NetworkId;
use crate::store::{BlockMeta, Store};
use crate::tx::{Coinbase, Transaction, Transfer, UnsignedTransfer};
use crate::units::Amount;
use crate::validate::median_time_past;

/// A small deterministic generator (SplitMix64): every random test takes a seed and can be
/// replayed from it.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// `true` with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// 32 random bytes.
    pub fn bytes32(&mut self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        out
    }
}

/// The secret key numbered `n` (the same key for the same number, always).
///
/// # Panics
///
/// Practically never: a SHA-256 output is a valid key except with probability 2^-128.
pub fn key(n: u64) -> SecretKey {
    SecretKey::from_bytes(sha256(&[b"testkit key", &n.to_le_bytes()])).expect("hash is a valid key")
}

/// The address of key `n`.
pub fn address(n: u64) -> Address {
    key(n).public_key().address()
}

/// The coins `block` adds to the supply: its coinbase's amount less the fees it collected (the
/// fees only move coins from senders to the miner).
///
/// # Panics
///
/// If the fees exceed the coinbase (no valid block does).
pub fn coins_issued_by(block: &Block) -> u64 {
    let (mut minted, mut fees) = (0u64, 0u64);
    for tx in &block.txs {
        match tx {
            Transaction::Coinbase(c) => minted += c.amount.0,
            Transaction::Transfer(t) => fees += t.fee.0,
        }
    }
    minted - fees
}

/// A signed transfer.
pub fn transfer(
    from: &SecretKey,
    to: Address,
    amount: u64,
    fee: u64,
    nonce: u64,
    network: NetworkId,
) -> Transfer {
    UnsignedTransfer {
        to,
        amount: Amount(amount),
        fee: Amount(fee),
        nonce,
        memo: Vec::new(),
    }
    .sign(from, network)
}

/// Recomputes the merkle root and mines the header (regtest-easy targets only).
///
/// # Panics
///
/// If no nonce is found in a million tries (the target is not a regtest one).
pub fn seal(block: &mut Block) {
    block.header.merkle_root = merkle_root(&block.txids());
    assert!(
        mine_reference(&mut block.header, 1_000_000),
        "target too hard for the test miner"
    );
}

/// A mined block on `parent` paying `miner` the subsidy plus fees, holding `transfers`, at
/// `time` (moved past the median time past if needed), with the bits the retarget rule gives.
///
/// # Panics
///
/// If the store fails or the target is too hard for the test miner.
pub fn child_block<S: Store>(
    chain: &Chain<S>,
    parent: &BlockMeta,
    miner: Address,
    transfers: Vec<Transfer>,
    time: u64,
) -> Block {
    let params = chain.params();
    let height = parent.height.next().expect("height fits");
    let ancestors = chain
        .ancestor_headers(parent)
        .expect("ancestors are stored");
    let fees = Amount::checked_sum(transfers.iter().map(|t| t.fee)).expect("fees fit");
    let amount = params
        .subsidy(height)
        .checked_add(fees)
        .expect("amount fits");
    let mut txs = vec![Transaction::Coinbase(Coinbase {
        height,
        to: miner,
        amount,
    })];
    txs.extend(transfers.into_iter().map(Transaction::Transfer));
    let mut block = Block {
        header: Header {
            version: HEADER_VERSION,
            prev_hash: parent.hash,
            merkle_root: merkle_root(&[]),
            time: time.max(median_time_past(params, &ancestors) + 1),
            bits: next_bits(params, height, &ancestors),
            nonce: 0,
        },
        txs,
    };
    seal(&mut block);
    block
}

/// [`child_block`] on the chain's tip.
pub fn next_block<S: Store>(
    chain: &Chain<S>,
    miner: Address,
    transfers: Vec<Transfer>,
    time: u64,
) -> Block {
    let tip = *chain.tip();
    child_block(chain, &tip, miner, transfers, time)
}
