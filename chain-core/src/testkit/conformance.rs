//! The store conformance suite: what every [`Store`] must do, checked through the chain that
//! uses it. `chain-core` runs it against [`MemoryStore`], `chain-store` against SQLite.
//!
//! [`random_reorgs`] is the heart of it: three ledgers mine and exchange blocks at random
//! (seeded), so the store under test sees extensions, reorganisations, orphans and invalid
//! blocks, and after every step its state, indexes and supply are compared with a replay of its
//! best chain from genesis.

use super::{Rng, address, child_block, coins_issued_by, key, next_block, transfer};
use crate::address::Address;
use crate::chain::{AcceptStatus, Chain, ChainEvent};
use crate::error::{BlockError, Error, TxError};
use crate::hash::BlockHash;
use crate::ledger::Ledger;
use crate::mempool::MempoolPolicy;
use crate::params::ChainParams;
use crate::state::{Account, AccountRead, apply_block};
use crate::store::{
    BlockMeta, BlockStatus, ChainWrite, ConnectBlock, HistoryEntry, MemoryStore, Store, TxLocation,
};
use crate::units::{Amount, COIN, Height};

/// The clock the suite runs at (unix seconds).
pub const TIME: u64 = 1_800_000_000;

/// Keys of the users that send and receive in the random runs.
const USERS: u64 = 5;
/// Keys of the miners, one per ledger.
const MINER_BASE: u64 = 100;

/// Every address that can hold coins in the suite's chains.
pub fn known_addresses() -> Vec<Address> {
    (0..USERS)
        .chain(MINER_BASE..MINER_BASE + 3)
        .map(address)
        .collect()
}

/// What a random run went through, so tests can check it covered what it should.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Tip changes that disconnected blocks, on the node under test.
    pub reorgs: u64,
    /// Blocks disconnected by them.
    pub disconnected: u64,
    /// Transfers on the final best chain.
    pub transfers: u64,
    /// Invalid blocks caught.
    pub invalid: u64,
}

/// Runs the whole suite; `fresh` makes an empty store each time.
pub fn run_all<S: Store>(mut fresh: impl FnMut() -> S) {
    genesis_is_written_once(fresh());
    blocks_update_state_and_indexes(fresh());
    history_pages_newest_first(fresh());
    pending_transfers_round_trip(fresh());
    peers_and_bans_round_trip(fresh());
    invalid_blocks_are_marked_with_their_descendants(fresh());
    let mut total = RunStats::default();
    for seed in 0..4 {
        let (_, stats) = random_reorgs(fresh(), seed, 40);
        total.reorgs += stats.reorgs;
        total.transfers += stats.transfers;
        total.invalid += stats.invalid;
    }
    assert!(
        total.reorgs > 0 && total.transfers > 0 && total.invalid > 0,
        "{total:?}"
    );
}

/// The genesis block is written into an empty store and found again.
pub fn genesis_is_written_once<S: Store>(store: S) {
    let params = ChainParams::regtest();
    let chain = Chain::open(params.clone(), store).expect("open");
    let tip = *chain.tip();
    assert_eq!(tip.hash, params.genesis_hash());
    assert_eq!(tip.height, Height::GENESIS);
    assert_eq!(tip.status, BlockStatus::Valid);
    let store = chain.store();
    assert_eq!(store.hash_at(Height::GENESIS).unwrap(), Some(tip.hash));
    assert_eq!(store.hash_at(Height(1)).unwrap(), None);
    assert_eq!(
        store.block(&tip.hash).unwrap(),
        Some(params.genesis_block())
    );
    assert!(store.undo(&tip.hash).unwrap().is_some());
    assert_eq!(store.meta(&tip.hash).unwrap(), Some(tip));
}

