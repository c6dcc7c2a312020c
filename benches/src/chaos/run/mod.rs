//! One chaos run, phase by phase: start the network (`Harness::new`), fund the wallets
//! (`fund.rs`), run the fault plan while transfers flow (`faults.rs`), then settle, collect what
//! every node says and judge (`settle.rs`).
//!
//! Every wait has a deadline and every loop a bound, so a run ends even when the network never
//! converges; that outcome is then a failure with what was seen, not a hang.

mod faults;
mod follow;
mod fund;
mod settle;

use super::Error;
use super::book::Book;
use super::cluster::{Node, NodeSpec, find_binary, free_port, node_ip};
use super::plan::Pair;
use super::proxy::Link;
use super::report::{Figures, Report};
use super::wallets::Keys;
use super::watch::Watch;
use crate::sys;
use crate::testbed::{Config as TestbedConfig, Testbed};
use chain_core::hash::BlockHash;
use chain_core::params::ChainParams;
use chain_core::pow::CompactTarget;
use chain_core::testkit::Rng;
use chain_core::units::{Amount, COIN, Height};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seconds of chaos.
    pub seconds: u64,
    /// The seed of every choice the harness makes.
    pub seed: u64,
    /// Nodes in the network.
    pub nodes: usize,
    /// How many of them mine (one thread each): nodes `0..miners`.
    pub miners: usize,
    /// Wallets transfers flow between.
    pub wallets: usize,
    /// The fixed regtest target of the run's network.
    pub bits: CompactTarget,
    /// Transfers submitted per second during the chaos.
    pub rate: u32,
    /// The `chain` binary (default: next to this executable).
    pub chain: Option<PathBuf>,
    /// Run the nodes on a testbed of hosts with these links instead of on loopback.
    pub testbed: Option<TestbedLinks>,
    /// Which faults.
    pub plan: PlanKind,
}

/// The links of a run on a testbed (`crate::testbed`): each node a host of its own, reached
/// by name.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestbedLinks {
    /// Each pair's one-way delay, drawn from this range.
    pub delay: (Duration, Duration),
    /// Share of packets lost on every link.
    pub loss: f64,
}

/// The faults of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanKind {
    /// Nodes killed, links cut, partitions ([`super::plan::plan`]).
    Chaos,
    /// Two partitions healed and nothing else: a load run ([`super::plan::partitions`]).
    Partitions,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            seconds: 180,
            seed: 1,
            nodes: 5,
            miners: 3,
            wallets: 8,
            // 2^231: about 33.5 million hashes a block. Three miners of one thread each, sharing
            // two busy cores (load average 10), found one every 0.7 s.
            bits: CompactTarget(0x1e00_8000),
            rate: 3,
            chain: None,
            testbed: None,
            plan: PlanKind::Chaos,
        }
    }
}

/// Transfers of one wallet accepted but not yet seen confirmed, at most: half the 16 the nodes
/// hold beyond a sender's confirmed nonce (`MempoolPolicy::max_nonce_gap`). At 16, a 16-host
/// load run's pending sets doubled during partitions and the three miners, whose hashing runs
/// at the lowest priority, got too little of two cores (16 blocks in 300 s instead of 50); a
/// wallet that waits lets another send instead (`faults.rs`).
const MAX_OUTSTANDING: usize = 8;
/// What each wallet is funded with before the chaos, at most: the miners' coinbases pay every
/// wallet, so with many wallets funding takes many blocks unless each gets only what it needs.
const MAX_FUNDING: Amount = Amount(2 * COIN);
/// The mean amount of a transfer between wallets (1,000 units to 0.01 coin).
const SEND_AMOUNT_MEAN: Amount = Amount(1_000 + COIN / 200);
/// The fee of every transfer the harness signs (above the minimum of 1 per byte).
const FEE: Amount = Amount(2_000);

/// Runs the harness.
///
/// # Errors
///
/// When the run cannot be set up (no binary, nodes that do not start, funding that never
/// confirms). Problems found in the nodes are failures in the report, not errors.
pub fn run(options: &Options) -> Result<Report, Error> {
    let binary = find_binary(options.chain.clone())?;
    let dir = tempfile::Builder::new()
        .prefix("chain-chaos-")
        .tempdir()
        .map_err(|e| Error::new(format!("cannot create the run directory: {e}")))?;
    let mut harness = Harness::new(options, binary, dir.path().to_path_buf())?;
    let result = harness.run_phases();
    let failures = match result {
        Ok(()) => harness.failures.clone(),
        Err(error) => {
            let mut failures = harness.failures.clone();
            failures.push(format!("the run stopped: {error}"));
            failures
        }
    };
    harness.shutdown();
    let kept = if failures.is_empty() {
        drop(dir);
        None
    } else {
        Some(dir.keep())
    };
    Ok(Report {
        figures: harness.figures,
        failures,
        kept,
    })
}

