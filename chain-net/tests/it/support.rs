//! Starting regtest nodes on loopback and waiting for conditions, with deadlines (never sleeps
//! as synchronisation: waits poll the node and end by themselves).

use chain_core::address::Address;
use chain_core::block::Header;
use chain_core::hash::BlockHash;
use chain_core::ledger::Ledger;
use chain_core::mempool::MempoolPolicy;
use chain_core::miner::mine_reference;
use chain_core::mining::{Job, Kernel, mine};
use chain_core::params::ChainParams;
use chain_core::pow::CompactTarget;
use chain_core::store::MemoryStore;
use chain_core::tx::Transfer;
use chain_core::units::Height;
use chain_net::views::NodeStatus;
use chain_net::{MiningConfig, NodeConfig, NodeHandle};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Duration;

/// Regtest, but with a target that takes about a million hashes: a block every few tens of
/// milliseconds per mining thread instead of thousands a second, so that nodes mining in real
/// time stay close together. (Its genesis block is mined once per test process.)
pub fn params() -> ChainParams {
    static PARAMS: OnceLock<ChainParams> = OnceLock::new();
    PARAMS
        .get_or_init(|| {
            let mut params = ChainParams::regtest();
            params.pow_limit = CompactTarget(0x1e0f_ffff);
            params.initial_bits = params.pow_limit;
            let mut header = params.genesis_block().header;
            header.nonce = 0;
            assert!(mine_reference(&mut header, u64::MAX));
            params.genesis_nonce = header.nonce;
            params
        })
        .clone()
}

/// A node of [`params`] on 127.0.0.1 with a free port, connecting to `peers`, mining to `miner` if
/// given.
pub async fn node(peers: Vec<SocketAddr>, miner: Option<Address>, seed: u64) -> NodeHandle {
    node_with_store(peers, miner, seed, MemoryStore::new()).await
}

/// As [`node`], over a given store.
pub async fn node_with_store(
    peers: Vec<SocketAddr>,
    miner: Option<Address>,
    seed: u64,
    store: MemoryStore,
) -> NodeHandle {
    node_with_params(params(), peers, miner, seed, store).await
}

/// As [`node_with_store`], on another network (plain regtest, where a block takes a couple of
/// hashes, for chains of thousands of blocks).
pub async fn node_with_params(
    params: ChainParams,
    peers: Vec<SocketAddr>,
    miner: Option<Address>,
    seed: u64,
    store: impl chain_core::store::Store + Send + 'static,
) -> NodeHandle {
    let mut config = NodeConfig::new(params);
    config.listen = Some("127.0.0.1:0".parse().unwrap());
    config.peers = peers;
    config.seed = seed;
    config.verify_threads = 1;
    config.mining = miner.map(|address| MiningConfig {
        address,
        threads: 1,
    });
    chain_net::start(config, store).await.unwrap()
}

/// Finds a nonce for `header` with the fastest hashing kernel: milliseconds for [`params`]' target,
/// where the reference miner of the testkit would take a second or give up.
pub fn solve(header: &mut Header) {
    let target = header.bits.to_target().unwrap();
    let job = Job::new(&header.to_array(), &target.to_be_bytes());
    let (nonce, _) = mine(
        &job,
        Kernel::best(),
        1,
        0,
        &AtomicBool::new(false),
        &AtomicU64::new(0),
    )
    .unwrap();
    header.nonce = nonce;
}

/// `store` with `blocks` more blocks of `params` on its tip, each paying `miner`; the first holds
/// `transfers` (they must be valid there). Block times are the current time (moved past the
/// median time past when needed).
pub fn extend(
    params: &ChainParams,
    store: MemoryStore,
    miner: Address,
    transfers: Vec<Transfer>,
    blocks: usize,
) -> MemoryStore {
    let now = unix_now();
    let mut ledger = Ledger::open(params.clone(), store, MempoolPolicy::default(), now).unwrap();
    let count = transfers.len();
    for transfer in transfers {
        ledger.submit_transfer(transfer, now).unwrap();
    }
    for _ in 0..blocks {
        let mut block = ledger.block_template(miner, now).unwrap();
        solve(&mut block.header);
        ledger.accept_block(block, now).unwrap();
    }
    assert!(
        blocks == 0 || ledger.mempool().is_empty(),
        "all {count} transfers mined"
    );
    ledger.into_store()
}

/// A store in `dir` opened as a real node opens its own (SQLite, `StoreOptions::node()`).
pub fn sqlite_store(dir: &tempfile::TempDir, params: &ChainParams) -> chain_store::SqliteStore {
    chain_store::SqliteStore::open_with(
        dir.path().join("chain.db"),
        params,
        chain_store::StoreOptions::node(),
    )
    .unwrap()
}

/// Seconds since the unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Polls `check` every 20 ms until it returns `Some`, or panics after `secs` seconds.
pub async fn wait_for<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Mines on `node` (one thread, paying `miner`) until its tip is at `height` or above, then stops
/// mining; returns the status after the stop (a block found just before the stop is included).
pub async fn mine_until(node: &NodeHandle, miner: Address, height: Height) -> NodeStatus {
    node.set_mining(Some(MiningConfig {
        address: miner,
        threads: 1,
    }))
    .await
    .unwrap();
    wait_for(&format!("height {height}"), 30, || {
        let node = node.clone();
        async move { (node.status().await.ok()?.height >= height).then_some(()) }
    })
    .await;
    node.set_mining(None).await.unwrap();
    node.status().await.unwrap()
}

/// Waits until every node in `nodes` has the tip `tip`.
pub async fn wait_for_tip(what: &str, nodes: &[&NodeHandle], tip: BlockHash) {
    let nodes: Vec<NodeHandle> = nodes.iter().map(|n| (*n).clone()).collect();
    wait_for(what, 30, || {
        let nodes = nodes.clone();
        async move {
            for node in &nodes {
                if node.status().await.ok()?.tip != tip {
                    return None;
                }
            }
            Some(())
        }
    })
    .await;
}
