//! The JSON API over HTTP against a real node: every route of the OpenAPI document, and each
//! error a client can cause (unknown block, bad address checksum, malformed transfer, forged
//! signature, insufficient balance, replayed nonce, missing token, bad cursor, unknown route).

use crate::support::{TestApp, wait_for};
use chain_core::address::Address;
use chain_core::encode::Encode;
use chain_core::hash::{MerkleRoot, Txid, to_hex};
use chain_core::merkle::MerkleProof;
use chain_core::testkit;
use chain_core::tx::Transfer;
use chain_net::MiningConfig;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};

const TOKEN: &str = "test-token";

/// A JSON client of one app.
struct Api {
    agent: ureq::Agent,
    base: String,
}

impl Api {
    fn new(app: &TestApp) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            agent,
            base: format!("{}/api/v1", app.url),
        }
    }

    fn answer(response: ureq::http::Response<ureq::Body>) -> (u16, Value) {
        let status = response.status().as_u16();
        let text = response.into_body().read_to_string().unwrap();
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {status}: {text}"));
        (status, value)
    }

    fn get(&self, path: &str) -> (u16, Value) {
        Self::answer(
            self.agent
                .get(format!("{}{path}", self.base))
                .call()
                .unwrap(),
        )
    }

    fn post_raw(&self, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
        Self::answer(self.send(path, token, body))
    }

    fn send(
        &self,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> ureq::http::Response<ureq::Body> {
        let mut request = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.send(body).unwrap()
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.post_raw(path, Some(TOKEN), &body.to_string())
    }

    fn submit(&self, transfer: &Transfer) -> (u16, Value) {
        self.post(
            "/transfers",
            &json!({ "transfer": to_hex(&transfer.to_bytes()) }),
        )
    }
}

/// Asserts an error answer: its status and its stable code, with a message for people.
fn assert_error(answer: (u16, Value), status: u16, code: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["code"], code, "{}", answer.1);
    assert!(
        answer.1["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{}",
        answer.1
    );
}

fn text(address: &Address) -> String {
    address.to_text(crate::support::params().address_prefix)
}

fn height(app: &TestApp) -> u64 {
    app.runtime.block_on(app.node.status()).unwrap().height.0
}

/// Mines to `address` until the chain is at least `blocks` higher, then stops.
fn mine(app: &TestApp, address: Address, blocks: u64) {
    let target = height(app) + blocks;
    let config = MiningConfig {
        address,
        threads: 1,
    };
    app.runtime
        .block_on(app.node.set_mining(Some(config)))
        .unwrap();
    wait_for("blocks", 60, || (height(app) >= target).then_some(()));
    app.runtime.block_on(app.node.set_mining(None)).unwrap();
}

/// An app with a token, whose chain pays key 1 a few coinbases.
fn funded_app() -> TestApp {
    let app = TestApp::start_with_token(Some(TOKEN));
    mine(&app, testkit::address(1), 3);
    app
}

fn network() -> chain_core::params::NetworkId {
    crate::support::params().network_id
}

#[test]
fn status_and_blocks_by_height_hash_and_page() {
    let app = funded_app();
    let api = Api::new(&app);

    let (code, status) = api.get("/status");
    assert_eq!(code, 200);
    let tip_height = status["height"].as_u64().unwrap();
    assert!(tip_height >= 3);
    assert_eq!(status["network"], "regtest");

    let (code, page) = api.get("/blocks?limit=2");
    assert_eq!(code, 200);
    let page = page.as_array().unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["height"], tip_height);
    assert_eq!(page[1]["height"], tip_height - 1);
    let (_, older) = api.get(&format!("/blocks?before={}&limit=100", tip_height - 1));
    let heights: Vec<u64> = older
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, (0..tip_height - 1).rev().collect::<Vec<_>>());

    let (code, by_height) = api.get("/blocks/1");
    assert_eq!(code, 200);
    let hash = by_height["hash"].as_str().unwrap().to_string();
    let (code, by_hash) = api.get(&format!("/blocks/{hash}"));
    assert_eq!(code, 200);
    assert_eq!(by_hash, by_height);
    assert_eq!(by_hash["in_best_chain"], true);
    assert_eq!(by_hash["txs"][0]["kind"], "coinbase");
    assert_eq!(by_hash["txs"][0]["to"], text(&testkit::address(1)));

    assert_error(api.get("/blocks/999999"), 404, "not_found");
    assert_error(
        api.get(&format!("/blocks/{}", "ab".repeat(32))),
        404,
        "not_found",
    );
    assert_error(api.get("/blocks/not-a-block"), 400, "bad_block_id");
    assert_error(api.get("/blocks?before=tip"), 400, "bad_height");
    assert_error(api.get("/blocks?limit=many"), 400, "bad_query");
}

