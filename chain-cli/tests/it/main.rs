//! Tests that run the real `chain` binary: a node, wallets, payments, errors and exit codes, and
//! a devnet that keeps its chain and wallets across a restart.

// Helpers outside `#[test]` functions panic on a broken invariant by design.
#![allow(clippy::unwrap_used)]

mod testbed;

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";

fn chain(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chain"));
    command
        .current_dir(dir)
        .env("CHAIN_PASSWORD", PASSWORD)
        .env_remove("CHAIN_NODE");
    command
}

/// A running `chain node` or `chain devnet`, stopped with SIGINT when dropped.
struct Running {
    child: Child,
    apis: Vec<String>,
}

impl Running {
    fn start(command: Command, expected_nodes: usize) -> Self {
        Self::start_with_stderr(command, expected_nodes, Stdio::null())
    }

    /// As [`Running::start`], its log (standard error, a pipe: no terminal) sent line by line.
    fn start_logged(command: Command, expected_nodes: usize) -> (Self, Receiver<String>) {
        let mut running = Self::start_with_stderr(command, expected_nodes, Stdio::piped());
        let stderr = running.child.stderr.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        (running, receiver)
    }

    fn start_with_stderr(mut command: Command, expected_nodes: usize, stderr: Stdio) -> Self {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(api) = line
                    .split(" api http://")
                    .nth(1)
                    .and_then(|rest| rest.split(' ').next())
                {
                    let _ = sender.send(api.to_string());
                }
            }
        });
        let apis = (0..expected_nodes)
            .map(|_| {
                receiver
                    .recv_timeout(Duration::from_secs(60))
                    .expect("the node prints its API address")
            })
            .collect();
        Self { child, apis }
    }

    fn stop(mut self) {
        interrupt(&mut self.child);
    }
}

fn interrupt(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            assert!(status.success(), "Ctrl-C stops cleanly: {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("the node did not stop within 30 s of Ctrl-C");
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}

fn json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A connection to `api`'s event stream, once its response has begun.
fn open_event_stream(api: &str) -> TcpStream {
    let mut stream = TcpStream::connect(api).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(b"GET /api/v1/events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(stream.read(&mut byte).unwrap(), 1, "the response head");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 200"), "{head:?}");
    stream
}

/// `chain node` on regtest at bits that find blocks in real time, its data in `dir/data_dir`,
/// peers on `listen`, its API on a free port.
fn regtest_node(dir: &Path, data_dir: &str, listen: &str) -> Command {
    let mut command = chain(dir);
    command.args([
        "node",
        "--network",
        "regtest",
        "--regtest-bits",
        "0x1f00ffff",
        "--data-dir",
        data_dir,
        "--listen",
        listen,
        "--api",
        "127.0.0.1:0",
    ]);
    command
}

/// A regtest node in `dir/node` mining to `miner`, on free loopback ports.
fn mining_node(dir: &Path, miner: &str) -> Command {
    let mut command = chain(dir);
    command.args([
        "node",
        "--network",
        "regtest",
        "--data-dir",
        "node",
        "--listen",
        "127.0.0.1:0",
        "--api",
        "127.0.0.1:0",
        "--mine",
        "--miner-address",
        miner,
    ]);
    command
}

fn wallet_new(dir: &Path, wallet: &str, name: &str) -> String {
    let out = chain(dir)
        .args([
            "wallet",
            "--wallet",
            wallet,
            "new",
            "--network",
            "regtest",
            "--name",
            name,
            "--json",
        ])
        .output()
        .unwrap();
    json(&out)["address"].as_str().unwrap().to_string()
}

