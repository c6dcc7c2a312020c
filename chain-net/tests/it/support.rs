//! Starting regtest nodes on loopback and waiting for conditions, with deadlines (never sleeps
//! as synchronisation: waits poll the node and end by themselves).

use chain_core::address::Address;
use chain_core::miner::mine_reference;
use chain_core::params::ChainParams;
use chain_core::pow::CompactTarget;
use chain_core::store::MemoryStore;
use chain_net::{MiningConfig, NodeConfig, NodeHandle};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::OnceLock;
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
    let mut config = NodeConfig::new(params());
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