#[test]
fn a_transfer_is_submitted_confirmed_and_proven() {
    let app = funded_app();
    let api = Api::new(&app);
    let sender = text(&testkit::address(1));
    let receiver = testkit::address(2);

    let (_, account) = api.get(&format!("/addresses/{sender}"));
    let nonce = account["next_nonce"].as_u64().unwrap();
    let transfer = testkit::transfer(&testkit::key(1), receiver, 7_000, 1_000, nonce, network());
    let (code, submitted) = api.submit(&transfer);
    assert_eq!(code, 202, "{submitted}");
    let txid = submitted["txid"].as_str().unwrap().to_string();
    assert_eq!(txid, transfer.txid().to_string());

    let (_, pending) = api.get(&format!("/transfers/{txid}"));
    assert_eq!(pending["status"]["state"], "pending");
    assert_eq!(pending["tx"]["amount"], 7_000);
    let (_, mempool) = api.get("/mempool");
    assert_eq!(mempool[0]["tx"]["txid"], txid.as_str());
    assert_error(
        api.get(&format!("/transfers/{txid}/proof")),
        404,
        "not_found",
    );
    let (_, receiver_view) = api.get(&format!("/addresses/{}", text(&receiver)));
    assert_eq!(receiver_view["pending_in"], 7_000);
    // The fee suggestion: a mempool far from a full block asks only the minimum rate.
    let (code, fees) = api.get("/fees");
    assert_eq!(code, 200, "{fees}");
    assert_eq!(fees["mempool_transfers"], 1);
    assert_eq!(fees["mempool_bytes"], transfer.encoded_len());
    assert_eq!(fees["minimum_per_byte"], 1);
    assert_eq!(fees["next_block_per_byte"], 1);
    assert_eq!(fees["transfer_bytes"], 143);
    assert_eq!(fees["next_block_fee"], 143);

    // The same transfer again is a duplicate.
    assert_error(api.submit(&transfer), 409, "duplicate");

    mine(&app, testkit::address(3), 1);
    let (_, confirmed) = api.get(&format!("/transfers/{txid}"));
    assert_eq!(confirmed["status"]["state"], "confirmed", "{confirmed}");
    assert!(confirmed["status"]["confirmations"].as_u64().unwrap() >= 1);
    let (code, proof) = api.get(&format!("/transfers/{txid}/proof"));
    assert_eq!(code, 200, "{proof}");
    let merkle: MerkleProof = serde_json::from_value(proof["proof"].clone()).unwrap();
    let root: MerkleRoot = serde_json::from_value(proof["merkle_root"].clone()).unwrap();
    let parsed: Txid = txid.parse().unwrap();
    assert!(merkle.verify(&parsed, &root));
    let (_, block) = api.get(&format!("/blocks/{}", proof["block"].as_str().unwrap()));
    assert_eq!(block["merkle_root"], proof["merkle_root"]);
    let (_, receiver_view) = api.get(&format!("/addresses/{}", text(&receiver)));
    assert_eq!(receiver_view["balance"], 7_000);
    assert_eq!(receiver_view["pending_in"], 0);

    // The same nonce again, now confirmed: a replay, refused.
    let replay = testkit::transfer(&testkit::key(1), receiver, 8_000, 1_000, nonce, network());
    assert_error(api.submit(&replay), 422, "nonce_used");

    assert_error(
        api.get(&format!("/transfers/{}", "cd".repeat(32))),
        404,
        "not_found",
    );
    assert_error(api.get("/transfers/xyz"), 400, "bad_txid");
    assert_error(api.get("/transfers/xyz/proof"), 400, "bad_txid");
    assert!(api.get("/mempool").1.as_array().unwrap().is_empty());
}