#[test]
fn a_node_two_wallets_a_payment_and_every_error() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let alice = wallet_new(dir, "w.json", "alice");
    let bob = wallet_new(dir, "w.json", "bob");
    let running = Running::start(mining_node(dir, &alice), 1);
    let api = format!("http://{}", running.apis[0]);
    #[cfg(unix)]
    {
        // The wallet, the API token and the data directory are the owner's alone.
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &str| {
            std::fs::metadata(dir.join(path))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("w.json"), 0o600);
        assert_eq!(mode("node/api-token"), 0o600);
        assert_eq!(mode("node"), 0o700);
    }
    let cli = |args: &[&str]| {
        chain(dir)
            .args(["--node", &api, "--token-file", "node/api-token"])
            .args(args)
            .output()
            .unwrap()
    };

    wait_until("alice mined coins", || {
        let out = cli(&["wallet", "--wallet", "w.json", "balance", "alice", "--json"]);
        out.status.success() && json(&out)["balance"].as_u64().unwrap_or(0) > 0
    });
    let sent = json(&cli(&[
        "wallet", "--wallet", "w.json", "send", &bob, "1.5", "--from", "alice", "--json",
    ]));
    let txid = sent["txid"].as_str().unwrap().to_string();
    wait_until("the payment confirmed", || {
        let out = cli(&["tx", &txid, "--json"]);
        out.status.success() && json(&out)["status"]["state"] == "confirmed"
    });
    let bob_account = json(&cli(&[
        "wallet", "--wallet", "w.json", "balance", "bob", "--json",
    ]));
    assert_eq!(bob_account["balance"].as_u64(), Some(150_000_000));
    // Alice mines (hundreds of regtest blocks a second), so her payment may be pages back: follow
    // the history's cursor.
    for name in ["alice", "bob"] {
        let mut before: Option<String> = None;
        let mut found = false;
        for _ in 0..1_000 {
            let mut args = vec![
                "wallet", "--wallet", "w.json", "history", name, "--limit", "100", "--json",
            ];
            if let Some(cursor) = &before {
                args.extend(["--before", cursor.as_str()]);
            }
            let page = json(&cli(&args));
            let items = page["items"].as_array().unwrap();
            found = items
                .iter()
                .any(|i| i["tx"]["txid"].as_str() == Some(txid.as_str()));
            before = page["next"].as_str().map(str::to_string);
            if found || before.is_none() {
                break;
            }
        }
        assert!(found, "{name}'s history shows the payment");
    }
    // Bob's whole history as CSV: the header and his one payment, received from alice.
    let csv = cli(&["wallet", "--wallet", "w.json", "history", "bob", "--csv"]);
    assert!(csv.status.success());
    let csv = String::from_utf8(csv.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert_eq!(lines[0], chain_web::csv::HEADER);
    let row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(
        &row[2..7],
        [
            txid.as_str(),
            "transfer",
            "in",
            alice.as_str(),
            "+1.50000000"
        ]
    );
    let text =
        String::from_utf8(cli(&["wallet", "--wallet", "w.json", "balance", "bob"]).stdout).unwrap();
    assert!(text.contains("balance 1.50000000"), "{text}");

    // Each error: its message and exit code.
    let code = |out: &Output| out.status.code().unwrap();
    let stderr = |out: &Output| String::from_utf8_lossy(&out.stderr).to_string();
    let wrong_password = chain(dir)
        .args([
            "--node",
            &api,
            "--token-file",
            "node/api-token",
            "wallet",
            "--wallet",
            "w.json",
            "send",
            &bob,
            "1",
            "--from",
            "alice",
        ])
        .env("CHAIN_PASSWORD", "not it")
        .output()
        .unwrap();
    assert_eq!(code(&wrong_password), 4, "{}", stderr(&wrong_password));
    assert!(stderr(&wrong_password).contains("wrong password"));
    let mut typo = bob.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == 'q' { 'p' } else { 'q' });
    let bad_address = cli(&[
        "wallet", "--wallet", "w.json", "send", &typo, "1", "--from", "alice",
    ]);
    assert_eq!(code(&bad_address), 5, "{}", stderr(&bad_address));
    assert!(stderr(&bad_address).contains("typo"));
    let too_much = cli(&[
        "wallet", "--wallet", "w.json", "send", &alice, "1000000", "--from", "bob",
    ]);
    assert_eq!(code(&too_much), 6, "{}", stderr(&too_much));
    assert!(stderr(&too_much).contains("insufficient balance"));
    let unknown = cli(&["tx", &"00".repeat(32)]);
    assert_eq!(code(&unknown), 7, "{}", stderr(&unknown));
    let unknown_block = cli(&["block", "999999"]);
    assert_eq!(code(&unknown_block), 7);
    let unreachable = chain(dir)
        .args(["--node", "http://127.0.0.1:1", "status"])
        .output()
        .unwrap();
    assert_eq!(code(&unreachable), 3, "{}", stderr(&unreachable));
    assert!(stderr(&unreachable).contains("cannot reach the node"));
    // A fee 60 times the amount is refused without --yes (like bitcoind's -maxtxfee), as is
    // one above --max-fee.
    let fee_above_amount = cli(&[
        "wallet", "--wallet", "w.json", "send", &bob, "0.5", "--fee", "30", "--from", "alice",
    ]);
    assert_eq!(code(&fee_above_amount), 2, "{}", stderr(&fee_above_amount));
    assert!(
        stderr(&fee_above_amount).contains("more than the amount")
            && stderr(&fee_above_amount).contains("--yes"),
        "{}",
        stderr(&fee_above_amount)
    );
    let fee_above_limit = cli(&[
        "wallet",
        "--wallet",
        "w.json",
        "send",
        &bob,
        "1",
        "--fee",
        "0.5",
        "--max-fee",
        "0.1",
        "--from",
        "alice",
    ]);
    assert_eq!(code(&fee_above_limit), 2, "{}", stderr(&fee_above_limit));
    assert!(stderr(&fee_above_limit).contains("limit"));
    let bad_args = cli(&["wallet", "--wallet", "w.json", "send", &bob, "lots"]);
    assert_eq!(code(&bad_args), 2);
    assert_eq!(code(&chain(dir).arg("frobnicate").output().unwrap()), 2);
    // Nothing changed: bob still has exactly the one payment.
    let bob_after = json(&cli(&[
        "wallet", "--wallet", "w.json", "balance", "bob", "--json",
    ]));
    assert_eq!(bob_after["balance"].as_u64(), Some(150_000_000));
    // No secret in the wallet file.
    let wallet = std::fs::read_to_string(dir.join("w.json")).unwrap();
    assert!(!wallet.contains(PASSWORD));
    running.stop();
}

