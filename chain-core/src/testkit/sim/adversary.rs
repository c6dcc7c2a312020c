//! The simulation's adversary: a peer that connects to honest nodes (each time from a fresh
//! address, as a botnet would, so a ban of one address does not end the run) and runs one of
//! the attacks of `docs/NETWORK.md` §7 each time, by turns:
//!
//! 0. an invalid orphan: a state-invalid child C of a valid block A it has not published, sent
//!    to one node; A is then pushed to a second node, whose relay of A lets C in at the first
//!    (the fault must be charged to the adversary, not to the relayer);
//! 1. a fee race: two variants of one transfer (same sender and nonce, 5 % apart in fee) sent to
//!    two nodes, which then relay them to each other;
//! 2. a block stamped as far in the future as arrival allows;
//! 3. a private branch from genesis with less work than the tip: headers, then its blocks
//!    pushed unasked;
//! 4. an orphan whose parent nobody has, carrying a forged transfer;
//! 5. one pending transfer sent 20 times unasked.
//!
//! The adversary answers nothing (pings go unanswered, so a connection it keeps open times
//! out) and leaves after each attack. It signs with the honest miners' keys (the test keys are
//! public), which makes no difference to the rules it tests.

use super::{Input, Output, Sim, address, key, seal, transfer};
use crate::block::{Block, Header};
use crate::hash::BlockHash;
use crate::protocol::{DisconnectReason, Message, NodeEvent, PROTOCOL_VERSION, PeerId, Version};
use crate::testkit::next_block;
use crate::tx::{Coinbase, Transaction};
use crate::units::{Amount, COIN, Height};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Peer ids from here on are the adversary's connections (honest links use `2l`, `2l + 1`).
const ADVERSARY_PEERS: PeerId = 1 << 40;

/// Attacks the adversary knows.
const ATTACK_KINDS: u64 = 6;

/// The adversary's state.
#[derive(Debug, Default)]
pub(super) struct Adversary {
    connections: u64,
    pub(super) attacks: u64,
    pub(super) bans: u64,
    /// Its private low-work branch from genesis, built on first use.
    branch: Vec<Block>,
}

impl Adversary {
    /// Takes what a node sends the adversary, or says about it; hands back the rest.
    pub(super) fn intercept(&mut self, output: Output) -> Option<Output> {
        match &output {
            Output::Send(peer, _) if *peer >= ADVERSARY_PEERS => None,
            Output::Disconnect(peer, reason) if *peer >= ADVERSARY_PEERS => {
                if matches!(reason, DisconnectReason::Banned(_)) {
                    self.bans += 1;
                }
                None
            }
            Output::Event(NodeEvent::PeerPenalised { peer, .. }) if *peer >= ADVERSARY_PEERS => {
                None
            }
            Output::Event(
                NodeEvent::PeerReady { peer, .. } | NodeEvent::PeerDisconnected { peer, .. },
            ) if *peer >= ADVERSARY_PEERS => None,
            _ => Some(output),
        }
    }
}

impl Sim {
    /// Runs the next attack against random nodes.
    pub(super) fn attack(&mut self) {
        let kind = self.adversary.attacks % ATTACK_KINDS;
        self.adversary.attacks += 1;
        let target = self.random_node();
        let now = self.now();
        match kind {
            0 => self.invalid_orphan(target),
            1 => self.fee_race(target),
            2 => {
                let future = now + self.nodes[target].ledger().params().max_future_block_time;
                let block = next_block(
                    self.nodes[target].ledger().chain(),
                    address(7_000),
                    vec![],
                    future,
                );
                self.push(target, vec![Message::Block(block)]);
            }
            3 => self.low_work_branch(target),
            4 => {
                let network = self.nodes[target].ledger().params().network_id;
                let mut forged = transfer(&key(1_000), address(7_001), COIN, 1_000, 0, network);
                forged.amount.0 += 1;
                let mut orphan = lone_block(BlockHash(self.rng.bytes32()), Height(1_000), now);
                orphan.txs.push(Transaction::Transfer(forged));
                seal(&mut orphan);
                self.push(target, vec![Message::Block(orphan)]);
            }
            _ => {
                let pending = self.nodes[target]
                    .ledger()
                    .mempool()
                    .entries()
                    .first()
                    .map(|entry| entry.transfer.clone());
                if let Some(pending) = pending {
                    self.push(target, vec![Message::Transfer(pending); 20]);
                }
            }
        }
    }

    fn random_node(&mut self) -> usize {
        self.rng.below(self.nodes.len() as u64) as usize
    }

    /// Connects to `node` from a fresh address, completes the handshake, sends `messages` and
    /// leaves.
    fn push(&mut self, node: usize, messages: Vec<Message>) {
        self.push_and_stay(node, messages, false);
    }

