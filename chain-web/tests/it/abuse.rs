//! The HTTP server under abuse, over real sockets: requests never finished, idle connections,
//! and more connections than the caps allow.

use crate::support::{Setup, TestApp, wait_for};
use chain_web::{RateQuotas, ServerOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// The app's address.
fn addr(app: &TestApp) -> SocketAddr {
    app.url.trim_start_matches("http://").parse().unwrap()
}

/// A connection from `local` (any port), reads bounded by 10 s.
fn connect_from(local: &str, to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let local: SocketAddr = format!("{local}:0").parse().unwrap();
    socket.bind(&local.into()).unwrap();
    socket.connect(&to.into()).unwrap();
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
}

/// Everything the server sends until it closes the connection (or 10 s pass: then the read
/// fails and so does the test).
fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .expect("the server closed the connection within 10 s");
    String::from_utf8_lossy(&answer).into_owned()
}

/// Sends `request` on a new connection from `local`; the whole answer.
fn exchange(local: &str, to: SocketAddr, request: &str) -> String {
    let mut stream = connect_from(local, to);
    stream.write_all(request.as_bytes()).unwrap();
    read_until_closed(&mut stream)
}

/// The status line of a `GET /` sent on a new connection from `local`.
fn get_home(local: &str, to: SocketAddr) -> String {
    let answer = exchange(
        local,
        to,
        "GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n",
    );
    answer.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn a_request_head_never_finished_and_an_idle_connection_are_closed_after_the_timeout() {
    let timeout = Duration::from_secs(1);
    let app = TestApp::start_with_server(ServerOptions {
        header_read_timeout: timeout,
        ..ServerOptions::default()
    });
    let to = addr(&app);

    let mut half = connect_from("127.0.0.1", to);
    half.write_all(b"GET / HTTP/1.1\r\nhost: te").unwrap();
    let started = Instant::now();
    let answer = read_until_closed(&mut half);
    assert!(started.elapsed() >= timeout, "closed before the timeout");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );

    // A finished request is answered; the connection, kept alive, is closed once idle.
    let mut idle = connect_from("127.0.0.1", to);
    idle.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        .unwrap();
    let answer = read_until_closed(&mut idle);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn connections_past_the_caps_are_refused_or_make_room_and_the_server_keeps_serving() {
    let app = TestApp::start_with_server(ServerOptions {
        max_connections: 6,
        max_connections_per_client: 4,
        ..ServerOptions::default()
    });
    let to = addr(&app);
    // Four half-finished requests from one address: its cap. (The server takes connections in
    // the order they were made, so each is counted before the next is looked at.)
    let mut held: Vec<TcpStream> = (0..4).map(|_| connect_from("127.0.0.1", to)).collect();
    for stream in &mut held {
        stream.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    }
    let refused = get_home("127.0.0.1", to);
    assert_eq!(refused, "HTTP/1.1 503 Service Unavailable");
    // Another address may still connect, up to the server's cap.
    assert_eq!(get_home("127.0.0.2", to), "HTTP/1.1 200 OK");
    let mut served = connect_from("127.0.0.2", to);
    served
        .write_all(b"GET /api/v1/events HTTP/1.1\r\nhost: test\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 12];
    served.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200", "an event stream, served");
    held.push(connect_from("127.0.0.2", to));
    // At the server's cap a newcomer takes the place of the oldest connection that has not
    // sent a request head: the first of 127.0.0.1's, closed without an answer. The event
    // stream, being served, is kept.
    assert_eq!(get_home("127.0.0.3", to), "HTTP/1.1 200 OK");
    assert_eq!(read_until_closed(&mut held[0]), "");
    // Once connections close, their places are free again.
    drop(held);
    drop(served);
    wait_for("a place under the caps", 10, || {
        (get_home("127.0.0.1", to) == "HTTP/1.1 200 OK").then_some(())
    });
}

/// A form POST from `local` with `body`: its status line and `Retry-After`, if any.
fn post_form(local: &str, to: SocketAddr, path: &str, body: &str) -> (String, Option<String>) {
    let head = "content-type: application/x-www-form-urlencoded\r\n";
    post_from(local, to, path, head, body)
}

/// A POST from `local` with the header lines `head` (each ending in CRLF) and `body`: its
/// status line and `Retry-After`, if any.
fn post_from(
    local: &str,
    to: SocketAddr,
    path: &str,
    head: &str,
    body: &str,
) -> (String, Option<String>) {
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n{head}\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer = exchange(local, to, &request);
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let retry_after = answer
        .lines()
        .find_map(|line| line.strip_prefix("retry-after: "))
        .map(str::to_owned);
    (status, retry_after)
}

#[test]
fn forms_past_their_quota_answer_429_for_that_address_only() {
    let app = TestApp::start_with_quotas(RateQuotas {
        logins_per_minute: 3,
        registrations_per_hour: 2,
        sends_per_minute: 2,
    });
    let to = addr(&app);
    // The quota counts requests before any check (these have no form token: refused, 403).
    for _ in 0..3 {
        let (status, _) = post_form("127.0.0.1", to, "/login", "username=a&password=b");
        assert!(!status.contains("429"), "{status}");
    }
    let (status, retry_after) = post_form("127.0.0.1", to, "/login", "username=a&password=b");
    assert_eq!(status, "HTTP/1.1 429 Too Many Requests");
    let wait: u64 = retry_after.expect("a Retry-After").parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    // Another address has its own quota; other forms have theirs.
    let (status, _) = post_form("127.0.0.2", to, "/login", "username=a&password=b");
    assert!(!status.contains("429"), "{status}");
    for _ in 0..2 {
        let (status, _) = post_form("127.0.0.1", to, "/register", "username=a&password=b");
        assert!(!status.contains("429"), "{status}");
    }
    let (status, _) = post_form("127.0.0.1", to, "/register", "username=a&password=b");
    assert_eq!(status, "HTTP/1.1 429 Too Many Requests");
    assert_eq!(
        get_home("127.0.0.1", to),
        "HTTP/1.1 200 OK",
        "pages are not limited"
    );
}

#[test]
fn api_writes_without_the_token_past_their_quota_answer_429_and_the_token_is_not_limited() {
    let app = TestApp::start_with_write_quota(Some("operator"), 3);
    let to = addr(&app);
    let json = "content-type: application/json\r\n";
    let body = r#"{"enabled":false}"#;
    // Without the token: refused (401), and counted, so guessing the token is slowed too.
    let guess = format!("{json}authorization: Bearer guess\r\n");
    for _ in 0..3 {
        let (status, _) = post_from("127.0.0.1", to, "/api/v1/mining", &guess, body);
        assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    }
    let (status, retry_after) = post_from("127.0.0.1", to, "/api/v1/transfers", json, "{}");
    assert_eq!(status, "HTTP/1.1 429 Too Many Requests");
    let wait: u64 = retry_after.expect("a Retry-After").parse().unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    // Another address has its own quota; the operator's token is never limited; reads are not.
    let (status, _) = post_from("127.0.0.2", to, "/api/v1/mining", &guess, body);
    assert_eq!(status, "HTTP/1.1 401 Unauthorized");
    let operator = format!("{json}authorization: Bearer operator\r\n");
    for _ in 0..10 {
        let (status, _) = post_from("127.0.0.1", to, "/api/v1/mining", &operator, body);
        assert_eq!(status, "HTTP/1.1 200 OK");
    }
    let status = "GET /api/v1/status HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n";
    let answer = exchange("127.0.0.1", to, status);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
}

#[test]
fn user_miners_past_the_cap_do_not_start() {
    let app = TestApp::start();
    let miners = chain_web::miners::MinerManager::new(
        app.dir.path().join("capped"),
        crate::support::params(),
        app.node.listen_addr(),
        1,
        1,
    );
    let address = |seed: u8| {
        chain_core::keys::SecretKey::from_bytes([seed; 32])
            .unwrap()
            .public_key()
            .address()
    };
    app.runtime.block_on(async {
        miners.start(1, "one", address(1), None).await.unwrap();
        let refused = miners.start(2, "two", address(2), None).await.unwrap_err();
        assert!(refused.message.contains("most user miners"), "{refused}");
        assert!(!miners.is_running(2).await);
        // The one running may be asked again; once it stops, another may start.
        miners.start(1, "one", address(1), None).await.unwrap();
        miners.stop(1).await;
        miners.start(2, "two", address(2), None).await.unwrap();
        miners.shutdown().await;
    });
}

/// The `Set-Cookie` line of `answer` for cookie `name`.
fn set_cookie<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    answer
        .lines()
        .filter_map(|line| line.strip_prefix("set-cookie: "))
        .find(|cookie| cookie.starts_with(&format!("{name}=")))
}

#[test]
fn behind_a_trusted_proxy_clients_are_told_apart_and_cookies_are_secure() {
    let app = TestApp::start_with(Setup {
        server: ServerOptions {
            trusted_proxy: Some("127.0.0.1".parse().unwrap()),
            ..ServerOptions::default()
        },
        rate_quotas: RateQuotas {
            logins_per_minute: 2,
            ..RateQuotas::default()
        },
        ..Setup::default()
    });
    let to = addr(&app);
    let forwarded = |client: &str| {
        format!("x-forwarded-for: 198.51.100.1, {client}\r\nx-forwarded-proto: https\r\n")
    };
    let get = |local: &str, head: &str| {
        let request =
            format!("GET /register HTTP/1.1\r\nhost: test\r\nconnection: close\r\n{head}\r\n");
        exchange(local, to, &request)
    };

    // Over HTTPS (the proxy says so) the form cookie is `__Host-` and `Secure`; a stranger
    // saying the same is not believed.
    let page = get("127.0.0.1", &forwarded("203.0.113.7"));
    let cookie = set_cookie(&page, "__Host-chain_form").expect("a secure form cookie");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let stranger = get("127.0.0.2", &forwarded("203.0.113.7"));
    let plain = set_cookie(&stranger, "chain_form").expect("a plain form cookie");
    assert!(!plain.contains("Secure"), "{plain}");

    // The secure form cookie is the one read back: registering over HTTPS logs in with a
    // secure session cookie.
    let token = cookie
        .trim_start_matches("__Host-chain_form=")
        .split(';')
        .next()
        .unwrap();
    let body = format!("csrf={token}&username=proxied&password=password123");
    let head = format!(
        "{}cookie: __Host-chain_form={token}\r\ncontent-type: application/x-www-form-urlencoded\r\n",
        forwarded("203.0.113.7")
    );
    let request = format!(
        "POST /register HTTP/1.1\r\nhost: test\r\nconnection: close\r\n{head}\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer = exchange("127.0.0.1", to, &request);
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    let session = set_cookie(&answer, "__Host-chain_session").expect("a secure session");
    assert!(session.ends_with("; Secure"), "{session}");

    // Quotas count the forwarded client, not the proxy; a stranger's headers change nothing.
    let login = "username=a&password=b";
    let post = |local: &str, client: &str| {
        let head = format!(
            "{}content-type: application/x-www-form-urlencoded\r\n",
            forwarded(client)
        );
        post_from(local, to, "/login", &head, login).0
    };
    for _ in 0..2 {
        assert!(!post("127.0.0.1", "203.0.113.7").contains("429"));
    }
    assert!(post("127.0.0.1", "203.0.113.7").contains("429"));
    assert!(!post("127.0.0.1", "203.0.113.8").contains("429"));
    for client in ["192.0.2.1", "192.0.2.2"] {
        assert!(!post("127.0.0.2", client).contains("429"));
    }
    assert!(post("127.0.0.2", "192.0.2.3").contains("429"));
}

#[test]
fn a_thousand_half_open_connections_from_many_addresses_shut_neither_the_api_nor_the_peer_port() {
    // The default caps: 256 in all, 32 per address. 32 addresses × 32 connections, each with
    // part of a request head and nothing more: four times what the server holds.
    let app = TestApp::start();
    let to = addr(&app);
    let flood: Vec<TcpStream> = (1..=32u8)
        .flat_map(|address| (0..32).map(move |_| address))
        .map(|address| {
            let mut stream = connect_from(&format!("127.0.5.{address}"), to);
            stream
                .write_all(b"GET /api/v1/status HTTP/1.1\r\nhost: fl")
                .unwrap();
            stream
        })
        .collect();
    assert_eq!(flood.len(), 1_024);

    // A client that sends its request whole is answered, not refused: its connection takes
    // the place of the oldest half-open one.
    for _ in 0..3 {
        let answer = exchange(
            "127.0.0.1",
            to,
            "GET /api/v1/status HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n",
        );
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    }
    // The node's peer port still takes a peer.
    let peer = app.runtime.block_on(async {
        let mut config = chain_net::NodeConfig::new(crate::support::params());
        config.peers = vec![app.node.listen_addr().unwrap()];
        chain_net::start(config, chain_core::store::MemoryStore::new())
            .await
            .unwrap()
    });
    wait_for("the peer's handshake", 30, || {
        let status = app.runtime.block_on(app.node.status()).unwrap();
        (status.peers == 1).then_some(())
    });
    app.runtime.block_on(peer.shutdown());
    drop(flood);
}