#[test]
fn devnet_keeps_its_chain_and_wallets_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    // Ports unlikely to clash with another test run: derived from the process id.
    let base = 20_000 + (std::process::id() % 10_000) as u16 * 2;
    let start = || {
        let mut devnet = chain(dir);
        devnet
            .args([
                "devnet",
                "--nodes",
                "2",
                "--network",
                "regtest",
                "--data-dir",
                "net",
            ])
            .args([
                "--p2p-port",
                &base.to_string(),
                "--api-port",
                &(base + 5_000).to_string(),
            ]);
        Running::start(devnet, 2)
    };
    let status = |api: &str| -> Option<Value> {
        let out = chain(dir)
            .args(["--node", &format!("http://{api}"), "status", "--json"])
            .output()
            .ok()?;
        out.status.success().then(|| json(&out))
    };
    let first = start();
    let api = first.apis[0].clone();
    wait_until("the devnet mined 5 blocks", || {
        status(&api).is_some_and(|s| s["height"].as_u64().unwrap_or(0) >= 5)
    });
    let wallet_before = std::fs::read_to_string(dir.join("net/node-0/wallet.json")).unwrap();
    // A browser tab left open on a live page: its event stream must not hold the stop, and ends
    // with the chunked body's last chunk rather than a cut connection.
    let mut events = open_event_stream(&api);
    first.stop();
    let mut rest = Vec::new();
    events.read_to_end(&mut rest).unwrap();
    assert!(
        rest.ends_with(b"0\r\n\r\n"),
        "the event stream ended cleanly: {:?}",
        String::from_utf8_lossy(&rest)
    );
    let height_before = {
        // Read the height the stopped network reached from a fresh start, before it mines more.
        let second = start();
        let api = second.apis[0].clone();
        let height = status(&api).unwrap()["height"].as_u64().unwrap();
        second.stop();
        height
    };
    assert!(
        height_before >= 5,
        "the chain survived the restart: height {height_before}"
    );
    let wallet_after = std::fs::read_to_string(dir.join("net/node-0/wallet.json")).unwrap();
    assert_eq!(wallet_before, wallet_after, "the miners keep their wallets");
}

