//! Attacks on consensus and peer policy, one test each: an attacker peer (id 1) and an honest
//! peer (id 2) against one node, through the protocol's public API on an in-memory store. Each
//! checks the attack does not work and that only the attacker pays for it. (The timestamp
//! attack is in `timestamps.rs`.)

use chain_core::chain::Arrival;
use chain_core::prelude::*;
use chain_core::protocol::message::MAX_HEADERS;
use chain_core::protocol::{
    BAN_SCORE, Direction, HEADER_WORK_HEADROOM, Inventory, Io, MARK_SPACING, Message, PeerId,
    Penalty, Protocol, ProtocolConfig,
};
use chain_core::testkit::conformance::TIME;
use chain_core::testkit::served::{ServedChain, Serves};
use chain_core::testkit::{address, child_block, key, next_block, seal, transfer};
use chain_core::tx::Transaction;
use std::net::SocketAddr;

const ATTACKER: PeerId = 1;
const HONEST: PeerId = 2;
const NOW: u64 = TIME + 100_000;

fn node_on(ledger: Ledger<MemoryStore>) -> Protocol<MemoryStore> {
    let mut node = Protocol::new(ledger, ProtocolConfig::default(), 7);
    let version = ServedChain::new(0).version(0);
    for peer in [ATTACKER, HONEST] {
        let addr: SocketAddr = format!("10.0.0.{peer}:7510").parse().unwrap();
        node.connected(peer, addr, Direction::Outbound, NOW);
        let mut version = version.clone();
        version.nonce = 1_000 + peer;
        node.received(peer, Message::Version(version), NOW).unwrap();
        node.received(peer, Message::Verack, NOW).unwrap();
    }
    node.drain_io();
    node
}

/// A regtest ledger whose blocks paid keys `0..funded` one block each.
fn funded_ledger(funded: u64) -> Ledger<MemoryStore> {
    let mut ledger = Ledger::open(
        ChainParams::regtest(),
        MemoryStore::new(),
        MempoolPolicy::default(),
        NOW,
    )
    .unwrap();
    for i in 0..funded {
        let block = next_block(ledger.chain(), address(i), vec![], TIME + i);
        ledger.accept_block(block, NOW).unwrap();
    }
    ledger
}

/// The score of `peer`, or `None` once it is disconnected.
fn score(node: &Protocol<MemoryStore>, peer: PeerId) -> Option<u32> {
    node.peers().iter().find(|p| p.id == peer).map(|p| p.score)
}

/// Whether the node sent `peer` a `getdata` for any block.
fn asked_blocks_of(io: &[Io], peer: PeerId) -> usize {
    io.iter()
        .filter_map(|io| match io {
            Io::Send(p, Message::GetData(items)) if *p == peer => Some(
                items
                    .iter()
                    .filter(|i| matches!(i, Inventory::Block(_)))
                    .count(),
            ),
            _ => None,
        })
        .sum()
}

/// Answers every `getdata` the node sends `peer` from `blocks`, until it asks for nothing more;
/// how many blocks it asked for.
fn serve_blocks(node: &mut Protocol<MemoryStore>, peer: PeerId, blocks: &[Block]) -> usize {
    let served =
        ServedChain::from_blocks(ChainParams::regtest(), blocks.to_vec(), Default::default());
    let mut asked = 0;
    for _ in 0..1_000 {
        let io = node.drain_io();
        let requests: Vec<Message> = io
            .into_iter()
            .filter_map(|io| match io {
                Io::Send(p, m @ Message::GetData(_)) if p == peer => Some(m),
                _ => None,
            })
            .collect();
        if requests.is_empty() {
            return asked;
        }
        for message in requests {
            asked += asked_blocks_of(&[Io::Send(peer, message.clone())], peer);
            for answer in served.answer(&message, Serves::Blocks) {
                node.received(peer, answer, NOW).unwrap();
            }
        }
    }
    panic!("still asking after 1,000 rounds");
}