/// Connecting blocks moves coins, records undo data, the txid index and history.
pub fn blocks_update_state_and_indexes<S: Store>(store: S) {
    let params = ChainParams::regtest();
    let net = params.network_id;
    let mut chain = Chain::open(params.clone(), store).expect("open");
    let miner = key(MINER_BASE);
    let b1 = next_block(&chain, miner.public_key().address(), vec![], TIME);
    chain.accept_block(b1, TIME).expect("block 1");
    let pay = transfer(&miner, address(1), 7 * COIN, 1_000, 0, net);
    let b2 = next_block(&chain, address(2), vec![pay.clone()], TIME + 1);
    let b2_hash = b2.hash();
    let outcome = chain.accept_block(b2, TIME + 1).expect("block 2");
    assert_eq!(outcome.status, AcceptStatus::Stored { height: Height(2) });
    let store = chain.store();
    let account = |a: &Address| store.account(a).unwrap();
    assert_eq!(
        account(&miner.public_key().address()),
        Account {
            balance: Amount(50 * COIN - 7 * COIN - 1_000),
            nonce: 1
        }
    );
    assert_eq!(
        account(&address(1)),
        Account {
            balance: Amount(7 * COIN),
            nonce: 0
        }
    );
    assert_eq!(
        account(&address(2)),
        Account {
            balance: Amount(50 * COIN + 1_000),
            nonce: 0
        }
    );
    assert_eq!(account(&address(3)), Account::default());
    assert_eq!(
        store.tx_location(&pay.txid()).unwrap(),
        Some(TxLocation {
            block: b2_hash,
            height: Height(2),
            index: 1
        })
    );
    let undo = store.undo(&b2_hash).unwrap().expect("undo stored");
    assert_eq!(undo.accounts.len(), 3, "sender, receiver, miner");
    assert_eq!(
        store.children(&chain.tip().header.prev_hash).unwrap(),
        vec![b2_hash]
    );
    let history = store.history(&address(1), None, 10).unwrap();
    assert_eq!(
        history,
        vec![HistoryEntry {
            txid: pay.txid(),
            height: Height(2),
            index: 1
        }]
    );
}

/// History comes newest first, in pages that continue from a cursor.
pub fn history_pages_newest_first<S: Store>(store: S) {
    let params = ChainParams::regtest();
    let mut chain = Chain::open(params, store).expect("open");
    let miner = address(MINER_BASE);
    for i in 0..7 {
        let block = next_block(&chain, miner, vec![], TIME + i);
        chain.accept_block(block, TIME + i).expect("block");
    }
    let store = chain.store();
    let all = store.history(&miner, None, 100).unwrap();
    let heights: Vec<u64> = all.iter().map(|e| e.height.0).collect();
    assert_eq!(heights, vec![7, 6, 5, 4, 3, 2, 1]);
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.history(&miner, cursor, 3).unwrap();
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(HistoryEntry::cursor);
        pages.extend(page);
    }
    assert_eq!(pages, all);
    assert!(store.history(&address(0), None, 10).unwrap().is_empty());
}

/// Pending transfers are saved, listed and removed by txid.
pub fn pending_transfers_round_trip<S: Store>(store: S) {
    let params = ChainParams::regtest();
    let net = params.network_id;
    let mut chain = Chain::open(params, store).expect("open");
    let a = transfer(&key(0), address(1), 5, 500, 0, net);
    let b = transfer(&key(1), address(0), 6, 500, 3, net);
    let store = chain.store_mut();
    store.put_pending(&[a.clone(), b.clone()]).unwrap();
    store.put_pending(std::slice::from_ref(&a)).unwrap();
    let mut pending = store.pending().unwrap();
    pending.sort_by_key(|t| t.txid());
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort_by_key(|t| t.txid());
    assert_eq!(pending, expected);
    store.remove_pending(&[a.txid()]).unwrap();
    assert_eq!(store.pending().unwrap(), vec![b]);
}

/// Known peers are replaced as a whole; bans are kept until they end, a later save of a target
/// replacing the earlier one, and lifted by a save after they end.
pub fn peers_and_bans_round_trip<S: Store>(mut store: S) {
    use crate::store::BanTarget;
    use std::net::SocketAddr;
    let peer = |port: u16| SocketAddr::from(([192, 0, 2, 1], port));
    store
        .put_known_peers(&[(peer(1), 10), (peer(2), 20)])
        .unwrap();
    store.put_known_peers(&[(peer(3), 30)]).unwrap();
    assert_eq!(store.known_peers().unwrap(), vec![(peer(3), 30)]);
    let far = BanTarget::of(SocketAddr::from(([198, 51, 100, 7], 7410)));
    let local = BanTarget::of(SocketAddr::from(([127, 0, 0, 1], 7411)));
    store.put_bans(&[(far, 1_000), (local, 2_000)], 0).unwrap();
    store.put_bans(&[(far, 1_500)], 0).unwrap();
    let mut bans = store.bans().unwrap();
    bans.sort_unstable();
    let mut expected = vec![(far, 1_500), (local, 2_000)];
    expected.sort_unstable();
    assert_eq!(bans, expected);
    store.put_bans(&[], 1_600).unwrap();
    assert_eq!(store.bans().unwrap(), vec![(local, 2_000)]);
}

