//! Three `chain node` hosts in three network namespaces (`benches::testbed`), 100 ms one way and
//! 1 % loss on every link between them, peers given by host name: a user registers on the web
//! of the first, mines, sends a transfer from its wallet page, and the others confirm it.
//!
//! Skipped, with a line saying why, where network namespaces or TUN devices cannot be made (not
//! root, no `ip`).

use benches::chaos::api::TxState;
use benches::devnet::{Browser, csrf_of};
use benches::testbed::nodes::{self, Setup};
use benches::testbed::{Config, Testbed, unavailable};
use chain_core::hash::Txid;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// Waits until `check` holds, 180 s at most.
fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "not within 180 s: {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn address_of(page: &str) -> String {
    let start = page.find("id=\"address\">").unwrap() + 13;
    let end = page[start..].find('<').unwrap();
    page[start..start + end].to_string()
}

#[test]
fn three_hosts_with_delay_and_loss_confirm_a_transfer_sent_from_the_web_of_one() {
    if let Some(why) = unavailable() {
        eprintln!("SKIPPED three_hosts_with_delay_and_loss...: {why}");
        return;
    }
    benches::testbed::clean_stale();
    let dir = tempfile::tempdir().unwrap();
    let mut testbed = Testbed::start(Config {
        hosts: 3,
        delay: (Duration::from_millis(100), Duration::from_millis(100)),
        loss: 0.01,
        seed: 7,
        ..Config::default()
    })
    .unwrap();
    let setup = Setup {
        chain: env!("CARGO_BIN_EXE_chain").into(),
        data_dir: dir.path().to_owned(),
        // The user's own miner (started by registering) is the network's only one.
        miners: 0,
        bits: "0x1e00ffff".into(),
        dials: 2,
    };
    let apis = nodes::start(&mut testbed, &setup).unwrap();
    // Each node reached the others by name.
    wait_for("every node with two peers", || {
        apis.iter()
            .all(|api| api.status().is_ok_and(|s| s.peers >= 2))
            .then_some(())
    });

    let mut web = Browser::new(apis[0].base());
    let (_, page) = web.get("/register").unwrap();
    let csrf = csrf_of(&page).unwrap();
    let (status, _) = web
        .post_form(
            "/register",
            &[
                ("csrf", &csrf),
                ("username", "alice"),
                ("password", "alice's password"),
                ("miner", "on"),
            ],
        )
        .unwrap();
    assert_eq!(status, 303);
    let (_, wallet) = web.get("/wallet").unwrap();
    let alice = address_of(&wallet);
    // Mined on node1, its blocks crossing the shaped links: spendable on node3 too.
    wait_for("alice's coins on node3", || {
        apis[2]
            .account(&alice)
            .ok()
            .filter(|a| a.balance.0 >= 200_000_000)
    });

    let bob = Setup::miner_address(99);
    let (_, wallet) = web.get("/wallet").unwrap();
    let csrf = csrf_of(&wallet).unwrap();
    let response = web
        .agent
        .post(format!("{}/wallet/send", apis[0].base()))
        .header("cookie", web.cookie())
        .send_form([
            ("csrf", csrf.as_str()),
            ("to", bob.as_str()),
            ("amount", "1.5"),
            ("fee", "0.00001"),
            ("password", "alice's password"),
        ])
        .unwrap();
    assert_eq!(
        response.status(),
        303,
        "the send form redirects to its receipt"
    );
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let txid: Txid = location.strip_prefix("/receipt/").unwrap().parse().unwrap();

    for (i, api) in apis.iter().enumerate().skip(1) {
        let block = wait_for(
            &format!("the transfer confirmed on node{}", i + 1),
            || match api.transfer(&txid) {
                Ok(TxState::Confirmed { block, .. }) => Some(block),
                _ => None,
            },
        );
        wait_for("the block in node's best chain", || {
            api.in_best_chain(&block).ok().flatten().filter(|&b| b)
        });
        wait_for("bob paid", || {
            api.account(&bob)
                .ok()
                .filter(|a| a.balance.0 == 150_000_000)
        });
    }
    // From inside node1, node2's API is a round trip of at least 200 ms away: one for the
    // connection, one for the answer.
    let node2 = format!("{}:{}", testbed.address(1), nodes::API_PORT);
    let elapsed = testbed
        .run_in(0, move || {
            let start = Instant::now();
            let mut stream = std::net::TcpStream::connect(&node2).unwrap();
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nhost: node2\r\nconnection: close\r\n\r\n")
                .unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            start.elapsed()
        })
        .unwrap();
    assert!(elapsed >= Duration::from_millis(400), "{elapsed:?}");
    let counts = testbed.switch().counts();
    eprintln!("switch: {counts:?}, node1 to node2 over HTTP: {elapsed:?}");

    drop(testbed);
    let namespaces = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    let tag = format!("chaintb-{}-", std::process::id());
    assert!(
        !String::from_utf8_lossy(&namespaces.stdout).contains(&tag),
        "every namespace removed"
    );
}
