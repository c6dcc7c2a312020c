//! A deterministic simulated network: many [`Node`]s (the same state machine `chain-net` runs
//! over TCP, with its batching, index and mining policy) over in-memory stores, connected by
//! links with seeded latency and loss, and partitions that open and heal. No real time and no
//! sockets: virtual milliseconds advance from event to event, so a run of minutes takes moments,
//! and any failure replays exactly from its seed.
//!
//! Every node mines for its own address; a block is "found" when the run's schedule says so, by
//! sealing the node's current template and handing it back as [`Input::BlockFound`]. After each
//! event a node is given an idle moment ([`Node::idle`]), as the TCP core thread does whenever
//! its queue is empty.
//!
//! With [`SimConfig::attacks`], an adversary (`adversary.rs`) connects to honest nodes now and
//! then and runs one attack each time; the report counts the penalties honest peers earned (there
//! must be none) and the adversary's connections that were banned.

mod adversary;

use super::conformance::main_chain;
use super::{Rng, address, coins_issued_by, key, seal, transfer};
use crate::hash::BlockHash;
use crate::ledger::Ledger;
use crate::mempool::MempoolPolicy;
use crate::node::mining::MiningJob;
use crate::node::{Idle, Input, Node, Output};
use crate::params::ChainParams;
use crate::protocol::{Direction, Message, NodeEvent, PeerId, Protocol, ProtocolConfig};
use crate::store::MemoryStore;
use crate::units::COIN;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The virtual clock's start (unix seconds).
pub const START: u64 = 1_800_000_000;

/// How a simulation run is shaped.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Nodes in the network.
    pub nodes: usize,
    /// Lowest and highest one-way latency, in milliseconds.
    pub latency_ms: (u64, u64),
    /// Chance in a thousand that sending a message breaks its connection (TCP does not lose
    /// single messages; it loses connections, and both ends must recover).
    pub loss_per_mille: u64,
    /// Blocks mined (by random nodes) while the network runs.
    pub blocks: usize,
    /// Virtual milliseconds between mined blocks.
    pub block_interval_ms: u64,
    /// Transfers submitted (to random nodes) along the way.
    pub transfers: usize,
    /// Whether the network splits in two for a while, mining on both sides.
    pub partition: bool,
    /// Virtual seconds allowed after the last scheduled block for everyone to agree. Mining goes
    /// on meanwhile, a block every 20 s (two chains of equal work stay apart until the next
    /// block, as in any proof-of-work network), and agreement is checked 15 s after each.
    pub settle_secs: u64,
    /// Attacks the adversary makes over the mining period (none by default).
    pub attacks: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            nodes: 50,
            latency_ms: (5, 150),
            loss_per_mille: 5,
            blocks: 12,
            block_interval_ms: 4_000,
            transfers: 10,
            partition: true,
            settle_secs: 600,
            attacks: 0,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimReport {
    /// The seed.
    pub seed: u64,
    /// Whether every node ended on the same tip.
    pub converged: bool,
    /// Distinct tips at the end, with how many nodes sit on each.
    pub tips: BTreeMap<BlockHash, usize>,
    /// The height of the most common tip.
    pub height: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Messages lost.
    pub lost: u64,
    /// Virtual seconds the run took.
    pub virtual_secs: u64,
    /// Nodes whose accounts do not add up to the coins their best chain issued (the subsidies:
    /// each coinbase's amount less the fees it collected). Empty when every node's ledger
    /// balances.
    pub unbalanced: Vec<usize>,
    /// Penalties honest nodes gave each other (each an honest peer wrongly charged).
    pub honest_penalties: u64,
    /// The adversary's connections closed with a ban.
    pub adversary_bans: u64,
    /// Attacks the adversary made.
    pub attacks: u64,
}

#[derive(Debug)]
enum Event {
    Deliver {
        link: u64,
        to_a: bool,
        message: Message,
    },
    Dial {
        from: usize,
        to: usize,
    },
    Tick(usize),
    Mine,
    Transfer,
    Split,
    Heal,
    Check,
    Attack,
}

struct Link {
    a: usize,
    b: usize,
    open: bool,
    /// When the last message in each direction arrives: a stream keeps its order.
    last_to_a: u64,
    last_to_b: u64,
}

/// The simulated network.
pub struct Sim {
    config: SimConfig,
    rng: Rng,
    nodes: Vec<Node<MemoryStore>>,
    /// Each node's current mining job.
    jobs: Vec<Option<MiningJob>>,
    links: BTreeMap<u64, Link>,
    next_link: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: BTreeMap<usize, Event>,
    next_event: usize,
    now_ms: u64,
    side: Vec<bool>,
    split: bool,
    delivered: u64,
    lost: u64,
    adversary: adversary::Adversary,
    honest_penalties: u64,
}

