//! One test per consensus rule: each starts from a valid block built by `next_block`, changes
//! exactly one thing (re-sealing where the header must still meet its target), and checks that
//! exactly that rule's error comes back and that the chain's tip and state did not move.
//!
//! Rules that need no account state come back as `Err(Error::Block(..))` from `accept_block`
//! and the block is not stored. Rules found while connecting (nonces, balances, the coinbase
//! bound) come back as a `ChainEvent::BlockInvalid` for a block that was stored first and is now
//! marked invalid. The overflow rules that no real chain can reach are driven through
//! `state::apply_block` with a made-up account state.

use chain_core::address::Address;
use chain_core::block::{Block, HEADER_VERSION};
use chain_core::chain::{AcceptOutcome, AcceptStatus, Chain, ChainEvent};
use chain_core::encode::{Decode, Encode};
use chain_core::error::{BlockError, Error, StoreError, TxError};
use chain_core::hash::{BlockHash, MerkleRoot};
use chain_core::keys::{KeyError, PublicKey, Signature};
use chain_core::miner::mine_reference;
use chain_core::params::ChainParams;
use chain_core::pow::CompactTarget;
use chain_core::state::{Account, AccountRead, apply_block};
use chain_core::store::{BlockMeta, BlockStatus, ChainRead, MemoryStore};
use chain_core::testkit::conformance::TIME;
use chain_core::testkit::{address, child_block, key, next_block, seal, transfer};
use chain_core::tx::{Coinbase, MAX_MEMO_BYTES, Transaction, Transfer, UnsignedTransfer};
use chain_core::units::{Amount, COIN, Height};
use chain_core::validate::check_transfer;
use std::collections::{BTreeMap, HashMap};

/// The local clock every block is accepted at, well after the blocks' own times.
const NOW: u64 = TIME + 10_000;
/// The key that mines the blocks under test.
const MINER: u64 = 100;
/// Keys 1 and 2 each hold 50 coins in [`funded`] chains.
const FUNDED: [u64; 2] = [1, 2];

fn regtest() -> ChainParams {
    ChainParams::regtest()
}

/// A regtest chain where blocks 1 and 2 paid keys 1 and 2 fifty coins each.
fn funded_with(params: ChainParams) -> Chain<MemoryStore> {
    let mut chain = Chain::open(params, MemoryStore::new()).unwrap();
    for (i, n) in FUNDED.into_iter().enumerate() {
        let block = next_block(&chain, address(n), vec![], TIME + i as u64);
        accept(&mut chain, block);
    }
    chain
}

fn funded() -> Chain<MemoryStore> {
    funded_with(regtest())
}

/// A transfer on regtest.
fn pay(from: u64, to: u64, amount: u64, fee: u64, nonce: u64) -> Transfer {
    transfer(
        &key(from),
        address(to),
        amount,
        fee,
        nonce,
        regtest().network_id,
    )
}

/// A time after the tip's.
fn later(chain: &Chain<MemoryStore>) -> u64 {
    chain.tip().header.time + 1
}

/// A valid block on the tip holding `transfers`, paying the test miner.
fn valid(chain: &Chain<MemoryStore>, transfers: Vec<Transfer>) -> Block {
    next_block(chain, address(MINER), transfers, later(chain))
}

/// A copy of `block` changed by `change`, then sealed again (merkle root and proof of work).
fn resealed(block: &Block, change: impl FnOnce(&mut Block)) -> Block {
    let mut block = block.clone();
    change(&mut block);
    seal(&mut block);
    block
}

/// Mines the header again without touching the merkle root.
fn remine(block: &mut Block) {
    assert!(mine_reference(&mut block.header, 1_000_000));
}

/// The coinbase of a block, to change.
fn coinbase(block: &mut Block) -> &mut Coinbase {
    match &mut block.txs[0] {
        Transaction::Coinbase(c) => c,
        Transaction::Transfer(_) => panic!("the first transaction is a coinbase"),
    }
}

/// The transfer at `index` of a block, to change.
fn transfer_at(block: &mut Block, index: usize) -> &mut Transfer {
    match &mut block.txs[index] {
        Transaction::Transfer(t) => t,
        Transaction::Coinbase(_) => panic!("transaction {index} is a transfer"),
    }
}

/// What a refused block must leave alone.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    tip: BlockMeta,
    accounts: BTreeMap<Address, Account>,
}

fn snapshot(chain: &Chain<MemoryStore>) -> Snapshot {
    Snapshot {
        tip: *chain.tip(),
        accounts: chain.store().accounts(),
    }
}

/// Accepts a block that must become the new tip.
fn accept(chain: &mut Chain<MemoryStore>, block: Block) -> AcceptOutcome {
    accept_at(chain, block, NOW)
}

fn accept_at(chain: &mut Chain<MemoryStore>, block: Block, now: u64) -> AcceptOutcome {
    let hash = block.hash();
    let height = chain.tip().height.next().unwrap();
    let outcome = chain
        .accept_block(block, now)
        .unwrap_or_else(|e| panic!("valid block refused: {e}"));
    assert_eq!(outcome.status, AcceptStatus::Stored { height });
    assert_eq!(chain.tip().hash, hash, "the valid block is the new tip");
    outcome
}

/// The block is refused on its own or against its ancestors: an error, nothing stored, nothing
/// changed.
fn assert_refused(chain: &mut Chain<MemoryStore>, block: Block, expected: BlockError) {
    assert_refused_at(chain, block, NOW, expected);
}

fn assert_refused_at(chain: &mut Chain<MemoryStore>, block: Block, now: u64, expected: BlockError) {
    let before = snapshot(chain);
    let hash = block.hash();
    match chain.accept_block(block, now) {
        Err(Error::Block(got)) => assert_eq!(got, expected),
        other => panic!("expected {expected:?}, got {other:?}"),
    }
    assert_eq!(snapshot(chain), before, "a refused block changes nothing");
    assert_eq!(
        chain.store().meta(&hash).unwrap(),
        None,
        "and is not stored"
    );
    assert!(!chain.is_orphan(&hash));
}