#[test]
fn a_regtest_node_mines_at_the_bits_it_is_given_and_other_networks_refuse_them() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let alice = wallet_new(dir, "w.json", "alice");
    let mut node = regtest_node(dir, "node", "127.0.0.1:0");
    node.args(["--mine", "--miner-address", &alice]);
    let running = Running::start(node, 1);
    let api = format!("http://{}", running.apis[0]);
    let status = || {
        json(
            &chain(dir)
                .args(["--node", &api, "status", "--json"])
                .output()
                .unwrap(),
        )
    };
    wait_until("two blocks at the given bits", || {
        status()["height"].as_u64().unwrap_or(0) >= 2
    });
    assert_eq!(status()["bits"].as_str(), Some("1f00ffff"));
    running.stop();

    let devnet = chain(dir)
        .args(["node", "--network", "devnet", "--regtest-bits", "1f00ffff"])
        .output()
        .unwrap();
    assert_eq!(devnet.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&devnet.stderr).contains("needs --network regtest"));
    let too_hard = chain(dir)
        .args(["node", "--network", "regtest", "--regtest-bits", "1c00ffff"])
        .output()
        .unwrap();
    assert_eq!(too_hard.status.code(), Some(2));
}

/// Reads `log` until a line satisfies `wanted` (60 s at most); the line.
fn log_line(log: &Receiver<String>, what: &str, mut wanted: impl FnMut(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match log.recv_timeout(left) {
            Ok(line) if wanted(&line) => return line,
            Ok(_) => {}
            Err(_) => panic!("no log line {what} within 60 s"),
        }
    }
}

/// A loopback port free now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET `path` on `api` (host:port): the status code and the body.
fn get(api: &str, path: &str) -> (u16, String) {
    request(api, "GET", path, None)
}

/// `method` `path` on `api` (host:port), with a JSON body if given and no token: the status
/// code and the body.
fn request(api: &str, method: &str, path: &str, json_body: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(api).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = json_body.unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let code = answer.split(' ').nth(1).unwrap().parse().unwrap();
    let body = answer
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    (code, body)
}

#[test]
fn a_node_without_a_terminal_logs_blocks_and_peers_at_info_serves_its_web_and_answers_health_checks()
 {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let alice = wallet_new(dir, "w.json", "alice");
    let a_port = free_port();
    let node = |name: &str, listen: String, extra: &[&str]| {
        let mut command = regtest_node(dir, name, &listen);
        // Nothing asked of the log: the default (INFO) applies.
        command.env_remove("CHAIN_LOG").env_remove("RUST_LOG");
        command.args(extra);
        command
    };
    let a = node(
        "a",
        format!("127.0.0.1:{a_port}"),
        &["--mine", "--miner-address", &alice],
    );
    let (a, a_log) = Running::start_logged(a, 1);
    // A block connected, and the status line (without a terminal, a plain log line), in
    // either order.
    let (mut block, mut status) = (false, false);
    log_line(&a_log, "of a block connected and of status", |line| {
        block |= line.contains(" INFO chain_net: block connected height=");
        status |= line.contains(" INFO chain: node 0: height");
        block && status
    });

    // The peer by name: looked up, and dialled at the address the miner listens on.
    let peer = format!("127.0.0.1:{a_port}");
    let by_name = format!("localhost:{a_port}");
    let b = node(
        "b",
        "127.0.0.1:0".into(),
        &["--peer", &by_name, "--log-format", "json", "--web"],
    );
    let (b, b_log) = Running::start_logged(b, 1);
    let joined = log_line(&b_log, "of the peer joining", |line| {
        line.contains("peer joined")
    });
    let joined: Value = serde_json::from_str(&joined).expect("a JSON log line");
    assert_eq!(joined["level"], "INFO");
    assert_eq!(joined["fields"]["addr"], peer.as_str());
    log_line(&b_log, "of a block connected on the follower", |line| {
        line.contains("block connected")
    });

    let b_api = b.apis[0].clone();
    assert_eq!(get(&b_api, "/healthz"), (200, r#"{"alive":true}"#.into()));
    // Metrics, as a Prometheus scraper reads them: the follower dialled one peer and stored
    // the blocks it got in batches, each commit timed.
    let (code, text) = get(&b_api, "/metrics");
    assert_eq!(code, 200);
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let value = |name: &str, label: Option<(&str, &str)>| {
        let found = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)));
        match found.map(|s| &s.value) {
            Some(prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v)) => *v,
            Some(prometheus_parse::Value::Histogram(buckets)) => buckets.last().unwrap().count,
            other => panic!("{name}: {other:?} in {text}"),
        }
    };
    assert_eq!(value("chain_peers", Some(("direction", "outbound"))), 1.0);
    assert!(value("chain_height", None) >= 1.0);
    assert!(value("chain_store_commit_seconds", None) >= 1.0, "{text}");
    // `--web`: the wallet and explorer beside the API.
    let (code, home) = get(&b_api, "/");
    assert_eq!(code, 200);
    assert!(home.contains("<html"), "{home}");
    // Once the miner is gone the follower holds all it knows of: ready.
    a.stop();
    log_line(&b_log, "of the peer leaving", |line| {
        line.contains("peer left")
    });
    wait_until("the follower ready", || get(&b_api, "/readyz").0 == 200);
    b.stop();
}

