//! The cache of verified transfer signatures: a transfer the mempool verified is not verified
//! again in its block, a cached transfer never lends its proof to another one, and a
//! reorganisation puts the transfers it returns to the mempool back in the cache.

use chain_core::chain::{AcceptStatus, ChainEvent};
use chain_core::error::{BlockError, Error, TxError};
use chain_core::ledger::Ledger;
use chain_core::mempool::MempoolPolicy;
use chain_core::params::{ChainParams, NetworkId};
use chain_core::sigcache::{SignatureCache, SignatureStats};
use chain_core::store::{ChainRead, MemoryStore};
use chain_core::testkit::conformance::TIME;
use chain_core::testkit::{address, child_block, key, next_block, transfer};
use chain_core::tx::{Transaction, Transfer};
use chain_core::units::Amount;
use chain_core::validate::verify_block_signatures;
use std::sync::Arc;

const NOW: u64 = TIME + 10_000;

/// A regtest ledger where key 1 holds a block's subsidy, with a signature cache of `entries`.
fn funded(entries: usize) -> Ledger<MemoryStore> {
    let params = ChainParams::regtest();
    let cache = Arc::new(SignatureCache::new(params.network_id, entries));
    let mut ledger = Ledger::open_with_cache(
        params,
        MemoryStore::new(),
        MempoolPolicy::default(),
        NOW,
        cache,
    )
    .unwrap();
    let block = next_block(ledger.chain(), address(1), vec![], TIME + 1);
    ledger.accept_block(block, NOW).unwrap();
    ledger
}

fn pay(nonce: u64) -> Transfer {
    let network = ChainParams::regtest().network_id;
    transfer(&key(1), address(2), 1_000, 1_000, nonce, network)
}

fn stats(ledger: &Ledger<MemoryStore>) -> SignatureStats {
    ledger.chain().signature_cache().stats()
}

#[test]
fn a_transfer_the_mempool_verified_is_not_verified_again_in_its_block() {
    let mut ledger = funded(1_000);
    let sent = pay(0);
    ledger.submit_transfer(sent.clone(), NOW).unwrap();
    assert_eq!(stats(&ledger).verified, 1, "the mempool verifies it once");
    assert!(ledger.chain().signature_cache().contains(&sent.txid()));

    let block = next_block(ledger.chain(), address(3), vec![sent.clone()], TIME + 2);
    let outcome = ledger.accept_block(block, NOW).unwrap();
    assert!(matches!(outcome.status, AcceptStatus::Stored { .. }));
    assert_eq!(
        stats(&ledger),
        SignatureStats {
            verified: 1,
            skipped: 1
        },
        "the block check found it in the cache"
    );
    assert!(
        !ledger.chain().signature_cache().contains(&sent.txid()),
        "a mined transfer leaves the cache"
    );
    assert!(ledger.mempool().get(&sent.txid()).is_none());
}

#[test]
fn without_a_cache_every_signature_is_verified_each_time() {
    let mut ledger = funded(0);
    let sent = pay(0);
    ledger.submit_transfer(sent.clone(), NOW).unwrap();
    let block = next_block(ledger.chain(), address(3), vec![sent], TIME + 2);
    ledger.accept_block(block, NOW).unwrap();
    assert_eq!(
        stats(&ledger),
        SignatureStats {
            verified: 2,
            skipped: 0
        }
    );
}

#[test]
fn a_cached_transfer_lends_nothing_to_a_forged_variant() {
    let mut ledger = funded(1_000);
    let genuine = pay(0);
    ledger.submit_transfer(genuine.clone(), NOW).unwrap();
    // The same transfer with a larger amount and the genuine signature: another txid.
    let mut forged = genuine.clone();
    forged.amount = Amount(2_000);
    let tip = *ledger.chain().tip();
    let block = next_block(ledger.chain(), address(3), vec![forged], TIME + 2);
    match ledger.accept_block(block, NOW) {
        Err(Error::Block(BlockError::InvalidTransfer {
            index: 1,
            source: TxError::Signature(_),
        })) => {}
        other => panic!("a forged signature must be refused, got {other:?}"),
    }
    assert_eq!(*ledger.chain().tip(), tip, "nothing changed");
    assert!(ledger.chain().signature_cache().contains(&genuine.txid()));
}

#[test]
fn a_reorganisation_puts_returned_transfers_back_in_the_cache() {
    let mut ledger = funded(1_000);
    let sent = pay(0);
    ledger.submit_transfer(sent.clone(), NOW).unwrap();
    let fork = *ledger.chain().tip();
    let mined = next_block(ledger.chain(), address(3), vec![sent.clone()], TIME + 2);
    ledger.accept_block(mined, NOW).unwrap();
    assert!(!ledger.chain().signature_cache().contains(&sent.txid()));

    // A heavier branch without the transfer, from the block before it.
    let first = child_block(ledger.chain(), &fork, address(4), vec![], TIME + 3);
    ledger.accept_block(first.clone(), NOW).unwrap();
    let first_meta = ledger
        .chain()
        .store()
        .meta(&first.hash())
        .unwrap()
        .expect("stored");
    let second = child_block(ledger.chain(), &first_meta, address(4), vec![], TIME + 4);
    let outcome = ledger.accept_block(second, NOW).unwrap();
    assert!(
        outcome
            .events
            .iter()
            .any(|e| matches!(e, ChainEvent::TipChanged(c) if !c.disconnected.is_empty())),
        "the branch without the transfer took over"
    );
    assert!(ledger.mempool().get(&sent.txid()).is_some());
    assert!(ledger.chain().signature_cache().contains(&sent.txid()));

    // Mined again on the new branch, it is not verified again.
    let before = stats(&ledger);
    let again = next_block(ledger.chain(), address(3), vec![sent.clone()], TIME + 5);
    ledger.accept_block(again, NOW).unwrap();
    assert_eq!(stats(&ledger).verified, before.verified);
    assert_eq!(stats(&ledger).skipped, before.skipped + 1);
}

#[test]
fn a_cache_of_another_network_is_not_consulted() {
    let other = NetworkId(*b"othr");
    let signed_elsewhere = transfer(&key(1), address(2), 1_000, 1_000, 0, other);
    let cache = SignatureCache::new(other, 10);
    cache.remember(signed_elsewhere.txid());
    let txs = [Transaction::Transfer(signed_elsewhere)];
    let regtest = ChainParams::regtest().network_id;
    assert!(
        verify_block_signatures(regtest, &txs, 1, Some(&cache)).is_err(),
        "a signature for another network does not verify here, cache or not"
    );
    assert!(verify_block_signatures(other, &txs, 1, Some(&cache)).is_ok());
}
