//! What a node finds after a restart: the same tip, state, indexes and pending transfers.

use chain_core::ledger::Ledger;
use chain_core::mempool::MempoolPolicy;
use chain_core::params::ChainParams;
use chain_core::state::AccountRead;
use chain_core::store::{ChainRead, HistoryCursor, IndexRead, PendingRead};
use chain_core::testkit::{address, conformance, key, next_block, transfer};
use chain_core::units::{COIN, Height};
use chain_store::SqliteStore;

#[test]
fn reopening_keeps_tip_state_and_pending_transfers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    let params = ChainParams::regtest();
    let net = params.network_id;
    let now = conformance::TIME;
    let policy = MempoolPolicy::default();
    let miner = key(100);
    let (tip, pending_txid, accounts) = {
        let store = SqliteStore::open(&path, &params).unwrap();
        let mut ledger = Ledger::open(params.clone(), store, policy.clone(), now).unwrap();
        for i in 0..3 {
            let block = next_block(
                ledger.chain(),
                miner.public_key().address(),
                vec![],
                now + i,
            );
            ledger.accept_block(block, now + i).unwrap();
        }
        let mined = transfer(&miner, address(1), 2 * COIN, 1_000, 0, net);
        let block = next_block(ledger.chain(), address(2), vec![mined], now + 3);
        ledger.accept_block(block, now + 3).unwrap();
        let waiting = transfer(&miner, address(3), COIN, 1_000, 1, net);
        let pending_txid = ledger.submit_transfer(waiting, now + 4).unwrap().txid;
        let accounts: Vec<_> = conformance::known_addresses()
            .iter()
            .map(|a| ledger.chain().account(a).unwrap())
            .collect();
        (*ledger.chain().tip(), pending_txid, accounts)
    };
    let store = SqliteStore::open(&path, &params).unwrap();
    let ledger = Ledger::open(params, store, policy, now + 5).unwrap();
    assert_eq!(*ledger.chain().tip(), tip);
    assert_eq!(tip.height, Height(4));
    let store = ledger.chain().store();
    let reread: Vec<_> = conformance::known_addresses()
        .iter()
        .map(|a| store.account(a).unwrap())
        .collect();
    assert_eq!(reread, accounts);
    assert!(ledger.mempool().get(&pending_txid).is_some());
    assert_eq!(store.pending().unwrap().len(), 1);
    conformance::check_invariants(ledger.chain(), "after reopening");
}

#[test]
fn a_cursor_beyond_any_height_starts_from_the_newest_entry() {
    let params = ChainParams::regtest();
    let store = SqliteStore::open_in_memory(&params).unwrap();
    let mut chain = chain_core::chain::Chain::open(params, store).unwrap();
    let miner = address(100);
    for i in 0..3 {
        let block = next_block(&chain, miner, vec![], conformance::TIME + i);
        chain.accept_block(block, conformance::TIME + i).unwrap();
    }
    let store = chain.store();
    let far = HistoryCursor {
        height: Height(u64::MAX),
        index: u32::MAX,
    };
    assert_eq!(
        store.history(&miner, Some(far), 10).unwrap(),
        store.history(&miner, None, 10).unwrap()
    );
    assert_eq!(store.history(&miner, None, 0).unwrap(), vec![]);
    assert_eq!(store.hash_at(Height(u64::MAX)).unwrap(), None);
}