/// The block is stored, then found invalid when connected: a `BlockInvalid` event, the block
/// marked invalid, tip and state unchanged.
fn assert_invalid_when_connected(
    chain: &mut Chain<MemoryStore>,
    block: Block,
    expected: BlockError,
) {
    let before = snapshot(chain);
    let hash = block.hash();
    let height = chain.tip().height.next().unwrap();
    let outcome = chain
        .accept_block(block, NOW)
        .unwrap_or_else(|e| panic!("expected the block stored, then found invalid: {e}"));
    assert_eq!(outcome.status, AcceptStatus::Stored { height });
    assert_eq!(
        outcome.events,
        vec![ChainEvent::BlockInvalid {
            hash,
            error: expected,
            source: None,
        }]
    );
    assert_eq!(snapshot(chain), before, "an invalid block changes nothing");
    let status = chain.store().meta(&hash).unwrap().map(|m| m.status);
    assert_eq!(status, Some(BlockStatus::Invalid));
}

fn invalid_transfer(index: usize, source: TxError) -> BlockError {
    BlockError::InvalidTransfer { index, source }
}

/// Account state made up for the overflow rules that no real chain reaches.
struct Accounts(HashMap<Address, Account>);

impl Accounts {
    fn with_balances(balances: &[(Address, u64)]) -> Self {
        Self(
            balances
                .iter()
                .map(|&(a, b)| {
                    (
                        a,
                        Account {
                            balance: Amount(b),
                            nonce: 0,
                        },
                    )
                })
                .collect(),
        )
    }
}

impl AccountRead for Accounts {
    fn account(&self, address: &Address) -> Result<Account, StoreError> {
        Ok(self.0.get(address).copied().unwrap_or_default())
    }
}

/// A block at height 1 (not mined: `apply_block` does not look at the header).
fn unmined_block(coinbase_amount: u64, transfers: Vec<Transfer>) -> Block {
    let mut txs = vec![Transaction::Coinbase(Coinbase {
        height: Height(1),
        to: address(MINER),
        amount: Amount(coinbase_amount),
    })];
    txs.extend(transfers.into_iter().map(Transaction::Transfer));
    let mut block = regtest().genesis_block();
    block.txs = txs;
    block
}

fn apply_error(block: &Block, state: &Accounts) -> BlockError {
    match apply_block(&regtest(), Height(1), block, state) {
        Err(Error::Block(e)) => e,
        other => panic!("expected a block error, got {other:?}"),
    }
}

// ---- Rule 1: size -------------------------------------------------------------------------

#[test]
fn too_large() {
    // A block with one memo-less transfer is exactly 269 bytes: allow that and no more.
    let mut chain = funded_with(ChainParams {
        max_block_bytes: 269,
        ..regtest()
    });
    let fits = valid(&chain, vec![pay(1, 3, COIN, 1_000, 0)]);
    assert_eq!(fits.encoded_len(), 269);
    assert_eq!(fits.to_bytes().len(), 269);
    let memo = UnsignedTransfer {
        to: address(3),
        amount: Amount(COIN),
        fee: Amount(1_000),
        nonce: 0,
        memo: vec![7],
    }
    .sign(&key(1), regtest().network_id);
    let too_big = valid(&chain, vec![memo]);
    assert_refused(
        &mut chain,
        too_big,
        BlockError::TooLarge {
            size: 270,
            max: 269,
        },
    );
    accept(&mut chain, fits);
}

// ---- Rule 2: proof of work ------------------------------------------------------------------

#[test]
fn unsupported_version() {
    let mut chain = funded();
    let good = valid(&chain, vec![]);
    for version in [0, HEADER_VERSION + 1, u32::MAX] {
        let bad = resealed(&good, |b| b.header.version = version);
        assert_refused(&mut chain, bad, BlockError::UnsupportedVersion { version });
    }
    accept(&mut chain, good);
}

#[test]
fn invalid_bits_negative_zero_or_overflowing() {
    let mut chain = funded();
    let good = valid(&chain, vec![]);
    for bits in [
        0x2080_0001, // sign bit set: negative
        0x2000_0000, // zero mantissa
        0x0100_0001, // shifted out to zero
        0x2201_0000, // more than 256 bits
        0xff7f_ffff,
    ] {
        let bits = CompactTarget(bits);
        // Not a target at all: nothing to mine against, the hash is never looked at.
        let mut bad = good.clone();
        bad.header.bits = bits;
        assert_refused(&mut chain, bad, BlockError::InvalidBits { bits });
    }
    accept(&mut chain, good);
}

#[test]
fn invalid_bits_easier_than_the_pow_limit() {
    let mut chain = funded();
    let good = valid(&chain, vec![]);
    let limit = chain.params().pow_limit_target();
    let bits = CompactTarget(0x2100_ffff);
    let easy = bits.to_target().unwrap();
    assert!(easy > limit);
    // A hash that meets its own (too easy) bits but not the network's limit.
    let mut bad = good.clone();
    bad.header.bits = bits;
    while !easy.is_met_by(&bad.hash().0) || limit.is_met_by(&bad.hash().0) {
        bad.header.nonce += 1;
    }
    assert_refused(&mut chain, bad, BlockError::InvalidBits { bits });
    accept(&mut chain, good);
}

#[test]
fn high_hash() {
    let mut chain = funded();
    let good = valid(&chain, vec![]);
    let target = chain.params().pow_limit_target();
    let mut bad = good.clone();
    while target.is_met_by(&bad.hash().0) {
        bad.header.nonce += 1;
    }
    let hash = bad.hash();
    assert_refused(&mut chain, bad, BlockError::HighHash { hash });
    accept(&mut chain, good);
}

