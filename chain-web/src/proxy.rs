//! Who a request's client is when the server sits behind a reverse proxy it trusts.
//!
//! Behind a proxy every connection comes from the proxy's address, so per-address limits
//! would lump all clients together, and the server cannot see that the browser spoke HTTPS.
//! A proxy tells both in `X-Forwarded-For` (the addresses a request passed, the proxy appending
//! the one it got it from, last) and `X-Forwarded-Proto`. Anyone can send those headers, so
//! they are read only on connections from the one address configured as trusted
//! (`--trusted-proxy`), and only their last entry (the one that proxy wrote); from any other
//! address they are ignored.

use std::net::{IpAddr, SocketAddr};
use warp::http::HeaderMap;

/// Marks a request whose browser spoke HTTPS (a trusted proxy said so): its cookies are set
/// `Secure` with the `__Host-` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverHttps;

/// Where a request really came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    /// The client's address (the forwarded one's port is unknown: 0).
    pub(crate) client: SocketAddr,
    /// Whether the browser spoke HTTPS.
    pub(crate) https: bool,
}

/// The origin of a request on a connection from `peer`, given its headers.
pub(crate) fn origin(peer: SocketAddr, trusted: Option<IpAddr>, headers: &HeaderMap) -> Origin {
    if trusted != Some(peer.ip()) {
        return Origin {
            client: peer,
            https: false,
        };
    }
    let last = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .next_back()
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.rsplit(',').next())
            .map(str::trim)
    };
    let forwarded = last("x-forwarded-for").and_then(parse_forwarded_addr);
    Origin {
        client: forwarded.map_or(peer, |ip| SocketAddr::new(ip, 0)),
        https: last("x-forwarded-proto").is_some_and(|proto| proto.eq_ignore_ascii_case("https")),
    }
}

/// An address as proxies write it: `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]:443` or
/// `203.0.113.7:443`.
fn parse_forwarded_addr(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn forwarded_headers_count_only_from_the_trusted_proxy_and_only_their_last_entry() {
        let proxy: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let stranger: SocketAddr = "10.0.0.9:5000".parse().unwrap();
        let trusted = Some(proxy.ip());
        let sent = headers(&[
            ("x-forwarded-for", "1.1.1.1, 203.0.113.7"),
            ("x-forwarded-proto", "HTTPS"),
        ]);
        let seen = origin(proxy, trusted, &sent);
        assert_eq!(seen.client, "203.0.113.7:0".parse().unwrap());
        assert!(seen.https);
        let ignored = origin(stranger, trusted, &sent);
        assert_eq!((ignored.client, ignored.https), (stranger, false));
        assert_eq!(origin(proxy, None, &sent).client, proxy);
        // A second header line is the proxy's own (the last); junk leaves the proxy's address.
        let two = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "[2001:db8::1]:443"),
        ]);
        assert_eq!(
            origin(proxy, trusted, &two).client.ip(),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        let junk = headers(&[("x-forwarded-for", "not an address")]);
        let seen = origin(proxy, trusted, &junk);
        assert_eq!((seen.client, seen.https), (proxy, false));
    }
}
