//! Nodes run in the foreground, as `chain node` and `chain devnet` run them: started, where
//! they are printed, a status line kept up (live on a terminal, logged every
//! [`PLAIN_STATUS_EVERY`] seconds elsewhere), and a clean stop on Ctrl-C or SIGTERM.

use crate::error::CliError;
use crate::show::indexing_note;
use crate::wallet::Wallet;
use crate::{NodeOptions, RunningNode, start_node};
use chain_core::keystore::KdfParams;
use chain_core::params::ChainParams;
use chain_net::MiningConfig;
use chain_net::views::NodeStatus;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A channel that yields once Ctrl-C or SIGTERM arrives; the handlers are installed now.
fn stop_signal() -> Result<tokio::sync::mpsc::Receiver<()>, CliError> {
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::spawn(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            let _ = sender.send(()).await;
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = sender.send(()).await;
    });
    Ok(receiver)
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::from)
}

/// Runs a local network of `nodes` miners on loopback until Ctrl-C: node `i` on peer port
/// `p2p_port + i` and API port `api_port + i`, each dialling the ones before it, each mining to
/// the `miner` key of its own wallet (made on first start, password `CHAIN_DEVNET_PASSWORD` or
/// `devnet`); node 0 serves the web app, its users under `<data_dir>/web`.
///
/// # Errors
///
/// No node, ports out of range, a wallet or node that cannot start.
pub fn devnet(
    nodes: usize,
    data_dir: PathBuf,
    p2p_port: u16,
    api_port: u16,
    threads: usize,
    params: ChainParams,
    trusted_proxy: Option<std::net::IpAddr>,
) -> Result<(), CliError> {
    if nodes == 0 {
        return Err(CliError::Usage("a devnet needs at least one node".into()));
    }
    let password = std::env::var("CHAIN_DEVNET_PASSWORD").unwrap_or_else(|_| "devnet".into());
    let mut options = Vec::new();
    for i in 0..nodes {
        let dir = data_dir.join(format!("node-{i}"));
        let mut wallet = Wallet::open(&dir.join("wallet.json"))?;
        let entry = match wallet.entry(Some("miner")) {
            Ok(entry) => entry.clone(),
            Err(_) => wallet.create("miner", &params, password.as_bytes(), KdfParams::default())?,
        };
        let address = Wallet::address(&entry, params.address_prefix)?;
        let port = |base: u16| {
            base.checked_add(i as u16)
                .ok_or_else(|| CliError::Usage("port out of range".into()))
        };
        let listen: SocketAddr = SocketAddr::from(([127, 0, 0, 1], port(p2p_port)?));
        let peers = (0..i)
            .map(|j| SocketAddr::from(([127, 0, 0, 1], p2p_port + j as u16)).into())
            .collect();
        options.push(NodeOptions {
            params: params.clone(),
            data_dir: dir,
            listen,
            external_addr: None,
            peers,
            mining: Some(MiningConfig { address, threads }),
            api: SocketAddr::from(([127, 0, 0, 1], port(api_port)?)),
            // Node 0 serves the web app (pages and API); its users and their miners live in
            // `<devnet data dir>/web`.
            web: (i == 0).then(|| data_dir.join("web")),
            trusted_proxy,
        });
    }
    run_nodes(options)
}

/// Seconds between status lines when standard error is not a terminal.
const PLAIN_STATUS_EVERY: u64 = 30;