#[test]
fn bad_bits_harder_than_the_rule_gives() {
    let mut chain = funded();
    let good = valid(&chain, vec![]);
    let expected = chain.params().pow_limit;
    let got = CompactTarget(0x203f_ffff);
    let bad = resealed(&good, |b| b.header.bits = got);
    assert!(
        bad.header
            .bits
            .to_target()
            .unwrap()
            .is_met_by(&bad.hash().0)
    );
    assert_refused(&mut chain, bad, BlockError::BadBits { expected, got });
    accept(&mut chain, good);
}

#[test]
fn bad_bits_easier_than_the_rule_gives() {
    // A network with a retarget whose first blocks must carry a harder `initial_bits` than its
    // limit: the limit itself is a valid target, but not the one the rule gives.
    let params = ChainParams {
        retarget_window: Some(60),
        initial_bits: CompactTarget(0x203f_ffff),
        ..regtest()
    };
    let mut chain = Chain::open(params.clone(), MemoryStore::new()).unwrap();
    let good = valid(&chain, vec![]);
    assert_eq!(good.header.bits, params.initial_bits);
    let bad = resealed(&good, |b| b.header.bits = params.pow_limit);
    assert_refused(
        &mut chain,
        bad,
        BlockError::BadBits {
            expected: params.initial_bits,
            got: params.pow_limit,
        },
    );
    accept(&mut chain, good);
}

// ---- Rule 3: parent and time ------------------------------------------------------------------

/// A block that spends more than its sender has: valid on its own, invalid when connected.
fn overspending(chain: &Chain<MemoryStore>) -> Block {
    valid(chain, vec![pay(1, 3, 51 * COIN, 1_000, 0)])
}

#[test]
fn invalid_parent_and_known_invalid() {
    let mut chain = funded();
    let bad = overspending(&chain);
    let bad_hash = bad.hash();
    assert_invalid_when_connected(
        &mut chain,
        bad.clone(),
        invalid_transfer(
            1,
            TxError::InsufficientBalance {
                available: Amount(50 * COIN),
                needed: Amount(51 * COIN + 1_000),
            },
        ),
    );
    // The same block again.
    let before = snapshot(&chain);
    match chain.accept_block(bad, NOW) {
        Err(Error::Block(BlockError::KnownInvalid { hash })) => assert_eq!(hash, bad_hash),
        other => panic!("expected KnownInvalid, got {other:?}"),
    }
    // A child of it.
    let bad_meta = chain.store().meta(&bad_hash).unwrap().unwrap();
    let child = child_block(&chain, &bad_meta, address(MINER), vec![], NOW - 100);
    assert_refused(
        &mut chain,
        child,
        BlockError::InvalidParent { parent: bad_hash },
    );
    assert_eq!(snapshot(&chain), before);
    let block = valid(&chain, vec![]);
    accept(&mut chain, block);
}

#[test]
fn descendants_that_arrived_as_orphans_are_invalid_with_their_parent() {
    let mut chain = funded();
    let bad = overspending(&chain);
    let bad_hash = bad.hash();
    let bad_meta = BlockMeta {
        hash: bad_hash,
        header: bad.header,
        height: Height(3),
        chain_work: chain.tip().chain_work,
        status: BlockStatus::Stored,
        seq: 0,
    };
    let child = child_block(&chain, &bad_meta, address(MINER), vec![], NOW - 100);
    let child_hash = child.hash();
    let outcome = chain.accept_block(child.clone(), NOW).unwrap();
    assert_eq!(outcome.status, AcceptStatus::Orphan { missing: bad_hash });
    let before = snapshot(&chain);
    let outcome = chain.accept_block(bad, NOW).unwrap();
    assert!(outcome.events.contains(&ChainEvent::BlockInvalid {
        hash: bad_hash,
        error: invalid_transfer(
            1,
            TxError::InsufficientBalance {
                available: Amount(50 * COIN),
                needed: Amount(51 * COIN + 1_000),
            }
        ),
        source: None,
    }));
    assert_eq!(snapshot(&chain), before);
    assert_eq!(chain.orphan_count(), 0);
    let status = chain.store().meta(&child_hash).unwrap().map(|m| m.status);
    assert_eq!(status, Some(BlockStatus::Invalid));
    match chain.accept_block(child, NOW) {
        Err(Error::Block(BlockError::KnownInvalid { hash })) => assert_eq!(hash, child_hash),
        other => panic!("expected KnownInvalid, got {other:?}"),
    }
}

#[test]
fn time_too_old_is_at_or_below_the_median_of_the_last_eleven() {
    let mut chain = Chain::open(regtest(), MemoryStore::new()).unwrap();
    let genesis_time = chain.params().genesis_time;
    // Right after genesis the median is the genesis time itself.
    let good = valid(&chain, vec![]);
    let bad = resealed(&good, |b| b.header.time = genesis_time);
    assert_refused(
        &mut chain,
        bad,
        BlockError::TimeTooOld {
            time: genesis_time,
            median: genesis_time,
        },
    );
    // Twenty blocks ten seconds apart: the last eleven are blocks 10..=20, median block 15.
    for i in 1..=20 {
        let block = next_block(&chain, address(MINER), vec![], TIME + 10 * i);
        accept(&mut chain, block);
    }
    let median = TIME + 150;
    let good = valid(&chain, vec![]);
    // The median of all 21 headers would be block 10's time: only the last eleven count.
    for time in [median, TIME + 101, TIME + 10] {
        let bad = resealed(&good, |b| b.header.time = time);
        assert_refused(&mut chain, bad, BlockError::TimeTooOld { time, median });
    }
    // One second past the median is enough, even though it is before the tip's time.
    let just_after = resealed(&good, |b| b.header.time = median + 1);
    assert!(just_after.header.time < chain.tip().header.time);
    accept(&mut chain, just_after);
}

