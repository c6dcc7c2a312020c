//! The node state machine over SQLite: what a sync does to the file. Blocks from a peer are
//! stored in batches (one commit each), events wait for the commit that makes them true, a
//! crash in the middle of a batch loses that batch whole, and the lookup indexes deferred during
//! the sync are caught up in idle moments once it is over.

use chain_core::chain::{Chain, ChainEvent};
use chain_core::ledger::Ledger;
use chain_core::mempool::MempoolPolicy;
use chain_core::node::batch::MAX_BATCH;
use chain_core::node::{Idle, Input, Node, Output};
use chain_core::params::ChainParams;
use chain_core::protocol::message::MAX_HEADERS;
use chain_core::protocol::{Direction, Message, NodeEvent, PeerId, Protocol, ProtocolConfig};
use chain_core::store::IndexRead;
use chain_core::testkit::conformance::TIME;
use chain_core::testkit::served::{ServedChain, Serves};
use chain_core::units::Height;
use chain_store::{SqliteStore, StoreOptions};
use std::collections::VecDeque;
use std::path::Path;

/// The node's clock (the blocks' times are before it).
const NOW: u64 = TIME + 100_000;

const PEER: PeerId = 1;

fn open_node(path: &Path) -> Node<SqliteStore> {
    let params = ChainParams::regtest();
    let store = SqliteStore::open_with(path, &params, StoreOptions::node()).unwrap();
    let ledger = Ledger::open(params, store, MempoolPolicy::default(), NOW).unwrap();
    Node::new(Protocol::new(ledger, ProtocolConfig::default(), 7))
}

/// The heights of the tip changes among `outputs`.
fn tip_changes(outputs: &[Output]) -> Vec<Height> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Event(NodeEvent::Chain(ChainEvent::TipChanged(change))) => {
                change.connected.last().map(|b| b.height)
            }
            _ => None,
        })
        .collect()
}

/// Connects the scripted peer (at `source`'s tip) and completes the handshake; returns what the
/// node sent.
fn connect(node: &mut Node<SqliteStore>, source: &ServedChain) -> Vec<Output> {
    let input = Input::Connected {
        peer: PEER,
        addr: "127.0.0.1:9001".parse().unwrap(),
        direction: Direction::Outbound,
    };
    node.handle(input, NOW).unwrap();
    let version = source.version(1_000);
    node.handle(Input::Message(PEER, Message::Version(version)), NOW)
        .unwrap();
    node.handle(Input::Message(PEER, Message::Verack), NOW)
        .unwrap();
    node.drain()
}

/// Answers what the node sends, first asked first answered, giving the node an idle moment
/// whenever nothing is waiting (as the TCP core does), until nothing is left. Returns every
/// output seen. At most `limit` answers: a loop that does not end is a failure, not a hang.
fn serve(node: &mut Node<SqliteStore>, source: &ServedChain, first: Vec<Output>) -> Vec<Output> {
    let limit = 100_000;
    let mut seen = Vec::new();
    let mut waiting: VecDeque<Message> = VecDeque::new();
    let take = |outputs: Vec<Output>, waiting: &mut VecDeque<Message>, seen: &mut Vec<_>| {
        for output in outputs {
            if let Output::Send(PEER, message) = &output {
                waiting.extend(source.answer(message, Serves::Blocks));
            }
            seen.push(output);
        }
    };
    take(first, &mut waiting, &mut seen);
    for _ in 0..limit {
        let idle = match waiting.pop_front() {
            Some(message) => {
                node.handle(Input::Message(PEER, message), NOW).unwrap();
                Idle::Busy
            }
            None => node.idle(NOW).unwrap(),
        };
        let outputs = node.drain();
        if idle == Idle::Wait && outputs.is_empty() {
            return seen;
        }
        take(outputs, &mut waiting, &mut seen);
    }
    panic!("still serving after {limit} answers");
}

fn reopened_height(path: &Path) -> Height {
    let params = ChainParams::regtest();
    let store = SqliteStore::open(path, &params).unwrap();
    Chain::open(params, store).unwrap().tip().height
}

#[test]
fn a_sync_is_stored_in_batches_and_its_indexes_caught_up_when_it_is_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    let source = ServedChain::new(3_000);
    let mut node = open_node(&path);
    let first = connect(&mut node, &source);
    let seen = serve(&mut node, &source, first);

    assert_eq!(node.ledger().chain().tip().height, Height(3_000));
    let stats = node.batch_stats();
    assert_eq!(stats.blocks, 3_000);
    // The scripted peer answers at once, so a batch ends only when full or when a message
    // other than a block (a `Headers` answer) comes between.
    assert!(
        stats.batches <= 3_000 / MAX_HEADERS as u64 * 2 + 3_000 / MAX_BATCH + 2,
        "{stats:?}"
    );
    assert_eq!(tip_changes(&seen).last(), Some(&Height(3_000)));
    let store = node.ledger().chain().store();
    assert_eq!(store.indexed_height().unwrap(), Some(Height(3_000)));
    let coinbase = source.blocks[10].txs[0].txid();
    assert_eq!(
        store.tx_location(&coinbase).unwrap().map(|l| l.height),
        Some(Height(11))
    );
    drop(node);
    assert_eq!(reopened_height(&path), Height(3_000));
}

#[test]
fn events_wait_for_the_commit_and_a_crash_loses_the_open_batch_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chain.db");
    let source = ServedChain::new(300);
    let mut node = open_node(&path);
    let first = connect(&mut node, &source);
    // The headers, but no blocks yet: the node asks for them.
    for output in first {
        if let Output::Send(PEER, message @ Message::GetHeaders { .. }) = output {
            for answer in source.answer(&message, Serves::Blocks) {
                node.handle(Input::Message(PEER, answer), NOW).unwrap();
            }
        }
    }
    node.drain();
    for block in &source.blocks[..100] {
        let input = Input::Message(PEER, Message::Block(block.clone()));
        node.handle(input, NOW).unwrap();
    }
    assert_eq!(node.ledger().chain().tip().height, Height(100));
    assert!(
        tip_changes(&node.drain()).is_empty(),
        "an event went out before its batch committed"
    );
    // Any other input commits the batch, and its events go out.
    node.handle(Input::Tick, NOW + 1).unwrap();
    assert_eq!(tip_changes(&node.drain()).last(), Some(&Height(100)));
    assert_eq!(node.batch_stats().batches, 1);

    for block in &source.blocks[100..150] {
        let input = Input::Message(PEER, Message::Block(block.clone()));
        node.handle(input, NOW + 1).unwrap();
    }
    assert_eq!(node.ledger().chain().tip().height, Height(150));
    // The process dies with the batch open: the file keeps what committed, and nothing was
    // reported that it lost.
    drop(node);
    assert_eq!(reopened_height(&path), Height(100));
}
