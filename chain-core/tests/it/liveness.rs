//! Sync liveness: a node that holds headers fetches their blocks from a peer that has them, however
//! long the chain and whichever peer announced it first. Each test runs the protocol against
//! scripted peers that answer its messages from a prepared chain, until nothing is left to answer.

use chain_core::hash::BlockHash;
use chain_core::prelude::*;
use chain_core::protocol::{
    Direction, DisconnectReason, Inventory, Io, Message, PeerId, Protocol, ProtocolConfig,
};
use chain_core::testkit::conformance::TIME;
use chain_core::testkit::served::{ServedChain, Serves};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

/// The protocol's clock at the start (the blocks' times are before it).
const NOW: u64 = TIME + 100_000;

fn fresh_node() -> Protocol<MemoryStore> {
    node_with(ProtocolConfig::default())
}

/// A node on an empty regtest chain with `config`.
fn node_with(config: ProtocolConfig) -> Protocol<MemoryStore> {
    let ledger = Ledger::open(
        ChainParams::regtest(),
        MemoryStore::new(),
        MempoolPolicy::default(),
        NOW,
    )
    .unwrap();
    Protocol::new(ledger, config, 1)
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
/// `limit` messages: a loop that does not end is a failure, not a hang). Answers how often each
/// block was asked for.
fn serve(
    node: &mut Protocol<MemoryStore>,
    source: &ServedChain,
    peers: &BTreeMap<PeerId, Serves>,
    now: u64,
) -> BTreeMap<BlockHash, usize> {
    let mut asked = BTreeMap::new();
    let limit = 1_000_000;
    let mut outstanding: VecDeque<Io> = node.drain_io().into();
    for _ in 0..limit {
        let Some(io) = outstanding.pop_front() else {
            return asked;
        };
        let Io::Send(peer, message) = io else {
            continue;
        };
        if let Message::GetData(items) = &message {
            for item in items {
                if let Inventory::Block(hash) = item {
                    *asked.entry(*hash).or_default() += 1;
                }
            }
        }
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

/// A fresh node connected at [`NOW`] to `peers` serving a chain of `count` blocks, after it has
/// been answered everything it asked then.
fn syncing_from(
    count: u64,
    peers: &BTreeMap<PeerId, Serves>,
) -> (ServedChain, Protocol<MemoryStore>) {
    let source = ServedChain::new(count);
    let mut node = fresh_node();
    for peer in peers.keys() {
        connect(&mut node, *peer, &source, NOW);
    }
    serve(&mut node, &source, peers, NOW);
    (source, node)
}

/// Ticks once a second from `from`, answering what the node asks after each tick, until the tip
/// reaches `height` or `until` passes. Answers the time it got there.
fn tick_until_synced(
    node: &mut Protocol<MemoryStore>,
    source: &ServedChain,
    peers: &BTreeMap<PeerId, Serves>,
    from: u64,
    until: u64,
) -> Option<u64> {
    let height = Height(source.blocks.len() as u64);
    (from..=until).find(|&now| {
        node.tick(now).unwrap();
        serve(node, source, peers, now);
        node.ledger().chain().tip().height == height
    })
}

#[test]
fn a_withholder_that_holds_up_the_download_window_is_dropped_within_seconds() {
    // The withholder is asked for part of the window and never answers: the tip stops at its
    // first block. Dropped only at the 30 s block timeout, it cost a sync from four peers ten
    // times the one-peer time (`sync --trouble`).
    let peers = BTreeMap::from([(1, Serves::HeadersOnly), (2, Serves::Blocks)]);
    let (source, mut node) = syncing_from(3_000, &peers);
    assert!(
        node.ledger().chain().tip().height < Height(3_000),
        "the withholder holds blocks the chain needs"
    );
    let stall = ProtocolConfig::default().stall_timeout;
    let synced = tick_until_synced(&mut node, &source, &peers, NOW + 1, NOW + 30)
        .expect("synced before the block timeout");
    assert!(
        synced <= NOW + 1 + stall + 1,
        "synced {} s after the stall began, the stall timeout is {stall} s",
        synced - NOW
    );
    assert!(node.peers().iter().all(|p| p.id != 1), "withholder kept");
    assert!(
        node.peers().iter().any(|p| p.id == 2),
        "honest peer dropped"
    );
}

#[test]
fn the_only_peer_with_the_next_block_is_not_dropped_as_a_staller() {
    // Dropping it would not get the block any sooner: it keeps the longer block timeout.
    let peers = BTreeMap::from([(1, Serves::HeadersOnly)]);
    let (_, mut node) = syncing_from(300, &peers);
    let timeout = ProtocolConfig::default().block_timeout;
    for now in NOW + 1..NOW + timeout {
        node.tick(now).unwrap();
        assert!(
            node.peers().iter().any(|p| p.id == 1),
            "dropped after {} s",
            now - NOW
        );
    }
}

#[test]
fn each_staller_dropped_doubles_the_wait_for_the_next() {
    // Two withholders in turn: the second is given twice as long, so a node whose own checks
    // are slow does not drop every peer in a row.
    let peers = BTreeMap::from([
        (1, Serves::HeadersOnly),
        (2, Serves::HeadersOnly),
        (3, Serves::Blocks),
    ]);
    let (source, mut node) = syncing_from(3_000, &peers);
    let stall = ProtocolConfig::default().stall_timeout;
    let mut dropped = Vec::new();
    let mut connected: Vec<PeerId> = vec![1, 2];
    for now in NOW + 1..NOW + 30 {
        node.tick(now).unwrap();
        serve(&mut node, &source, &peers, now);
        connected.retain(|id| {
            let kept = node.peers().iter().any(|p| p.id == *id);
            if !kept {
                dropped.push(now);
            }
            kept
        });
    }
    assert_eq!(node.ledger().chain().tip().height, Height(3_000));
    assert_eq!(dropped.len(), 2, "both withholders dropped: {dropped:?}");
    assert!(
        dropped[1] - dropped[0] >= 2 * stall,
        "the second waited {} s",
        dropped[1] - dropped[0]
    );
}

#[test]
fn a_block_that_came_before_its_parent_is_not_asked_for_again() {
    // It waits in the orphan pool. It was put back in the download queue and asked for again
    // as soon as it arrived, and came back an orphan as often as asked: with the parent held by
    // a withholder, an endless exchange of the same blocks. Here the first withholder is
    // dropped as a staller, and its blocks are shared between the second one and the honest
    // peer, whose blocks then wait for parents the second withholder holds.
    let peers = BTreeMap::from([
        (1, Serves::HeadersOnly),
        (2, Serves::HeadersOnly),
        (3, Serves::Blocks),
    ]);
    let (source, mut node) = syncing_from(1_000, &peers);
    let mut orphans_seen = 0;
    for now in NOW + 1..NOW + 6 {
        node.tick(now).unwrap();
        let asked = serve(&mut node, &source, &peers, now);
        let again: Vec<_> = asked.iter().filter(|(_, n)| **n > 1).collect();
        assert!(again.is_empty(), "asked more than once at {now}: {again:?}");
        orphans_seen = orphans_seen.max(node.ledger().chain().orphan_count());
    }
    assert!(orphans_seen > 0, "blocks waited for parents");
}

#[test]
fn a_staller_is_not_dialled_again_at_once() {
    // Dialled again, it was handed a share of the window and stalled the sync a second time.
    let peers = BTreeMap::from([(1, Serves::HeadersOnly), (2, Serves::Blocks)]);
    let (_, mut node) = syncing_from(3_000, &peers);
    let withholder: SocketAddr = "127.0.0.1:9001".parse().unwrap();
    let mut dials = Vec::new();
    for now in NOW + 1..NOW + 120 {
        node.tick(now).unwrap();
        for io in node.drain_io() {
            if let Io::Connect(addr) = io {
                dials.push((now, addr));
            }
        }
    }
    assert!(node.peers().iter().all(|p| p.id != 1), "withholder kept");
    assert!(
        !dials.iter().any(|(_, addr)| *addr == withholder),
        "dialled again: {dials:?}"
    );
}

#[test]
fn blocks_no_connected_peer_has_are_not_a_sync_until_a_peer_that_has_them_comes() {
    // A peer announces 300 blocks and holds them back: queued and asked for, a sync.
    let peers = BTreeMap::from([(1, Serves::HeadersOnly), (2, Serves::Blocks)]);
    let (source, mut node) = syncing_from(300, &BTreeMap::from([(1, Serves::HeadersOnly)]));
    assert_eq!(node.best_header_height(), Height(300));
    assert!(node.is_syncing());
    // It leaves: the blocks stay wanted, but nobody has them to wait for (the node reported
    // itself syncing, and its readiness 503, for as long as it stayed alone).
    node.disconnected(1, NOW + 1);
    assert!(!node.is_syncing(), "a sync with no source");
    assert_eq!(node.best_header_height(), Height(300));
    // A peer that has them comes: a sync again, and it completes.
    connect(&mut node, 2, &source, NOW + 2);
    node.received(
        2,
        Message::Inv(vec![Inventory::Block(source.tip())]),
        NOW + 2,
    )
    .unwrap();
    assert!(node.is_syncing());
    serve(&mut node, &source, &peers, NOW + 2);
    assert_eq!(node.ledger().chain().tip().height, Height(300));
    assert!(!node.is_syncing());
}

#[test]
fn a_node_behind_nat_tells_its_external_address_and_does_not_dial_it_when_told_back() {
    let external: SocketAddr = "203.0.113.7:7410".parse().unwrap();
    let mut node = node_with(ProtocolConfig {
        external_addr: Some(external),
        ..ProtocolConfig::default()
    });
    let source = ServedChain::new(0);
    connect(&mut node, 1, &source, NOW);
    let told = |io: &[Io]| {
        io.iter().any(|io| {
            matches!(io, Io::Send(1, Message::Addr(addrs))
                if addrs.first().is_some_and(|a| a.addr == external && a.last_seen <= NOW + 1))
        })
    };
    // Once the handshake is done: an `addr` of its own.
    assert!(told(&node.drain_io()), "announced after the handshake");
    // First in its answer to `getaddr`.
    node.received(1, Message::GetAddr, NOW + 1).unwrap();
    assert!(told(&node.drain_io()), "first in the getaddr answer");
    // Gossiped back to it, it is not a peer to dial.
    node.received(
        1,
        Message::Addr(vec![chain_core::protocol::PeerAddress {
            addr: external,
            last_seen: NOW,
        }]),
        NOW + 1,
    )
    .unwrap();
    assert!(node.known_addresses().iter().all(|a| a.addr != external));
}

#[test]
fn a_node_that_dialled_itself_does_not_dial_that_address_again_when_gossip_brings_it_back() {
    let mut node = node_with(ProtocolConfig {
        listen_port: 7411,
        ..ProtocolConfig::default()
    });
    let own: SocketAddr = "127.0.0.1:7411".parse().unwrap();
    node.add_address(own, NOW);
    // Its dial to itself: the outbound side sends its `version`, the inbound side (the same
    // node) receives it and sees its own nonce.
    node.connected(1, own, Direction::Outbound, NOW);
    let version = node
        .drain_io()
        .into_iter()
        .find_map(|io| match io {
            Io::Send(1, Message::Version(v)) => Some(v),
            _ => None,
        })
        .expect("a version sent");
    node.connected(
        2,
        "127.0.0.1:50000".parse().unwrap(),
        Direction::Inbound,
        NOW,
    );
    node.received(2, Message::Version(version), NOW).unwrap();
    assert!(
        node.drain_io()
            .iter()
            .any(|io| matches!(io, Io::Disconnect(2, DisconnectReason::SelfConnection)))
    );
    // A peer gossips its listen address again: not kept, so never dialled.
    node.add_address(own, NOW + 10);
    assert!(node.known_addresses().iter().all(|a| a.addr != own));
}
