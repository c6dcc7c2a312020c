//! The node's book of peers, kept across restarts: the addresses it knows and the bans in force.
//!
//! The protocol decides (which addresses to keep, whom to ban and for how long); a store only
//! remembers. The trait has no default methods, so a store that would forget bans or peers does
//! not compile: a restart must not lift a ban or lose the addresses to reconnect to.

use crate::error::StoreError;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// What a ban applies to: an IP address, or on loopback (where every local node shares one IP)
/// the exact socket address. Its text form, as a store saves it, is the address's own:
/// `192.0.2.7`, `2001:db8::1`, `127.0.0.1:7410`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BanTarget {
    /// Every connection from this IP address.
    Ip(IpAddr),
    /// Connections from this socket address only (a loopback address).
    Socket(SocketAddr),
}

impl BanTarget {
    /// What a ban of the peer at `addr` applies to.
    pub fn of(addr: SocketAddr) -> Self {
        if addr.ip().is_loopback() {
            BanTarget::Socket(addr)
        } else {
            BanTarget::Ip(addr.ip())
        }
    }
}

impl fmt::Display for BanTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BanTarget::Ip(ip) => write!(f, "{ip}"),
            BanTarget::Socket(addr) => write!(f, "{addr}"),
        }
    }
}

impl FromStr for BanTarget {
    type Err = std::net::AddrParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.parse::<SocketAddr>() {
            Ok(addr) => Ok(BanTarget::Socket(addr)),
            Err(_) => text.parse::<IpAddr>().map(BanTarget::Ip),
        }
    }
}

/// Saving and reading the node's known peers and bans. Each method is atomic.
pub trait PeerBook {
    /// Peer addresses saved by the node, with when each was last seen (unix seconds).
    #[allow(clippy::missing_errors_doc)]
    fn known_peers(&self) -> Result<Vec<(SocketAddr, u64)>, StoreError>;
    /// Replaces the saved peer addresses.
    #[allow(clippy::missing_errors_doc)]
    fn put_known_peers(&mut self, peers: &[(SocketAddr, u64)]) -> Result<(), StoreError>;
    /// Bans saved by the node, with until when each lasts (unix seconds).
    #[allow(clippy::missing_errors_doc)]
    fn bans(&self) -> Result<Vec<(BanTarget, u64)>, StoreError>;
    /// Saves bans (each replaces what was saved for its target), and lifts the saved bans that
    /// ended by `now` (unix seconds).
    #[allow(clippy::missing_errors_doc)]
    fn put_bans(&mut self, bans: &[(BanTarget, u64)], now: u64) -> Result<(), StoreError>;
}