/// Runs nodes until Ctrl-C, printing where they are and a live status line.
///
/// # Errors
///
/// When a node cannot start (the ones started are stopped first) or signals cannot be listened
/// for.
pub fn run_nodes(options: Vec<NodeOptions>) -> Result<(), CliError> {
    let runtime = runtime()?;
    runtime.block_on(async move {
        // Listen for Ctrl-C (and SIGTERM) before anything starts, so a stop request during start-up
        // is a clean stop too.
        let mut stop = stop_signal()?;
        let mut running = Vec::new();
        for (i, option) in options.iter().enumerate() {
            let node = match start_node(option.clone()).await {
                Ok(node) => node,
                Err(error) => {
                    for node in running {
                        RunningNode::shutdown(node).await;
                    }
                    return Err(error);
                }
            };
            let mining = option
                .mining
                .as_ref()
                .map(|m| m.address.to_text(option.params.address_prefix))
                .unwrap_or_else(|| "not mining".into());
            println!(
                "node {i}: {} p2p {} api http://{} data {} miner {mining}",
                option.params.name,
                option.listen,
                node.api,
                option.data_dir.display()
            );
            if node.web.is_some() {
                println!("web wallet and explorer: http://{}/", node.api);
            }
            running.push(node);
        }
        println!("api token of each node: <data>/api-token; stop with Ctrl-C");
        // On a terminal, a live status line; elsewhere (a service, a log file) the same line
        // logged every `PLAIN_STATUS_EVERY` seconds.
        let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let bar = indicatif::ProgressBar::new_spinner();
        if terminal {
            bar.enable_steady_tick(Duration::from_millis(250));
        }
        let mut ticks: u64 = 0;
        let mut last_heights: Vec<Option<(u64, Instant)>> = vec![None; running.len()];
        loop {
            let mut parts = Vec::new();
            for (i, node) in running.iter().enumerate() {
                let Ok(status) = node.node.status().await else {
                    continue;
                };
                let now = std::time::Instant::now();
                parts.push(status_part(i, &status, last_heights[i], now));
                last_heights[i] = Some((status.height.0, now));
            }
            if terminal {
                bar.set_message(parts.join(" | "));
            } else if ticks.is_multiple_of(PLAIN_STATUS_EVERY) {
                tracing::info!(target: "chain", "{}", parts.join(" | "));
            }
            ticks += 1;
            tokio::select! {
                _ = stop.recv() => break,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
        bar.finish_with_message("stopping");
        for node in running {
            node.shutdown().await;
        }
        println!("stopped");
        Ok(())
    })
}

/// One node's part of the status line: height, peers, mining, and the sync rate since the
/// previous line (`before`: its height then, and when).
pub fn status_part(
    i: usize,
    status: &NodeStatus,
    before: Option<(u64, Instant)>,
    now: Instant,
) -> String {
    let height = status.height.0;
    let rate = match before {
        Some((before, at)) if now > at => {
            (height.saturating_sub(before)) as f64 / (now - at).as_secs_f64()
        }
        _ => 0.0,
    };
    let sync = if status.syncing || status.best_header_height.0 > height {
        format!(
            " syncing to {} at {rate:.0} blocks/s",
            status.best_header_height
        )
    } else {
        indexing_note(status.indexed_height.0, height)
    };
    let mining = if status.mining.enabled {
        format!(
            " mining {:.1} MH/s, found {}",
            status.mining.hash_rate / 1e6,
            status.mining.blocks_found
        )
    } else {
        String::new()
    };
    format!(
        "node {i}: height {height}, {} peers{mining}{sync}",
        status.peers
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_core::hash::BlockHash;
    use chain_core::units::Height;
    use chain_net::views::MiningStatus;

    fn status(height: u64, best_header: u64, mining: bool) -> NodeStatus {
        NodeStatus {
            network: "regtest".into(),
            height: Height(height),
            tip: BlockHash([0; 32]),
            tip_time: 0,
            bits: String::new(),
            difficulty: 1.0,
            best_header_height: Height(best_header),
            syncing: best_header > height,
            indexed_height: Height(height),
            peers: 2,
            peers_inbound: 1,
            peers_outbound: 1,
            banned: 0,
            chain_work: 1.0,
            mempool_transfers: 0,
            mempool_bytes: 0,
            mining: MiningStatus {
                enabled: mining,
                hash_rate: 2.5e6,
                blocks_found: 3,
                ..MiningStatus::default()
            },
            listen: None,
        }
    }

    #[test]
    fn the_status_line_gives_height_peers_mining_and_the_sync_rate() {
        let then = Instant::now();
        let now = then + Duration::from_secs(2);
        assert_eq!(
            status_part(0, &status(120, 120, true), None, now),
            "node 0: height 120, 2 peers mining 2.5 MH/s, found 3"
        );
        // 100 blocks in 2 s while syncing to 500.
        assert_eq!(
            status_part(1, &status(200, 500, false), Some((100, then)), now),
            "node 1: height 200, 2 peers syncing to 500 at 50 blocks/s"
        );
    }
}