/// A block that breaks a state rule is marked invalid with its descendants, and the chain stays
/// on (or returns to) the best valid chain.
pub fn invalid_blocks_are_marked_with_their_descendants<S: Store>(store: S) {
    let params = ChainParams::regtest();
    let net = params.network_id;
    let mut chain = Chain::open(params, store).expect("open");
    let miner = key(MINER_BASE);
    let b1 = next_block(&chain, miner.public_key().address(), vec![], TIME);
    chain.accept_block(b1, TIME).expect("block 1");
    let good_tip = *chain.tip();
    // Block 2a overspends: valid on its own, invalid against the state.
    let overspend = transfer(&miner, address(1), 51 * COIN, 1_000, 0, net);
    let bad = next_block(&chain, address(2), vec![overspend], TIME + 1);
    let bad_hash = bad.hash();
    let outcome = chain
        .accept_block(bad, TIME + 1)
        .expect("stored, then found invalid");
    assert!(outcome.events.iter().any(|e| matches!(
        e,
        ChainEvent::BlockInvalid { hash, error: BlockError::InvalidTransfer { index: 1, source: TxError::InsufficientBalance { .. } }, .. } if *hash == bad_hash
    )));
    assert_eq!(chain.tip().hash, good_tip.hash);
    assert_eq!(
        chain.store().meta(&bad_hash).unwrap().map(|m| m.status),
        Some(BlockStatus::Invalid)
    );
    // A child of the invalid block is refused.
    let bad_meta = chain.store().meta(&bad_hash).unwrap().expect("stored");
    let child = child_block(&chain, &bad_meta, address(2), vec![], TIME + 2);
    match chain.accept_block(child, TIME + 2) {
        Err(Error::Block(BlockError::InvalidParent { parent })) => assert_eq!(parent, bad_hash),
        other => panic!("expected InvalidParent, got {other:?}"),
    }
    assert!(
        chain
            .store()
            .heavier_than(good_tip.chain_work)
            .unwrap()
            .is_empty()
    );
    assert_eq!(chain.store().max_seq().unwrap(), 2);
}

