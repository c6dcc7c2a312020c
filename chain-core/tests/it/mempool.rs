//! Mempool policy, through `Ledger::submit_transfer` (which also keeps the store's copy of the
//! pending transfers in step) and through `Mempool` directly against a made-up account state.

use chain_core::address::Address;
use chain_core::block::Block;
use chain_core::chain::{AcceptStatus, ChainEvent};
use chain_core::error::{Error, MempoolError, StoreError, TxError};
use chain_core::hash::Txid;
use chain_core::keys::KeyError;
use chain_core::ledger::Ledger;
use chain_core::mempool::{Admitted, Mempool, MempoolPolicy};
use chain_core::params::ChainParams;
use chain_core::state::{Account, AccountRead};
use chain_core::store::{ChainRead, MemoryStore, PendingRead, PendingWrite};
use chain_core::testkit::conformance::TIME;
use chain_core::testkit::{address, child_block, key, next_block, seal, transfer};
use chain_core::tx::{Transaction, Transfer, UnsignedTransfer};
use chain_core::units::{Amount, COIN, Height};
use std::collections::{BTreeSet, HashMap};

/// The local clock.
const NOW: u64 = TIME + 10_000;
/// Mines the ledgers' blocks.
const MINER: u64 = 100;
/// Keys 1 to 4 hold 50 coins each in [`funded`] ledgers.
const USERS: std::ops::RangeInclusive<u64> = 1..=4;
/// The encoded size of a transfer without a memo.
const SIZE: usize = 143;

fn regtest() -> ChainParams {
    ChainParams::regtest()
}

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

fn pay_with_memo(from: u64, amount: u64, fee: u64, nonce: u64, memo: usize) -> Transfer {
    UnsignedTransfer {
        to: address(9),
        amount: Amount(amount),
        fee: Amount(fee),
        nonce,
        memo: vec![b'm'; memo],
    }
    .sign(&key(from), regtest().network_id)
}

/// A regtest ledger where keys 1 to 4 hold 50 coins each.
fn funded_with(params: ChainParams, policy: MempoolPolicy) -> Ledger<MemoryStore> {
    let mut ledger = Ledger::open(params, MemoryStore::new(), policy, NOW).unwrap();
    for n in USERS {
        let block = next_block(ledger.chain(), address(n), vec![], TIME + n);
        ledger.accept_block(block, NOW).unwrap();
    }
    ledger
}

fn funded(policy: MempoolPolicy) -> Ledger<MemoryStore> {
    funded_with(regtest(), policy)
}

/// Submits at [`NOW`]; a policy refusal comes back as the mempool's error.
fn submit(ledger: &mut Ledger<MemoryStore>, t: &Transfer) -> Result<Admitted, MempoolError> {
    submit_at(ledger, t, NOW)
}

fn submit_at(
    ledger: &mut Ledger<MemoryStore>,
    t: &Transfer,
    now: u64,
) -> Result<Admitted, MempoolError> {
    match ledger.submit_transfer(t.clone(), now) {
        Ok(admitted) => {
            assert_eq!(admitted.txid, t.txid());
            Ok(admitted)
        }
        Err(Error::Mempool(e)) => Err(e),
        Err(other) => panic!("not a policy refusal: {other}"),
    }
}

/// The pool and the store's saved copy hold exactly `expected`.
fn assert_pending(ledger: &Ledger<MemoryStore>, expected: &[&Transfer]) {
    let expected: BTreeSet<Txid> = expected.iter().map(|t| t.txid()).collect();
    let pool: BTreeSet<Txid> = ledger.mempool().entries().iter().map(|e| e.txid).collect();
    let saved: BTreeSet<Txid> = ledger
        .chain()
        .store()
        .pending()
        .unwrap()
        .iter()
        .map(Transfer::txid)
        .collect();
    assert_eq!(pool, expected, "mempool");
    assert_eq!(saved, expected, "saved pending transfers");
}

/// The transfers of a block template on the tip.
fn template(ledger: &Ledger<MemoryStore>) -> Vec<Transfer> {
    let block = ledger.block_template(address(MINER), NOW).unwrap();
    transfers_of(&block)
}

