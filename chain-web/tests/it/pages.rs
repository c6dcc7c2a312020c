//! The pages over HTTP: registration, login, sessions, form tokens, escaping, the send form's
//! errors and the security headers, against a real node.

use crate::support::{TestApp, wait_for};
use chain_core::address::Address;
use chain_net::MiningConfig;
use chain_net::views::AccountView;

/// A browser-like client that keeps the cookies it is given and follows no redirects.
struct Client {
    agent: ureq::Agent,
    base: String,
    cookies: Vec<(String, String)>,
}

struct Answer {
    status: u16,
    location: Option<String>,
    set_cookies: Vec<String>,
    csp: Option<String>,
    body: String,
}

impl Client {
    fn new(app: &TestApp) -> Self {
        let agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            agent,
            base: app.url.clone(),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, response: ureq::http::Response<ureq::Body>) -> Answer {
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let location = header("location");
        let csp = header("content-security-policy");
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        for cookie in &set_cookies {
            let pair = cookie.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.retain(|(k, _)| k != name);
            if !value.is_empty() {
                self.cookies.push((name.to_string(), value.to_string()));
            }
        }
        let body = response.into_body().read_to_string().unwrap_or_default();
        Answer {
            status,
            location,
            set_cookies,
            csp,
            body,
        }
    }

    fn get(&mut self, path: &str) -> Answer {
        let response = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("cookie", &self.cookie_header())
            .call()
            .unwrap();
        self.keep(response)
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        let response = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("cookie", &self.cookie_header())
            .send_form(form.iter().copied())
            .unwrap();
        self.keep(response)
    }

    /// The CSRF token of the form on the page at `path`.
    fn token(&mut self, path: &str) -> String {
        let page = self.get(path);
        csrf_of(&page.body)
    }

    fn register(&mut self, name: &str, password: &str) -> Answer {
        let csrf = self.token("/register");
        self.post(
            "/register",
            &[("csrf", &csrf), ("username", name), ("password", password)],
        )
    }
}

fn csrf_of(body: &str) -> String {
    let start = body
        .find("name=\"csrf\" value=\"")
        .expect("a form with a token")
        + 19;
    body[start..start + 64].to_string()
}

fn address_of(body: &str) -> String {
    let start = body.find("id=\"address\">").unwrap() + 13;
    let end = body[start..].find('<').unwrap();
    body[start..start + end].to_string()
}

#[test]
fn register_sets_a_strict_session_cookie_and_keeps_no_secret_in_clear() {
    let app = TestApp::start();
    let mut client = Client::new(&app);
    let home = client.get("/");
    assert_eq!(home.status, 200);
    assert!(home.csp.unwrap().contains("script-src 'self'"));
    let password = "a long secret password";
    let answer = client.register("Alice", password);
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some("/wallet"));
    let cookie = answer
        .set_cookies
        .iter()
        .find(|c| c.starts_with(chain_web::SESSION_COOKIE))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=3600"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    let wallet = client.get("/wallet");
    assert_eq!(wallet.status, 200);
    assert!(
        wallet
            .body
            .contains("Wallet of <span id=\"wallet-user\">Alice</span>")
    );
    assert!(wallet.csp.is_some());
    let address = address_of(&wallet.body);
    assert!(address.starts_with("reg1"), "{address}");
    assert!(wallet.body.contains("<svg"), "a QR code");
    // The send form offers the node's suggested fee: the minimum rate on an empty mempool, for
    // a 143-byte transfer.
    assert!(
        wallet.body.contains(r#"id="fee" value="0.00000143""#),
        "{}",
        wallet.body
    );
    assert!(wallet.body.contains("0.00000143 to be in the next block"));

    // Same name in another case: refused; the first user is untouched.
    let mut other = Client::new(&app);
    let taken = other.register("aLiCe", "another password");
    assert_eq!(taken.status, 409);
    assert!(taken.body.contains("is taken"));

    // Log out, then in again; a wrong password is refused.
    let csrf = csrf_of(&wallet.body);
    let out = client.post("/logout", &[("csrf", &csrf)]);
    assert_eq!(out.status, 303);
    assert_eq!(client.get("/wallet").location.as_deref(), Some("/login"));
    let csrf = client.token("/login");
    let wrong = client.post(
        "/login",
        &[
            ("csrf", &csrf),
            ("username", "alice"),
            ("password", "not it at all"),
        ],
    );
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("Wrong username or password"));
    let right = client.post(
        "/login",
        &[
            ("csrf", &csrf),
            ("username", "alice"),
            ("password", password),
        ],
    );
    assert_eq!(right.status, 303);
    assert_eq!(client.get("/wallet").status, 200);

    // Neither the password nor the session token is in the user database's files.
    let mut bytes = Vec::new();
    for name in ["users.sqlite", "users.sqlite-wal"] {
        if let Ok(more) = std::fs::read(app.dir.path().join("web").join(name)) {
            bytes.extend(more);
        }
    }
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"Alice"));
    assert!(!contains(password.as_bytes()));
    let token = &client
        .cookies
        .iter()
        .find(|(k, _)| k == chain_web::SESSION_COOKIE)
        .unwrap()
        .1;
    assert!(!contains(token.as_bytes()));
}