/// Directed links `(from, to)`: `from` dials it to reach `to`.
type Links = BTreeMap<(usize, usize), Link>;

struct Harness {
    options: Options,
    params: ChainParams,
    binary: PathBuf,
    nodes: Vec<Node>,
    /// The proxies of the links, on loopback.
    links: Links,
    /// The hosts and the switch between them (a run on a testbed).
    testbed: Option<Testbed>,
    /// When the last cut healed, while the nodes have not yet agreed on a tip since.
    healed_at: Option<Instant>,
    /// How many cuts hold each node pair (overlapping cuts heal when the last one does).
    cuts: BTreeMap<Pair, u32>,
    ready: Vec<bool>,
    /// Crashed nodes started again, per node.
    revived: Vec<usize>,
    keys: Keys,
    book: Book,
    rng: Rng,
    watch: Option<Watch>,
    tips_seen: BTreeSet<BlockHash>,
    follower: follow::Follower,
    heights: Vec<Option<u64>>,
    figures: Figures,
    failures: Vec<String>,
    started: Instant,
}

impl Harness {
    fn new(options: &Options, binary: PathBuf, dir: PathBuf) -> Result<Self, Error> {
        let params = ChainParams::regtest();
        let n = options.nodes;
        // Seeds of separate streams: a change in how many keys are drawn does not move the plan.
        let keys = Keys::new(options.seed ^ 0x6b65_7973, options.miners, options.wallets);
        let (nodes, links, testbed) = match options.testbed {
            None => {
                let (nodes, links) = loopback_nodes(options, &keys, &params, &dir)?;
                (nodes, links, None)
            }
            Some(shape) => {
                let (nodes, testbed) = testbed_nodes(options, shape, &keys, &params, &dir)?;
                (nodes, BTreeMap::new(), Some(testbed))
            }
        };
        Ok(Self {
            options: options.clone(),
            params,
            binary,
            nodes,
            links,
            testbed,
            healed_at: None,
            cuts: BTreeMap::new(),
            ready: vec![false; n],
            revived: vec![0; n],
            keys,
            book: Book::new(),
            rng: Rng::new(options.seed ^ 0x0072_756e),
            watch: None,
            tips_seen: BTreeSet::new(),
            follower: follow::Follower::default(),
            heights: vec![None; n],
            figures: Figures {
                load_start: sys::load_average(),
                ..Figures::default()
            },
            failures: Vec::new(),
            started: Instant::now(),
        })
    }

    fn say(&self, line: &str) {
        println!("[{:6.1}s] {line}", self.started.elapsed().as_secs_f64());
    }

    fn run_phases(&mut self) -> Result<(), Error> {
        self.say(&format!(
            "{} nodes ({} mining, regtest at bits {}), {} wallets, seed {}, {} s of chaos; chain binary {}",
            self.options.nodes,
            self.options.miners,
            self.options.bits,
            self.options.wallets,
            self.options.seed,
            self.options.seconds,
            self.binary.display()
        ));
        self.start_all()?;
        let bases: Vec<String> = self
            .nodes
            .iter()
            .map(|n| n.api().base().to_string())
            .collect();
        self.watch = Some(Watch::start(&bases));
        self.fund()?;
        self.chaos()?;
        self.settle()?;
        self.conclude()
    }