/// Attack 1: the attacker sends a state-invalid child C (coinbase one unit too large) of a
/// valid block A that it has not published. When the honest peer relays A, connecting A lets C
/// in, and C's fault was charged to the honest peer.
#[test]
fn an_invalid_orphan_is_charged_to_its_sender_not_to_the_relayer_of_its_parent() {
    let mut node = node_on(funded_ledger(0));
    let mut scratch = Chain::open(ChainParams::regtest(), MemoryStore::new()).unwrap();
    let a = next_block(&scratch, address(50), vec![], TIME + 1);
    scratch.accept_block(a.clone(), NOW).unwrap();
    let mut c = next_block(&scratch, address(51), vec![], TIME + 2);
    let Transaction::Coinbase(coinbase) = &mut c.txs[0] else {
        unreachable!("a block starts with its coinbase")
    };
    coinbase.amount.0 += 1;
    seal(&mut c);

    node.received(ATTACKER, Message::Block(c.clone()), NOW)
        .unwrap();
    assert!(node.ledger().chain().is_orphan(&c.hash()));
    // The honest peer announces A and serves it when asked, as headers first goes.
    node.received(HONEST, Message::Inv(vec![Inventory::Block(a.hash())]), NOW)
        .unwrap();
    node.received(HONEST, Message::Headers(vec![a.header]), NOW)
        .unwrap();
    assert_eq!(asked_blocks_of(&node.drain_io(), HONEST), 1);
    node.received(HONEST, Message::Block(a.clone()), NOW)
        .unwrap();

    assert_eq!(node.ledger().chain().tip().hash, a.hash());
    assert_eq!(
        score(&node, HONEST),
        Some(0),
        "the honest relayer is not charged"
    );
    assert_eq!(score(&node, ATTACKER), None, "the attacker is banned");
    assert!(node.drain_io().iter().any(|io| matches!(
        io,
        Io::Disconnect(
            ATTACKER,
            chain_core::protocol::DisconnectReason::Banned(Penalty::InvalidBlock)
        )
    )));
}

/// Attack 2: the attacker sends one variant of a transfer to the node and another (same sender
/// and nonce, a fee under the replacement step) to the honest peer, which relays it. Each such
/// pair cost the honest peer 5 points: banned after 20 pairs.
#[test]
fn fee_races_cost_the_honest_relayer_nothing() {
    let pairs = 30;
    let mut node = node_on(funded_ledger(pairs));
    let network = ChainParams::regtest().network_id;
    for i in 0..pairs {
        let first = transfer(&key(i), address(90), COIN, 1_000, 0, network);
        let second = transfer(&key(i), address(91), COIN, 1_050, 0, network);
        node.received(ATTACKER, Message::Transfer(first), NOW)
            .unwrap();
        let item = Inventory::Transfer(second.txid());
        node.received(HONEST, Message::Inv(vec![item]), NOW)
            .unwrap();
        assert!(node.drain_io().iter().any(
            |io| matches!(io, Io::Send(HONEST, Message::GetData(items)) if items == &vec![item])
        ));
        node.received(HONEST, Message::Transfer(second), NOW)
            .unwrap();
    }
    assert_eq!(node.ledger().mempool().len(), pairs as usize);
    assert_eq!(score(&node, HONEST), Some(0));
    assert_eq!(
        score(&node, ATTACKER),
        Some(0),
        "a race is no fault of either"
    );
}