fn addr_of(node: usize) -> SocketAddr {
    let n = node as u32 + 1;
    SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(127, 0, (n >> 8) as u8, n as u8)),
        7510,
    )
}

fn node_of(addr: SocketAddr) -> Option<usize> {
    match addr.ip() {
        IpAddr::V4(ip) => {
            let [_, _, hi, lo] = ip.octets();
            (((hi as usize) << 8) | lo as usize).checked_sub(1)
        }
        IpAddr::V6(_) => None,
    }
}

/// Peer ids: link `l` is peer `2l` at its `a` end and `2l + 1` at its `b` end.
fn peer_id(link: u64, at_a: bool) -> PeerId {
    link * 2 + u64::from(!at_a)
}

impl Sim {
    /// A network of fresh regtest nodes; each knows the address of a few others.
    pub fn new(config: SimConfig, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let params = ChainParams::regtest();
        let nodes: Vec<Node<MemoryStore>> = (0..config.nodes)
            .map(|i| {
                let ledger = Ledger::open(
                    params.clone(),
                    MemoryStore::new(),
                    MempoolPolicy::default(),
                    START,
                )
                .expect("a fresh ledger opens");
                let protocol_config = ProtocolConfig {
                    target_outbound: 4,
                    listen_port: 7510,
                    rotate_interval: 60,
                    ..ProtocolConfig::default()
                };
                let mut protocol = Protocol::new(ledger, protocol_config, rng.next_u64());
                for _ in 0..3 {
                    let other = rng.below(config.nodes as u64) as usize;
                    if other != i {
                        protocol.add_address(addr_of(other), START);
                    }
                }
                let mut node = Node::new(protocol);
                node.set_mining(Some(address(1_000 + i as u64)), START)
                    .expect("memory store");
                node
            })
            .collect();
        let n = nodes.len();
        let mut sim = Self {
            config,
            rng,
            nodes,
            jobs: vec![None; n],
            links: BTreeMap::new(),
            next_link: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            next_event: 0,
            now_ms: 0,
            side: vec![false; n],
            split: false,
            delivered: 0,
            lost: 0,
            adversary: adversary::Adversary::default(),
            honest_penalties: 0,
        };
        for node in 0..n {
            sim.apply_io(node);
            let offset = sim.rng.below(1_000);
            sim.schedule(offset, Event::Tick(node));
        }
        sim
    }

    fn schedule(&mut self, delay_ms: u64, event: Event) {
        let id = self.next_event;
        self.next_event += 1;
        self.events.insert(id, event);
        self.queue
            .push(Reverse((self.now_ms + delay_ms, id as u64, id)));
    }

    fn now(&self) -> u64 {
        START + self.now_ms / 1_000
    }

    fn reachable(&self, a: usize, b: usize) -> bool {
        !self.split || self.side[a] == self.side[b]
    }

    fn latency(&mut self) -> u64 {
        let (low, high) = self.config.latency_ms;
        low + self.rng.below(high.saturating_sub(low) + 1)
    }

    /// Hands `input` to node `node`, gives it an idle moment, and carries out what it asked.
    fn input(&mut self, node: usize, input: Input) {
        let now = self.now();
        self.nodes[node].handle(input, now).expect("memory store");
        while self.nodes[node].idle(now).expect("memory store") == Idle::Busy {}
        self.apply_io(node);
    }

    /// Carries out what node `node` asked for.
    fn apply_io(&mut self, node: usize) {
        for output in self.nodes[node].drain() {
            if let Some(output) = self.adversary.intercept(output) {
                self.honest_output(node, output);
            }
        }
    }

    /// Carries out one output of node `node` meant for an honest peer (or no peer).
    fn honest_output(&mut self, node: usize, output: Output) {
        {
            match output {
                Output::Send(peer, message) => {
                    let link = peer / 2;
                    let from_a = peer % 2 == 0;
                    if !self.links.get(&link).is_some_and(|l| l.open) {
                        return;
                    }
                    if self.rng.below(1_000) < self.config.loss_per_mille {
                        self.lost += 1;
                        self.close_link(link);
                        return;
                    }
                    let arrival = self.now_ms + self.latency();
                    let Some(l) = self.links.get_mut(&link) else {
                        return;
                    };
                    let last = if from_a {
                        &mut l.last_to_b
                    } else {
                        &mut l.last_to_a
                    };
                    *last = (*last).max(arrival);
                    let delay = *last - self.now_ms;
                    self.schedule(
                        delay,
                        Event::Deliver {
                            link,
                            to_a: !from_a,
                            message,
                        },
                    );
                }
                Output::Disconnect(peer, _) => self.close_link(peer / 2),
                Output::Connect(addr) => {
                    if let Some(to) = node_of(addr).filter(|t| *t < self.nodes.len()) {
                        let delay = self.latency();
                        self.schedule(delay, Event::Dial { from: node, to });
                    }
                }
                Output::Mine(job) => self.jobs[node] = Some(job),
                Output::Event(NodeEvent::PeerPenalised { .. }) => self.honest_penalties += 1,
                Output::Event(_) => {}
                Output::Warning { what, error } => panic!("node {node} could not {what}: {error}"),
            }
        }
    }