fn transfers_of(block: &Block) -> Vec<Transfer> {
    block
        .txs
        .iter()
        .filter_map(Transaction::as_transfer)
        .cloned()
        .collect()
}

/// Mines the template and accepts it; returns the block.
fn mine(ledger: &mut Ledger<MemoryStore>) -> Block {
    let mut block = ledger.block_template(address(MINER), NOW).unwrap();
    seal(&mut block);
    let outcome = ledger.accept_block(block.clone(), NOW).unwrap();
    assert!(matches!(outcome.status, AcceptStatus::Stored { .. }));
    assert_eq!(ledger.chain().tip().hash, block.hash());
    block
}

/// Account state made up for tests of the pool on its own.
struct Balances(HashMap<Address, Account>);

impl Balances {
    fn of(users: impl IntoIterator<Item = u64>, coins: u64) -> Self {
        Self(
            users
                .into_iter()
                .map(|n| {
                    (
                        address(n),
                        Account {
                            balance: Amount(coins * COIN),
                            nonce: 0,
                        },
                    )
                })
                .collect(),
        )
    }
}

impl AccountRead for Balances {
    fn account(&self, address: &Address) -> Result<Account, StoreError> {
        Ok(self.0.get(address).copied().unwrap_or_default())
    }
}

fn insert(pool: &mut Mempool, state: &Balances, t: &Transfer) -> Result<Admitted, MempoolError> {
    pool.insert(t.clone(), regtest().network_id, state, NOW)
        .unwrap()
}

fn pool_txids(pool: &Mempool) -> BTreeSet<Txid> {
    pool.entries().iter().map(|e| e.txid).collect()
}

fn txids(transfers: &[&Transfer]) -> BTreeSet<Txid> {
    transfers.iter().map(|t| t.txid()).collect()
}

#[test]
fn a_transfer_is_exactly_143_bytes_without_a_memo() {
    assert_eq!(pay(1, 2, 1, 1, 0).encoded_len(), SIZE);
    assert_eq!(pay_with_memo(1, 1, 1, 0, 10).encoded_len(), SIZE + 10);
}

#[test]
fn fee_below_the_minimum_is_refused() {
    let mut ledger = funded(MempoolPolicy::default());
    assert_eq!(ledger.mempool().policy().min_fee_per_byte, 1);
    let cheap = pay(1, 5, COIN, SIZE as u64 - 1, 0);
    let expected = MempoolError::FeeTooLow {
        min: Amount(SIZE as u64),
        got: Amount(SIZE as u64 - 1),
    };
    assert_eq!(
        ledger.check_transfer(&cheap, NOW).unwrap(),
        Err(expected.clone())
    );
    assert_eq!(submit(&mut ledger, &cheap), Err(expected));
    // The minimum grows with the size.
    let long = pay_with_memo(1, COIN, SIZE as u64, 0, 10);
    assert_eq!(
        submit(&mut ledger, &long),
        Err(MempoolError::FeeTooLow {
            min: Amount(SIZE as u64 + 10),
            got: Amount(SIZE as u64),
        })
    );
    assert_pending(&ledger, &[]);
    let enough = pay(1, 5, COIN, SIZE as u64, 0);
    assert_eq!(ledger.check_transfer(&enough, NOW).unwrap(), Ok(()));
    submit(&mut ledger, &enough).unwrap();
    assert_pending(&ledger, &[&enough]);
}

