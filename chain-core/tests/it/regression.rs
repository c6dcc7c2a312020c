//! Regression tests, named after the issue that found the bug.
//!
//! Issue 9 (the chaos harness, `benches/src/chaos/`): transfers accepted by a node stayed in its
//! mempool, never mined, after the node had been cut off or restarted. A transfer was announced
//! only when it entered the mempool, and a transfer requested once was never requested again,
//! even when the peer asked left without answering. And a transfer refused once (its sender not
//! yet funded on this node's chain) was never asked for again, even once the block funding it
//! arrived.
//!
//! Issue 14 (the chaos harness at 100 transfers a second over the testbed): after a partition
//! healed, a few accepted transfers stayed in some mempools and never reached the miners. A
//! peer that (re)connected was told of at most 1,000 pending transfers (one `inv`), and a tip
//! change asked again for at most the latest 1,000 refused ones; with more pending or refused
//! than that, the rest were never announced or asked for again.

use chain_core::prelude::*;
use chain_core::protocol::{Direction, Inventory, Io, Message, PeerId, Protocol, ProtocolConfig};
use chain_core::testkit::{address, conformance::TIME, key, next_block, transfer};
use std::net::SocketAddr;

/// A regtest node whose chain holds one block paying key 100.
fn node(seed: u64) -> Protocol<MemoryStore> {
    let mut ledger = Ledger::open(
        ChainParams::regtest(),
        MemoryStore::new(),
        MempoolPolicy::default(),
        TIME,
    )
    .unwrap();
    // Every node builds the same block: same parent, miner, time and (first) nonce.
    let block = next_block(
        ledger.chain(),
        key(100).public_key().address(),
        vec![],
        TIME,
    );
    ledger.accept_block(block, TIME).unwrap();
    Protocol::new(ledger, ProtocolConfig::default(), seed)
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A link between two nodes: `a` knows the other end as peer `id_at_a`, `b` as `id_at_b`.
struct Link {
    a: usize,
    id_at_a: PeerId,
    b: usize,
    id_at_b: PeerId,
}

/// Connects node `a` (dialling) to node `b`.
fn connect(nodes: &mut [Protocol<MemoryStore>], a: usize, b: usize, id: PeerId) -> Link {
    nodes[b].connected(id, addr(1000 + a as u16), Direction::Inbound, TIME);
    nodes[a].connected(id, addr(1000 + b as u16), Direction::Outbound, TIME);
    Link {
        a,
        id_at_a: id,
        b,
        id_at_b: id,
    }
}

/// Delivers messages over `links` until none is left (at most 100 rounds), each as `change`
/// turns it (`None`: lost); messages for a peer on no link are lost too.
fn pump(
    nodes: &mut [Protocol<MemoryStore>],
    links: &[Link],
    mut change: impl FnMut(usize, Message) -> Option<Message>,
) {
    for _ in 0..100 {
        let mut moved = false;
        for from in 0..nodes.len() {
            for io in nodes[from].drain_io() {
                let Io::Send(peer, message) = io else {
                    continue;
                };
                let target = links.iter().find_map(|l| {
                    if l.a == from && l.id_at_a == peer {
                        Some((l.b, l.id_at_b))
                    } else if l.b == from && l.id_at_b == peer {
                        Some((l.a, l.id_at_a))
                    } else {
                        None
                    }
                });
                if let Some((to, id)) = target
                    && let Some(message) = change(from, message)
                {
                    nodes[to].received(id, message, TIME).unwrap();
                    moved = true;
                }
            }
        }
        if !moved {
            return;
        }
    }
    panic!("the nodes kept talking for 100 rounds");
}

/// Every message but headers, blocks and block announcements: a node that hears of transfers
/// and never of the blocks that fund them.
fn without_blocks(_: usize, message: Message) -> Option<Message> {
    match message {
        Message::Headers(_) | Message::Block(_) => None,
        Message::Inv(items) => {
            let transfers: Vec<Inventory> = items
                .into_iter()
                .filter(|item| matches!(item, Inventory::Transfer(_)))
                .collect();
            (!transfers.is_empty()).then_some(Message::Inv(transfers))
        }
        other => Some(other),
    }
}

/// Every message as it is.
fn intact(_: usize, message: Message) -> Option<Message> {
    Some(message)
}

fn pending(node: &Protocol<MemoryStore>, txid: &Txid) -> bool {
    node.ledger().mempool().get(txid).is_some()
}

#[test]
fn issue_9_a_transfer_accepted_with_no_peer_reaches_a_peer_that_connects_later() {
    let network = ChainParams::regtest().network_id;
    let mut nodes = vec![node(1), node(2)];
    let payment = transfer(&key(100), address(1), COIN, 1_000, 0, network);
    let txid = payment.txid();
    // Node 0 accepts the transfer while it has no peer: nobody hears of it.
    nodes[0].submit_transfer(payment, TIME).unwrap().unwrap();
    assert!(
        nodes[0]
            .drain_io()
            .iter()
            .all(|io| !matches!(io, Io::Send(..)))
    );
    // A peer that connects later is told, asks, and gets it.
    let link = connect(&mut nodes, 0, 1, 7);
    pump(&mut nodes, &[link], intact);
    assert!(pending(&nodes[1], &txid), "the later peer has the transfer");
}

/// Node 1 hears of a transfer from node 0 and asks for it; `answer` turns node 0's answer.
/// Then node 2, connected to node 1, accepts the same transfer and announces it. Returns
/// whether node 1 ends up with it.
fn asked_again_after(answer: impl Fn(Message) -> Option<Message>, leave: bool) -> bool {
    let network = ChainParams::regtest().network_id;
    let mut nodes = vec![node(1), node(2), node(3)];
    let payment = transfer(&key(100), address(1), COIN, 1_000, 0, network);
    let txid = payment.txid();
    let mut links = vec![connect(&mut nodes, 0, 1, 1), connect(&mut nodes, 2, 1, 2)];
    pump(&mut nodes, &links, intact);
    nodes[0]
        .submit_transfer(payment.clone(), TIME)
        .unwrap()
        .unwrap();
    pump(&mut nodes, &links, |from, message| match message {
        Message::Transfer(_) if from == 0 => answer(message),
        other => Some(other),
    });
    assert!(
        !pending(&nodes[1], &txid),
        "node 1 did not get it from node 0"
    );
    if leave {
        nodes[1].disconnected(1, TIME);
        nodes[0].disconnected(1, TIME);
        links.remove(0);
    }
    nodes[2].submit_transfer(payment, TIME).unwrap().unwrap();
    pump(&mut nodes, &links, intact);
    pending(&nodes[1], &txid)
}

#[test]
fn issue_9_a_transfer_request_that_its_peer_never_answered_is_made_again() {
    // Node 0 goes away before answering: its `transfer` message is lost with the connection.
    assert!(asked_again_after(|_| None, true));
}

#[test]
fn issue_9_a_transfer_its_peer_no_longer_has_is_asked_of_the_next_peer() {
    // Node 0 answers `notfound` (it mined or evicted the transfer meanwhile) and stays.
    let not_found = |message: Message| match message {
        Message::Transfer(t) => Some(Message::NotFound(vec![Inventory::Transfer(t.txid())])),
        other => Some(other),
    };
    assert!(asked_again_after(not_found, false));
}

#[test]
fn issue_9_a_transfer_refused_before_its_funding_block_is_asked_for_again_after_it() {
    let network = ChainParams::regtest().network_id;
    let mut nodes = vec![node(1), node(2)];
    // Node 0 holds a block paying key 200, and a transfer key 200 signed on the strength of it.
    let funding = transfer(
        &key(100),
        key(200).public_key().address(),
        5 * COIN,
        1_000,
        0,
        network,
    );
    let block = next_block(nodes[0].ledger().chain(), address(50), vec![funding], TIME);
    nodes[0].block_found(block.clone(), TIME).unwrap();
    let spend = transfer(&key(200), address(3), COIN, 1_000, 0, network);
    let txid = spend.txid();
    nodes[0].submit_transfer(spend, TIME).unwrap().unwrap();
    // Node 1 hears of the transfer but not of the block (headers, blocks and block
    // announcements lost): to node 1 its sender has nothing, and it refuses it.
    let links = [connect(&mut nodes, 0, 1, 7)];
    pump(&mut nodes, &links, without_blocks);
    assert!(!pending(&nodes[1], &txid), "refused without its funding");
    // Node 1 gets the block: on its new tip it asks node 0 for the transfer again, on the same
    // connection (node 0 does not announce it twice).
    nodes[1].block_found(block, TIME).unwrap();
    pump(&mut nodes, &links, intact);
    assert!(pending(&nodes[1], &txid), "asked for again on the new tip");
}

/// Senders each with `per_sender` pending transfers, more than one `inv` holds in all.
const SENDERS: u64 = 60;
const PER_SENDER: u64 = 17;

/// A block funding keys `1_000..1_000 + SENDERS` from key 100 (on top of [`node`]'s chain),
/// and `PER_SENDER` transfers of each, nonces 0 up.
fn many_senders(node: &Protocol<MemoryStore>) -> (Block, Vec<Transfer>) {
    let network = ChainParams::regtest().network_id;
    let funding: Vec<Transfer> = (0..SENDERS)
        .map(|i| {
            let to = key(1_000 + i).public_key().address();
            transfer(&key(100), to, COIN / 10, 1_000, i, network)
        })
        .collect();
    let block = next_block(node.ledger().chain(), address(50), funding, TIME);
    let spends = (0..SENDERS)
        .flat_map(|i| {
            (0..PER_SENDER).map(move |nonce| {
                transfer(&key(1_000 + i), address(3), 1_000, 1_000, nonce, network)
            })
        })
        .collect();
    (block, spends)
}

fn pending_count(node: &Protocol<MemoryStore>, spends: &[Transfer]) -> usize {
    spends.iter().filter(|t| pending(node, &t.txid())).count()
}

#[test]
fn issue_14_a_peer_that_connects_hears_of_every_pending_transfer_not_only_the_first_inv() {
    let mut nodes = vec![node(1), node(2)];
    let (block, spends) = many_senders(&nodes[0]);
    assert!(spends.len() > chain_core::protocol::message::MAX_INV);
    for node in &mut nodes {
        node.block_found(block.clone(), TIME).unwrap();
    }
    for spend in &spends {
        nodes[0]
            .submit_transfer(spend.clone(), TIME)
            .unwrap()
            .unwrap();
    }
    let links = [connect(&mut nodes, 0, 1, 7)];
    pump(&mut nodes, &links, intact);
    assert_eq!(
        pending_count(&nodes[1], &spends),
        chain_core::protocol::message::MAX_INV
    );
    // The rest follow in later `inv`s, paced by the clock.
    nodes[0].tick(TIME + 5).unwrap();
    pump(&mut nodes, &links, intact);
    assert_eq!(pending_count(&nodes[1], &spends), spends.len());
}

#[test]
fn issue_14_every_refused_transfer_is_asked_for_again_on_a_new_tip_not_only_the_latest() {
    let mut nodes = vec![node(1), node(2)];
    let (block, spends) = many_senders(&nodes[0]);
    nodes[0].block_found(block.clone(), TIME).unwrap();
    // Node 1 does not get the funding block (headers and blocks lost) and refuses every spend
    // as it is announced.
    let links = [connect(&mut nodes, 0, 1, 7)];
    pump(&mut nodes, &links, without_blocks);
    for spend in &spends {
        nodes[0]
            .submit_transfer(spend.clone(), TIME)
            .unwrap()
            .unwrap();
        pump(&mut nodes, &links, without_blocks);
    }
    assert_eq!(
        pending_count(&nodes[1], &spends),
        0,
        "refused without funding"
    );
    // The funding block arrives: every refused spend is asked for again.
    nodes[1].block_found(block, TIME).unwrap();
    pump(&mut nodes, &links, intact);
    assert_eq!(pending_count(&nodes[1], &spends), spends.len());
}