#[test]
fn time_too_new_is_refused_and_accepted_once_the_clock_moves() {
    let mut chain = funded();
    let drift = chain.params().max_future_block_time;
    assert_eq!(drift, 2 * 60 * 60);
    let good = valid(&chain, vec![]);
    let early = resealed(&good, |b| b.header.time = NOW + drift + 1);
    assert_refused_at(
        &mut chain,
        early.clone(),
        NOW,
        BlockError::TimeTooNew {
            time: NOW + drift + 1,
            max: NOW + drift,
        },
    );
    // A second later by the local clock, the same block is fine.
    accept_at(&mut chain, early, NOW + 1);
    // Exactly the local clock plus the drift is accepted.
    let edge = resealed(&valid(&chain, vec![]), |b| b.header.time = NOW + 1 + drift);
    accept_at(&mut chain, edge, NOW + 1);
}

// ---- Rule 4: merkle root ----------------------------------------------------------------------

#[test]
fn bad_merkle_root() {
    let mut chain = funded();
    let good = valid(
        &chain,
        vec![pay(1, 3, COIN, 1_000, 0), pay(2, 3, COIN, 1_000, 0)],
    );
    // A transaction changed after the header was made (the header still meets its target).
    let mut changed = good.clone();
    coinbase(&mut changed).amount = Amount(COIN);
    remine(&mut changed);
    assert_refused(&mut chain, changed, BlockError::BadMerkleRoot);
    // A root that is not the root of anything.
    let mut wrong = good.clone();
    wrong.header.merkle_root = MerkleRoot([0xab; 32]);
    remine(&mut wrong);
    assert_refused(&mut chain, wrong, BlockError::BadMerkleRoot);
    // CVE-2012-2459: in Bitcoin, [a, b, c] and [a, b, c, c] share a root. Here the odd leaf is
    // carried up, so the duplicated list has another root.
    let mut duplicated = good.clone();
    let last = duplicated.txs[2].clone();
    duplicated.txs.push(last);
    assert_ne!(duplicated.compute_merkle_root(), good.header.merkle_root);
    assert_refused(&mut chain, duplicated, BlockError::BadMerkleRoot);
    accept(&mut chain, good);
}

// ---- Rule 5: transactions ---------------------------------------------------------------------

#[test]
fn first_not_coinbase() {
    let mut chain = funded();
    let good = valid(&chain, vec![pay(1, 3, COIN, 1_000, 0)]);
    let empty = resealed(&good, |b| b.txs.clear());
    assert_refused(&mut chain, empty, BlockError::FirstNotCoinbase);
    let swapped = resealed(&good, |b| b.txs.swap(0, 1));
    assert_refused(&mut chain, swapped, BlockError::FirstNotCoinbase);
    let no_coinbase = resealed(&good, |b| {
        b.txs.remove(0);
    });
    assert_refused(&mut chain, no_coinbase, BlockError::FirstNotCoinbase);
    accept(&mut chain, good);
}

#[test]
fn extra_coinbase() {
    let mut chain = funded();
    let good = valid(&chain, vec![pay(1, 3, COIN, 1_000, 0)]);
    let second = Transaction::Coinbase(Coinbase {
        height: chain.tip().height.next().unwrap(),
        to: address(7),
        amount: Amount::ZERO,
    });
    let right_after = resealed(&good, |b| b.txs.insert(1, second.clone()));
    assert_refused(
        &mut chain,
        right_after,
        BlockError::ExtraCoinbase { index: 1 },
    );
    let at_end = resealed(&good, |b| b.txs.push(second.clone()));
    assert_refused(&mut chain, at_end, BlockError::ExtraCoinbase { index: 2 });
    accept(&mut chain, good);
}

#[test]
fn bad_coinbase_height() {
    let mut chain = funded();
    let good = valid(&chain, vec![]);
    let expected = chain.tip().height.next().unwrap();
    for got in [Height(expected.0 + 1), chain.tip().height, Height(0)] {
        let bad = resealed(&good, |b| coinbase(b).height = got);
        assert_refused(
            &mut chain,
            bad,
            BlockError::BadCoinbaseHeight { expected, got },
        );
    }
    accept(&mut chain, good);
}

#[test]
fn coinbase_too_large_by_one() {
    let mut chain = funded();
    let fees = 1_000 + 2_500;
    let good = valid(
        &chain,
        vec![pay(1, 3, COIN, 1_000, 0), pay(2, 3, COIN, 2_500, 0)],
    );
    let max = Amount(50 * COIN + fees);
    let bad = resealed(&good, |b| coinbase(b).amount = Amount(max.0 + 1));
    assert_invalid_when_connected(
        &mut chain,
        bad,
        BlockError::CoinbaseTooLarge {
            max,
            got: Amount(max.0 + 1),
        },
    );
    // Exactly the subsidy plus the fees.
    assert_eq!(
        good.txs[0],
        Transaction::Coinbase(Coinbase {
            height: Height(3),
            to: address(MINER),
            amount: max
        })
    );
    accept(&mut chain, good);
    assert_eq!(chain.account(&address(MINER)).unwrap().balance, max);
}

#[test]
fn coinbase_below_the_bound_is_accepted_and_the_rest_is_gone() {
    let mut chain = funded();
    let good = valid(&chain, vec![pay(1, 3, COIN, 1_000, 0)]);
    let modest = resealed(&good, |b| coinbase(b).amount = Amount(7));
    accept(&mut chain, modest);
    assert_eq!(chain.account(&address(MINER)).unwrap().balance, Amount(7));
    let nothing = resealed(&valid(&chain, vec![]), |b| {
        coinbase(b).amount = Amount::ZERO
    });
    accept(&mut chain, nothing);
    assert_eq!(chain.account(&address(MINER)).unwrap().balance, Amount(7));
    let supply: u64 = chain.store().accounts().values().map(|a| a.balance.0).sum();
    assert_eq!(
        supply,
        100 * COIN - 1_000 + 7,
        "the unclaimed subsidy and fee are gone"
    );
}

