//! Seed peers per network: whom `chain node` dials when it is given no peer (no `--peer`, no
//! `peers` in its settings file), as a Bitcoin node falls back on its network's seeds.
//!
//! The project's networks are private, so no public host can be listed. What each has:
//! - `devnet`: the peer ports of the local network `chain devnet` starts with its defaults
//!   (`localhost:7410` to `7412`): a `chain node --network devnet` started beside it, on other
//!   ports, joins it with no flag. On a host without a devnet the dials are refused and retried
//!   with backoff, costing nothing.
//! - `regtest`: none. A regtest node is a test's own, joined by hand (as in Bitcoin).
//!
//! A deployment across hosts lists its own nodes as `peers` by name in `chain.toml`
//! (README, "Running across machines"); `--no-seeds` turns the fallback off.

use chain_net::PeerName;

/// The first peer port of `chain devnet` (node i listens on this + i).
pub const DEVNET_P2P_PORT: u16 = 7410;
/// The nodes `chain devnet` starts by default.
pub const DEVNET_NODES: u16 = 3;

/// The seed peers of `network` (none for a network without any, or an unknown one).
pub fn seeds(network: &str) -> Vec<PeerName> {
    match network {
        "devnet" => (0..DEVNET_NODES)
            .map(|i| PeerName {
                host: "localhost".into(),
                port: DEVNET_P2P_PORT + i,
            })
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_devnets_seeds_are_its_default_peer_ports_and_regtest_has_none() {
        let devnet: Vec<String> = seeds("devnet").iter().map(ToString::to_string).collect();
        assert_eq!(
            devnet,
            ["localhost:7410", "localhost:7411", "localhost:7412"]
        );
        assert!(seeds("regtest").is_empty());
        assert!(seeds("no-such-network").is_empty());
    }
}