#[test]
fn invalid_transfers_are_refused_before_policy() {
    let mut ledger = funded(MempoolPolicy::default());
    let mut forged = pay(1, 5, COIN, 1_000, 0);
    forged.amount = Amount(2 * COIN);
    assert_eq!(
        submit(&mut ledger, &forged),
        Err(MempoolError::Invalid(TxError::Signature(
            KeyError::BadSignature
        )))
    );
    let devnet = transfer(
        &key(1),
        address(5),
        COIN,
        1_000,
        0,
        ChainParams::devnet().network_id,
    );
    assert_eq!(
        submit(&mut ledger, &devnet),
        Err(MempoolError::Invalid(TxError::Signature(
            KeyError::BadSignature
        )))
    );
    assert_eq!(
        submit(&mut ledger, &pay(1, 5, 0, 1_000, 0)),
        Err(MempoolError::Invalid(TxError::ZeroAmount))
    );
    let t = pay(1, 5, COIN, 1_000, 0);
    submit(&mut ledger, &t).unwrap();
    assert_eq!(
        submit(&mut ledger, &t),
        Err(MempoolError::Duplicate { txid: t.txid() })
    );
    assert_pending(&ledger, &[&t]);
}

#[test]
fn a_used_nonce_is_refused() {
    let mut ledger = funded(MempoolPolicy::default());
    let t = pay(1, 5, COIN, 1_000, 0);
    submit(&mut ledger, &t).unwrap();
    mine(&mut ledger);
    let used = MempoolError::NonceUsed {
        expected: 1,
        got: 0,
    };
    // The confirmed transfer itself, replayed, and another with its nonce.
    assert_eq!(submit(&mut ledger, &t), Err(used.clone()));
    assert_eq!(submit(&mut ledger, &pay(1, 6, COIN, 5_000, 0)), Err(used));
    assert_pending(&ledger, &[]);
}

#[test]
fn a_nonce_too_far_ahead_is_refused() {
    let mut ledger = funded(MempoolPolicy::default());
    let gap = ledger.mempool().policy().max_nonce_gap;
    assert_eq!(
        submit(&mut ledger, &pay(1, 5, COIN, 1_000, gap + 1)),
        Err(MempoolError::NonceTooFarAhead {
            expected: 0,
            got: gap + 1
        })
    );
    let farthest = pay(1, 5, COIN, 1_000, gap);
    submit(&mut ledger, &farthest).unwrap();
    assert_pending(&ledger, &[&farthest]);
}

#[test]
fn a_gap_is_held_until_it_fills_and_then_mined_in_nonce_order() {
    let mut ledger = funded(MempoolPolicy::default());
    let sender = address(1);
    let second = pay(1, 5, COIN, 9_000, 1);
    submit(&mut ledger, &second).unwrap();
    assert_pending(&ledger, &[&second]);
    let account = ledger.chain().account(&sender).unwrap();
    assert_eq!(ledger.mempool().next_nonce(&sender, account), 0);
    assert!(template(&ledger).is_empty(), "nonce 0 is missing");
    let first = pay(1, 5, COIN, 1_000, 0);
    submit(&mut ledger, &first).unwrap();
    assert_eq!(ledger.mempool().next_nonce(&sender, account), 2);
    assert_eq!(template(&ledger), vec![first, second]);
    mine(&mut ledger);
    assert_pending(&ledger, &[]);
    assert_eq!(ledger.chain().account(&sender).unwrap().nonce, 2);
}

#[test]
fn too_many_pending_transfers_of_one_sender_are_refused() {
    let mut ledger = funded(MempoolPolicy {
        max_per_sender: 3,
        ..MempoolPolicy::default()
    });
    let held: Vec<Transfer> = (0..3).map(|n| pay(1, 5, COIN, 1_000, n)).collect();
    for t in &held {
        submit(&mut ledger, t).unwrap();
    }
    assert_eq!(
        submit(&mut ledger, &pay(1, 5, COIN, 1_000, 3)),
        Err(MempoolError::TooManyPending { limit: 3 })
    );
    // Replacing one is not one more; another sender has its own allowance.
    let replacement = pay(1, 6, COIN, 2_000, 2);
    submit(&mut ledger, &replacement).unwrap();
    let other = pay(2, 5, COIN, 1_000, 0);
    submit(&mut ledger, &other).unwrap();
    assert_pending(&ledger, &[&held[0], &held[1], &replacement, &other]);
}