#[test]
fn refused_transfers_change_nothing() {
    let app = funded_app();
    let api = Api::new(&app);
    let sender = testkit::key(1);
    let (_, before) = api.get(&format!("/addresses/{}", text(&testkit::address(1))));
    let nonce = before["next_nonce"].as_u64().unwrap();
    let good = testkit::transfer(&sender, testkit::address(2), 5_000, 1_000, nonce, network());
    let hex = to_hex(&good.to_bytes());

    // Malformed: not hex, hex of nothing, a truncated encoding, trailing bytes, not JSON.
    assert_error(
        api.post("/transfers", &json!({ "transfer": "zz" })),
        400,
        "malformed_transfer",
    );
    assert_error(
        api.post("/transfers", &json!({ "transfer": "" })),
        400,
        "malformed_transfer",
    );
    assert_error(
        api.post("/transfers", &json!({ "transfer": &hex[..hex.len() - 2] })),
        400,
        "malformed_transfer",
    );
    assert_error(
        api.post("/transfers", &json!({ "transfer": format!("{hex}00") })),
        400,
        "malformed_transfer",
    );
    assert_error(
        api.post_raw("/transfers", Some(TOKEN), "{\"transfer\":"),
        400,
        "bad_body",
    );
    assert_error(
        api.post("/transfers", &json!({ "transfers": hex })),
        400,
        "bad_body",
    );
    // Refused unread: the server closes the connection and says so, so that the client does not
    // reuse it (the next request would find it closed).
    let huge = json!({ "transfer": "00".repeat(40_000) }).to_string();
    let too_large = api.send("/transfers", Some(TOKEN), &huge);
    assert_eq!(
        too_large.headers().get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );
    assert_error(Api::answer(too_large), 413, "payload_too_large");

    // A forged signature: the amount changed after signing.
    let mut forged = good.clone();
    forged.amount = chain_core::units::Amount(5_001);
    assert_error(api.submit(&forged), 422, "bad_signature");
    // Signed for another network.
    let other = testkit::transfer(
        &sender,
        testkit::address(2),
        5_000,
        1_000,
        nonce,
        chain_core::params::ChainParams::devnet().network_id,
    );
    assert_error(api.submit(&other), 422, "bad_signature");
    // More than the balance.
    let balance = before["balance"].as_u64().unwrap();
    let too_much = testkit::transfer(
        &sender,
        testkit::address(2),
        balance,
        1_000,
        nonce,
        network(),
    );
    assert_error(api.submit(&too_much), 422, "insufficient_balance");
    // Nothing from an account that has nothing.
    let broke = testkit::transfer(
        &testkit::key(9),
        testkit::address(2),
        1,
        1_000,
        0,
        network(),
    );
    assert_error(api.submit(&broke), 422, "insufficient_balance");
    // A fee below the relay minimum, and a zero amount.
    let cheap = testkit::transfer(&sender, testkit::address(2), 5_000, 0, nonce, network());
    assert_error(api.submit(&cheap), 422, "fee_too_low");
    let zero = testkit::transfer(&sender, testkit::address(2), 0, 1_000, nonce, network());
    assert_error(api.submit(&zero), 422, "zero_amount");

    // Without the token (a wallet that is not the operator's), or with a wrong one: the
    // transfer is judged on its own, and a bad one refused as with the token.
    let forged_hex = to_hex(&forged.to_bytes());
    assert_error(
        Api::answer(api.send(
            "/transfers",
            None,
            &json!({ "transfer": forged_hex }).to_string(),
        )),
        422,
        "bad_signature",
    );
    assert_error(
        api.post_raw(
            "/transfers",
            Some("not-the-token"),
            &json!({ "transfer": forged_hex }).to_string(),
        ),
        422,
        "bad_signature",
    );

    assert!(api.get("/mempool").1.as_array().unwrap().is_empty());
    let (_, after) = api.get(&format!("/addresses/{}", text(&testkit::address(1))));
    assert_eq!(after, before);
    // And the good one goes through, without the token too.
    let (code, answer) =
        Api::answer(api.send("/transfers", None, &json!({ "transfer": hex }).to_string()));
    assert_eq!(code, 202, "{answer}");
    assert_eq!(answer["txid"], good.txid().to_string());
}

