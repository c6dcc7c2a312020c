//! `chain node` on every host of a testbed, as a person would start one per machine: its own
//! data directory, peers given by host name, the web wallet and explorer on its address.

use super::Testbed;
use crate::chaos::api::Api;
use std::error::Error;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The port every node listens on for peers.
pub const P2P_PORT: u16 = 7410;
/// The port of every node's API and pages.
pub const API_PORT: u16 = 8080;

/// How the nodes are started.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The `chain` binary.
    pub chain: PathBuf,
    /// One folder per node under this (`node1`, ...), and each node's log beside it.
    pub data_dir: PathBuf,
    /// The first this many nodes mine, one thread each, to their own address.
    pub miners: usize,
    /// Regtest's fixed target (compact bits) for every block.
    pub bits: String,
    /// Each node dials this many of the nodes started before it (the nearest).
    pub dials: usize,
}

impl Setup {
    /// The address host `i` mines to (a key of the project's test kit, numbered by host).
    #[must_use]
    pub fn miner_address(i: usize) -> String {
        chain_core::testkit::address(1_000 + i as u64)
            .to_text(chain_core::params::ChainParams::regtest().address_prefix)
    }
}

/// Starts a node on every host and waits until each API answers (60 s at most); each node's
/// API client, by host.
///
/// # Errors
///
/// When a node cannot start, exits, or does not answer in time.
pub fn start(testbed: &mut Testbed, setup: &Setup) -> Result<Vec<Api>> {
    let mut apis = Vec::new();
    let mut processes = Vec::new();
    for i in 0..testbed.hosts() {
        let address = testbed.address(i);
        let dir = setup.data_dir.join(Testbed::host_name(i));
        let log = std::fs::File::create(
            setup
                .data_dir
                .join(format!("{}.log", Testbed::host_name(i))),
        )?;
        let mut command = testbed.command(i, &setup.chain);
        command
            .args([
                "node",
                "--network",
                "regtest",
                "--regtest-bits",
                &setup.bits,
            ])
            .arg("--data-dir")
            .arg(&dir)
            .args(["--listen", &format!("{address}:{P2P_PORT}")])
            .args(["--api", &format!("{address}:{API_PORT}")])
            .arg("--web")
            .env_remove("CHAIN_LOG")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        for j in (0..i).rev().take(setup.dials) {
            command.args(["--peer", &format!("{}:{P2P_PORT}", Testbed::host_name(j))]);
        }
        if i < setup.miners {
            command.args(["--mine", "--miner-address", &Setup::miner_address(i)]);
        }
        processes.push(testbed.spawn(command)?);
        apis.push(Api::new(format!("http://{address}:{API_PORT}"), None));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    for (i, api) in apis.iter().enumerate() {
        while api.status().is_err() {
            if !testbed.running()[processes[i]] {
                return Err(format!(
                    "{} exited at start: see {}",
                    Testbed::host_name(i),
                    setup
                        .data_dir
                        .join(format!("{}.log", Testbed::host_name(i)))
                        .display()
                )
                .into());
            }
            if Instant::now() > deadline {
                return Err(
                    format!("{}'s API did not answer within 60 s", Testbed::host_name(i)).into(),
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    Ok(apis)
}