#[test]
fn replace_by_fee_needs_a_clear_bump() {
    let mut ledger = funded(MempoolPolicy::default());
    assert_eq!(ledger.mempool().policy().replacement_bump_percent, 10);
    let original = pay(1, 5, COIN, 1_000, 0);
    submit(&mut ledger, &original).unwrap();
    let small_bump = pay(1, 6, COIN, 1_099, 0);
    assert_eq!(
        submit(&mut ledger, &small_bump),
        Err(MempoolError::ReplacementFeeTooLow { min: Amount(1_100) })
    );
    assert_pending(&ledger, &[&original]);
    let enough = pay(1, 6, COIN, 1_100, 0);
    let admitted = submit(&mut ledger, &enough).unwrap();
    assert_eq!(admitted.replaced, Some(original.txid()));
    assert!(ledger.mempool().get(&original.txid()).is_none());
    assert_pending(&ledger, &[&enough]);
    assert_eq!(template(&ledger), vec![enough]);
}

#[test]
fn the_balance_must_cover_the_pending_transfers_too() {
    let mut ledger = funded(MempoolPolicy::default());
    let first = pay(1, 5, 30 * COIN, 1_000, 0);
    submit(&mut ledger, &first).unwrap();
    assert_eq!(
        submit(&mut ledger, &pay(1, 5, 30 * COIN, 1_000, 1)),
        Err(MempoolError::InsufficientBalance {
            available: Amount(50 * COIN),
            needed: Amount(60 * COIN + 2_000),
        })
    );
    // What is left, to the unit.
    let rest = pay(1, 5, 20 * COIN - 2_000, 1_000, 1);
    submit(&mut ledger, &rest).unwrap();
    // A replacement counts instead of the transfer it replaces, not on top of it.
    let too_big = pay(1, 6, 30 * COIN, 1_100, 0);
    assert_eq!(
        submit(&mut ledger, &too_big),
        Err(MempoolError::InsufficientBalance {
            available: Amount(50 * COIN),
            needed: Amount(50 * COIN + 100),
        })
    );
    let fits = pay(1, 6, 30 * COIN - 100, 1_100, 0);
    submit(&mut ledger, &fits).unwrap();
    assert_pending(&ledger, &[&fits, &rest]);
}

#[test]
fn a_full_pool_evicts_the_lowest_fee_rate_with_its_senders_later_nonces() {
    let state = Balances::of(1..=5, 50);
    let mut pool = Mempool::new(MempoolPolicy {
        max_bytes: 3 * SIZE,
        ..MempoolPolicy::default()
    });
    let low = pay(1, 9, COIN, 500, 0);
    let after_low = pay(1, 9, COIN, 5_000, 1);
    let mid = pay(2, 9, COIN, 2_000, 0);
    for t in [&low, &after_low, &mid] {
        assert_eq!(insert(&mut pool, &state, t).unwrap().evicted, vec![]);
    }
    assert_eq!(pool.bytes(), 3 * SIZE);
    let high = pay(3, 9, COIN, 3_000, 0);
    let admitted = insert(&mut pool, &state, &high).unwrap();
    assert_eq!(admitted.evicted, vec![low.txid(), after_low.txid()]);
    assert_eq!(pool_txids(&pool), txids(&[&mid, &high]));
    let lower = pay(4, 9, COIN, 1_000, 0);
    assert_eq!(insert(&mut pool, &state, &lower).unwrap().evicted, vec![]);
    // Full again: a transfer paying less per byte than everything there is refused.
    let lowest = pay(5, 9, COIN, 999, 0);
    assert_eq!(insert(&mut pool, &state, &lowest), Err(MempoolError::Full));
    assert_eq!(pool_txids(&pool), txids(&[&mid, &high, &lower]));
    assert_eq!(pool.bytes(), 3 * SIZE);
    // Per byte, not per transfer: a large transfer with a larger fee can still pay less.
    let large = pay_with_memo(5, COIN, 1_500, 0, 200);
    assert_eq!(insert(&mut pool, &state, &large), Err(MempoolError::Full));
    assert_eq!(pool_txids(&pool), txids(&[&mid, &high, &lower]));
}