#[test]
fn coinbase_bound_follows_the_halving() {
    let mut chain = funded_with(ChainParams {
        halving_interval: 2,
        ..regtest()
    });
    assert_eq!(chain.tip().height, Height(2));
    let good = valid(&chain, vec![]);
    let half = Amount(25 * COIN);
    let bad = resealed(&good, |b| coinbase(b).amount = Amount(50 * COIN));
    assert_invalid_when_connected(
        &mut chain,
        bad,
        BlockError::CoinbaseTooLarge {
            max: half,
            got: Amount(50 * COIN),
        },
    );
    accept(&mut chain, good);
    assert_eq!(chain.account(&address(MINER)).unwrap().balance, half);
}

#[test]
fn fee_overflow_in_the_sum_of_fees() {
    let rich = Accounts::with_balances(&[(address(1), u64::MAX), (address(2), u64::MAX)]);
    let half = u64::MAX / 2 + 1;
    let block = unmined_block(0, vec![pay(1, 3, 1, half, 0), pay(2, 3, 1, half, 0)]);
    assert_eq!(apply_error(&block, &rich), BlockError::FeeOverflow);
    // Fees that fit together with the subsidy are fine (the coinbase claims none of them).
    let fee = (u64::MAX - regtest().subsidy(Height(1)).0) / 2;
    let block = unmined_block(0, vec![pay(1, 3, 1, fee, 0), pay(2, 3, 1, fee, 0)]);
    let effects = apply_block(&regtest(), Height(1), &block, &rich).unwrap();
    assert_eq!(effects.fees, Amount(2 * fee));
}

#[test]
fn fee_overflow_in_subsidy_plus_fees() {
    let rich = Accounts::with_balances(&[(address(1), u64::MAX)]);
    let block = unmined_block(0, vec![pay(1, 3, 1, u64::MAX - 1, 0)]);
    assert_eq!(apply_error(&block, &rich), BlockError::FeeOverflow);
    let subsidy = regtest().subsidy(Height(1)).0;
    let block = unmined_block(0, vec![pay(1, 3, 1, u64::MAX - subsidy - 1, 0)]);
    assert!(apply_block(&regtest(), Height(1), &block, &rich).is_ok());
}

#[test]
fn duplicate_tx() {
    let mut chain = funded();
    let t = pay(1, 3, COIN, 1_000, 0);
    let good = valid(&chain, vec![t.clone()]);
    let bad = resealed(&good, |b| b.txs.push(Transaction::Transfer(t.clone())));
    assert_refused(&mut chain, bad, BlockError::DuplicateTx { txid: t.txid() });
    accept(&mut chain, good);
}

// ---- Rule 5: each transfer ----------------------------------------------------------------------

#[test]
fn zero_amount() {
    let mut chain = funded();
    let bad = valid(&chain, vec![pay(1, 3, 0, 1_000, 0)]);
    assert_refused(&mut chain, bad, invalid_transfer(1, TxError::ZeroAmount));
    let block = valid(&chain, vec![pay(1, 3, 1, 1_000, 0)]);
    accept(&mut chain, block);
}

fn with_memo(len: usize) -> Transfer {
    UnsignedTransfer {
        to: address(3),
        amount: Amount(COIN),
        fee: Amount(1_000),
        nonce: 0,
        memo: vec![b'm'; len],
    }
    .sign(&key(1), regtest().network_id)
}

#[test]
fn memo_too_long() {
    let mut chain = funded();
    let bad = valid(&chain, vec![with_memo(MAX_MEMO_BYTES + 1)]);
    assert_refused(
        &mut chain,
        bad,
        invalid_transfer(
            1,
            TxError::MemoTooLong {
                len: MAX_MEMO_BYTES + 1,
                max: MAX_MEMO_BYTES,
            },
        ),
    );
    let block = valid(&chain, vec![with_memo(MAX_MEMO_BYTES)]);
    accept(&mut chain, block);
}

#[test]
fn amount_overflow() {
    let mut chain = funded();
    let good = valid(&chain, vec![pay(1, 3, 1, 1, 0)]);
    for (amount, fee) in [
        (u64::MAX, 1),
        (1, u64::MAX),
        (u64::MAX / 2 + 1, u64::MAX / 2 + 1),
    ] {
        let bad = resealed(&good, |b| {
            b.txs[1] = Transaction::Transfer(pay(1, 3, amount, fee, 0))
        });
        assert_refused(
            &mut chain,
            bad,
            invalid_transfer(1, TxError::AmountOverflow),
        );
    }
    accept(&mut chain, good);
}

#[test]
fn forged_signature_by_another_key() {
    let mut chain = funded();
    let good = valid(&chain, vec![pay(1, 3, COIN, 1_000, 0)]);
    // Key 2 signs a transfer that claims to come from key 1.
    let mut forged = pay(2, 3, COIN, 1_000, 0);
    forged.from = key(1).public_key();
    let bad = valid(&chain, vec![forged]);
    assert_refused(
        &mut chain,
        bad,
        invalid_transfer(1, TxError::Signature(KeyError::BadSignature)),
    );
    accept(&mut chain, good);
}

