//! Sync liveness: a node that holds headers fetches their blocks from a peer that has them, however
//! long the chain and whichever peer announced it first. Each test runs the protocol against
//! scripted peers that answer its messages from a prepared chain, until nothing is left to answer.

use chain_core::prelude::*;
use chain_core::protocol::{Direction, Inventory, Io, Message, PeerId, Protocol, ProtocolConfig};
use chain_core::testkit::conformance::TIME;
use chain_core::testkit::served::{ServedChain, Serves};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

/// The protocol's clock at the start (the blocks' times are before it).
const NOW: u64 = TIME + 100_000;

fn fresh_node() -> Protocol<MemoryStore> {
    let ledger = Ledger::open(
        ChainParams::regtest(),
        MemoryStore::new(),
        MempoolPolicy::default(),
        NOW,
    )
    .unwrap();
    Protocol::new(ledger, ProtocolConfig::default(), 1)
}

/// Connects `peer` (which has `source`'s chain) and completes the handshake.
fn connect(node: &mut Protocol<MemoryStore>, peer: PeerId, source: &ServedChain, now: u64) {
    let addr: SocketAddr = format!("127.0.0.1:{}", 9000 + peer).parse().unwrap();
    node.connected(peer, addr, Direction::Outbound, now);
    let version = source.version(1_000 + peer);
    node.received(peer, Message::Version(version), now).unwrap();
    node.received(peer, Message::Verack, now).unwrap();
}

/// Answers what the node sends, first asked first answered, until nothing is left (at most
/// `limit` messages: a loop that does not end is a failure, not a hang).
fn serve(
    node: &mut Protocol<MemoryStore>,
    source: &ServedChain,
    peers: &BTreeMap<PeerId, Serves>,
    now: u64,
) {
    let limit = 1_000_000;
    let mut outstanding: VecDeque<Io> = node.drain_io().into();
    for _ in 0..limit {
        let Some(io) = outstanding.pop_front() else {
            return;
        };
        let Io::Send(peer, message) = io else {
            continue;
        };
        let Some(serves) = peers.get(&peer) else {
            continue;
        };
        let answers = source.answer(&message, *serves);
        for answer in answers {
            node.received(peer, answer, now).unwrap();
            outstanding.extend(node.drain_io());
        }
    }
    panic!("still answering after {limit} messages");
}

#[test]
fn a_sync_from_one_peer_past_ten_thousand_blocks_completes() {
    // More blocks than a peer's memory of announced inventory holds: the node once forgot which
    // peer had the early blocks while their headers were still pending, and stopped for good.
    let source = ServedChain::new(12_000);
    let mut node = fresh_node();
    connect(&mut node, 1, &source, NOW);
    serve(
        &mut node,
        &source,
        &BTreeMap::from([(1, Serves::Blocks)]),
        NOW,
    );
    assert_eq!(node.ledger().chain().tip().height, Height(12_000));
}

#[test]
fn blocks_a_dropped_withholder_announced_come_from_a_peer_with_the_same_tip() {
    let source = ServedChain::new(300);
    let mut node = fresh_node();
    let peers = BTreeMap::from([(1, Serves::HeadersOnly), (2, Serves::Blocks)]);
    connect(&mut node, 1, &source, NOW);
    serve(&mut node, &source, &peers, NOW);
    assert_eq!(node.best_header_height(), Height(300));
    // A second peer joins at the same tip, and announces it.
    connect(&mut node, 2, &source, NOW + 1);
    node.received(
        2,
        Message::Inv(vec![Inventory::Block(source.tip())]),
        NOW + 1,
    )
    .unwrap();
    serve(&mut node, &source, &peers, NOW + 1);
    assert_eq!(node.ledger().chain().tip().height, Height(0));
    // The withholder is dropped at the block timeout; the other peer serves the blocks.
    let timeout = ProtocolConfig::default().block_timeout;
    let later = NOW + timeout;
    node.tick(later).unwrap();
    assert!(node.peers().iter().all(|p| p.id != 1), "withholder kept");
    serve(&mut node, &source, &peers, later);
    assert_eq!(node.ledger().chain().tip().height, Height(300));
}