/// Found by this suite: a transfer refused as the lowest fee rate of a full pool had already
/// taken out, on its way, the pending transfer it replaced or the same sender's later nonces,
/// though a refusal must leave the pool as it was.
#[test]
fn a_refused_lowest_fee_transfer_leaves_the_full_pool_unchanged() {
    let state = Balances::of(1..=3, 50);
    let policy = MempoolPolicy {
        max_bytes: 3 * SIZE,
        ..MempoolPolicy::default()
    };
    // A held gap: nonce 1 waits for nonce 0.
    let mut pool = Mempool::new(policy.clone());
    let waiting = pay(1, 9, COIN, 5_000, 1);
    let others = [pay(2, 9, COIN, 2_000, 0), pay(3, 9, COIN, 3_000, 0)];
    for t in [&waiting, &others[0], &others[1]] {
        insert(&mut pool, &state, t).unwrap();
    }
    let before = pool_txids(&pool);
    let filler = pay(1, 9, COIN, 300, 0);
    assert_eq!(insert(&mut pool, &state, &filler), Err(MempoolError::Full));
    assert_eq!(pool_txids(&pool), before);
    assert_eq!(pool.bytes(), 3 * SIZE);
    // A replacement that pays more but, being larger, less per byte than anything else.
    let mut pool = Mempool::new(policy);
    let cheap = pay(1, 9, COIN, 1_000, 0);
    for t in [&cheap, &others[0], &others[1]] {
        insert(&mut pool, &state, t).unwrap();
    }
    let before = pool_txids(&pool);
    let bigger = pay_with_memo(1, COIN, 1_200, 0, 200);
    assert_eq!(insert(&mut pool, &state, &bigger), Err(MempoolError::Full));
    assert_eq!(pool_txids(&pool), before);
    assert_eq!(pool.bytes(), 3 * SIZE);
}

#[test]
fn evictions_through_the_ledger_leave_the_saved_copy_in_step() {
    let mut ledger = funded(MempoolPolicy {
        max_bytes: 2 * SIZE,
        ..MempoolPolicy::default()
    });
    let low = pay(1, 9, COIN, 500, 0);
    let mid = pay(2, 9, COIN, 2_000, 0);
    let high = pay(3, 9, COIN, 3_000, 0);
    submit(&mut ledger, &low).unwrap();
    submit(&mut ledger, &mid).unwrap();
    assert_eq!(
        submit(&mut ledger, &high).unwrap().evicted,
        vec![low.txid()]
    );
    assert_pending(&ledger, &[&mid, &high]);
    assert_eq!(
        submit(&mut ledger, &pay(4, 9, COIN, 400, 0)),
        Err(MempoolError::Full)
    );
    assert_pending(&ledger, &[&mid, &high]);
}

#[test]
fn transfers_expire_with_their_senders_later_nonces() {
    let mut ledger = funded(MempoolPolicy {
        expiry_secs: 100,
        ..MempoolPolicy::default()
    });
    let old = pay(1, 5, COIN, 1_000, 0);
    let newer = pay(1, 5, COIN, 1_000, 1);
    let other = pay(2, 5, COIN, 1_000, 0);
    submit_at(&mut ledger, &old, NOW).unwrap();
    submit_at(&mut ledger, &newer, NOW + 50).unwrap();
    submit_at(&mut ledger, &other, NOW + 50).unwrap();
    assert_eq!(ledger.expire_pending(NOW + 100).unwrap(), vec![]);
    assert_pending(&ledger, &[&old, &newer, &other]);
    // `newer` has not expired, but it can never be mined without `old`.
    let gone: BTreeSet<Txid> = ledger
        .expire_pending(NOW + 101)
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(gone, txids(&[&old, &newer]));
    assert_pending(&ledger, &[&other]);
    assert_eq!(
        ledger.expire_pending(NOW + 151).unwrap(),
        vec![other.txid()]
    );
    assert_pending(&ledger, &[]);
}

