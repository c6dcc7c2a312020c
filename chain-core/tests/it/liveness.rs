//! Sync liveness: a node that holds headers fetches their blocks from a peer that has them, however
//! long the chain and whichever peer announced it first. Each test runs the protocol against
//! scripted peers that answer its messages from a prepared chain, until nothing is left to answer.

use chain_core::pow::Work;
use chain_core::prelude::*;
use chain_core::protocol::message::MAX_HEADERS;
use chain_core::protocol::{
    Direction, Inventory, Io, Message, PROTOCOL_VERSION, PeerId, Protocol, ProtocolConfig, Version,
};
use chain_core::testkit::{conformance::TIME, key, next_block};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;

/// The protocol's clock at the start (the blocks' times are before it).
const NOW: u64 = TIME + 100_000;

/// A chain the scripted peers serve from.
struct Source {
    blocks: Vec<Block>,
    index: HashMap<BlockHash, usize>,
    best_work: Work,
}

impl Source {
    fn new(count: u64) -> Self {
        let mut chain = Chain::open(ChainParams::regtest(), MemoryStore::new()).unwrap();
        let miner = key(100).public_key().address();
        let blocks: Vec<Block> = (0..count)
            .map(|i| {
                let block = next_block(&chain, miner, vec![], TIME + i);
                chain.accept_block(block.clone(), TIME + i).unwrap();
                block
            })
            .collect();
        let index = blocks
            .iter()
            .enumerate()
            .map(|(i, b)| (b.hash(), i))
            .collect();
        Self {
            blocks,
            index,
            best_work: chain.tip().chain_work,
        }
    }

    /// The headers after the first locator hash this chain has (from genesis if none).
    fn headers_after(&self, locator: &[BlockHash]) -> Vec<Header> {
        let start = locator
            .iter()
            .find_map(|hash| self.index.get(hash).map(|i| i + 1))
            .unwrap_or(0);
        self.blocks[start.min(self.blocks.len())..]
            .iter()
            .take(MAX_HEADERS)
            .map(|b| b.header)
            .collect()
    }

    fn tip(&self) -> BlockHash {
        self.blocks.last().map(Block::hash).unwrap()
    }
}

/// How a scripted peer answers requests for blocks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Serves {
    Blocks,
    /// Headers only: a peer that announces a chain and holds its blocks back.
    HeadersOnly,
}

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
fn connect(node: &mut Protocol<MemoryStore>, peer: PeerId, source: &Source, now: u64) {
    let params = ChainParams::regtest();
    let addr: SocketAddr = format!("127.0.0.1:{}", 9000 + peer).parse().unwrap();
    node.connected(peer, addr, Direction::Outbound, now);
    let version = Version {
        version: PROTOCOL_VERSION,
        network: params.network_id,
        genesis: params.genesis_hash(),
        best_height: Height(source.blocks.len() as u64),
        best_work: source.best_work,
        listen_port: 0,
        nonce: 1_000 + peer,
        agent: "scripted".into(),
    };
    node.received(peer, Message::Version(version), now).unwrap();
    node.received(peer, Message::Verack, now).unwrap();
}

/// Answers what the node sends, first asked first answered, until nothing is left (at most
/// `limit` messages: a loop that does not end is a failure, not a hang).
fn serve(
    node: &mut Protocol<MemoryStore>,
    source: &Source,
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
        let answers: Vec<Message> = match message {
            Message::GetHeaders { locator, .. } => {
                vec![Message::Headers(source.headers_after(&locator))]
            }
            Message::GetData(items) if *serves == Serves::Blocks => items
                .iter()
                .filter_map(|item| match item {
                    Inventory::Block(hash) => source.index.get(hash),
                    Inventory::Transfer(_) => None,
                })
                .map(|&i| Message::Block(source.blocks[i].clone()))
                .collect(),
            Message::Ping(nonce) => vec![Message::Pong(nonce)],
            _ => vec![],
        };
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
    let source = Source::new(12_000);
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
    let source = Source::new(300);
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
