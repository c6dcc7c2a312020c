//! The protocol's block download during a sync from a single peer, driven by hand: how many
//! blocks it keeps in flight, and which late peers it drops.

use chain_core::prelude::*;
use chain_core::protocol::{
    Direction, DisconnectReason, Inventory, Io, Message, PROTOCOL_VERSION, PeerId, Protocol,
    ProtocolConfig, Version,
};
use chain_core::testkit::{conformance::TIME, key, next_block};
use std::net::SocketAddr;

const PEER: PeerId = 7;
/// The protocol's clock at the start (the blocks' times are before it).
const NOW: u64 = TIME + 10_000;

/// A chain of `count` blocks after genesis, lowest first.
fn source_chain(count: u64) -> Vec<Block> {
    let mut chain = Chain::open(ChainParams::regtest(), MemoryStore::new()).unwrap();
    let miner = key(100).public_key().address();
    (0..count)
        .map(|i| {
            let block = next_block(&chain, miner, vec![], TIME + i);
            chain.accept_block(block.clone(), TIME + i).unwrap();
            block
        })
        .collect()
}

/// The blocks requested from `PEER` in `ios`.
fn requested(ios: &[Io]) -> Vec<BlockHash> {
    ios.iter()
        .filter_map(|io| match io {
            Io::Send(PEER, Message::GetData(items)) => Some(items),
            _ => None,
        })
        .flatten()
        .filter_map(|item| match item {
            Inventory::Block(hash) => Some(*hash),
            Inventory::Transfer(_) => None,
        })
        .collect()
}

fn dropped_as_late(ios: &[Io]) -> bool {
    ios.iter().any(|io| {
        matches!(
            io,
            Io::Disconnect(PEER, DisconnectReason::Timeout("block download"))
        )
    })
}

/// A fresh node that has done the handshake with `PEER` (who has `blocks`) and received their
/// headers; returns it with the blocks it requested.
fn syncing_node(blocks: &[Block]) -> (Protocol<MemoryStore>, Vec<BlockHash>) {
    let params = ChainParams::regtest();
    let ledger = Ledger::open(
        params.clone(),
        MemoryStore::new(),
        MempoolPolicy::default(),
        NOW,
    )
    .unwrap();
    let mut node = Protocol::new(ledger, ProtocolConfig::default(), 1);
    let addr: SocketAddr = "127.0.0.1:9000".parse().unwrap();
    node.connected(PEER, addr, Direction::Outbound, NOW);
    let version = Version {
        version: PROTOCOL_VERSION,
        network: params.network_id,
        genesis: params.genesis_hash(),
        best_height: Height(blocks.len() as u64),
        best_work: params.pow_limit_target().work(),
        listen_port: 0,
        nonce: 99,
        agent: "test".into(),
    };
    node.received(PEER, Message::Version(version), NOW).unwrap();
    node.received(PEER, Message::Verack, NOW).unwrap();
    node.drain_io();
    let headers = blocks.iter().map(|b| b.header).collect();
    node.received(PEER, Message::Headers(headers), NOW).unwrap();
    let asked = requested(&node.drain_io());
    (node, asked)
}

#[test]
fn a_sync_from_one_peer_keeps_the_whole_download_window_in_flight() {
    let blocks = source_chain(300);
    let (mut node, asked) = syncing_node(&blocks);
    let window = ProtocolConfig::default().download_window as usize;
    let expected: Vec<BlockHash> = blocks[..window].iter().map(Block::hash).collect();
    assert_eq!(asked, expected);
    // Each block stored lets one more in, asked for in runs of 16 (an eighth of the per-peer
    // limit) while far behind: none after 15 blocks, the next 16 with the 16th.
    for block in &blocks[..15] {
        node.received(PEER, Message::Block(block.clone()), NOW)
            .unwrap();
        assert_eq!(requested(&node.drain_io()), vec![]);
    }
    node.received(PEER, Message::Block(blocks[15].clone()), NOW)
        .unwrap();
    let run: Vec<BlockHash> = blocks[window..window + 16]
        .iter()
        .map(Block::hash)
        .collect();
    assert_eq!(requested(&node.drain_io()), run);
}

#[test]
fn the_last_blocks_are_asked_for_without_waiting_for_a_full_run() {
    // 150 blocks: a run of 16 with the 16th block stored; the last 6, fewer than a run, together
    // as soon as the window (128 past the tip) reaches the end of the chain, with the 22nd.
    let blocks = source_chain(150);
    let (mut node, asked) = syncing_node(&blocks);
    assert_eq!(asked.len(), 128);
    let mut runs = Vec::new();
    for (i, block) in blocks[..30].iter().enumerate() {
        node.received(PEER, Message::Block(block.clone()), NOW)
            .unwrap();
        let asked = requested(&node.drain_io());
        if !asked.is_empty() {
            runs.push((i + 1, asked));
        }
    }
    let hashes = |range: std::ops::Range<usize>| -> Vec<BlockHash> {
        blocks[range].iter().map(Block::hash).collect()
    };
    assert_eq!(runs, vec![(16, hashes(128..144)), (22, hashes(144..150))]);
}

/// Ticks the node at `now`, answering its pings as the peer would; whether it dropped the peer
/// for a late block.
fn tick(node: &mut Protocol<MemoryStore>, now: u64) -> bool {
    node.tick(now).unwrap();
    let ios = node.drain_io();
    for io in &ios {
        if let Io::Send(PEER, Message::Ping(nonce)) = io {
            node.received(PEER, Message::Pong(*nonce), now).unwrap();
        }
    }
    dropped_as_late(&ios)
}

#[test]
fn a_slow_peer_that_delivers_in_order_is_kept() {
    let blocks = source_chain(200);
    let (mut node, asked) = syncing_node(&blocks);
    assert_eq!(asked.len(), 128);
    // One block a second: the last of the first 128 comes two minutes after its request.
    for (i, block) in blocks.iter().enumerate().take(150) {
        let now = NOW + 1 + i as u64;
        node.received(PEER, Message::Block(block.clone()), now)
            .unwrap();
        assert!(!tick(&mut node, now), "dropped at block {i}");
    }
    assert_eq!(node.ledger().chain().tip().height, Height(150));
}

#[test]
fn a_peer_holding_back_the_next_block_is_dropped_although_it_delivers_others() {
    let blocks = source_chain(200);
    let (mut node, _) = syncing_node(&blocks);
    // Everything asked but the first block, one a second: orphans the chain cannot use.
    let mut dropped_at = None;
    for (i, block) in blocks.iter().enumerate().skip(1).take(100) {
        let now = NOW + i as u64;
        node.received(PEER, Message::Block(block.clone()), now)
            .unwrap();
        if tick(&mut node, now) {
            dropped_at = Some(now - NOW);
            break;
        }
    }
    // The tip has not moved since the blocks were first asked for (the only peer has the
    // block, so the block timeout applies, not the stall timeout).
    assert_eq!(dropped_at, Some(30));
    assert_eq!(node.ledger().chain().tip().height, Height(0));
}

#[test]
fn a_peer_that_delivers_nothing_is_dropped_after_the_timeout() {
    let blocks = source_chain(50);
    let (mut node, _) = syncing_node(&blocks);
    assert!(!tick(&mut node, NOW + 29));
    assert!(tick(&mut node, NOW + 30));
}