#[test]
fn addresses_balances_and_paged_history() {
    let app = funded_app();
    let api = Api::new(&app);
    let owner = text(&testkit::address(1));

    let (code, account) = api.get(&format!("/addresses/{owner}"));
    assert_eq!(code, 200);
    let blocks = height(&app);
    assert!(account["balance"].as_u64().unwrap() > 0);
    assert_eq!(account["address"], owner.as_str());

    // The history one item a page, following `next` to the end: every coinbase, newest first.
    let mut seen = Vec::new();
    let mut path = format!("/addresses/{owner}/history?limit=1");
    loop {
        let (code, page) = api.get(&path);
        assert_eq!(code, 200, "{page}");
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 1);
        seen.extend(items.iter().map(|i| i["height"].as_u64().unwrap()));
        match page["next"].as_str() {
            Some(next) => path = format!("/addresses/{owner}/history?limit=1&before={next}"),
            None => break,
        }
    }
    assert_eq!(
        seen.len() as u64,
        blocks,
        "one coinbase per block: {seen:?}"
    );
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "{seen:?}");

    // An address nobody used: zero, and an empty history.
    let unused = text(&testkit::address(77));
    let (_, empty) = api.get(&format!("/addresses/{unused}"));
    assert_eq!(empty["balance"], 0);
    assert_eq!(empty["nonce"], 0);
    let (_, none) = api.get(&format!("/addresses/{unused}/history"));
    assert!(none["items"].as_array().unwrap().is_empty());
    assert!(none["next"].is_null());

    // A wrong checksum: one character changed.
    let mut broken: Vec<char> = owner.chars().collect();
    let last = broken.len() - 1;
    broken[last] = if broken[last] == 'q' { 'p' } else { 'q' };
    let broken: String = broken.into_iter().collect();
    assert_error(api.get(&format!("/addresses/{broken}")), 400, "bad_address");
    assert_error(
        api.get(&format!("/addresses/{broken}/history")),
        400,
        "bad_address",
    );
    // Another network's address, and no address at all.
    let devnet =
        testkit::address(1).to_text(chain_core::params::ChainParams::devnet().address_prefix);
    assert_error(api.get(&format!("/addresses/{devnet}")), 400, "bad_address");
    assert_error(api.get("/addresses/hello"), 400, "bad_address");
    assert_error(
        api.get(&format!("/addresses/{owner}/history?before=yesterday")),
        400,
        "bad_cursor",
    );
}