#[test]
fn forms_without_their_token_are_refused() {
    let app = TestApp::start();
    let mut client = Client::new(&app);
    // No form cookie and no token.
    let answer = client.post(
        "/register",
        &[("username", "mallory"), ("password", "password123")],
    );
    assert_eq!(answer.status, 403);
    assert!(answer.body.contains("security token"), "{}", answer.body);
    // A form cookie, but a token that is not it.
    client.get("/login");
    let forged = client.post(
        "/login",
        &[
            ("csrf", &"0".repeat(64)),
            ("username", "x"),
            ("password", "y"),
        ],
    );
    assert_eq!(forged.status, 403);
    // Logged in: the send form needs the session's token.
    assert_eq!(client.register("trent", "password123").status, 303);
    let send = client.post(
        "/wallet/send",
        &[
            ("to", "reg1x"),
            ("amount", "1"),
            ("fee", "0.00001"),
            ("password", "password123"),
        ],
    );
    assert_eq!(send.status, 403);
    let logout = client.post("/logout", &[]);
    assert_eq!(logout.status, 403);
    assert_eq!(client.get("/wallet").status, 200, "still logged in");
}

#[test]
fn html_in_a_username_is_refused_and_shown_back_as_text() {
    let app = TestApp::start();
    let mut client = Client::new(&app);
    let name = "<script>alert(1)</script>";
    let page = client.register(name, "password123");
    assert_eq!(page.status, 400, "not the characters of a name");
    assert!(
        page.body.contains("&#60;script&#62;alert(1)&#60;"),
        "put back in the form, escaped: {}",
        page.body
    );
    assert!(!page.body.contains("<script>alert"), "not markup");
}

