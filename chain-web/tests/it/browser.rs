//! End to end in headless Chromium (Debian's `chromium` and `chromium-driver`), driven over
//! WebDriver by fantoccini: two users, one with a miner; its reward; a payment whose receipt
//! turns confirmed without a reload; the explorer and the other wallet show it; a username of
//! HTML is refused and shown back as text; a form without its token is refused; a wrong password changes nothing.
//! Screenshots of the main pages go to `target/screenshots/`.
//!
//! The test needs `chromium` and `chromedriver` on the PATH (`apt-get install -y chromium
//! chromium-driver`); without them it fails and says so. `CHAIN_WEB_SKIP_BROWSER=1` skips it
//! explicitly (it prints that it did).

use crate::support::{TestApp, wait_for};
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// chromedriver, ended when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(browser: &Client, name: &str) {
    let png = browser.screenshot().await.unwrap();
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).unwrap();
}

async fn text(browser: &Client, css: &str) -> String {
    match browser.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap(),
        Err(e) => panic!("no `{css}` on {:?}: {e}", browser.current_url().await),
    }
}

async fn fill(browser: &Client, css: &str, value: &str) {
    let field = browser.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

/// Clicks `css` and waits until the page it leads to has loaded. WebDriver's click does not
/// always wait for the navigation a form post starts, so the old document gets a marker and the
/// wait ends when a document without it has finished loading.
async fn click_and_wait(browser: &Client, css: &str) {
    browser
        .execute("window.__chainOldPage = true;", vec![])
        .await
        .unwrap();
    browser
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no `{css}`: {e}"))
        .click()
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let loaded = browser
            .execute(
                "return window.__chainOldPage !== true && document.readyState === 'complete';",
                vec![],
            )
            .await;
        // While the new document replaces the old one the script may fail; ask again.
        if matches!(loaded, Ok(serde_json::Value::Bool(true))) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "clicking `{css}` led to no new page within 15s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn submit(browser: &Client, form: &str) {
    click_and_wait(browser, &format!("{form} button[type=submit]")).await;
}

async fn register(browser: &Client, base: &str, name: &str, password: &str, miner: bool) {
    browser.goto(&format!("{base}/register")).await.unwrap();
    fill(browser, "#username", name).await;
    fill(browser, "#password", password).await;
    if miner {
        browser
            .find(Locator::Css("#miner"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    submit(browser, "#register-form").await;
    let url = browser.current_url().await.unwrap();
    if url.path() != "/wallet" {
        let error = match browser.find(Locator::Css("#error")).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::from("(no error shown)"),
        };
        panic!("registration of {name} ended on {url}: {error}");
    }
}

async fn logout(browser: &Client) {
    click_and_wait(browser, "#logout").await;
}

/// Waits (polling the page, never reloading it) until `css`'s text satisfies `done`.
async fn wait_text(browser: &Client, css: &str, secs: u64, done: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let now = text(browser, css).await;
        if done(&now) {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "`{css}` still reads `{now}` after {secs}s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[test]
fn two_users_pay_each_other_in_headless_chromium() {
    if std::env::var_os("CHAIN_WEB_SKIP_BROWSER").is_some() {
        eprintln!("SKIPPED: CHAIN_WEB_SKIP_BROWSER is set; the browser test did not run");
        return;
    }
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]);
    let chromedriver = find_program(&["chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        panic!(
            "the browser test needs headless Chromium and chromedriver on the PATH; install them \
             with `apt-get update && apt-get install -y chromium chromium-driver` (Debian), or \
             set CHAIN_WEB_SKIP_BROWSER=1 to skip this test explicitly"
        );
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _driver = Driver(
        Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", chromedriver.display())),
    );
    wait_for("chromedriver to listen", 20, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    let app = TestApp::start();
    let profile = tempfile::tempdir().unwrap();
    let base = app.url.clone();
    let node = app.node.clone();
    app.runtime.block_on(async {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session with chromedriver");
        let result = scenario(&browser, &base, &node).await;
        let _ = browser.close().await;
        result
    });
}

async fn scenario(browser: &Client, base: &str, node: &chain_net::NodeHandle) {
    // Bob: a wallet without a miner.
    register(browser, base, "bob", "bob password", false).await;
    let bob_address = text(browser, "#address").await;
    logout(browser).await;

    // Alice: a wallet with a miner, which earns her block rewards.
    register(browser, base, "alice", "alice password", true).await;
    shot(browser, "wallet-new").await;
    let available = wait_text(browser, "#balance-available", 90, |t| t != "0.00000000").await;
    assert!(available.parse::<f64>().unwrap() > 1.0, "{available}");
    shot(browser, "wallet").await;

    // A wrong password changes nothing.
    fill(browser, "#to", &bob_address).await;
    fill(browser, "#amount", "1.25").await;
    fill(browser, "#send-password", "not alice's password").await;
    submit(browser, "#send-form").await;
    assert!(text(browser, "#error").await.contains("Wrong password"));
    assert!(node.mempool().await.unwrap().is_empty());

    // A form posted without its token is refused.
    browser
        .execute(
            "document.querySelector('#send-form input[name=csrf]').remove();",
            vec![],
        )
        .await
        .unwrap();
    fill(browser, "#amount", "1.25").await;
    fill(browser, "#send-password", "alice password").await;
    submit(browser, "#send-form").await;
    assert_eq!(text(browser, "#message-heading").await, "Form refused");
    shot(browser, "csrf-refused").await;
    assert!(node.mempool().await.unwrap().is_empty());

    // The real payment: the receipt turns confirmed live, without a reload.
    browser.goto(&format!("{base}/wallet")).await.unwrap();
    fill(browser, "#to", &bob_address).await;
    fill(browser, "#amount", "1.25").await;
    fill(browser, "#send-password", "alice password").await;
    submit(browser, "#send-form").await;
    let receipt_url = browser.current_url().await.unwrap();
    assert!(receipt_url.path().starts_with("/receipt/"), "{receipt_url}");
    let txid = text(browser, "#txid").await;
    shot(browser, "receipt").await;
    browser
        .execute("window.stillTheSamePage = true;", vec![])
        .await
        .unwrap();
    wait_text(browser, "#tx-status", 60, |t| {
        t.starts_with("confirmed in block")
    })
    .await;
    let same = browser
        .execute("return window.stillTheSamePage === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same, serde_json::Value::Bool(true), "the page was reloaded");
    shot(browser, "receipt-confirmed").await;

    // The explorer shows it.
    browser.goto(&format!("{base}/tx/{txid}")).await.unwrap();
    assert!(text(browser, "#tx-status").await.starts_with("confirmed"));
    assert_eq!(text(browser, "#tx-amount").await, "1.25000000");
    browser
        .goto(&format!("{base}/address/{bob_address}"))
        .await
        .unwrap();
    assert!(browser.source().await.unwrap().contains("1.25000000"));
    shot(browser, "address").await;
    browser.goto(&format!("{base}/explorer")).await.unwrap();
    shot(browser, "explorer").await;
    browser.goto(&format!("{base}/network")).await.unwrap();
    assert!(browser.source().await.unwrap().contains("alice"));
    shot(browser, "network").await;
    logout(browser).await;

    // Bob's wallet shows it; his wrong password at login is refused.
    browser.goto(&format!("{base}/login")).await.unwrap();
    fill(browser, "#username", "bob").await;
    fill(browser, "#password", "wrong").await;
    submit(browser, "#login-form").await;
    assert!(
        text(browser, "#error")
            .await
            .contains("Wrong username or password")
    );
    fill(browser, "#username", "bob").await;
    fill(browser, "#password", "bob password").await;
    submit(browser, "#login-form").await;
    assert_eq!(text(browser, "#balance-confirmed").await, "1.25000000");
    shot(browser, "wallet-bob").await;
    logout(browser).await;

    // A username of HTML is refused, put back in the form as text, and runs nothing.
    let name = "<script>alert(1)</script>";
    browser.goto(&format!("{base}/register")).await.unwrap();
    fill(browser, "#username", name).await;
    fill(browser, "#password", "script password").await;
    submit(browser, "#register-form").await;
    let typed = browser.find(Locator::Css("#username")).await.unwrap();
    assert_eq!(typed.prop("value").await.unwrap().as_deref(), Some(name));
    assert!(
        browser.get_alert_text().await.is_err(),
        "an alert opened: the name ran as script"
    );
    shot(browser, "register-html-name").await;

    browser.goto(base).await.unwrap();
    wait_text(browser, "#stat-height", 10, |t| t != "0").await;
    shot(browser, "home").await;
}
