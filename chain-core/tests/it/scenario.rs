//! Scripted fork scenarios: which branch wins, and what happens to the losing branch's transfers.

use chain_core::chain::ChainEvent;
use chain_core::prelude::*;
use chain_core::store::PendingRead;
use chain_core::testkit::{address, child_block, conformance::TIME, key, next_block, transfer};

fn ledger() -> Ledger<MemoryStore> {
    Ledger::open(
        ChainParams::regtest(),
        MemoryStore::new(),
        MempoolPolicy::default(),
        TIME,
    )
    .expect("a fresh ledger opens")
}

/// Two branches from a common block: the lighter one arrives first and carries two transfers;
/// the heavier one arrives later and wins. The transfer still valid on the winning chain goes
/// back to the mempool; the one that spent coins only the losing branch created does not.
#[test]
fn the_heavier_branch_wins_and_still_valid_transfers_return_to_the_mempool() {
    let net = ChainParams::regtest().network_id;
    let mut node = ledger();
    let miner = key(100);
    // Common prefix: block 1 pays `miner`.
    let b1 = next_block(node.chain(), miner.public_key().address(), vec![], TIME);
    node.accept_block(b1, TIME).unwrap();
    let fork = *node.chain().tip();

    // Branch A (lighter, 2 blocks): a2 pays user 7 and carries `still_valid` (miner → user 1);
    // a3 carries `depends_on_a` (user 7 spends a2's coinbase, which branch B never creates).
    let still_valid = transfer(&miner, address(1), 3 * COIN, 1_000, 0, net);
    let a2 = child_block(
        node.chain(),
        &fork,
        address(7),
        vec![still_valid.clone()],
        TIME + 1,
    );
    node.accept_block(a2, TIME + 1).unwrap();
    let depends_on_a = transfer(&key(7), address(2), COIN, 1_000, 0, net);
    let a3 = next_block(
        node.chain(),
        address(8),
        vec![depends_on_a.clone()],
        TIME + 2,
    );
    node.accept_block(a3, TIME + 2).unwrap();
    let a_tip = *node.chain().tip();
    assert_eq!(a_tip.height, Height(3));
    assert_eq!(
        node.chain().account(&address(1)).unwrap().balance,
        Amount(3 * COIN)
    );

    // Branch B (heavier, 3 blocks) from the fork, built on a second node that never saw A.
    let mut other = ledger();
    other
        .accept_block(
            node.chain().store().block(&fork.hash).unwrap().unwrap(),
            TIME,
        )
        .unwrap();
    let mut branch_b = Vec::new();
    for i in 0..3 {
        let block = next_block(other.chain(), address(9), vec![], TIME + 10 + i);
        other.accept_block(block.clone(), TIME + 10 + i).unwrap();
        branch_b.push(block);
    }

    // B's first two blocks tie A at best: the first seen (A) stays.
    for block in &branch_b[..2] {
        let outcome = node.accept_block(block.clone(), TIME + 20).unwrap();
        assert!(outcome.events.is_empty(), "no switch on a tie or less work");
    }
    assert_eq!(node.chain().tip().hash, a_tip.hash);

    // B's third block makes B heavier: reorganisation.
    let outcome = node.accept_block(branch_b[2].clone(), TIME + 20).unwrap();
    let [ChainEvent::TipChanged(change)] = outcome.events.as_slice() else {
        panic!("expected one tip change, got {:?}", outcome.events);
    };
    assert_eq!(change.disconnected.len(), 2);
    assert_eq!(change.connected.len(), 3);
    assert_eq!(node.chain().tip().hash, branch_b[2].hash());
    assert_eq!(node.chain().tip().height, Height(4));

    // State is branch B's: user 1 has nothing confirmed, user 7 never got its coinbase.
    assert_eq!(
        node.chain().account(&address(1)).unwrap(),
        Account::default()
    );
    assert_eq!(
        node.chain().account(&address(7)).unwrap(),
        Account::default()
    );

    // The mempool holds the transfer that is still valid, not the one that is not.
    assert!(node.mempool().get(&still_valid.txid()).is_some());
    assert!(node.mempool().get(&depends_on_a.txid()).is_none());
    assert_eq!(node.mempool().len(), 1);
    // ...and it is saved, so it survives a restart.
    assert_eq!(
        node.chain().store().pending().unwrap(),
        vec![still_valid.clone()]
    );

    // The next block mined on B includes it again.
    let template = node.block_template(address(9), TIME + 30).unwrap();
    assert!(
        template
            .txs
            .iter()
            .any(|tx| tx.txid() == still_valid.txid())
    );
}
