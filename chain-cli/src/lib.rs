//! The library behind the `chain` binary: starting a node with its API server, starting a local
//! network of them in the foreground, the wallet file, and what is printed (the API client is
//! `chain_web::client`). `main.rs` only parses, calls and prints.

pub mod config;
pub mod error;
pub mod foreground;
pub mod logging;
pub mod paths;
pub mod seeds;
pub mod show;
pub mod wallet;

use crate::error::CliError;
use chain_core::params::ChainParams;
use chain_net::{MiningConfig, NodeConfig, NodeHandle};
use chain_store::{SqliteStore, StoreOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How to run one node.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// The network.
    pub params: ChainParams,
    /// Its data directory (chain database, API token).
    pub data_dir: PathBuf,
    /// Peer listen address.
    pub listen: SocketAddr,
    /// Where other nodes reach this one, when not at the address its connections come from
    /// (behind NAT): told to its peers (`ProtocolConfig::external_addr`).
    pub external_addr: Option<SocketAddr>,
    /// Peers to dial: addresses, or host names looked up at start and again every
    /// [`chain_net::PEER_NAMES_RESOLVED_EVERY`].
    pub peers: Vec<chain_net::PeerName>,
    /// Mining.
    pub mining: Option<MiningConfig>,
    /// API listen address.
    pub api: SocketAddr,
    /// Serve the web pages too (not only the API), with this web data directory (user
    /// database, user miners).
    pub web: Option<PathBuf>,
    /// The reverse proxy in front of the API and pages, whose `X-Forwarded-For` and
    /// `X-Forwarded-Proto` are believed (`chain_web::ServerOptions::trusted_proxy`).
    pub trusted_proxy: Option<std::net::IpAddr>,
}

/// A running node with its API server.
pub struct RunningNode {
    /// The node.
    pub node: NodeHandle,
    /// Where its API listens.
    pub api: SocketAddr,
    /// The web application, when it serves pages.
    pub web: Option<chain_web::App>,
    stop_api: tokio::sync::oneshot::Sender<()>,
    api_task: tokio::task::JoinHandle<()>,
}

impl RunningNode {
    /// Stops the API server and the node (every task and thread ends, the database closes).
    ///
    /// The server stops accepting first; the node stops before the server is awaited, because
    /// an open event stream (a browser tab on any page) ends only when its node does. Requests
    /// still in progress then answer that the node has stopped.
    pub async fn shutdown(self) {
        let _ = self.stop_api.send(());
        if let Some(web) = &self.web {
            web.shutdown().await;
        }
        self.node.shutdown().await;
        let _ = self.api_task.await;
    }
}

/// The API token of a node's data directory: read, or created (random, owner-only) if absent.
///
/// # Errors
///
/// If the file cannot be read or written.
pub fn api_token(data_dir: &Path) -> Result<String, CliError> {
    let path = data_dir.join("api-token");
    if let Ok(token) = std::fs::read_to_string(&path) {
        chain_store::private::warn_if_loose(&path);
        return Ok(token.trim().to_string());
    }
    chain_store::private::create_dir(data_dir)?;
    let token = chain_core::hash::to_hex(&wallet::random::<16>()?);
    // Readable by the owner only from its first byte.
    chain_store::private::create_file(&path)?.write_all(token.as_bytes())?;
    Ok(token)
}

/// Starts a node on `SqliteStore` in `data_dir` and its API server (with the web pages, the
/// user database and the user miners when `web` is set).
///
/// # Errors
///
/// If the database cannot be opened (another network, damaged) or an address cannot be bound.
pub async fn start_node(options: NodeOptions) -> Result<RunningNode, CliError> {
    // It holds the API token (and often the wallet): the owner's alone.
    chain_store::private::create_dir(&options.data_dir)?;
    let db = options.data_dir.join("chain.sqlite");
    // The chain database can always be rebuilt from peers, and WAL with `synchronous=NORMAL` is
    // still atomic and survives a killed process (only a power loss can drop the last commits):
    // a node stores blocks and admits transfers without a disk sync each (`StoreOptions::node`,
    // which also gives it a larger page cache). Wallets and users, which cannot be rebuilt, keep
    // full durability.
    let store_options = StoreOptions::node();
    let store = SqliteStore::open_with(&db, &options.params, store_options)
        .map_err(|e| CliError::Other(format!("cannot open {}: {e}", db.display())))?;
    let token = api_token(&options.data_dir)?;
    let mut config = NodeConfig::new(options.params.clone());
    config.listen = Some(options.listen);
    config.protocol.external_addr = options.external_addr;
    for peer in options.peers {
        match peer.socket_addr() {
            Some(addr) => config.peers.push(addr),
            None => config.peer_names.push(peer),
        }
    }
    config.mining = options.mining;
    let node = chain_net::start(config, store)
        .await
        .map_err(|e| CliError::Other(format!("cannot start the node: {e}")))?;
    if !options.api.ip().is_loopback() {
        tracing::warn!(
            address = %options.api,
            "the API{} listens beyond this machine: anyone who reaches it can read the chain{}; \
             changes need the API token",
            if options.web.is_some() { " and web" } else { "" },
            if options.web.is_some() { " and use the web pages" } else { "" },
        );
    }
    let (stop_api, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = chain_web::ApiState::new(node.clone(), Some(Arc::from(token.as_str())));
    let shutdown = async move {
        let _ = stopped.await;
    };
    let server = chain_web::ServerOptions {
        trusted_proxy: options.trusted_proxy,
        ..chain_web::ServerOptions::default()
    };
    let (served, web) = match &options.web {
        Some(web_dir) => {
            let app_options = chain_web::AppOptions {
                server,
                ..chain_web::AppOptions::default()
            };
            let app = match chain_web::App::open(state, web_dir, app_options) {
                Ok(app) => app,
                Err(e) => {
                    node.shutdown().await;
                    return Err(CliError::Other(format!("cannot start the web app: {e}")));
                }
            };
            app.restore_miners().await;
            (
                chain_web::serve_app(app.clone(), options.api, shutdown).await,
                Some(app),
            )
        }
        None => (
            chain_web::serve_with(state, options.api, server, shutdown).await,
            None,
        ),
    };
    let (api, api_task) = match served {
        Ok(bound) => bound,
        Err(e) => {
            if let Some(web) = &web {
                web.shutdown().await;
            }
            node.shutdown().await;
            return Err(CliError::Other(format!(
                "cannot serve the API on {}: {e}",
                options.api
            )));
        }
    };
    Ok(RunningNode {
        node,
        api,
        web,
        stop_api,
        api_task,
    })
}