/// Attack 6: the same pending transfer sent 2,000 times cost 2,000 signature checks and no
/// penalty. Now a duplicate is found before any signature check, and one sent unasked is
/// charged: the attacker is banned within `BAN_SCORE / 10` repeats, the signature was checked
/// once, and an honest peer answering a request with a transfer the node has is not charged.
#[test]
fn repeated_duplicates_cost_no_signature_check_and_get_the_sender_banned() {
    let mut node = node_on(funded_ledger(1));
    let network = ChainParams::regtest().network_id;
    let pending = transfer(&key(0), address(90), COIN, 1_000, 0, network);
    let before = node.ledger().chain().signature_cache().stats().verified;
    // The honest peer announces it first and is asked for it; the attacker races it in.
    let item = Inventory::Transfer(pending.txid());
    node.received(HONEST, Message::Inv(vec![item]), NOW)
        .unwrap();
    for _ in 0..2_000 {
        if score(&node, ATTACKER).is_none() {
            break;
        }
        node.received(ATTACKER, Message::Transfer(pending.clone()), NOW)
            .unwrap();
    }
    node.received(HONEST, Message::Transfer(pending.clone()), NOW)
        .unwrap();
    let verified = node.ledger().chain().signature_cache().stats().verified - before;
    assert_eq!(verified, 1, "one signature check for one transfer");
    assert_eq!(score(&node, ATTACKER), None, "banned");
    let repeats = BAN_SCORE / Penalty::UnrequestedDuplicate.score();
    let penalties = node
        .drain_io()
        .iter()
        .filter(|io| {
            matches!(
                io,
                Io::Event(chain_core::protocol::NodeEvent::PeerPenalised {
                    peer: ATTACKER,
                    penalty: Penalty::UnrequestedDuplicate,
                    ..
                })
            )
        })
        .count();
    assert_eq!(penalties as u32, repeats);
    assert_eq!(score(&node, HONEST), Some(0), "it was asked for it");
}

/// Attack 4: a private branch forked at genesis with less work than the tip was downloaded and
/// stored block by block. Now its headers cost memory only: no block of it is asked for, none
/// pushed unasked is stored, and once the branch has more work it is fetched and wins.
#[test]
fn a_branch_that_cannot_beat_the_tip_is_neither_downloaded_nor_stored() {
    let mut node = synced_node(40);
    assert_eq!(node.ledger().chain().tip().height, Height(40));

    // The attacker's branch: 45 blocks from genesis, of which it shows the first 30 first.
    let branch = private_branch(45, TIME + 50_000);
    node.received(ATTACKER, headers_of(&branch[0..30]), NOW)
        .unwrap();
    assert_eq!(
        asked_blocks_of(&node.drain_io(), ATTACKER),
        0,
        "not downloaded"
    );
    for block in &branch[..30] {
        node.received(ATTACKER, Message::Block(block.clone()), NOW)
            .unwrap();
    }
    let store = node.ledger().chain().store();
    assert!(
        branch[..30]
            .iter()
            .all(|b| store.meta(&b.hash()).unwrap().is_none()
                && !node.ledger().chain().is_orphan(&b.hash())),
        "not stored, not kept as orphans"
    );
    assert_eq!(
        score(&node, ATTACKER),
        Some(0),
        "a weaker branch is no fault"
    );

    // With more work than the tip, it is what the node must follow: fetched, stored, the tip.
    node.received(ATTACKER, headers_of(&branch[30..45]), NOW)
        .unwrap();
    assert_eq!(serve_blocks(&mut node, ATTACKER, &branch), 45);
    assert_eq!(node.ledger().chain().tip().hash, branch[44].hash());
}

/// A `headers` message of `blocks`' headers.
fn headers_of(blocks: &[Block]) -> Message {
    Message::Headers(blocks.iter().map(|b| b.header).collect())
}

/// A private branch of `count` empty regtest blocks from genesis, stamped from `time`.
fn private_branch(count: u64, time: u64) -> Vec<Block> {
    let mut private = Chain::open(ChainParams::regtest(), MemoryStore::new()).unwrap();
    (0..count)
        .map(|i| {
            let block = next_block(&private, address(66), vec![], time + i);
            private.accept_block(block.clone(), NOW).unwrap();
            block
        })
        .collect()
}