#[test]
fn the_send_form_explains_each_refusal_and_a_wrong_password_changes_nothing() {
    let app = TestApp::start();
    let mut client = Client::new(&app);
    assert_eq!(client.register("sender", "password123").status, 303);
    let wallet = client.get("/wallet");
    let csrf = csrf_of(&wallet.body);
    let own = address_of(&wallet.body);
    assert!(
        wallet.body.contains("id=\"empty-hint\""),
        "a new wallet says how to get coins"
    );
    let send = |client: &mut Client, to: &str, amount: &str, password: &str| {
        client.post(
            "/wallet/send",
            &[
                ("csrf", &csrf),
                ("to", to),
                ("amount", amount),
                ("fee", "0.00001"),
                ("password", password),
            ],
        )
    };
    // A typo in the receiver's address: its checksum fails.
    let mut typo = own.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == 'q' { 'p' } else { 'q' });
    let answer = send(&mut client, &typo, "1", "password123");
    assert_eq!(answer.status, 400);
    assert!(
        answer.body.contains("checksum does not match"),
        "{}",
        answer.body
    );
    assert!(answer.body.contains(&typo), "the form keeps what was typed");
    // Nothing to send yet.
    let answer = send(&mut client, &own, "1", "password123");
    assert_eq!(answer.status, 422);
    assert!(
        answer.body.contains("Too little balance"),
        "{}",
        answer.body
    );

    // Mine to the user until they have coins, then stop.
    let prefix = app.node.params().address_prefix;
    let address = Address::parse(&own, prefix).unwrap();
    let node = app.node.clone();
    // Mines to the user until `done` holds for their account, then stops.
    let mine_until = |what: &str, done: fn(&AccountView) -> bool| {
        let mining = MiningConfig {
            address,
            threads: 1,
        };
        app.runtime.block_on(node.set_mining(Some(mining))).unwrap();
        wait_for(what, 60, || {
            let account = app.runtime.block_on(node.account(address)).unwrap();
            done(&account).then_some(())
        });
        app.runtime.block_on(node.set_mining(None)).unwrap();
    };
    mine_until("a block reward", |account| account.balance.0 > 0);
    assert!(
        !client.get("/wallet").body.contains("id=\"empty-hint\""),
        "a wallet with coins needs no hint"
    );

    // A fee above the amount is asked about, and nothing is sent until it is confirmed.
    let high_fee = |client: &mut Client, confirm: &str| {
        client.post(
            "/wallet/send",
            &[
                ("csrf", &csrf),
                ("to", &own),
                ("amount", "0.00000001"),
                ("fee", "0.0001"),
                ("confirm_fee", confirm),
                ("password", "password123"),
            ],
        )
    };
    let answer = high_fee(&mut client, "");
    assert_eq!(answer.status, 409);
    assert!(answer.body.contains("Check the fee"), "{}", answer.body);
    assert!(
        answer.body.contains("id=\"confirm-fee\""),
        "the form asks to confirm"
    );
    assert!(app.runtime.block_on(node.mempool()).unwrap().is_empty());
    let answer = high_fee(&mut client, "yes");
    assert_eq!(answer.status, 303, "confirmed, it is sent: {}", answer.body);
    wait_for("the confirmed transfer pending", 10, || {
        let mempool = app.runtime.block_on(node.mempool()).unwrap();
        (mempool.len() == 1).then_some(())
    });
    // Mined, so that the rest starts from a settled account.
    mine_until("the transfer mined", |account| {
        account.pending_out.0 == 0 && account.nonce == 1
    });
    let before = app.runtime.block_on(node.account(address)).unwrap();

    let answer = send(&mut client, &own, "1", "not my password");
    assert_eq!(answer.status, 401);
    assert!(answer.body.contains("Wrong password: nothing was sent"));
    let after = app.runtime.block_on(node.account(address)).unwrap();
    assert_eq!(before.nonce, after.nonce);
    assert_eq!(after.pending_out.0, 0);
    assert!(app.runtime.block_on(node.mempool()).unwrap().is_empty());

    // The right password sends, and the receipt shows the transfer.
    let answer = send(&mut client, &own, "1", "password123");
    assert_eq!(answer.status, 303, "{}", answer.body);
    let receipt = answer.location.unwrap();
    assert!(receipt.starts_with("/receipt/"));
    let page = client.get(&receipt);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"tx-status\""));
    // The receipt tells when (the node received it: it is pending), links to the explorer's
    // page of the transfer, and offers its id to copy.
    let txid = receipt.trim_start_matches("/receipt/");
    assert!(
        page.body.contains("when this node received it"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("id=\"tx-explorer\" href=\"/tx/{txid}\""))
    );
    assert!(page.body.contains(&format!("data-copy=\"{txid}\"")));

    // The history downloads as CSV: a header, then one row per transaction, amounts signed.
    let csv = client.get("/wallet/history.csv");
    assert_eq!(csv.status, 200);
    let rows: Vec<Vec<&str>> = csv.body.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0].join(","), chain_web::csv::HEADER);
    assert!(
        rows[1..].iter().all(|r| r.len() == rows[0].len()),
        "{}",
        csv.body
    );
    let column = |name: &str| rows[0].iter().position(|c| *c == name).unwrap();
    let (kind, direction, amount) = (column("kind"), column("direction"), column("amount"));
    // To itself: each confirmed self-transfer is one row, out (the sender's view).
    assert!(
        rows[1..]
            .iter()
            .any(|r| r[kind] == "coinbase" && r[amount].starts_with('+'))
    );
    assert!(
        rows[1..]
            .iter()
            .any(|r| r[kind] == "transfer" && r[direction] == "out" && r[amount].starts_with('-'))
    );
    // Signed out, the download is the login page's.
    let mut stranger = Client::new(&app);
    assert_eq!(
        stranger.get("/wallet/history.csv").location.as_deref(),
        Some("/login")
    );
}

