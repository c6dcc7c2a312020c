//! One directed peer link of the chaos network: a TCP proxy that node `i` dials to reach node `j`,
//! which the harness can cut and heal.
//!
//! Why a proxy per directed link rather than firewall rules: it needs no privileges, works the
//! same on any machine, and lets a cut either refuse new connections (the dialler sees a closed
//! connection at once) or hold them (accepted, then silent: the dialler waits out its handshake
//! timeout), the two ways a real link fails.
//!
//! Why the proxy checks who dials: nodes gossip the addresses they know, so node `k` may learn
//! the address of the proxy `i → j` and dial it, which would let `k` reach `j` through a link the
//! harness believes is `i`'s. The proxy reads the dialler's first frame (its `version`, decoded
//! with the node's own codec) and forwards only a dialler that announces the listen port of the
//! node the link belongs to; anyone else is hung up on. The frame read is then forwarded as is.

use chain_core::params::NetworkId;
use chain_core::protocol::Message;
use chain_core::protocol::frame::decode_frame;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a dialler may take to send its `version` before the proxy hangs up.
const FIRST_FRAME_TIMEOUT: Duration = Duration::from_secs(10);
/// A `version` frame is well under this; more bytes without one is not a node.
const FIRST_FRAME_MAX: usize = 1024;
/// How long the proxy waits to connect to the node behind it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// What a link does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forwards both ways.
    Open,
    /// Cut: closes every new connection at once.
    Refuse,
    /// Cut: accepts new connections and keeps them open without forwarding a byte, until healed.
    Hold,
}

/// Counters of one link.
#[derive(Debug, Default)]
pub struct LinkStats {
    /// Connections forwarded to the node behind the link.
    pub forwarded: AtomicU64,
    /// Connections refused or held while cut.
    pub blocked: AtomicU64,
    /// Connections hung up on because the dialler was not the link's node.
    pub strangers: AtomicU64,
    /// Connections dropped by a cut.
    pub dropped: AtomicU64,
}

struct State {
    mode: Mode,
    closed: bool,
    /// Both sockets of every forwarded connection (cut by `shutdown`).
    live: Vec<(u64, TcpStream, TcpStream)>,
    /// Connections held while cut.
    held: Vec<TcpStream>,
    next_id: u64,
}