/// Seeded random mining, syncing and invalid blocks across three ledgers, the first over the
/// store under test; checks every invariant after every step and rewinds to genesis at the end.
///
/// # Panics
///
/// When an invariant breaks; the message names the seed and step.
pub fn random_reorgs<S: Store>(store: S, seed: u64, steps: u64) -> (Ledger<S>, RunStats) {
    let mut stats = RunStats::default();
    let params = ChainParams::regtest();
    let net = params.network_id;
    let mut rng = Rng::new(seed);
    let policy = MempoolPolicy::default();
    let mut under_test = Ledger::open(params.clone(), store, policy.clone(), TIME).expect("open");
    let mut others: Vec<Ledger<MemoryStore>> = (0..2)
        .map(|_| {
            Ledger::open(params.clone(), MemoryStore::new(), policy.clone(), TIME).expect("open")
        })
        .collect();
    let senders: Vec<u64> = (0..USERS).chain(MINER_BASE..MINER_BASE + 3).collect();
    for step in 0..steps {
        let now = TIME + step * 10;
        let context = format!("seed {seed} step {step}");
        let action = rng.below(100);
        let node = rng.below(3) as usize;
        if action < 50 {
            let ledger_blocks = {
                let ledger: &mut dyn LedgerOps = if node == 0 {
                    &mut under_test
                } else {
                    &mut others[node - 1]
                };
                for _ in 0..=rng.below(4) {
                    let funded: Vec<(u64, Address, Account, u64)> = senders
                        .iter()
                        .map(|&n| {
                            let from = address(n);
                            let account = ledger.account(&from);
                            let free = account
                                .balance
                                .0
                                .saturating_sub(ledger.pending_spend(&from).0.0);
                            (n, from, account, free)
                        })
                        .filter(|(_, _, _, free)| *free >= 2 * COIN)
                        .collect();
                    if funded.is_empty() {
                        break;
                    }
                    let (n, from, account, free) = funded[rng.below(funded.len() as u64) as usize];
                    let nonce = ledger.next_nonce(&from, account);
                    let amount = 1 + rng.below(free / 2);
                    let to = address(rng.below(USERS));
                    let fee = 500 + rng.below(2_000);
                    let _ = ledger.submit(transfer(&key(n), to, amount, fee, nonce, net), now);
                }
                let miner = address(MINER_BASE + node as u64);
                (0..=rng.below(3)).try_for_each(|i| ledger.mine(miner, now + i).map(|_| ()))
            };
            if node == 0 {
                assert!(
                    ledger_blocks.is_ok(),
                    "{context}: own block refused: {ledger_blocks:?}"
                );
            }
        } else if action < 80 {
            let from = rng.below(3) as usize;
            let to = (from + 1 + rng.below(2) as usize) % 3;
            let blocks = if from == 0 {
                main_chain(under_test.chain())
            } else {
                main_chain(others[from - 1].chain())
            };
            for block in blocks {
                let result = if to == 0 {
                    under_test
                        .accept_block(block, now)
                        .map(|outcome| stats.count(&outcome.events))
                } else {
                    others[to - 1].accept_block(block, now).map(|_| ())
                };
                assert!(
                    result.is_ok(),
                    "{context}: sync refused a valid block: {result:?}"
                );
            }
        } else if action < 90 {
            // An overspending block on the tested node's tip: stored, found invalid, tip kept.
            let before = under_test.chain().tip().hash;
            let miner = key(MINER_BASE);
            let account = under_test
                .chain()
                .account(&miner.public_key().address())
                .expect("account");
            let overspend = transfer(
                &miner,
                address(0),
                account.balance.0 + 1,
                500,
                account.nonce,
                net,
            );
            let block = next_block(under_test.chain(), address(1), vec![overspend], now);
            let outcome = under_test
                .accept_block(block, now)
                .expect("accepted for checking");
            stats.count(&outcome.events);
            assert!(
                outcome
                    .events
                    .iter()
                    .any(|e| matches!(e, ChainEvent::BlockInvalid { .. })),
                "{context}: overspend not caught"
            );
            assert_eq!(under_test.chain().tip().hash, before, "{context}");
        } else {
            // The last blocks of another node, newest first: orphans until the parent arrives.
            let source = &others[rng.below(2) as usize];
            let mut blocks = main_chain(source.chain());
            let tail = blocks.split_off(blocks.len().saturating_sub(3));
            for block in blocks {
                stats.count(&under_test.accept_block(block, now).expect("prefix").events);
            }
            for block in tail.into_iter().rev() {
                stats.count(
                    &under_test
                        .accept_block(block, now)
                        .expect("tail in reverse")
                        .events,
                );
            }
            assert_eq!(
                under_test.chain().orphan_count(),
                0,
                "{context}: orphans left waiting"
            );
        }
        check_invariants(under_test.chain(), &context);
    }
    stats.transfers = main_chain(under_test.chain())
        .iter()
        .map(|b| b.txs.len() as u64 - 1)
        .sum();
    let mut ledger = under_test;
    ledger
        .chain_mut()
        .rewind_to(Height::GENESIS)
        .expect("rewind");
    let store = ledger.chain().store();
    for address in known_addresses() {
        assert_eq!(
            store.account(&address).unwrap(),
            Account::default(),
            "seed {seed}: rewound state"
        );
        assert!(
            store.history(&address, None, 1).unwrap().is_empty(),
            "seed {seed}: rewound history"
        );
    }
    assert_eq!(store.tip().unwrap(), Some(params.genesis_hash()));
    (ledger, stats)
}

impl RunStats {
    fn count(&mut self, events: &[ChainEvent]) {
        for event in events {
            match event {
                ChainEvent::TipChanged(change) if change.is_reorg() => {
                    self.reorgs += 1;
                    self.disconnected += change.disconnected.len() as u64;
                }
                ChainEvent::BlockInvalid { .. } => self.invalid += 1,
                ChainEvent::TipChanged(_) => {}
            }
        }
    }
}

/// The blocks of the best chain after genesis, lowest first.
pub fn main_chain<S: Store>(chain: &Chain<S>) -> Vec<crate::block::Block> {
    let store = chain.store();
    (1..=chain.tip().height.0)
        .map(|h| {
            let hash = store
                .hash_at(Height(h))
                .unwrap()
                .expect("main chain is contiguous");
            store
                .block(&hash)
                .unwrap()
                .expect("main chain blocks are stored")
        })
        .collect()
}

