//! Network parameters: one [`ChainParams`] type, one preset per network.
//!
//! - `devnet`: what a person trying the project runs. Blocks every ~10 s, an initial target that
//!   one core meets in about a second, and a 60-block moving-average retarget.
//! - `regtest`: for tests. The easiest target (half of all hashes meet it), no retarget, so a block
//!   is found in a couple of hashes. [`ChainParams::regtest_with_pow_limit`] makes a variant with
//!   a harder fixed target, for real-time networks of mining processes (a block every second or
//!   so instead of thousands a second); it is another network, since its genesis block differs.
//!
//! The network id (also the wire magic) is signed into every transfer and checked in every
//! handshake together with the genesis hash, so networks never mix.

use crate::address::Address;
use crate::block::{Block, HEADER_VERSION, Header};
use crate::hash::BlockHash;
use crate::merkle::merkle_root;
use crate::mining::{Job, Kernel, mine};
use crate::pow::{CompactTarget, Target};
use crate::tx::{Coinbase, Transaction};
use crate::units::{Amount, COIN, Height};
use std::sync::atomic::{AtomicBool, AtomicU64};

/// Four bytes that name a network: the wire magic and part of every transfer's signing hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetworkId(pub [u8; 4]);

/// Everything that makes one network differ from another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainParams {
    /// Short name (`devnet`, `regtest`).
    pub name: &'static str,
    /// Wire magic and signing domain.
    pub network_id: NetworkId,
    /// Human-readable prefix of addresses.
    pub address_prefix: &'static str,
    /// The easiest target any block may have.
    pub pow_limit: CompactTarget,
    /// Bits of the first blocks, before there is history to retarget from.
    pub initial_bits: CompactTarget,
    /// The block time the retarget aims at, in seconds.
    pub target_block_time: u64,
    /// Blocks in the retarget window; `None` keeps every block at `pow_limit`.
    pub retarget_window: Option<u64>,
    /// New coins per block before any halving.
    pub initial_subsidy: Amount,
    /// Blocks between halvings of the subsidy.
    pub halving_interval: u64,
    /// Largest encoded block.
    pub max_block_bytes: usize,
    /// How far past the local clock a block's time may be when it arrives, in seconds.
    pub max_future_block_time: u64,
    /// Blocks whose median time a new block's time must exceed.
    pub median_time_span: usize,
    /// The genesis block's time.
    pub genesis_time: u64,
    /// The genesis block's nonce (mined once; the tests check it meets `pow_limit`).
    pub genesis_nonce: u64,
    /// TCP port nodes of this network listen on unless told otherwise.
    pub default_port: u16,
}

impl ChainParams {
    /// The network people try the project on.
    pub fn devnet() -> Self {
        Self {
            name: "devnet",
            network_id: NetworkId(*b"CHdv"),
            address_prefix: "dev",
            // 2^240: 65,536 hashes a block at the easiest.
            pow_limit: CompactTarget(0x1f01_0000),
            // 2^230: about 67 million hashes, about a second on one core.
            initial_bits: CompactTarget(0x1d40_0000),
            target_block_time: 10,
            retarget_window: Some(60),
            initial_subsidy: Amount(50 * COIN),
            halving_interval: 210_000,
            max_block_bytes: 1024 * 1024,
            // Three block times, well inside the retarget's 6T solve-time cap: a block stamped
            // this far ahead moves the difficulty a few percent (with Bitcoin's 2 h, 720 block
            // times, one such stamp made the next blocks count as 1 s solves: 21.9x harder).
            // `docs/PROTOCOL.md` §6 has the arithmetic; nodes need clocks within 30 s (NTP).
            max_future_block_time: 30,
            median_time_span: 11,
            genesis_time: 1_795_564_800,
            genesis_nonce: DEVNET_GENESIS_NONCE,
            default_port: 7410,
        }
    }