struct Shared {
    state: Mutex<State>,
    stats: LinkStats,
    network: NetworkId,
    target: SocketAddr,
    dialler_port: Option<u16>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking proxy thread cannot leave the state half-changed (every change is one
        // assignment or push), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running link proxy. Dropping it closes the listener and every connection.
pub struct Link {
    shared: Arc<Shared>,
    addr: SocketAddr,
    acceptor: Option<JoinHandle<()>>,
}

impl Link {
    /// Listens on `listen` (port 0: a free port) and forwards to `target`, open. When
    /// `dialler_port` is set, only a dialler whose `version` announces that listen port (on the
    /// network `network`) is forwarded.
    ///
    /// # Errors
    ///
    /// If `listen` cannot be bound.
    pub fn start(
        listen: SocketAddr,
        target: SocketAddr,
        network: NetworkId,
        dialler_port: Option<u16>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                mode: Mode::Open,
                closed: false,
                live: Vec::new(),
                held: Vec::new(),
                next_id: 0,
            }),
            stats: LinkStats::default(),
            network,
            target,
            dialler_port,
        });
        let acceptor = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("proxy {addr}"))
                .spawn(move || accept_loop(listener, shared))?
        };
        Ok(Self {
            shared,
            addr,
            acceptor: Some(acceptor),
        })
    }

    /// Where the link listens: the address the dialling node is given.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The link's counters.
    pub fn stats(&self) -> &LinkStats {
        &self.shared.stats
    }

    /// The current mode.
    pub fn mode(&self) -> Mode {
        self.shared.lock().mode
    }

    /// Cuts the link: drops every forwarded connection, and refuses or holds new ones (`mode`
    /// [`Mode::Open`] is the same as [`Link::heal`]).
    pub fn cut(&self, mode: Mode) {
        let mut state = self.shared.lock();
        state.mode = mode;
        if mode == Mode::Open {
            state.held.clear();
            return;
        }
        for (_, a, b) in state.live.drain(..) {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
            self.shared.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Heals the link: new connections are forwarded again, and held ones are closed (their
    /// diallers dial again).
    pub fn heal(&self) {
        self.cut(Mode::Open);
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        {
            let mut state = self.shared.lock();
            state.closed = true;
            state.held.clear();
            for (_, a, b) in state.live.drain(..) {
                let _ = a.shutdown(Shutdown::Both);
                let _ = b.shutdown(Shutdown::Both);
            }
        }
        // Wake the blocking `accept` so that its thread sees `closed` and ends.
        let _ = TcpStream::connect_timeout(&self.addr, CONNECT_TIMEOUT);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        let mut state = shared.lock();
        if state.closed {
            return;
        }
        let Ok(stream) = stream else { continue };
        match state.mode {
            Mode::Open => {
                drop(state);
                let shared = shared.clone();
                let spawned = std::thread::Builder::new()
                    .name("proxy conn".into())
                    .spawn(move || forward(stream, &shared));
                // Out of threads: the connection is dropped, as a failed link would.
                drop(spawned);
            }
            Mode::Refuse => {
                shared.stats.blocked.fetch_add(1, Ordering::Relaxed);
                drop(stream);
            }
            Mode::Hold => {
                shared.stats.blocked.fetch_add(1, Ordering::Relaxed);
                state.held.push(stream);
            }
        }
    }
}

/// Reads the dialler's first frame and returns its bytes if it is a `version` that announces
/// `dialler_port` (any `version` when `None`).
fn first_frame(
    stream: &mut TcpStream,
    network: NetworkId,
    dialler_port: Option<u16>,
) -> Option<Vec<u8>> {
    stream.set_read_timeout(Some(FIRST_FRAME_TIMEOUT)).ok()?;
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 256];
    loop {
        match decode_frame(&bytes, network) {
            Ok(Some((Message::Version(version), _))) => {
                let wanted = dialler_port.is_none_or(|port| port == version.listen_port);
                stream.set_read_timeout(None).ok()?;
                return wanted.then_some(bytes);
            }
            Ok(Some(_)) | Err(_) => return None,
            Ok(None) if bytes.len() >= FIRST_FRAME_MAX => return None,
            Ok(None) => {}
        }
        let n = stream.read(&mut buffer).ok()?;
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(&buffer[..n]);
    }
}

fn forward(mut inbound: TcpStream, shared: &Arc<Shared>) {
    let Some(first) = first_frame(&mut inbound, shared.network, shared.dialler_port) else {
        shared.stats.strangers.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let Ok(mut outbound) = TcpStream::connect_timeout(&shared.target, CONNECT_TIMEOUT) else {
        // The node behind the link is down: the dialler sees its connection close.
        return;
    };
    let _ = inbound.set_nodelay(true);
    let _ = outbound.set_nodelay(true);
    let (Ok(inbound_copy), Ok(outbound_copy)) = (inbound.try_clone(), outbound.try_clone()) else {
        return;
    };
    let id = {
        let mut state = shared.lock();
        // A cut that came while this connection was being set up applies to it too.
        if state.mode != Mode::Open || state.closed {
            return;
        }
        let id = state.next_id;
        state.next_id += 1;
        let (Ok(a), Ok(b)) = (inbound.try_clone(), outbound.try_clone()) else {
            return;
        };
        state.live.push((id, a, b));
        id
    };
    shared.stats.forwarded.fetch_add(1, Ordering::Relaxed);
    if outbound.write_all(&first).is_ok() {
        let back = std::thread::Builder::new()
            .name("proxy pump".into())
            .spawn(move || pump(outbound_copy, inbound_copy));
        pump(inbound, outbound);
        if let Ok(back) = back {
            let _ = back.join();
        }
    }
    shared.lock().live.retain(|(other, _, _)| *other != id);
}

/// Copies `from` to `to` until either side ends, then closes both (so the other direction's
/// pump ends too).
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_core::hash::BlockHash;
    use chain_core::params::ChainParams;
    use chain_core::pow::Work;
    use chain_core::protocol::frame::encode_frame;
    use chain_core::protocol::message::Version;
    use chain_core::units::Height;
    use std::time::Instant;

    fn network() -> NetworkId {
        ChainParams::regtest().network_id
    }

    fn version(listen_port: u16) -> Vec<u8> {
        let message = Message::Version(Version {
            version: 1,
            network: network(),
            genesis: BlockHash::ZERO,
            best_height: Height(7),
            best_work: Work::default(),
            listen_port,
            nonce: 42,
            agent: "test".into(),
        });
        encode_frame(&message, network())
    }

    /// An echo server: answers every byte it gets.
    fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                std::thread::spawn(move || {
                    let mut copy = stream.try_clone().unwrap();
                    let _ = std::io::copy(&mut stream, &mut copy);
                });
            }
        });
        addr
    }

    fn dial(link: &Link, port: u16) -> TcpStream {
        let mut stream = TcpStream::connect(link.addr()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.write_all(&version(port)).unwrap();
        stream
    }

    /// Whether the proxy forwards: the echo comes back (the version frame, then `ping`).
    fn forwards(stream: &mut TcpStream) -> bool {
        let mut first = vec![0u8; version(1).len()];
        if stream.read_exact(&mut first).is_err() {
            return false;
        }
        stream.write_all(b"ping").is_ok() && {
            let mut four = [0u8; 4];
            stream.read_exact(&mut four).is_ok() && &four == b"ping"
        }
    }

    /// Whether the connection is closed by the far side (within the read timeout).
    fn closed(stream: &mut TcpStream) -> bool {
        let mut byte = [0u8; 1];
        matches!(stream.read(&mut byte), Ok(0) | Err(_))
    }

    fn wait(what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn forwards_the_links_node_and_hangs_up_on_strangers() {
        let link = Link::start(
            "127.0.0.1:0".parse().unwrap(),
            echo(),
            network(),
            Some(7001),
        )
        .unwrap();
        assert!(forwards(&mut dial(&link, 7001)));
        assert!(closed(&mut dial(&link, 7002)));
        // Not a version frame at all.
        let mut garbage = TcpStream::connect(link.addr()).unwrap();
        garbage
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        garbage.write_all(&[0u8; 64]).unwrap();
        assert!(closed(&mut garbage));
        wait("two strangers counted", || {
            link.stats().strangers.load(Ordering::Relaxed) == 2
        });
        assert_eq!(link.stats().forwarded.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_cut_drops_live_connections_and_refuses_new_ones_until_healed() {
        let link = Link::start("127.0.0.1:0".parse().unwrap(), echo(), network(), None).unwrap();
        let mut live = dial(&link, 1);
        assert!(forwards(&mut live));
        link.cut(Mode::Refuse);
        assert_eq!(link.mode(), Mode::Refuse);
        assert!(closed(&mut live));
        let mut refused = TcpStream::connect(link.addr()).unwrap();
        refused
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        assert!(closed(&mut refused));
        assert_eq!(link.stats().dropped.load(Ordering::Relaxed), 1);
        link.heal();
        assert!(forwards(&mut dial(&link, 1)));
    }

    #[test]
    fn a_held_connection_stays_silent_and_is_closed_at_the_heal() {
        let link = Link::start("127.0.0.1:0".parse().unwrap(), echo(), network(), None).unwrap();
        link.cut(Mode::Hold);
        let mut held = dial(&link, 1);
        held.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut byte = [0u8; 1];
        let silent = held.read(&mut byte);
        assert!(
            matches!(&silent, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut),
            "{silent:?}"
        );
        wait("the held connection counted", || {
            link.stats().blocked.load(Ordering::Relaxed) == 1
        });
        link.heal();
        held.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert!(closed(&mut held));
        assert!(forwards(&mut dial(&link, 1)));
    }

    #[test]
    fn a_link_to_a_dead_node_closes_the_dialler_and_drop_ends_everything() {
        let dead = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let link = Link::start("127.0.0.1:0".parse().unwrap(), dead, network(), None).unwrap();
        assert!(closed(&mut dial(&link, 1)));
        let addr = link.addr();
        drop(link);
        // The listener is gone with the link.
        assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
    }
}