    fn close_link(&mut self, link: u64) {
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        if !l.open {
            return;
        }
        l.open = false;
        let (a, b) = (l.a, l.b);
        self.input(a, Input::Disconnected(peer_id(link, true)));
        self.input(b, Input::Disconnected(peer_id(link, false)));
    }

    fn handle(&mut self, event: Event) {
        let now = self.now();
        match event {
            Event::Deliver {
                link,
                to_a,
                message,
            } => {
                let Some(l) = self.links.get(&link) else {
                    return;
                };
                if !l.open {
                    return;
                }
                let node = if to_a { l.a } else { l.b };
                self.delivered += 1;
                self.input(node, Input::Message(peer_id(link, to_a), message));
            }
            Event::Dial { from, to } => {
                if from == to || !self.reachable(from, to) {
                    self.input(from, Input::ConnectFailed(addr_of(to)));
                    return;
                }
                let link = self.next_link;
                self.next_link += 1;
                self.links.insert(
                    link,
                    Link {
                        a: from,
                        b: to,
                        open: true,
                        last_to_a: 0,
                        last_to_b: 0,
                    },
                );
                // The accepting side sees an ephemeral port.
                let inbound_addr =
                    SocketAddr::new(addr_of(from).ip(), 40_000 + (link % 20_000) as u16);
                self.input(
                    to,
                    Input::Connected {
                        peer: peer_id(link, false),
                        addr: inbound_addr,
                        direction: Direction::Inbound,
                    },
                );
                self.input(
                    from,
                    Input::Connected {
                        peer: peer_id(link, true),
                        addr: addr_of(to),
                        direction: Direction::Outbound,
                    },
                );
            }
            Event::Tick(node) => {
                self.input(node, Input::Tick);
                let next = 1_000 + self.rng.below(100);
                self.schedule(next, Event::Tick(node));
            }
            Event::Mine => {
                let node = self.rng.below(self.nodes.len() as u64) as usize;
                let Some(MiningJob { job, mut template }) = self.jobs[node].clone() else {
                    return;
                };
                seal(&mut template);
                self.input(
                    node,
                    Input::BlockFound {
                        job,
                        block: template,
                    },
                );
            }
            Event::Transfer => {
                // Miners that have coins pay users.
                let node = self.rng.below(self.nodes.len() as u64) as usize;
                if let Some((n, nonce, network)) = self.payer(node, 2 * COIN) {
                    let t = transfer(
                        &key(n),
                        address(self.rng.below(5)),
                        COIN,
                        1_000,
                        nonce,
                        network,
                    );
                    let _ = self.nodes[node]
                        .submit_transfer(t, now)
                        .expect("memory store");
                    while self.nodes[node].idle(now).expect("memory store") == Idle::Busy {}
                    self.apply_io(node);
                }
            }
            Event::Split => {
                self.split = true;
                for side in &mut self.side {
                    *side = self.rng.chance(50);
                }
                let cross: Vec<u64> = self
                    .links
                    .iter()
                    .filter(|(_, l)| l.open && self.side[l.a] != self.side[l.b])
                    .map(|(id, _)| *id)
                    .collect();
                for link in cross {
                    self.close_link(link);
                }
            }
            Event::Heal => self.split = false,
            Event::Check => {}
            Event::Attack => self.attack(),
        }
    }