#[test]
fn mining_peers_events_openapi_and_unknown_routes() {
    let app = TestApp::start_with_token(Some(TOKEN));
    let api = Api::new(&app);

    let (code, peers) = api.get("/peers");
    assert_eq!(code, 200);
    assert!(peers.as_array().unwrap().is_empty());

    // The event stream, read over a plain socket while the node mines.
    let addr = app.url.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET /api/v1/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let mut events = BufReader::new(stream);
    let mut status_line = String::new();
    events.read_line(&mut status_line).unwrap();
    assert!(status_line.starts_with("HTTP/1.1 200"), "{status_line}");

    // Mining: needs the token and an address; starts, reports, stops.
    let miner = text(&testkit::address(4));
    assert_error(
        api.post_raw("/mining", None, &json!({ "enabled": true }).to_string()),
        401,
        "unauthorized",
    );
    assert_error(
        api.post("/mining", &json!({ "enabled": true })),
        400,
        "missing_address",
    );
    assert_error(
        api.post(
            "/mining",
            &json!({ "enabled": true, "address": "dev1nothing" }),
        ),
        400,
        "bad_address",
    );
    assert_error(api.post("/mining", &json!({ "on": 1 })), 400, "bad_body");
    // Adding a peer: the operator's, host:port, a name that resolves.
    assert_error(
        api.post_raw(
            "/peers",
            None,
            &json!({ "peer": "127.0.0.1:9" }).to_string(),
        ),
        401,
        "unauthorized",
    );
    assert_error(
        api.post("/peers", &json!({ "peer": "no-port" })),
        400,
        "bad_peer",
    );
    assert_error(
        api.post("/peers", &json!({ "peer": "a b:1" })),
        400,
        "bad_peer",
    );
    assert_error(
        api.post("/peers", &json!({ "peer": "x:1", "more": 1 })),
        400,
        "bad_body",
    );
    assert_error(
        api.post("/peers", &json!({ "peer": "no-such-host.invalid:7410" })),
        422,
        "peer_not_found",
    );
    let (code, added) = api.post("/peers", &json!({ "peer": "127.0.0.1:9" }));
    assert_eq!((code, &added["addresses"]), (202, &json!(["127.0.0.1:9"])));
    let (code, mining) = api.post(
        "/mining",
        &json!({ "enabled": true, "address": miner, "threads": 1 }),
    );
    assert_eq!(code, 200, "{mining}");
    assert_eq!(mining["enabled"], true);
    assert_eq!(mining["address"], miner.as_str());

    // A `block` event arrives with the height of a block the API then serves.
    let mut line = String::new();
    let block_height = loop {
        line.clear();
        assert!(events.read_line(&mut line).unwrap() > 0, "the stream ended");
        if line.trim() == "event:block" || line.trim() == "event: block" {
            line.clear();
            events.read_line(&mut line).unwrap();
            let data = line.trim().trim_start_matches("data:").trim();
            let event: Value = serde_json::from_str(data).unwrap();
            break event["height"].as_u64().unwrap();
        }
    };
    assert!(block_height >= 1);
    assert_eq!(api.get(&format!("/blocks/{block_height}")).0, 200);

    let (code, mining) = api.post("/mining", &json!({ "enabled": false }));
    assert_eq!(code, 200);
    assert_eq!(mining["enabled"], false);
    assert_eq!(api.get("/status").1["mining"]["enabled"], false);

    // The OpenAPI document names every route; each answers (never "no such route").
    let (code, document) = api.get("/openapi.json");
    assert_eq!(code, 200);
    assert_eq!(document["openapi"], "3.0.3");
    let paths: Vec<&String> = document["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths.len(), 14, "{paths:?}");
    let txid = "ab".repeat(32);
    for path in &paths {
        let concrete = path
            .replace("{id}", "0")
            .replace("{txid}", &txid)
            .replace("{address}", &miner);
        let methods = document["paths"][path.as_str()].as_object().unwrap();
        if methods.contains_key("get") && concrete != "/events" {
            let (code, body) = api.get(&concrete);
            assert!(
                !(code == 404 && body["message"] == "route not found"),
                "{path} is in the document but not served: {body}"
            );
        }
    }

    assert_error(api.get("/nothing-here"), 404, "not_found");
    let (code, _) = api.post_raw("/status", Some(TOKEN), "{}");
    assert_eq!(code, 405);
}

#[test]
fn health_and_readiness_answer_at_the_root_without_a_token() {
    let app = TestApp::start_with_token(Some(TOKEN));
    let api = Api::new(&app);
    let root =
        |path: &str| Api::answer(api.agent.get(format!("{}{path}", app.url)).call().unwrap());
    assert_eq!(
        root("/healthz"),
        (200, serde_json::json!({ "alive": true }))
    );
    // A node that knows no better chain than its own is ready.
    let (code, ready) = root("/readyz");
    assert_eq!(code, 200, "{ready}");
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["height"], ready["best_header_height"]);
    assert!(ready.get("reason").is_none(), "{ready}");
    // The pages' server answers them too, not with its HTML 404.
    assert_eq!(root("/readyz?x=1").0, 200);
}