    /// As [`Sim::push`]; with `stay`, the connection stays open (until the node drops it: it
    /// answers no ping).
    fn push_and_stay(&mut self, node: usize, messages: Vec<Message>, stay: bool) {
        let n = self.adversary.connections;
        self.adversary.connections += 1;
        let peer = ADVERSARY_PEERS + n;
        let addr = SocketAddr::new(
            IpAddr::V4(Ipv4Addr::new(10, (n >> 16) as u8, (n >> 8) as u8, n as u8)),
            7510,
        );
        let params = self.nodes[node].ledger().params().clone();
        let version = Version {
            version: PROTOCOL_VERSION,
            network: params.network_id,
            genesis: params.genesis_hash(),
            best_height: Height::GENESIS,
            best_work: params.pow_limit_target().work(),
            listen_port: 0,
            nonce: self.rng.next_u64(),
            agent: "adversary".into(),
        };
        self.input(
            node,
            Input::Connected {
                peer,
                addr,
                direction: crate::protocol::Direction::Inbound,
            },
        );
        self.input(node, Input::Message(peer, Message::Version(version)));
        self.input(node, Input::Message(peer, Message::Verack));
        for message in messages {
            self.input(node, Input::Message(peer, message));
        }
        if !stay {
            self.input(node, Input::Disconnected(peer));
        }
    }

    /// Attack 0: C (coinbase one unit too large) on A to `target`, then A to a node on the same
    /// tip, whose relay of A to `target` lets C in there.
    fn invalid_orphan(&mut self, target: usize) {
        let now = self.now();
        let tip = *self.nodes[target].ledger().chain().tip();
        let a = next_block(
            self.nodes[target].ledger().chain(),
            address(7_002),
            vec![],
            now,
        );
        let subsidy = self.nodes[target]
            .ledger()
            .params()
            .subsidy(Height(tip.height.0 + 2));
        let mut c = lone_block(a.hash(), Height(tip.height.0 + 2), now + 1);
        c.header.bits = a.header.bits;
        if let Some(Transaction::Coinbase(coinbase)) = c.txs.first_mut() {
            coinbase.amount = Amount(subsidy.0 + 1);
        }
        seal(&mut c);
        // It stays, to be there when C's fault is found.
        self.push_and_stay(target, vec![Message::Block(c)], true);
        let relayer = (0..self.nodes.len())
            .find(|&i| i != target && self.nodes[i].ledger().chain().tip().hash == tip.hash);
        if let Some(relayer) = relayer {
            self.push(relayer, vec![Message::Block(a)]);
        }
    }

    /// Attack 1: two variants of a rich miner's next transfer, to two nodes.
    fn fee_race(&mut self, target: usize) {
        let other = self.random_node();
        let Some((n, nonce, network)) = self.payer(target, 3 * COIN) else {
            return;
        };
        let first = transfer(&key(n), address(7_003), COIN, 1_000, nonce, network);
        let second = transfer(&key(n), address(7_004), COIN, 1_050, nonce, network);
        self.push(target, vec![Message::Transfer(first)]);
        self.push(other, vec![Message::Transfer(second)]);
    }

    /// Attack 3: a branch from genesis shorter than `target`'s chain: its headers, then its
    /// blocks unasked.
    fn low_work_branch(&mut self, target: usize) {
        const LENGTH: u64 = 3;
        if self.adversary.branch.is_empty() {
            let params = self.nodes[target].ledger().params().clone();
            let mut chain = crate::chain::Chain::open(params, crate::store::MemoryStore::new())
                .expect("a memory store opens");
            for i in 0..LENGTH {
                let block =
                    crate::testkit::next_block(&chain, address(7_005), vec![], super::START + i);
                chain
                    .accept_block(block.clone(), super::START + i)
                    .expect("a valid block");
                self.adversary.branch.push(block);
            }
        }
        if self.nodes[target].ledger().chain().tip().height.0 <= LENGTH + 1 {
            return;
        }
        let headers = self.adversary.branch.iter().map(|b| b.header).collect();
        let mut messages = vec![Message::Headers(headers)];
        messages.extend(self.adversary.branch.iter().cloned().map(Message::Block));
        self.push(target, messages);
    }
}

/// A block on `parent` at regtest's target holding only a coinbase of the height's subsidy, not
/// sealed: the start of a block the attacks then spoil.
fn lone_block(parent: BlockHash, height: Height, time: u64) -> Block {
    let params = crate::params::ChainParams::regtest();
    Block {
        header: Header {
            version: crate::block::HEADER_VERSION,
            prev_hash: parent,
            merkle_root: crate::hash::MerkleRoot::ZERO,
            time,
            bits: params.pow_limit,
            nonce: 0,
        },
        txs: vec![Transaction::Coinbase(Coinbase {
            height,
            to: address(7_006),
            amount: params.subsidy(height),
        })],
    }
}