#[test]
fn forged_signature_by_a_field_changed_after_signing() {
    let mut chain = funded();
    let good = valid(&chain, vec![pay(1, 3, COIN, 1_000, 0)]);
    let changes: [fn(&mut Transfer); 6] = [
        |t| t.amount.0 += 1,
        |t| t.fee.0 -= 1,
        |t| t.nonce += 1,
        |t| t.to = address(4),
        |t| t.memo.push(0),
        |t| t.signature.0[10] ^= 1,
    ];
    for change in changes {
        let bad = resealed(&good, |b| change(transfer_at(b, 1)));
        let err = chain.accept_block(bad.clone(), NOW).unwrap_err();
        // A flipped signature bit may also leave `r` or `s` out of range.
        assert!(
            matches!(
                err,
                Error::Block(BlockError::InvalidTransfer {
                    index: 1,
                    source: TxError::Signature(
                        KeyError::BadSignature | KeyError::MalformedSignature
                    )
                })
            ),
            "{err:?}"
        );
    }
    let bad = resealed(&good, |b| transfer_at(b, 1).amount.0 += 1);
    assert_refused(
        &mut chain,
        bad,
        invalid_transfer(1, TxError::Signature(KeyError::BadSignature)),
    );
    accept(&mut chain, good);
}

#[test]
fn high_s_signature() {
    let mut chain = funded();
    let good = valid(&chain, vec![pay(1, 3, COIN, 1_000, 0)]);
    let bad = resealed(&good, |b| {
        let t = transfer_at(b, 1);
        t.signature = t.signature.malleated().unwrap();
    });
    assert_ne!(bad.txids()[1], good.txids()[1], "the twin has another txid");
    assert_refused(
        &mut chain,
        bad,
        invalid_transfer(1, TxError::Signature(KeyError::HighS)),
    );
    accept(&mut chain, good);
}

#[test]
fn malformed_signature() {
    let mut chain = funded();
    let good = valid(&chain, vec![pay(1, 3, COIN, 1_000, 0)]);
    let bad = resealed(&good, |b| transfer_at(b, 1).signature = Signature([0; 64]));
    assert_refused(
        &mut chain,
        bad,
        invalid_transfer(1, TxError::Signature(KeyError::MalformedSignature)),
    );
    accept(&mut chain, good);
}

#[test]
fn invalid_public_key_is_reachable_from_decoded_bytes() {
    let mut chain = funded();
    let good = valid(&chain, vec![pay(1, 3, COIN, 1_000, 0)]);
    // Decoding takes any 33 bytes as a key; only verification finds that x = 0 is not on the
    // curve.
    let mut bytes = pay(1, 3, COIN, 1_000, 0).to_bytes();
    bytes[2..34].fill(0);
    let decoded = Transfer::from_bytes(&bytes).expect("decoding does not check the key");
    assert_eq!(
        PublicKey::from_bytes(*decoded.from.as_bytes()),
        Err(KeyError::InvalidPublicKey)
    );
    let bad = resealed(&good, |b| b.txs[1] = Transaction::Transfer(decoded.clone()));
    assert_refused(
        &mut chain,
        bad,
        invalid_transfer(1, TxError::Signature(KeyError::InvalidPublicKey)),
    );
    accept(&mut chain, good);
}

/// Key 2 in another 33-byte form than the compressed one, signed by key 2.
fn key_2_in_form(tag: u8) -> PublicKey {
    let mut bytes = *key(2).public_key().as_bytes();
    assert_eq!(bytes[0], 0x02, "key 2 has an even y");
    bytes[0] = tag;
    PublicKey::from_bytes_unchecked(bytes)
}

fn signed_by_key_2_as(from: PublicKey, to: Address, amount: u64, nonce: u64) -> Transfer {
    let mut t = pay(2, 3, amount, 1_000, nonce);
    t.from = from;
    t.to = to;
    t.signature = key(2).sign_hash(&t.signing_hash(regtest().network_id));
    t
}

/// Found by this suite: `k256` also parses SEC1's "compact" form (tag 0x05, x only, even y), so
/// every even-y key had a second 33-byte encoding, hence a second address it could spend from,
/// which a node on another secp256k1 library would refuse: a consensus split. Only the
/// compressed forms (0x02, 0x03) are keys now.
#[test]
fn a_key_in_sec1_compact_form_is_an_invalid_public_key() {
    let mut chain = funded();
    let compact = key_2_in_form(0x05);
    assert_ne!(compact.address(), address(2));
    assert_eq!(
        PublicKey::from_bytes(*compact.as_bytes()),
        Err(KeyError::InvalidPublicKey)
    );
    for tag in [0x00, 0x01, 0x04, 0x05, 0x06, 0x07, 0xff] {
        let t = signed_by_key_2_as(key_2_in_form(tag), address(3), COIN, 0);
        assert_eq!(
            check_transfer(&t, regtest().network_id),
            Err(TxError::Signature(KeyError::InvalidPublicKey)),
            "tag {tag:#04x}"
        );
    }
    // Fund the second address, then try to spend from it.
    let fund = transfer(
        &key(1),
        compact.address(),
        10 * COIN,
        1_000,
        0,
        regtest().network_id,
    );
    let block = valid(&chain, vec![fund]);
    accept(&mut chain, block);
    let spend = signed_by_key_2_as(compact, address(3), COIN, 0);
    let bad = valid(&chain, vec![spend]);
    assert_refused(
        &mut chain,
        bad,
        invalid_transfer(1, TxError::Signature(KeyError::InvalidPublicKey)),
    );
    // The compressed form of the same key still works.
    let block = valid(
        &chain,
        vec![signed_by_key_2_as(key(2).public_key(), address(3), COIN, 0)],
    );
    accept(&mut chain, block);
}

#[test]
fn transfer_signed_for_devnet_is_invalid_on_regtest() {
    let mut chain = funded();
    let devnet = ChainParams::devnet().network_id;
    let foreign = transfer(&key(1), address(3), COIN, 1_000, 0, devnet);
    assert_eq!(check_transfer(&foreign, devnet), Ok(()));
    let bad = valid(&chain, vec![foreign]);
    assert_refused(
        &mut chain,
        bad,
        invalid_transfer(1, TxError::Signature(KeyError::BadSignature)),
    );
    let block = valid(&chain, vec![pay(1, 3, COIN, 1_000, 0)]);
    accept(&mut chain, block);
}