    /// The network tests run on.
    pub fn regtest() -> Self {
        Self {
            name: "regtest",
            network_id: NetworkId(*b"CHrt"),
            address_prefix: "reg",
            pow_limit: CompactTarget(0x207f_ffff),
            initial_bits: CompactTarget(0x207f_ffff),
            target_block_time: 1,
            retarget_window: None,
            initial_subsidy: Amount(50 * COIN),
            halving_interval: 150,
            max_block_bytes: 1024 * 1024,
            max_future_block_time: 2 * 60 * 60,
            median_time_span: 11,
            genesis_time: 1_795_564_800,
            genesis_nonce: REGTEST_GENESIS_NONCE,
            default_port: 7510,
        }
    }

    /// Regtest with every block at the fixed target `bits` (still no retarget), for networks of
    /// mining nodes that should find a block every second or so rather than thousands a second.
    ///
    /// The genesis block must meet the target too, so it is mined here: its nonce is the first
    /// from 0 that meets `bits`, the same on every machine, so nodes given the same `bits` agree on
    /// the genesis hash (and nodes given other `bits` refuse each other at the handshake). The
    /// compact form is normalised first, so `0x1e00ffff` and `0x1d00ffff00`-style spellings of one
    /// target make one network.
    ///
    /// Returns `None` when `bits` is not a valid target, is easier than regtest's, or is harder
    /// than [`MAX_REGTEST_WORK_BITS`] allows (mining the genesis block would take too long).
    pub fn regtest_with_pow_limit(bits: CompactTarget) -> Option<Self> {
        let mut params = Self::regtest();
        let target = bits.to_target()?;
        let hardest = Target(ruint::aliases::U256::MAX >> MAX_REGTEST_WORK_BITS);
        if target > params.pow_limit_target() || target < hardest {
            return None;
        }
        let bits = target.to_compact();
        params.pow_limit = bits;
        params.initial_bits = bits;
        let header = params.genesis_block().header;
        let job = Job::new(&header.to_array(), &bits.to_target()?.to_be_bytes());
        let (nonce, _) = mine(
            &job,
            Kernel::best(),
            1,
            0,
            &AtomicBool::new(false),
            &AtomicU64::new(0),
        )?;
        params.genesis_nonce = nonce;
        Some(params)
    }

    /// The preset called `name`, if there is one.
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "devnet" => Some(Self::devnet()),
            "regtest" => Some(Self::regtest()),
            _ => None,
        }
    }

    /// The easiest target as a number.
    ///
    /// # Panics
    ///
    /// Never for the presets: their `pow_limit` is a valid compact target (tested).
    pub fn pow_limit_target(&self) -> Target {
        #[allow(clippy::expect_used)]
        self.pow_limit
            .to_target()
            .expect("presets carry a valid pow limit")
    }

    /// New coins a block at `height` may create: the initial subsidy halved every
    /// `halving_interval` blocks, zero after 64 halvings.
    pub fn subsidy(&self, height: Height) -> Amount {
        let halvings = height.0 / self.halving_interval.max(1);
        if halvings >= 64 {
            Amount::ZERO
        } else {
            Amount(self.initial_subsidy.0 >> halvings)
        }
    }

    /// The genesis block: a zero-amount coinbase to the all-zero address, at `pow_limit`.
    pub fn genesis_block(&self) -> Block {
        let coinbase = Transaction::Coinbase(Coinbase {
            height: Height::GENESIS,
            to: Address([0u8; 20]),
            amount: Amount::ZERO,
        });
        let header = Header {
            version: HEADER_VERSION,
            prev_hash: BlockHash::ZERO,
            merkle_root: merkle_root(&[coinbase.txid()]),
            time: self.genesis_time,
            bits: self.pow_limit,
            nonce: self.genesis_nonce,
        };
        Block {
            header,
            txs: vec![coinbase],
        }
    }

    /// The genesis block's hash.
    pub fn genesis_hash(&self) -> BlockHash {
        self.genesis_block().hash()
    }
}