/// A node synced to an honest chain of `height` blocks.
fn synced_node(height: u64) -> Protocol<MemoryStore> {
    let honest = ServedChain::new(height);
    let mut node = node_on(funded_ledger(0));
    node.received(HONEST, headers_of(&honest.blocks), NOW)
        .unwrap();
    assert_eq!(
        serve_blocks(&mut node, HONEST, &honest.blocks),
        height as usize
    );
    node
}

/// The `getheaders` the node sent `peer`, answered by a peer holding `blocks`.
fn answer_getheaders(node: &mut Protocol<MemoryStore>, peer: PeerId, blocks: &[Block]) -> bool {
    let served =
        ServedChain::from_blocks(ChainParams::regtest(), blocks.to_vec(), Default::default());
    let asked: Vec<Message> = node
        .drain_io()
        .into_iter()
        .filter_map(|io| match io {
            Io::Send(p, message @ Message::GetHeaders { .. }) if p == peer => Some(message),
            _ => None,
        })
        .collect();
    for message in &asked {
        for answer in served.answer(message, Serves::Blocks) {
            node.received(peer, answer, NOW).unwrap();
        }
    }
    !asked.is_empty()
}

/// Pending headers the node holds.
fn pending_headers(node: &Protocol<MemoryStore>) -> usize {
    node.sync_counts().0
}

/// Attack 4, its headers: every header of a low-work branch was kept in memory until its block
/// was stored, which for a branch that cannot win is never. Now a branch more than
/// `HEADER_WORK_HEADROOM` blocks' work behind the tip is checked and counted, not kept; once it
/// comes that close it is fetched again and kept, and once it has more work it wins.
#[test]
fn a_low_work_branch_is_counted_not_kept_until_it_nears_the_tip() {
    branch_counted_then_kept(300);
}

/// The same over more headers than one message carries: the pre-sync and the redownload each
/// go on across messages.
#[test]
fn a_long_low_work_branch_is_counted_across_messages() {
    branch_counted_then_kept(MAX_HEADERS as u64 + 300);
}

fn branch_counted_then_kept(tip: u64) {
    let mut node = synced_node(tip);
    let branch = private_branch(tip + 20, TIME + 50_000);
    // Every regtest block has the same work: a branch of `k` blocks is kept from
    // `tip - HEADER_WORK_HEADROOM` on.
    let threshold = (tip - HEADER_WORK_HEADROOM) as usize;
    node.received(
        ATTACKER,
        headers_of(&branch[0..(threshold - 1).min(MAX_HEADERS)]),
        NOW,
    )
    .unwrap();
    // A full message is followed by a request for more, which goes on from the branch's end.
    answer_getheaders(&mut node, ATTACKER, &branch[..threshold - 1]);
    assert_eq!(pending_headers(&node), 0, "counted, not kept");
    assert!(
        !answer_getheaders(&mut node, ATTACKER, &branch),
        "nothing asked again yet"
    );

    node.received(
        ATTACKER,
        headers_of(&branch[threshold - 1..threshold + 10]),
        NOW,
    )
    .unwrap();
    assert_eq!(pending_headers(&node), 0);
    assert!(
        answer_getheaders(&mut node, ATTACKER, &branch[..threshold + 10]),
        "the branch reached the threshold: asked again from the fork"
    );
    while answer_getheaders(&mut node, ATTACKER, &branch[..threshold + 10]) {}
    assert_eq!(pending_headers(&node), threshold + 10, "kept now");
    assert_eq!(
        asked_blocks_of(&node.drain_io(), ATTACKER),
        0,
        "not downloaded"
    );
    assert_eq!(score(&node, ATTACKER), Some(0));

    node.received(
        ATTACKER,
        headers_of(&branch[threshold + 10..branch.len()]),
        NOW,
    )
    .unwrap();
    assert_eq!(serve_blocks(&mut node, ATTACKER, &branch), branch.len());
    assert_eq!(
        node.ledger().chain().tip().hash,
        branch[branch.len() - 1].hash()
    );
    assert_eq!(pending_headers(&node), 0);
}