#[test]
fn the_lowest_bad_signature_is_reported_when_verifying_on_several_threads() {
    let mut chain = funded();
    chain.set_verify_threads(4);
    let transfers: Vec<Transfer> = (0..80).map(|n| pay(1, 3, 1, 200, n)).collect();
    let good = valid(&chain, transfers);
    let bad = resealed(&good, |b| {
        for index in [75, 70] {
            transfer_at(b, index).amount.0 += 1;
        }
    });
    assert_refused(
        &mut chain,
        bad,
        invalid_transfer(70, TxError::Signature(KeyError::BadSignature)),
    );
    accept(&mut chain, good);
    assert_eq!(chain.account(&address(1)).unwrap().nonce, 80);
}

#[test]
fn bad_nonce_replayed() {
    let mut chain = funded();
    let t = pay(1, 3, COIN, 1_000, 0);
    let block = valid(&chain, vec![t.clone()]);
    accept(&mut chain, block);
    let replay = valid(&chain, vec![t]);
    assert_invalid_when_connected(
        &mut chain,
        replay,
        invalid_transfer(
            1,
            TxError::BadNonce {
                expected: 1,
                got: 0,
            },
        ),
    );
    let block = valid(&chain, vec![pay(1, 3, COIN, 1_000, 1)]);
    accept(&mut chain, block);
}

#[test]
fn bad_nonce_skipped_or_out_of_order() {
    let mut chain = funded();
    let skipped = valid(&chain, vec![pay(1, 3, COIN, 1_000, 1)]);
    assert_invalid_when_connected(
        &mut chain,
        skipped,
        invalid_transfer(
            1,
            TxError::BadNonce {
                expected: 0,
                got: 1,
            },
        ),
    );
    let (first, second) = (pay(1, 3, COIN, 1_000, 0), pay(1, 3, COIN, 1_000, 1));
    let reversed = valid(&chain, vec![second.clone(), first.clone()]);
    assert_invalid_when_connected(
        &mut chain,
        reversed,
        invalid_transfer(
            1,
            TxError::BadNonce {
                expected: 0,
                got: 1,
            },
        ),
    );
    // In nonce order, several transfers of one sender fit in one block.
    let block = valid(&chain, vec![first, second]);
    accept(&mut chain, block);
    assert_eq!(chain.account(&address(1)).unwrap().nonce, 2);
}

#[test]
fn insufficient_balance() {
    let mut chain = funded();
    let bad = valid(&chain, vec![pay(1, 3, 50 * COIN - 1_000 + 1, 1_000, 0)]);
    assert_invalid_when_connected(
        &mut chain,
        bad,
        invalid_transfer(
            1,
            TxError::InsufficientBalance {
                available: Amount(50 * COIN),
                needed: Amount(50 * COIN + 1),
            },
        ),
    );
    // Two transfers that each fit but not together.
    let both = valid(
        &chain,
        vec![
            pay(1, 3, 30 * COIN, 1_000, 0),
            pay(1, 3, 30 * COIN, 1_000, 1),
        ],
    );
    assert_invalid_when_connected(
        &mut chain,
        both,
        invalid_transfer(
            2,
            TxError::InsufficientBalance {
                available: Amount(20 * COIN - 1_000),
                needed: Amount(30 * COIN + 1_000),
            },
        ),
    );
    // The whole balance, to the last unit.
    let block = valid(&chain, vec![pay(1, 3, 50 * COIN - 1_000, 1_000, 0)]);
    accept(&mut chain, block);
    assert_eq!(
        chain.account(&address(1)).unwrap(),
        Account {
            balance: Amount::ZERO,
            nonce: 1
        }
    );
}

#[test]
fn coins_received_earlier_in_the_block_can_be_spent_but_not_the_coinbase() {
    let mut chain = funded();
    // The block's own miner cannot spend its coinbase in the same block: it is credited last.
    let miner_spends = next_block(
        &chain,
        address(9),
        vec![pay(9, 3, COIN, 1_000, 0)],
        later(&chain),
    );
    assert_invalid_when_connected(
        &mut chain,
        miner_spends,
        invalid_transfer(
            1,
            TxError::InsufficientBalance {
                available: Amount::ZERO,
                needed: Amount(COIN + 1_000),
            },
        ),
    );
    // A transfer received at index 1 pays for one at index 2.
    let chained = valid(
        &chain,
        vec![
            pay(1, 5, 10 * COIN, 1_000, 0),
            pay(5, 6, 5 * COIN, 1_000, 0),
        ],
    );
    accept(&mut chain, chained);
    assert_eq!(
        chain.account(&address(5)).unwrap().balance,
        Amount(5 * COIN - 1_000)
    );
}

#[test]
fn balance_overflow() {
    let state = Accounts::with_balances(&[(address(1), 100), (address(3), u64::MAX)]);
    let block = unmined_block(0, vec![pay(1, 3, 1, 1, 0)]);
    assert_eq!(
        apply_error(&block, &state),
        invalid_transfer(1, TxError::BalanceOverflow)
    );
    let state = Accounts::with_balances(&[(address(1), 100), (address(3), u64::MAX - 1)]);
    assert!(apply_block(&regtest(), Height(1), &block, &state).is_ok());
}

#[test]
fn miner_balance_overflow_is_an_error_not_a_wrap() {
    let state = Accounts::with_balances(&[(address(MINER), u64::MAX)]);
    let block = unmined_block(1, vec![]);
    assert!(matches!(
        apply_block(&regtest(), Height(1), &block, &state),
        Err(Error::Block(_))
    ));
}

// ---- Orphans and fork choice ------------------------------------------------------------------

