//! [`MinerManager`]: the user miners. A user who asks for a miner gets a real node: its own
//! chain database under `<web data dir>/miners/user-<id>/`, its own peer port on 127.0.0.1,
//! connected to the main node (from which it syncs), mining to the user's address. The
//! directory is named by the user id, not the name, because a name may hold any character.
//!
//! Which users want a miner, and on which port, is kept in the user database, so the server
//! starts the same miners again when it starts (see [`crate::App::restore_miners`]).

use chain_core::address::Address;
use chain_core::params::ChainParams;
use chain_net::views::NodeStatus;
use chain_net::{MiningConfig, NodeConfig, NodeHandle};
use chain_store::SqliteStore;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Mutex;

/// A user miner's state as the network page shows it.
#[derive(Debug, Clone)]
pub struct MinerInfo {
    /// The user's id.
    pub user_id: i64,
    /// The user's name.
    pub username: String,
    /// The paid address.
    pub address: String,
    /// Its peer address.
    pub listen: Option<SocketAddr>,
    /// Its status, if it answered.
    pub status: Option<NodeStatus>,
}

struct Running {
    username: String,
    address: String,
    node: NodeHandle,
}

/// Starts and stops the user miners. Cheap to clone.
#[derive(Clone)]
pub struct MinerManager {
    running: Arc<Mutex<BTreeMap<i64, Running>>>,
    dir: PathBuf,
    params: ChainParams,
    main_peer: Option<SocketAddr>,
    threads: usize,
    max_miners: usize,
}

impl std::fmt::Debug for MinerManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MinerManager")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Why a miner could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the miner of user {user_id}: {message}")]
pub struct MinerError {
    /// The user.
    pub user_id: i64,
    /// What failed.
    pub message: String,
}

impl MinerManager {
    /// Miners with databases under `dir`, peered to `main_peer`, mining with `threads` threads,
    /// at most `max_miners` at once (each is a whole node: its own database, sockets and
    /// mining threads).
    pub fn new(
        dir: PathBuf,
        params: ChainParams,
        main_peer: Option<SocketAddr>,
        threads: usize,
        max_miners: usize,
    ) -> Self {
        Self {
            running: Arc::default(),
            dir,
            params,
            main_peer,
            threads: threads.max(1),
            max_miners,
        }
    }

    /// Starts the miner of `user_id` (nothing if it runs already) on `port` (a free one if
    /// `None` or taken), and returns its peer port.
    ///
    /// # Errors
    ///
    /// If `max_miners` run already, or its database cannot be opened or the node cannot start.
    pub async fn start(
        &self,
        user_id: i64,
        username: &str,
        address: Address,
        port: Option<u16>,
    ) -> Result<u16, MinerError> {
        let mut running = self.running.lock().await;
        if let Some(miner) = running.get(&user_id) {
            return Ok(miner.node.listen_addr().map(|a| a.port()).unwrap_or(0));
        }
        let fail = |message: String| MinerError { user_id, message };
        if running.len() >= self.max_miners {
            return Err(fail(format!(
                "this node runs its most user miners already ({})",
                self.max_miners
            )));
        }
        let dir = self.dir.join(format!("user-{user_id}"));
        let params = self.params.clone();
        let store = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let path = dir.join("chain.sqlite");
            SqliteStore::open(&path, &params).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| fail(e.to_string()))?
        .map_err(fail)?;
        let mut config = NodeConfig::new(self.params.clone());
        config.peers = self.main_peer.into_iter().collect();
        config.verify_threads = 1;
        config.mining = Some(MiningConfig {
            address,
            threads: self.threads,
        });
        // The port it had before, so peers that remember it find it again; any free one if that
        // is taken now.
        let wanted = SocketAddr::from(([127, 0, 0, 1], port.unwrap_or(0)));
        let free = port.is_some_and(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        config.listen = Some(if free {
            wanted
        } else {
            SocketAddr::from(([127, 0, 0, 1], 0))
        });
        let node = chain_net::start(config, store)
            .await
            .map_err(|e| fail(e.to_string()))?;
        let port = node.listen_addr().map(|a| a.port()).unwrap_or(0);
        tracing::info!(user_id, port, "user miner started");
        running.insert(
            user_id,
            Running {
                username: username.to_string(),
                address: address.to_text(self.params.address_prefix),
                node,
            },
        );
        Ok(port)
    }

    /// Stops the miner of `user_id` (its node shuts down cleanly); nothing if none runs.
    pub async fn stop(&self, user_id: i64) {
        let stopped = self.running.lock().await.remove(&user_id);
        if let Some(miner) = stopped {
            miner.node.shutdown().await;
            tracing::info!(user_id, "user miner stopped");
        }
    }

    /// Whether the miner of `user_id` runs.
    pub async fn is_running(&self, user_id: i64) -> bool {
        self.running.lock().await.contains_key(&user_id)
    }

    /// The node of `user_id`'s miner, if it runs.
    pub async fn node(&self, user_id: i64) -> Option<NodeHandle> {
        self.running
            .lock()
            .await
            .get(&user_id)
            .map(|m| m.node.clone())
    }

    /// Every running miner with its status.
    pub async fn list(&self) -> Vec<MinerInfo> {
        let miners: Vec<(i64, String, String, NodeHandle)> = self
            .running
            .lock()
            .await
            .iter()
            .map(|(id, m)| (*id, m.username.clone(), m.address.clone(), m.node.clone()))
            .collect();
        let mut infos = Vec::with_capacity(miners.len());
        for (user_id, username, address, node) in miners {
            infos.push(MinerInfo {
                user_id,
                username,
                address,
                listen: node.listen_addr(),
                status: node.status().await.ok(),
            });
        }
        infos
    }

    /// Stops every miner.
    pub async fn shutdown(&self) {
        let all: Vec<Running> = std::mem::take(&mut *self.running.lock().await)
            .into_values()
            .collect();
        for miner in all {
            miner.node.shutdown().await;
        }
    }
}