#[test]
fn a_node_keeps_its_data_under_the_xdg_data_home_unless_its_settings_file_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let xdg = dir.join("xdg");
    let start = |extra: &[&str]| {
        let mut node = chain(dir);
        node.env("XDG_DATA_HOME", &xdg).env_remove("CHAIN_DATA_DIR");
        node.args([
            "node",
            "--network",
            "regtest",
            "--regtest-bits",
            "0x1f00ffff",
            "--listen",
            "127.0.0.1:0",
        ]);
        node.args(extra);
        Running::start(node, 1)
    };
    // No data directory named: the XDG one, per network.
    let running = start(&["--api", "127.0.0.1:0"]);
    running.stop();
    let default = xdg.join("chain/regtest");
    assert!(
        default.join("chain.sqlite").is_file(),
        "{}",
        default.display()
    );
    assert!(default.join("api-token").is_file());
    assert!(
        !dir.join("data").exists(),
        "nothing under the current folder"
    );

    // A settings file given with --config names the directory (and the API address).
    let elsewhere = dir.join("elsewhere");
    let settings = dir.join("node.toml");
    std::fs::write(
        &settings,
        format!(
            "data_dir = {:?}\napi = \"127.0.0.1:0\"\n",
            elsewhere.display().to_string()
        ),
    )
    .unwrap();
    let running = start(&["--config", settings.to_str().unwrap()]);
    running.stop();
    assert!(elsewhere.join("chain.sqlite").is_file());
    // A settings file that is not there is an error, not an empty file.
    let missing = chain(dir)
        .args(["node", "--config", "no-such.toml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such.toml"));
}

#[test]
fn a_peer_added_at_run_time_by_name_is_dialled_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let a_port = free_port();
    let a = Running::start(regtest_node(dir, "a", &format!("127.0.0.1:{a_port}")), 1);
    let b = Running::start(regtest_node(dir, "b", "127.0.0.1:0"), 1);
    let b_api = format!("http://{}", b.apis[0]);
    let peers_add = |peer: &str, token: bool| {
        let mut command = chain(dir);
        command.args(["--node", &b_api, "--json"]);
        if token {
            command.args(["--token-file", "b/api-token"]);
        } else {
            command.args(["--token", "wrong"]);
        }
        command.args(["peers", "add", peer]).output().unwrap()
    };
    // No token, not host:port, a name that does not resolve: refused, nothing dialled.
    assert_eq!(
        peers_add(&format!("localhost:{a_port}"), false)
            .status
            .code(),
        Some(8)
    );
    assert_eq!(peers_add("localhost", true).status.code(), Some(2));
    let unknown = peers_add("no-such-host.invalid:7410", true);
    assert_eq!(unknown.status.code(), Some(8));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("does not resolve"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let (_, status) = get(&b.apis[0], "/api/v1/status");
    assert_eq!(serde_json::from_str::<Value>(&status).unwrap()["peers"], 0);

    let added = peers_add(&format!("localhost:{a_port}"), true);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let added = json(&added);
    assert!(
        added["addresses"]
            .as_array()
            .unwrap()
            .contains(&Value::from(format!("127.0.0.1:{a_port}"))),
        "{added}"
    );
    wait_until("b connected to a", || {
        let (_, status) = get(&b.apis[0], "/api/v1/status");
        serde_json::from_str::<Value>(&status).unwrap()["peers"] == 1
    });
    b.stop();
    a.stop();
}