/// Three blocks mined on another node, in order.
fn three_blocks_elsewhere() -> Vec<Block> {
    let mut source = Chain::open(regtest(), MemoryStore::new()).unwrap();
    (0..3)
        .map(|i| {
            let block = next_block(&source, address(MINER), vec![], TIME + i);
            accept(&mut source, block.clone());
            block
        })
        .collect()
}

#[test]
fn orphans_wait_for_their_parent_and_connect_when_it_arrives() {
    let blocks = three_blocks_elsewhere();
    let mut chain = Chain::open(regtest(), MemoryStore::new()).unwrap();
    let before = snapshot(&chain);
    for i in [2, 1] {
        let outcome = chain.accept_block(blocks[i].clone(), NOW).unwrap();
        assert_eq!(
            outcome,
            AcceptOutcome {
                status: AcceptStatus::Orphan {
                    missing: blocks[i - 1].hash()
                },
                events: vec![]
            }
        );
        assert!(chain.is_orphan(&blocks[i].hash()));
    }
    // The same orphan again is still an orphan, held once.
    let again = chain.accept_block(blocks[2].clone(), NOW).unwrap();
    assert!(matches!(again.status, AcceptStatus::Orphan { .. }));
    assert_eq!(chain.orphan_count(), 2);
    assert_eq!(snapshot(&chain), before);
    let outcome = chain.accept_block(blocks[0].clone(), NOW).unwrap();
    assert_eq!(outcome.status, AcceptStatus::Stored { height: Height(1) });
    let [ChainEvent::TipChanged(change)] = outcome.events.as_slice() else {
        panic!("one tip change expected: {:?}", outcome.events);
    };
    let connected: Vec<BlockHash> = change.connected.iter().map(|b| b.hash).collect();
    assert_eq!(
        connected,
        blocks.iter().map(Block::hash).collect::<Vec<_>>()
    );
    assert!(change.disconnected.is_empty());
    assert_eq!(chain.tip().hash, blocks[2].hash());
    assert_eq!(chain.orphan_count(), 0);
    assert_eq!(
        chain.account(&address(MINER)).unwrap().balance,
        Amount(150 * COIN)
    );
}

#[test]
fn an_orphan_that_breaks_a_rule_on_its_own_is_not_held() {
    let blocks = three_blocks_elsewhere();
    let mut chain = Chain::open(regtest(), MemoryStore::new()).unwrap();
    let mut bad = blocks[2].clone();
    coinbase(&mut bad).amount = Amount(1);
    remine(&mut bad);
    assert_refused(&mut chain, bad, BlockError::BadMerkleRoot);
    assert_eq!(chain.orphan_count(), 0);
}

#[test]
fn the_orphan_pool_stays_bounded() {
    let mut chain = Chain::open(regtest(), MemoryStore::new()).unwrap();
    chain.set_max_orphans(3);
    let parent = *chain.tip();
    // Children of blocks nobody has: a made-up parent per orphan.
    let orphans: Vec<Block> = (0..6u8)
        .map(|i| {
            let mut block = child_block(&chain, &parent, address(MINER), vec![], TIME);
            block.header.prev_hash = BlockHash([i + 1; 32]);
            seal(&mut block);
            block
        })
        .collect();
    for block in &orphans {
        let outcome = chain.accept_block(block.clone(), NOW).unwrap();
        assert!(matches!(outcome.status, AcceptStatus::Orphan { .. }));
        assert!(chain.orphan_count() <= 3);
    }
    assert_eq!(chain.orphan_count(), 3);
    // The oldest went first.
    for (i, block) in orphans.iter().enumerate() {
        assert_eq!(chain.is_orphan(&block.hash()), i >= 3, "orphan {i}");
    }
    chain.set_max_orphans(0);
    let late = resealed(&orphans[0], |b| b.header.prev_hash = BlockHash([0xee; 32]));
    assert!(matches!(
        chain.accept_block(late.clone(), NOW).unwrap().status,
        AcceptStatus::Orphan { .. }
    ));
    assert!(!chain.is_orphan(&late.hash()));
}

#[test]
fn equal_work_fork_keeps_the_first_seen_tip() {
    let mut chain = funded();
    let parent = *chain.tip();
    let first = valid(&chain, vec![]);
    accept(&mut chain, first.clone());
    let before = snapshot(&chain);
    let rival = child_block(&chain, &parent, address(8), vec![], later(&chain));
    let outcome = chain.accept_block(rival, NOW).unwrap();
    assert_eq!(outcome.status, AcceptStatus::Stored { height: Height(3) });
    assert!(outcome.events.is_empty());
    assert_eq!(snapshot(&chain), before);
}

/// Found by this suite: when a heavier branch failed while being connected, the node stayed on
/// the part of it that did connect whenever that part had as much work as the old tip, instead
/// of returning to the old tip, which was seen first.
#[test]
fn failed_reorg_returns_to_the_first_seen_tip_on_equal_work() {
    let mut chain = funded();
    let parent = *chain.tip();
    let block = valid(&chain, vec![]);
    accept(&mut chain, block);
    let before = snapshot(&chain);
    // A rival at the same height (not taken: equal work), then a child of it that overspends.
    let rival = child_block(&chain, &parent, address(8), vec![], later(&chain));
    let rival_hash = rival.hash();
    chain.accept_block(rival, NOW).unwrap();
    let rival_meta = chain.store().meta(&rival_hash).unwrap().unwrap();
    let overspend = pay(1, 3, 51 * COIN, 1_000, 0);
    let bad = child_block(&chain, &rival_meta, address(8), vec![overspend], NOW - 100);
    let bad_hash = bad.hash();
    let outcome = chain.accept_block(bad, NOW).unwrap();
    assert!(
        outcome
            .events
            .iter()
            .any(|e| matches!(e, ChainEvent::BlockInvalid { hash, .. } if *hash == bad_hash))
    );
    assert_eq!(snapshot(&chain), before, "back on the first-seen tip");
}