    /// Runs the scenario: blocks and transfers at intervals, a partition over the middle third
    /// (if configured), then quiet until everyone agrees or the settle time runs out.
    pub fn run(mut self, seed: u64) -> SimReport {
        let interval = self.config.block_interval_ms;
        // Let the network form before mining starts.
        let warmup = 20_000;
        for i in 0..self.config.blocks as u64 {
            self.schedule(warmup + i * interval, Event::Mine);
        }
        for i in 0..self.config.transfers as u64 {
            let at = warmup + interval + self.rng.below(self.config.blocks as u64 * interval);
            let _ = i;
            self.schedule(at, Event::Transfer);
        }
        let mining_ms = self.config.blocks as u64 * interval;
        if self.config.partition {
            self.schedule(warmup + mining_ms / 3, Event::Split);
            self.schedule(warmup + 2 * mining_ms / 3, Event::Heal);
        }
        // Attacks over the last two thirds of the mining, when the chain has some height.
        for i in 0..self.config.attacks as u64 {
            let at = warmup + mining_ms / 3 + i * (2 * mining_ms / 3) / self.config.attacks as u64;
            self.schedule(at, Event::Attack);
        }
        let settle_start = warmup + mining_ms;
        let deadline = settle_start + self.config.settle_secs * 1_000;
        for k in 0..self.config.settle_secs / 20 {
            self.schedule(settle_start + k * 20_000, Event::Mine);
            self.schedule(settle_start + k * 20_000 + 15_000, Event::Check);
        }
        while let Some(Reverse((at, _, id))) = self.queue.pop() {
            if at > deadline {
                break;
            }
            self.now_ms = at;
            let Some(event) = self.events.remove(&id) else {
                continue;
            };
            let check = matches!(event, Event::Check);
            self.handle(event);
            if check && self.agreed() {
                break;
            }
        }
        let mut tips: BTreeMap<BlockHash, usize> = BTreeMap::new();
        for node in &self.nodes {
            *tips.entry(node.ledger().chain().tip().hash).or_default() += 1;
        }
        if std::env::var("SIM_DEBUG").is_ok() {
            let best = tips.iter().max_by_key(|(_, n)| **n).map(|(h, _)| *h);
            for (i, node) in self.nodes.iter().enumerate() {
                if Some(node.ledger().chain().tip().hash) != best || self.nodes.len() < 5 {
                    eprintln!(
                        "node {i}: height {} peers {:?} known {} syncing {} best header {} sync {:?} orphans {}",
                        node.ledger().chain().tip().height,
                        node.protocol()
                            .peers()
                            .iter()
                            .map(|p| (p.addr, p.ready, p.best_height.0))
                            .collect::<Vec<_>>(),
                        node.protocol().known_addresses().len(),
                        node.protocol().is_syncing(),
                        node.protocol().best_header_height(),
                        node.protocol().sync_counts(),
                        node.ledger().chain().orphan_count(),
                    );
                }
            }
        }
        let height = self
            .nodes
            .iter()
            .map(|n| n.ledger().chain().tip().height.0)
            .max()
            .unwrap_or(0);
        let unbalanced = (0..self.nodes.len())
            .filter(|&i| !balances_add_up(&self.nodes[i]))
            .collect();
        SimReport {
            seed,
            converged: tips.len() == 1,
            tips,
            height,
            delivered: self.delivered,
            lost: self.lost,
            virtual_secs: self.now_ms / 1_000,
            unbalanced,
            honest_penalties: self.honest_penalties,
            adversary_bans: self.adversary.bans,
            attacks: self.adversary.attacks,
        }
    }

    fn agreed(&self) -> bool {
        let first = self.nodes[0].ledger().chain().tip().hash;
        self.nodes
            .iter()
            .all(|n| n.ledger().chain().tip().hash == first)
    }

    /// A miner with more than `balance` as node `node` sees it (the first of them), with its
    /// next nonce there and the network: who can pay next.
    fn payer(&self, node: usize, balance: u64) -> Option<(u64, u64, crate::params::NetworkId)> {
        let ledger = self.nodes[node].ledger();
        let n = (0..self.nodes.len() as u64).map(|i| 1_000 + i).find(|n| {
            ledger
                .chain()
                .account(&address(*n))
                .is_ok_and(|a| a.balance.0 > balance)
        })?;
        let from = address(n);
        let account = ledger.chain().account(&from).ok()?;
        let nonce = ledger.mempool().next_nonce(&from, account);
        Some((n, nonce, ledger.params().network_id))
    }

    /// The nodes, for checks after a run.
    pub fn nodes(&self) -> &[Node<MemoryStore>] {
        &self.nodes
    }
}

/// Whether `node`'s accounts hold exactly the coins its best chain issued: no transfer, fee,
/// reorganisation or undo made or lost a coin.
fn balances_add_up(node: &Node<MemoryStore>) -> bool {
    let chain = node.ledger().chain();
    let issued: u64 = std::iter::once(chain.params().genesis_block())
        .chain(main_chain(chain))
        .map(|block| coins_issued_by(&block))
        .sum();
    let held: u64 = chain
        .store()
        .accounts()
        .values()
        .map(|account| account.balance.0)
        .sum();
    held == issued
}

/// Runs one seeded simulation.
pub fn simulate(config: SimConfig, seed: u64) -> SimReport {
    Sim::new(config, seed).run(seed)
}
