//! The nodes of a chaos run: real `chain node` processes, each with its own data directory, peer
//! address and API port, started, SIGKILLed and started again on the same directory.
//!
//! Why separate processes rather than nodes inside the harness: SIGKILL is the fault under test
//! (a node dies between any two instructions, with SQLite mid-transaction), and only a process
//! can die like that. Why each node listens on its own loopback address (127.0.0.10 + i): peers
//! learn a node's listen port from its handshake and remember it at the address the connection
//! came from, which is 127.0.0.1 (the proxy's side). Nothing listens on 127.0.0.1 at that port,
//! so a node cannot bypass the proxies by dialling what it learned.

use super::Error;
use super::api::Api;
use chain_core::pow::CompactTarget;
use std::fs::OpenOptions;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How one node is run.
#[derive(Debug, Clone)]
pub struct NodeSpec {
    /// Its index.
    pub index: usize,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its peer listen address (on its own loopback address).
    pub listen: SocketAddr,
    /// Its API address.
    pub api: SocketAddr,
    /// The peers it dials (`host:port`): the proxies of its outgoing links on loopback, the
    /// other hosts by name on a testbed.
    pub peers: Vec<String>,
    /// The command that runs the binary, if any (`ip netns exec <host>` on a testbed).
    pub launcher: Vec<String>,
    /// The address it mines to, if it mines.
    pub miner: Option<String>,
}

/// A node's process, when running.
#[derive(Debug)]
pub struct Node {
    /// How it is run.
    pub spec: NodeSpec,
    child: Option<Child>,
    /// Times started.
    pub starts: u32,
    /// Times killed by the harness.
    pub kills: u32,
    /// Exits the harness did not cause, with their status.
    pub crashes: Vec<String>,
    /// Its API client once its token is known: one agent, whose connections are kept alive
    /// from call to call.
    api: std::cell::OnceCell<Api>,
}

/// The loopback address node `index` listens on for peers.
pub fn node_ip(index: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 10 + (index % 200) as u8))
}

/// A port free both on `ip` and on 127.0.0.1 (see the module doc), found by binding both.
///
/// # Errors
///
/// If no such port turns up in 100 tries.
pub fn free_port(ip: IpAddr) -> Result<u16, Error> {
    for _ in 0..100 {
        let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .map_err(|e| Error::new(format!("cannot bind a loopback port: {e}")))?;
        let port = probe
            .local_addr()
            .map_err(|e| Error::new(format!("cannot read a bound port: {e}")))?
            .port();
        if ip == IpAddr::V4(Ipv4Addr::LOCALHOST) || TcpListener::bind((ip, port)).is_ok() {
            return Ok(port);
        }
    }
    Err(Error::new(format!(
        "no port free on both 127.0.0.1 and {ip}"
    )))
}

/// The `chain` binary to run: `explicit` if given, else `chain` next to this executable (both
/// are built into `target/release`).
///
/// # Errors
///
/// If the binary is not there, with the command that builds it.
pub fn find_binary(explicit: Option<PathBuf>) -> Result<PathBuf, Error> {
    let path = match explicit {
        Some(path) => path,
        None => {
            let exe = std::env::current_exe()
                .map_err(|e| Error::new(format!("cannot find this executable: {e}")))?;
            let dir = exe
                .parent()
                .ok_or_else(|| Error::new("this executable has no directory"))?;
            // `target/release/chaos`, or `target/release/deps/chaos-…` under `cargo test`.
            let beside = dir.join("chain");
            if beside.exists() {
                beside
            } else {
                dir.parent().map(|d| d.join("chain")).unwrap_or(beside)
            }
        }
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(Error::new(format!(
            "no `chain` binary at {}: build it with `cargo build --release -p chain-cli`, or pass --chain PATH",
            path.display()
        )))
    }
}

impl Node {
    /// A node that is not running yet.
    pub fn new(spec: NodeSpec) -> Self {
        Self {
            spec,
            child: None,
            starts: 0,
            kills: 0,
            crashes: Vec::new(),
            api: std::cell::OnceCell::new(),
        }
    }

    /// The node's log file (stdout and stderr of every start, appended).
    pub fn log_path(&self) -> PathBuf {
        self.spec.data_dir.with_extension("log")
    }