/// Checks the tip's state against a replay of the best chain from genesis, the supply against
/// the coinbases and fees, and the txid and history indexes against the blocks: complete up to
/// the store's [`IndexRead::indexed_height`](crate::store::IndexRead::indexed_height), empty
/// above it.
///
/// # Panics
///
/// When any of them disagree; the message starts with `context`.
pub fn check_invariants<S: Store>(chain: &Chain<S>, context: &str) {
    let params = chain.params().clone();
    let store = chain.store();
    let mut replay = Chain::open(params.clone(), MemoryStore::new()).expect("open replay");
    let mut supply: u64 = 0;
    let mut expected_history: std::collections::BTreeMap<Address, Vec<HistoryEntry>> =
        std::collections::BTreeMap::new();
    let mut parent = *replay.tip();
    let indexed = store.indexed_height().unwrap();
    assert!(
        indexed.is_some_and(|h| h <= chain.tip().height),
        "{context}: indexed height {indexed:?} (genesis is always indexed)"
    );
    for (offset, block) in main_chain(chain).into_iter().enumerate() {
        let height = Height(offset as u64 + 1);
        let hash = block.hash();
        let effects = apply_block(&params, height, &block, replay.store())
            .unwrap_or_else(|e| panic!("{context}: best-chain block {hash} does not replay: {e}"));
        let is_indexed = indexed.is_some_and(|h| height <= h);
        for (index, tx) in block.txs.iter().enumerate() {
            let txid = tx.txid();
            let location = TxLocation {
                block: hash,
                height,
                index: index as u32,
            };
            assert_eq!(
                store.tx_location(&txid).unwrap(),
                is_indexed.then_some(location),
                "{context}: txid index"
            );
            let entries = if is_indexed {
                crate::store::touched_addresses(tx)
            } else {
                Vec::new()
            };
            for address in entries {
                expected_history
                    .entry(address)
                    .or_default()
                    .push(HistoryEntry {
                        txid,
                        height,
                        index: index as u32,
                    });
            }
        }
        supply += coins_issued_by(&block);
        let meta = BlockMeta {
            hash,
            header: block.header,
            height,
            chain_work: parent.chain_work,
            status: BlockStatus::Stored,
            seq: parent.seq + 1,
        };
        replay
            .store_mut()
            .connect(ConnectBlock {
                meta: &meta,
                block: &block,
                accounts: &effects.accounts,
                undo: &effects.undo,
            })
            .expect("replay connect");
        parent = meta;
    }
    let mut total: u64 = 0;
    for address in known_addresses() {
        let got = store.account(&address).unwrap();
        assert_eq!(
            got,
            replay.store().account(&address).unwrap(),
            "{context}: state of {address}"
        );
        total += got.balance.0;
        let mut history = store.history(&address, None, usize::MAX).unwrap();
        history.reverse();
        assert_eq!(
            history,
            expected_history.remove(&address).unwrap_or_default(),
            "{context}: history"
        );
    }
    assert_eq!(
        total, supply,
        "{context}: balances must add up to the coins issued"
    );
}

/// What the random run needs from a ledger, whatever its store.
trait LedgerOps {
    fn account(&self, address: &Address) -> Account;
    fn pending_spend(&self, address: &Address) -> (Amount, Amount);
    fn next_nonce(&self, address: &Address, account: Account) -> u64;
    fn submit(&mut self, transfer: crate::tx::Transfer, now: u64) -> Result<(), Error>;
    fn mine(&mut self, miner: Address, now: u64) -> Result<BlockHash, Error>;
}

impl<S: Store> LedgerOps for Ledger<S> {
    fn account(&self, address: &Address) -> Account {
        self.chain().account(address).expect("account")
    }
    fn pending_spend(&self, address: &Address) -> (Amount, Amount) {
        self.mempool().pending_flows(address)
    }
    fn next_nonce(&self, address: &Address, account: Account) -> u64 {
        self.mempool().next_nonce(address, account)
    }
    fn submit(&mut self, transfer: crate::tx::Transfer, now: u64) -> Result<(), Error> {
        self.submit_transfer(transfer, now).map(|_| ())
    }
    fn mine(&mut self, miner: Address, now: u64) -> Result<BlockHash, Error> {
        let mut block = self.block_template(miner, now)?;
        super::seal(&mut block);
        let hash = block.hash();
        self.accept_block(block, now)?;
        Ok(hash)
    }
}