/// How hard [`ChainParams::regtest_with_pow_limit`] may make regtest: a target of at least
/// 2^(256 - 28), about 268 million hashes a block, so that mining its genesis block at start takes
/// seconds at most.
pub const MAX_REGTEST_WORK_BITS: usize = 28;

const DEVNET_GENESIS_NONCE: u64 = 166_508;
const REGTEST_GENESIS_NONCE: u64 = 0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsidy_halves_and_ends() {
        let params = ChainParams::devnet();
        assert_eq!(params.subsidy(Height(0)), Amount(50 * COIN));
        assert_eq!(params.subsidy(Height(209_999)), Amount(50 * COIN));
        assert_eq!(params.subsidy(Height(210_000)), Amount(25 * COIN));
        assert_eq!(params.subsidy(Height(210_000 * 64)), Amount::ZERO);
        assert_eq!(params.subsidy(Height(u64::MAX)), Amount::ZERO);
    }

    #[test]
    fn presets_are_well_formed_and_distinct() {
        let (dev, reg) = (ChainParams::devnet(), ChainParams::regtest());
        for params in [&dev, &reg] {
            assert!(params.pow_limit.to_target().is_some());
            assert!(params.initial_bits.to_target().unwrap() <= params.pow_limit_target());
            if let Some(window) = params.retarget_window {
                // The retarget sums up to `window` targets in 256 bits (see difficulty.rs).
                assert!(window < 256 && params.pow_limit_target().0.bit_len() <= 248);
            }
            let genesis = params.genesis_block();
            assert!(
                params.pow_limit_target().is_met_by(&genesis.hash().0),
                "{}",
                params.name
            );
            assert_eq!(ChainParams::by_name(params.name).as_ref(), Some(params));
            Address([1u8; 20]).to_text(params.address_prefix);
        }
        assert_ne!(dev.network_id, reg.network_id);
        assert_ne!(dev.genesis_hash(), reg.genesis_hash());
    }

    #[test]
    fn a_harder_regtest_mines_the_first_genesis_nonce_that_meets_its_target() {
        let params = ChainParams::regtest_with_pow_limit(CompactTarget(0x1f00_ffff)).unwrap();
        assert_eq!(params.pow_limit, CompactTarget(0x1f00_ffff));
        assert_eq!(params.initial_bits, params.pow_limit);
        assert_eq!(params.retarget_window, None);
        // The reference miner, from nonce 0, finds the same nonce: every node agrees.
        let mut header = params.genesis_block().header;
        header.nonce = 0;
        assert!(crate::miner::mine_reference(&mut header, u64::MAX));
        assert_eq!(header.nonce, params.genesis_nonce);
        assert!(
            params
                .pow_limit_target()
                .is_met_by(&params.genesis_hash().0)
        );
        assert_ne!(params.genesis_hash(), ChainParams::regtest().genesis_hash());
        // Another spelling of the same target is the same network.
        let same = ChainParams::regtest_with_pow_limit(CompactTarget(0x2000_00ff)).unwrap();
        assert_eq!(
            same.genesis_hash(),
            ChainParams::regtest_with_pow_limit(CompactTarget(0x1f00_ff00))
                .unwrap()
                .genesis_hash()
        );
    }

    #[test]
    fn a_harder_regtest_refuses_targets_out_of_range() {
        // Not a target (sign bit, zero mantissa), easier than regtest, harder than the bound.
        for bits in [0x1e80_0000, 0x1e00_0000, 0x2100_ffff, 0x1c00_ffff] {
            assert_eq!(
                ChainParams::regtest_with_pow_limit(CompactTarget(bits)),
                None,
                "{bits:08x}"
            );
        }
        // The regtest target itself is allowed (it is the same network as regtest).
        let easiest =
            ChainParams::regtest_with_pow_limit(ChainParams::regtest().pow_limit).unwrap();
        assert_eq!(
            easiest.genesis_hash(),
            ChainParams::regtest().genesis_hash()
        );
    }
}