/// A peer that reaches the threshold with one branch and answers the redownload with another
/// has nothing kept, and no penalty (an honest peer may have switched chains in between).
#[test]
fn a_redownload_that_brings_another_branch_keeps_nothing() {
    let tip = 300;
    let mut node = synced_node(tip);
    let threshold = (tip - HEADER_WORK_HEADROOM) as usize;
    let shown = private_branch(threshold as u64 + 10, TIME + 50_000);
    let other = private_branch(threshold as u64 + 10, TIME + 60_000);
    node.received(ATTACKER, headers_of(&shown), NOW).unwrap();
    assert!(answer_getheaders(&mut node, ATTACKER, &other));
    assert_eq!(
        pending_headers(&node),
        0,
        "what it kept before the first mark differed is forgotten"
    );
    assert_eq!(score(&node, ATTACKER), Some(0));
    assert!(MARK_SPACING < threshold as u64, "a mark was checked");
}

/// A regtest variant with a retarget and a harder initial target, so that a block at
/// `pow_limit` (what an orphan needed) carries 1/64 of the work of one at the tip's difficulty.
fn harder_than_the_limit() -> ChainParams {
    let mut params = ChainParams::regtest();
    params.initial_bits = chain_core::pow::CompactTarget(0x2001_ffff);
    params.retarget_window = Some(60);
    params
}

/// Attack 5: a block at `pow_limit` work entered the orphan pool, and its transfers'
/// signatures were all verified first. Now an orphan nobody asked for needs work near the tip's,
/// is checked for proof of work and nothing else before that, and its signatures wait for its
/// parent; a fault found then is charged to its own sender.
#[test]
fn cheap_orphans_are_refused_before_any_signature_check() {
    let params = harder_than_the_limit();
    let mut chain = Chain::open(params.clone(), MemoryStore::new()).unwrap();
    let mut scratch = Chain::open(params.clone(), MemoryStore::new()).unwrap();
    for i in 0..5 {
        let block = next_block(&chain, address(1), vec![], TIME + i);
        chain.accept_block(block.clone(), NOW).unwrap();
        scratch.accept_block(block, NOW).unwrap();
    }
    let tip = *chain.tip();
    // The parent the orphans wait for, not given yet.
    let parent = child_block(&chain, &tip, address(2), vec![], TIME + 5);
    scratch.accept_block(parent.clone(), NOW).unwrap();
    let mut forged = transfer(&key(1), address(3), COIN, 1_000, 0, params.network_id);
    forged.amount.0 += 1; // the signature no longer matches
    let orphan = |bits: Option<chain_core::pow::CompactTarget>| {
        let mut block = next_block(&scratch, address(4), vec![forged.clone()], TIME + 6);
        if let Some(bits) = bits {
            block.header.bits = bits;
            seal(&mut block);
        }
        block
    };
    let before = chain.signature_cache().stats().verified;

    let cheap = orphan(Some(params.pow_limit));
    let outcome = chain
        .accept_block_from(cheap.clone(), Arrival::unrequested(ATTACKER), NOW)
        .unwrap();
    assert_eq!(outcome.status, AcceptStatus::Unwanted);
    assert!(!chain.is_orphan(&cheap.hash()));

    let costly = orphan(None);
    let outcome = chain
        .accept_block_from(costly.clone(), Arrival::unrequested(ATTACKER), NOW)
        .unwrap();
    assert_eq!(
        outcome.status,
        AcceptStatus::Orphan {
            missing: parent.hash()
        }
    );
    assert_eq!(
        chain.signature_cache().stats().verified,
        before,
        "no signature verified for an orphan"
    );
    let outcome = chain
        .accept_block_from(parent.clone(), Arrival::requested(Some(HONEST)), NOW)
        .unwrap();
    assert_eq!(chain.tip().hash, parent.hash());
    assert!(outcome.events.iter().any(|e| matches!(
        e,
        ChainEvent::BlockInvalid { hash, source: Some(ATTACKER), .. } if *hash == costly.hash()
    )));
}