#[test]
fn a_devnet_node_given_no_peer_joins_the_local_devnet_through_its_seed_ports() {
    // The devnet's second seed port stands for a running `chain devnet`; taken (a devnet of the
    // person running the tests), the node would join that one instead, which proves nothing.
    let seed = chain_cli::seeds::DEVNET_P2P_PORT + 1;
    if std::net::TcpListener::bind(("127.0.0.1", seed)).is_err() {
        println!("SKIPPED: port {seed} is in use (a devnet running here?)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let devnet_node = |data_dir: &str, listen: &str| {
        let mut command = chain(dir);
        command.args([
            "node",
            "--network",
            "devnet",
            "--data-dir",
            data_dir,
            "--listen",
            listen,
            "--api",
            "127.0.0.1:0",
        ]);
        command
    };
    let a = Running::start(devnet_node("a", &format!("127.0.0.1:{seed}")), 1);
    let b = Running::start(devnet_node("b", "127.0.0.1:0"), 1);
    wait_until("b dialled a at its seed port", || {
        let (_, peers) = get(&b.apis[0], "/api/v1/peers");
        peers.contains(&format!("127.0.0.1:{seed}"))
    });
    b.stop();
    a.stop();
}

#[test]
fn an_outside_wallet_broadcasts_a_signed_transfer_without_the_token_and_sees_it_confirmed() {
    use chain_core::encode::Encode;
    // Only HTTP and the project's signing library: no wallet file, no CLI, no API token.
    let params = chain_core::params::ChainParams::regtest();
    let key = chain_core::keys::SecretKey::from_bytes([7; 32]).unwrap();
    let from = key.public_key().address().to_text(params.address_prefix);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let running = Running::start(mining_node(dir, &from), 1);
    let api = &running.apis[0];
    let account = || -> Value {
        let (code, body) = get(api, &format!("/api/v1/addresses/{from}"));
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    };
    wait_until("the key mined coins", || {
        account()["balance"].as_u64().unwrap_or(0) > 0
    });
    let transfer = chain_core::tx::UnsignedTransfer {
        to: chain_core::keys::SecretKey::from_bytes([8; 32])
            .unwrap()
            .public_key()
            .address(),
        amount: chain_core::units::Amount(chain_core::units::COIN),
        fee: chain_core::units::Amount(1_000),
        nonce: account()["next_nonce"].as_u64().unwrap(),
        memo: b"from outside".to_vec(),
    }
    .sign(&key, params.network_id);
    let body = serde_json::json!({ "transfer": chain_core::hash::to_hex(&transfer.to_bytes()) });
    let (code, answer) = request(api, "POST", "/api/v1/transfers", Some(&body.to_string()));
    assert_eq!(code, 202, "{answer}");
    let txid = transfer.txid().to_string();
    assert!(answer.contains(&txid), "{answer}");
    wait_until("the transfer confirmed", || {
        let (code, body) = get(api, &format!("/api/v1/transfers/{txid}"));
        code == 200
            && serde_json::from_str::<Value>(&body).unwrap()["status"]["state"] == "confirmed"
    });
    // The operator's routes still need the token.
    let (code, _) = request(api, "POST", "/api/v1/mining", Some(r#"{"enabled":false}"#));
    assert_eq!(code, 401);
    running.stop();
}