/// Key 1: nonce 0 pays little, nonce 1 much; key 2 pays in between; key 3 pays the most in
/// total but the least per byte (a long memo).
fn ranked() -> [Transfer; 4] {
    [
        pay(2, 9, COIN, 5_000, 0),
        pay(1, 9, COIN, 1_000, 0),
        pay(1, 9, COIN, 9_000, 1),
        pay_with_memo(3, COIN, 2_000, 0, 200),
    ]
}

#[test]
fn templates_go_by_fee_rate_each_sender_in_nonce_order() {
    let mut ledger = funded(MempoolPolicy::default());
    let ranked = ranked();
    for t in ranked.iter().rev() {
        submit(&mut ledger, t).unwrap();
    }
    assert_eq!(template(&ledger), ranked.to_vec());
    let block = mine(&mut ledger);
    assert_eq!(transfers_of(&block), ranked.to_vec());
    assert_pending(&ledger, &[]);
}

#[test]
fn templates_stay_within_the_block_size() {
    // Room for the header, the coinbase and exactly three memo-less transfers.
    let max_block_bytes = 88 + 9 + 37 + 3 * SIZE;
    let params = ChainParams {
        max_block_bytes,
        ..regtest()
    };
    let mut ledger = funded_with(params, MempoolPolicy::default());
    let ranked = ranked();
    for t in &ranked {
        submit(&mut ledger, t).unwrap();
    }
    let block = ledger.block_template(address(MINER), NOW).unwrap();
    assert!(block.encoded_len() <= max_block_bytes);
    assert_eq!(transfers_of(&block), ranked[..3].to_vec());
    mine(&mut ledger);
    assert_pending(&ledger, &[&ranked[3]]);
    // The pool on its own: a sender whose next transfer does not fit waits with all the rest.
    let state = Balances::of(1..=3, 50);
    let mut pool = Mempool::new(MempoolPolicy::default());
    for t in &ranked {
        insert(&mut pool, &state, t).unwrap();
    }
    assert_eq!(
        pool.select(2 * SIZE + SIZE / 2, &state).unwrap(),
        ranked[..2].to_vec()
    );
    assert_eq!(pool.select(SIZE - 1, &state).unwrap(), vec![]);
}

#[test]
fn pending_transfers_survive_a_restart() {
    let policy = MempoolPolicy::default();
    let mut ledger = funded(policy.clone());
    let ready = pay(1, 5, COIN, 1_000, 0);
    let held = pay(2, 5, COIN, 1_000, 1);
    let another = pay(3, 5, COIN, 2_000, 0);
    for t in [&ready, &held, &another] {
        submit(&mut ledger, t).unwrap();
    }
    let before = template(&ledger);
    let mut store = ledger.chain().store().clone();
    drop(ledger);
    // A saved transfer that is no longer valid (here: never was) is dropped on reopening.
    let mut forged = pay(4, 5, COIN, 1_000, 0);
    forged.amount = Amount(2 * COIN);
    store.put_pending(std::slice::from_ref(&forged)).unwrap();
    let reopened = Ledger::open(regtest(), store, policy, NOW + 1).unwrap();
    assert_pending(&reopened, &[&ready, &held, &another]);
    assert_eq!(template(&reopened), before);
    assert_eq!(reopened.chain().tip().height, Height(4));
}

#[test]
fn mined_transfers_leave_the_pool_and_conflicting_ones_go_with_them() {
    let mut ledger = funded(MempoolPolicy::default());
    let mined = pay(1, 5, COIN, 1_000, 0);
    let next = pay(1, 5, COIN, 1_000, 1);
    let conflicting = pay(2, 5, COIN, 1_000, 0);
    let untouched = pay(3, 5, COIN, 1_000, 0);
    for t in [&mined, &next, &conflicting, &untouched] {
        submit(&mut ledger, t).unwrap();
    }
    // A block from elsewhere with `mined` and another transfer of key 2 with nonce 0.
    let rival = pay(2, 6, 2 * COIN, 1_000, 0);
    let block = next_block(
        ledger.chain(),
        address(MINER),
        vec![mined.clone(), rival],
        NOW,
    );
    ledger.accept_block(block, NOW).unwrap();
    assert_pending(&ledger, &[&next, &untouched]);
    mine(&mut ledger);
    assert_pending(&ledger, &[]);
}