/// `GET /metrics` as a Prometheus scraper reads it: every sample by name and labels.
fn scrape(app: &TestApp) -> prometheus_parse::Scrape {
    let response = ureq::get(format!("{}/metrics", app.url)).call().unwrap();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.into_body().read_to_string().unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap()
}

/// The value of the sample `name` whose labels include `labels` (0 when there is none).
fn sample(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map_or(0.0, |s| match &s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            other => panic!("{name} is {other:?}"),
        })
}

#[test]
fn metrics_count_requests_by_route_blocks_and_refusals_by_reason() {
    let app = funded_app();
    let api = Api::new(&app);
    let before = scrape(&app);
    assert_eq!(sample(&before, "chain_height", &[]), height(&app) as f64);
    assert!(sample(&before, "chain_blocks_connected_total", &[]) >= 3.0);
    assert!(sample(&before, "chain_chain_work", &[]) > 0.0);
    assert_eq!(
        sample(&before, "chain_peers", &[("direction", "inbound")]),
        0.0
    );

    // Requests, labelled by route pattern: an unknown path does not get its own label.
    for _ in 0..3 {
        assert_eq!(api.get("/status").0, 200);
    }
    let hash = api.get("/status").1["tip"].as_str().unwrap().to_owned();
    assert_eq!(api.get(&format!("/blocks/{hash}")).0, 200);
    assert_eq!(api.get("/no-such-route-4711").0, 404);
    // Refused by the mempool: a forged signature and an amount the sender lacks.
    let (_, account) = api.get(&format!("/addresses/{}", text(&testkit::address(1))));
    let nonce = account["next_nonce"].as_u64().unwrap();
    let good = testkit::transfer(
        &testkit::key(1),
        testkit::address(2),
        5_000,
        1_000,
        nonce,
        network(),
    );
    let mut forged = good.clone();
    forged.amount = chain_core::units::Amount(5_001);
    assert_error(api.submit(&forged), 422, "bad_signature");
    let broke = testkit::transfer(
        &testkit::key(9),
        testkit::address(2),
        5_000,
        1_000,
        0,
        network(),
    );
    assert_error(api.submit(&broke), 422, "insufficient_balance");
    assert_eq!(api.submit(&good).0, 202);

    // The events are counted by a task of their own: soon.
    let after = wait_for("the refusals counted", 10, || {
        let after = scrape(&app);
        (sample(
            &after,
            "chain_transfers_refused_total",
            &[("reason", "insufficient_balance")],
        ) == 1.0)
            .then_some(after)
    });
    assert_eq!(
        sample(
            &after,
            "chain_transfers_refused_total",
            &[("reason", "bad_signature")]
        ),
        1.0
    );
    assert_eq!(sample(&after, "chain_transfers_accepted_total", &[]), 1.0);
    assert_eq!(sample(&after, "chain_mempool_transfers", &[]), 1.0);
    assert!(sample(&after, "chain_mempool_bytes", &[]) > 0.0);
    assert!(sample(&after, "chain_signatures_verified_total", &[]) >= 1.0);
    let status_200 = [("route", "/api/v1/status"), ("status", "200")];
    assert_eq!(
        sample(&after, "chain_http_requests_total", &status_200)
            - sample(&before, "chain_http_requests_total", &status_200),
        4.0
    );
    assert_eq!(
        sample(
            &after,
            "chain_http_requests_total",
            &[("route", "/api/v1/blocks/:id"), ("status", "200")]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "chain_http_requests_total",
            &[("route", "other"), ("status", "404")]
        ),
        1.0
    );
    // The commit-time histogram, in whole: buckets up to +Inf.
    let commits = after
        .samples
        .iter()
        .find(|s| s.metric == "chain_store_commit_seconds")
        .expect("the commit histogram");
    let prometheus_parse::Value::Histogram(buckets) = &commits.value else {
        panic!("{:?}", commits.value)
    };
    assert_eq!(buckets.len(), 11);
    assert!(buckets.last().unwrap().less_than.is_infinite());
}
