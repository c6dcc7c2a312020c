//! Peers given by name (`host:port`, such as `node-b:7410` or `seed.example.org:7410`): looked
//! up when the node starts and every [`RESOLVE_EVERY`] after, and each address a name newly
//! resolves to is dialled and kept in the address book. A peer whose address changes (a
//! container restarted, a DNS record moved) is so reached at its new one. The protocol itself
//! deals in socket addresses only; names are the adapter's, like sockets and timers.

use crate::command::Command;
use crate::core::Input;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often names are looked up again.
pub const RESOLVE_EVERY: Duration = Duration::from_secs(30);

/// How long one lookup may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// A peer's host name and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerName {
    /// Host name (or an address: it resolves to itself).
    pub host: String,
    /// Port.
    pub port: u16,
}

impl PeerName {
    /// The socket address, when the host is an address rather than a name.
    #[must_use]
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        let ip: std::net::IpAddr = self.host.parse().ok()?;
        Some(SocketAddr::new(ip, self.port))
    }
}

impl From<SocketAddr> for PeerName {
    fn from(addr: SocketAddr) -> Self {
        Self {
            host: addr.ip().to_string(),
            port: addr.port(),
        }
    }
}

impl fmt::Display for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Why a peer text is not `host:port`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a peer: write host:port (a name or an address, and a port)")]
pub struct BadPeer(pub String);

impl FromStr for PeerName {
    type Err = BadPeer;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadPeer(text.to_owned());
        let (host, port) = text.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let name_like = host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'));
        if host.is_empty() || port == 0 || !name_like {
            return Err(bad());
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }
}

impl PeerName {
    /// The addresses the name resolves to now (an address: itself), looked up within
    /// `timeout`.
    ///
    /// # Errors
    ///
    /// When the name does not resolve, or the lookup takes longer than `timeout`
    /// ([`std::io::ErrorKind::TimedOut`]).
    pub async fn resolve(&self, timeout: Duration) -> std::io::Result<Vec<SocketAddr>> {
        if let Some(addr) = self.socket_addr() {
            return Ok(vec![addr]);
        }
        let lookup = tokio::net::lookup_host((self.host.as_str(), self.port));
        match tokio::time::timeout(timeout, lookup).await {
            Ok(found) => found.map(Iterator::collect),
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("looking {self} up took over {timeout:?}"),
            )),
        }
    }
}

/// The addresses `name` resolves to now (none, with a warning, when it does not resolve).
async fn resolve(name: &PeerName) -> HashSet<SocketAddr> {
    match name.resolve(LOOKUP_TIMEOUT).await {
        Ok(addrs) => addrs.into_iter().collect(),
        Err(error) => {
            tracing::warn!(target: "chain_net", peer = %name, %error, "peer name does not resolve");
            HashSet::new()
        }
    }
}

/// Looks `names` up now and every [`RESOLVE_EVERY`] until `shutdown`, and has the node dial
/// each address a name newly resolves to.
pub(crate) async fn keep_resolving(
    names: Vec<PeerName>,
    inputs: mpsc::Sender<Input>,
    shutdown: CancellationToken,
) {
    let mut known: HashMap<PeerName, HashSet<SocketAddr>> = HashMap::new();
    loop {
        for name in &names {
            let now = resolve(name).await;
            let before = known.entry(name.clone()).or_default();
            for addr in now.difference(before) {
                tracing::info!(target: "chain_net", peer = %name, %addr, "peer name resolved");
                if inputs
                    .send(Input::Command(Command::AddPeer(*addr)))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            // A lookup that failed keeps what the name last resolved to.
            if !now.is_empty() {
                *before = now;
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(RESOLVE_EVERY) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_name_is_host_and_port() {
        let name: PeerName = "node-b:7410".parse().unwrap();
        assert_eq!((name.host.as_str(), name.port), ("node-b", 7410));
        assert_eq!(name.to_string(), "node-b:7410");
        let v6: PeerName = "[::1]:7410".parse().unwrap();
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.socket_addr(), Some("[::1]:7410".parse().unwrap()));
        assert_eq!(name.socket_addr(), None);
        let addr: SocketAddr = "10.0.0.2:7410".parse().unwrap();
        assert_eq!(PeerName::from(addr).socket_addr(), Some(addr));
        for bad in [
            "node-b",
            ":7410",
            "node-b:0",
            "node-b:port",
            "a b:1",
            "x:70000",
        ] {
            assert!(bad.parse::<PeerName>().is_err(), "{bad}");
        }
    }
}