#[test]
fn a_reorg_returns_still_valid_transfers_and_drops_invalid_ones() {
    let mut ledger = funded(MempoolPolicy::default());
    let fork = *ledger.chain().tip();
    // Branch A: one block with transfers of keys 1 and 2.
    let back = pay(1, 5, 10 * COIN, 1_000, 0);
    let double_spent = pay(2, 5, 10 * COIN, 1_000, 0);
    submit(&mut ledger, &back).unwrap();
    submit(&mut ledger, &double_spent).unwrap();
    let a = mine(&mut ledger);
    assert_eq!(transfers_of(&a).len(), 2);
    // Pending on branch A: one still valid after the reorg, one replaced on branch B, and one
    // that spends coins only branch A gave.
    let survivor = pay(3, 6, COIN, 1_000, 0);
    let overtaken = pay(4, 6, COIN, 1_000, 0);
    let unfunded = pay(5, 6, COIN, 1_000, 0);
    for t in [&survivor, &overtaken, &unfunded] {
        submit(&mut ledger, t).unwrap();
    }
    // Branch B, two blocks on the fork point: key 2 and key 4 spend their nonce 0 elsewhere.
    let b1 = child_block(
        ledger.chain(),
        &fork,
        address(8),
        vec![pay(2, 7, COIN, 1_000, 0), pay(4, 7, COIN, 1_000, 0)],
        NOW,
    );
    let outcome = ledger.accept_block(b1.clone(), NOW).unwrap();
    assert!(
        outcome.events.is_empty(),
        "equal work: the first seen stays"
    );
    let b1_meta = ledger.chain().store().meta(&b1.hash()).unwrap().unwrap();
    let b2 = child_block(ledger.chain(), &b1_meta, address(8), vec![], NOW);
    let outcome = ledger.accept_block(b2.clone(), NOW).unwrap();
    let [ChainEvent::TipChanged(change)] = outcome.events.as_slice() else {
        panic!("one tip change expected: {:?}", outcome.events);
    };
    assert_eq!(change.disconnected.len(), 1);
    assert_eq!(ledger.chain().tip().hash, b2.hash());
    assert_pending(&ledger, &[&back, &survivor]);
    assert_eq!(template(&ledger).len(), 2);
    mine(&mut ledger);
    assert_pending(&ledger, &[]);
}

/// Found by this suite: transfers that a reorganisation brought back could fill the pool and
/// evict others, which left the pool but stayed in the store's saved copy, and so came back at
/// the next restart.
#[test]
fn evictions_by_transfers_a_reorg_returns_leave_the_saved_copy_too() {
    let policy = MempoolPolicy {
        max_bytes: 2 * SIZE,
        ..MempoolPolicy::default()
    };
    let mut ledger = funded(policy.clone());
    let fork = *ledger.chain().tip();
    let back = pay(1, 5, COIN, 5_000, 0);
    submit(&mut ledger, &back).unwrap();
    mine(&mut ledger);
    let low = pay(3, 6, COIN, 500, 0);
    let kept = pay(4, 6, COIN, 600, 0);
    submit(&mut ledger, &low).unwrap();
    submit(&mut ledger, &kept).unwrap();
    // Two empty blocks on the fork point take `back` off the chain; it outbids `low`.
    let b1 = child_block(ledger.chain(), &fork, address(8), vec![], NOW);
    ledger.accept_block(b1.clone(), NOW).unwrap();
    let b1_meta = ledger.chain().store().meta(&b1.hash()).unwrap().unwrap();
    let b2 = child_block(ledger.chain(), &b1_meta, address(8), vec![], NOW);
    ledger.accept_block(b2, NOW).unwrap();
    assert_pending(&ledger, &[&back, &kept]);
    let store = ledger.chain().store().clone();
    let reopened = Ledger::open(regtest(), store, policy, NOW).unwrap();
    assert_pending(&reopened, &[&back, &kept]);
}