#[test]
fn explorer_pages_search_and_errors() {
    let app = TestApp::start();
    let mut client = Client::new(&app);
    assert_eq!(client.get("/block/0").status, 200);
    assert_eq!(client.get("/explorer").status, 200);
    assert_eq!(client.get("/network").status, 200);
    assert_eq!(client.get("/block/99999").status, 404);
    let search = client.get("/search?q=0");
    assert_eq!(search.location.as_deref(), Some("/block/0"));
    let typo = client.get("/search?q=reg1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq");
    assert_eq!(typo.status, 400);
    assert!(typo.body.contains("typo"), "{}", typo.body);
    assert_eq!(client.get("/no/such/page").status, 404);
    // A form too large, or not a form at all, is the sender's fault, not a missing page.
    let agent = &client.agent;
    let post = |path: &str, content_type: &str, body: String| {
        agent
            .post(&format!("{}{path}", client.base))
            .header("content-type", content_type)
            .send(body)
            .unwrap()
            .status()
            .as_u16()
    };
    let form = "application/x-www-form-urlencoded";
    assert_eq!(post("/register", form, "a=".repeat(10_000)), 413);
    assert_eq!(post("/login", "application/json", "{}".into()), 415);
    assert_eq!(
        post("/login", "multipart/form-data; boundary=x", "".into()),
        415
    );
    // A form with a charset is a form: read, and refused for its missing token.
    assert_eq!(
        post("/login", &format!("{form}; charset=utf-8"), "a=b".into()),
        403
    );
    assert_eq!(post("/no/such/page", form, String::new()), 404);
    let css = client.get("/static/app.css");
    assert_eq!(css.status, 200);
    // The API keeps its JSON errors.
    let api = client.get("/api/v1/blocks/99999");
    assert_eq!(api.status, 404);
    assert!(api.body.contains("\"code\""));
}

#[test]
fn histories_page_from_newest_to_oldest() {
    let app = TestApp::start();
    let miner = chain_core::testkit::address(5);
    let text = miner.to_text(crate::support::params().address_prefix);
    app.runtime
        .block_on(app.node.set_mining(Some(MiningConfig {
            address: miner,
            threads: 1,
        })))
        .unwrap();
    let height = || app.runtime.block_on(app.node.status()).unwrap().height.0;
    wait_for("30 blocks", 60, || (height() >= 30).then_some(()));
    app.runtime.block_on(app.node.set_mining(None)).unwrap();
    let blocks = height();

    // Page after page, following "Older", every coinbase once, newest first.
    let mut client = Client::new(&app);
    let mut path = format!("/address/{text}");
    let mut heights = Vec::new();
    let mut pages = 0;
    loop {
        let page = client.get(&path);
        assert_eq!(page.status, 200, "{}", page.body);
        pages += 1;
        assert_eq!(page.body.contains("id=\"history-newest\""), pages > 1);
        // Each row links its block: "block N · M conf."
        heights.extend(page.body.match_indices("<td>block ").map(|(at, _)| {
            let rest = &page.body[at + "<td>block ".len()..];
            rest[..rest.find(' ').unwrap()].parse::<u64>().unwrap()
        }));
        match page.body.split_once("id=\"history-older\" href=\"?before=") {
            Some((_, rest)) => {
                let cursor = &rest[..rest.find('"').unwrap()];
                path = format!("/address/{text}?before={cursor}");
            }
            None => break,
        }
    }
    assert_eq!(pages as u64, blocks.div_ceil(25));
    assert_eq!(heights, (1..=blocks).rev().collect::<Vec<_>>());
    let bad = client.get(&format!("/address/{text}?before=yesterday"));
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("Not a history position"));
}