    /// Starts every node that is not running and waits, 60 s at most in all, until every node
    /// answers.
    fn start_all(&mut self) -> Result<(), Error> {
        for node in &mut self.nodes {
            node.start(&self.binary, self.options.bits)?;
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        for i in 0..self.nodes.len() {
            self.nodes[i].wait_ready(deadline.saturating_duration_since(Instant::now()))?;
            self.ready[i] = true;
        }
        Ok(())
    }

    /// Nodes running and answering.
    fn live(&mut self) -> Vec<usize> {
        let mut live = Vec::new();
        for i in 0..self.nodes.len() {
            if !self.nodes[i].running() {
                self.ready[i] = false;
                continue;
            }
            if !self.ready[i] && self.nodes[i].api().status().is_ok() {
                self.ready[i] = true;
            }
            if self.ready[i] {
                live.push(i);
            }
        }
        live
    }

    fn pick(&mut self, among: &[usize]) -> Option<usize> {
        if among.is_empty() {
            return None;
        }
        Some(among[self.rng.below(among.len() as u64) as usize])
    }

    /// Every node's status, or `None` for one that does not answer.
    fn statuses(&mut self) -> Vec<Option<chain_web::contract::NodeStatus>> {
        let live = self.live();
        (0..self.nodes.len())
            .map(|i| {
                if !live.contains(&i) {
                    return None;
                }
                let status = self.nodes[i].api().status().ok();
                if let Some(status) = &status {
                    self.tips_seen.insert(status.tip);
                    self.heights[i] = Some(status.height.0);
                }
                status
            })
            .collect()
    }

    /// The common tip when every node answers with the same one.
    fn agreed_tip(&mut self) -> Option<(BlockHash, Height)> {
        let statuses = self.statuses();
        let first = statuses.first()?.as_ref()?;
        statuses
            .iter()
            .all(|s| s.as_ref().is_some_and(|s| s.tip == first.tip))
            .then_some((first.tip, first.height))
    }
    fn shutdown(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        if let Some(watch) = self.watch.take() {
            watch.stop();
        }
        for link in self.links.values() {
            let stats = link.stats();
            self.figures.connections_dropped += stats.dropped.load(Ordering::Relaxed);
            self.figures.connections_blocked += stats.blocked.load(Ordering::Relaxed);
            self.figures.strangers += stats.strangers.load(Ordering::Relaxed);
        }
        self.links.clear();
        if let Some(testbed) = self.testbed.take() {
            let counts = testbed.switch().counts();
            self.figures.packets = Some((counts.delivered, counts.lost));
        }
        self.figures.load_end = sys::load_average();
        self.figures.total_secs = self.started.elapsed().as_secs_f64();
    }
}

/// The miner address of node `i`, if it mines.
fn miner_of(keys: &Keys, params: &ChainParams, i: usize) -> Option<String> {
    keys.miners
        .get(i)
        .map(|m| m.address.to_text(params.address_prefix))
}

/// Nodes on loopback, each peer link through a proxy the harness cuts.
fn loopback_nodes(
    options: &Options,
    keys: &Keys,
    params: &ChainParams,
    dir: &std::path::Path,
) -> Result<(Vec<Node>, Links), Error> {
    let n = options.nodes;
    let mut listens = Vec::new();
    for i in 0..n {
        listens.push(SocketAddr::new(node_ip(i), free_port(node_ip(i))?));
    }
    let mut links = BTreeMap::new();
    for from in 0..n {
        for to in 0..n {
            if from != to {
                let link = Link::start(
                    (Ipv4Addr::LOCALHOST, 0).into(),
                    listens[to],
                    params.network_id,
                    Some(listens[from].port()),
                )
                .map_err(|e| Error::new(format!("cannot start the proxy {from}->{to}: {e}")))?;
                links.insert((from, to), link);
            }
        }
    }
    let mut nodes = Vec::new();
    for (i, listen) in listens.iter().enumerate() {
        let api = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port(Ipv4Addr::LOCALHOST.into())?));
        let peers = (0..n)
            .filter(|&j| j != i)
            .filter_map(|j| links.get(&(i, j)).map(|l| l.addr().to_string()))
            .collect();
        nodes.push(Node::new(NodeSpec {
            index: i,
            data_dir: dir.join(format!("node-{i}")),
            listen: *listen,
            api,
            peers,
            launcher: Vec::new(),
            miner: miner_of(keys, params, i),
        }));
    }
    Ok((nodes, links))
}

/// Nodes on a testbed, one host each, every other node its peer by name; cuts are the
/// switch's.
fn testbed_nodes(
    options: &Options,
    shape: TestbedLinks,
    keys: &Keys,
    params: &ChainParams,
    dir: &std::path::Path,
) -> Result<(Vec<Node>, Testbed), Error> {
    if let Some(why) = crate::testbed::unavailable() {
        return Err(Error::new(format!("no testbed here: {why}")));
    }
    crate::testbed::clean_stale();
    let testbed = Testbed::start(TestbedConfig {
        hosts: options.nodes,
        delay: shape.delay,
        loss: shape.loss,
        seed: options.seed,
        ..TestbedConfig::default()
    })
    .map_err(|e| Error::new(format!("cannot start the testbed: {e}")))?;
    let nodes = (0..options.nodes)
        .map(|i| {
            let address = IpAddr::V4(testbed.address(i));
            let peers = (0..options.nodes)
                .filter(|&j| j != i)
                .map(|j| {
                    format!(
                        "{}:{}",
                        Testbed::host_name(j),
                        crate::testbed::nodes::P2P_PORT
                    )
                })
                .collect();
            Node::new(NodeSpec {
                index: i,
                data_dir: dir.join(format!("node-{i}")),
                listen: SocketAddr::new(address, crate::testbed::nodes::P2P_PORT),
                api: SocketAddr::new(address, crate::testbed::nodes::API_PORT),
                peers,
                launcher: testbed.launcher(i),
                miner: miner_of(keys, params, i),
            })
        })
        .collect();
    Ok((nodes, testbed))
}

fn pairs_text(pairs: &[Pair]) -> String {
    pairs
        .iter()
        .map(|(a, b)| format!("{a}-{b}"))
        .collect::<Vec<_>>()
        .join(" ")
}