    /// A client of its API, with its token (written at its first start).
    pub fn api(&self) -> Api {
        if let Some(api) = self.api.get() {
            return api.clone();
        }
        let token = std::fs::read_to_string(self.spec.data_dir.join("api-token"))
            .ok()
            .map(|t| t.trim().to_string());
        let known = token.is_some();
        let api = Api::new(format!("http://{}", self.spec.api), token);
        // The token stays the node's across restarts: kept once read.
        if known {
            let _ = self.api.set(api.clone());
        }
        api
    }

    /// Starts the process (on regtest at `bits`).
    ///
    /// # Errors
    ///
    /// If the process cannot be spawned or its log opened.
    pub fn start(&mut self, binary: &Path, bits: CompactTarget) -> Result<(), Error> {
        if self.child.is_some() {
            return Ok(());
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| Error::new(format!("cannot open {}: {e}", self.log_path().display())))?;
        let err_log = log
            .try_clone()
            .map_err(|e| Error::new(format!("cannot share {}: {e}", self.log_path().display())))?;
        let mut command = match self.spec.launcher.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        command
            .args(["node", "--network", "regtest", "--regtest-bits"])
            .arg(format!("0x{bits}"))
            .arg("--data-dir")
            .arg(&self.spec.data_dir)
            .args(["--listen", &self.spec.listen.to_string()])
            .args(["--api", &self.spec.api.to_string()]);
        for peer in &self.spec.peers {
            command.args(["--peer", peer]);
        }
        if let Some(miner) = &self.spec.miner {
            command.args(["--mine", "--miner-address", miner, "--threads", "1"]);
        }
        // Settings must come from the flags only, not from the caller's environment.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("CHAIN_") {
                command.env_remove(key);
            }
        }
        command
            .env("CHAIN_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(err_log));
        let child = command
            .spawn()
            .map_err(|e| Error::new(format!("cannot start {}: {e}", binary.display())))?;
        self.child = Some(child);
        self.starts += 1;
        note(
            &self.log_path(),
            &format!("harness: start #{}", self.starts),
        );
        Ok(())
    }

    /// SIGKILLs the process and reaps it (nothing when it is not running).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` is SIGKILL on Unix: no clean shutdown, as in a crash or power cut.
            let _ = child.kill();
            let _ = child.wait();
            self.kills += 1;
            note(&self.log_path(), "harness: SIGKILL");
        }
    }

    /// Whether the process runs; an exit the harness did not cause is recorded as a crash.
    pub fn running(&mut self) -> bool {
        let Some(child) = &mut self.child else {
            return false;
        };
        match child.try_wait() {
            Ok(None) => true,
            Ok(Some(status)) => {
                self.crashes.push(format!(
                    "node {} exited by itself ({status}) after start #{}; log {}",
                    self.spec.index,
                    self.starts,
                    self.log_path().display()
                ));
                self.child = None;
                false
            }
            Err(_) => true,
        }
    }

    /// Waits (at most `timeout`) until the running node answers on its API.
    ///
    /// # Errors
    ///
    /// If it does not, or it is not running.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if !self.running() {
                return Err(Error::new(format!(
                    "node {} is not running; log {}",
                    self.spec.index,
                    self.log_path().display()
                )));
            }
            if self.api().status().is_ok() && self.spec.data_dir.join("api-token").exists() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(Error::new(format!(
                    "node {} did not answer on http://{} within {timeout:?}; log {}",
                    self.spec.index,
                    self.spec.api,
                    self.log_path().display()
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Appends a line to a node's log, so the log shows where the harness intervened.
fn note(log: &Path, line: &str) {
    use std::io::Write;
    if let Ok(mut file) = OpenOptions::new().append(true).open(log) {
        let _ = writeln!(file, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_addresses_and_ports() {
        assert_eq!(node_ip(0).to_string(), "127.0.0.10");
        assert_eq!(node_ip(4).to_string(), "127.0.0.14");
        let port = free_port(node_ip(3)).unwrap();
        assert!(TcpListener::bind((node_ip(3), port)).is_ok());
    }

    #[test]
    fn a_missing_binary_says_how_to_build_it() {
        let error = find_binary(Some(PathBuf::from("/nonexistent/chain"))).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("cargo build --release -p chain-cli"),
            "{error}"
        );
    }
}
