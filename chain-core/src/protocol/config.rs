//! The protocol's limits and timers, every one a field with its default (`docs/NETWORK.md`
//! gives the reasons).

/// Tunable limits of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolConfig {
    /// Outbound connections to keep.
    pub target_outbound: usize,
    /// Inbound connections accepted at most.
    pub max_inbound: usize,
    /// Seconds a handshake may take.
    pub handshake_timeout: u64,
    /// Seconds between pings.
    pub ping_interval: u64,
    /// Seconds a pong may take.
    pub ping_timeout: u64,
    /// Seconds a requested block may take before it is asked of another peer.
    pub block_timeout: u64,
    /// Seconds the block the chain needs next may be outstanding from one peer, while the tip
    /// stands still during a sync and another peer has that block, before the first peer is
    /// dropped as a staller: it holds up the whole download window. Doubled after each such
    /// drop (at most [`super::MAX_STALL_TIMEOUT`]), back down a step each time the tip moves, so a
    /// node whose own checks are slow does not drop its peers one after the other.
    pub stall_timeout: u64,
    /// Blocks requested from one peer at once.
    pub max_in_flight_per_peer: usize,
    /// Blocks requested from one peer at once while far behind (the best header more than
    /// `max_in_flight_per_peer` blocks past the tip): an initial sync from a single peer keeps
    /// that many blocks coming, so that the node checks blocks on every core while it stores the
    /// ones before. `download_window` still bounds the total.
    pub sync_in_flight_per_peer: usize,
    /// How far past the tip blocks are requested (must not exceed the orphan pool).
    pub download_window: u64,
    /// Announced items accepted per peer per `inv_window` seconds.
    pub max_inv_per_window: usize,
    /// The announcement rate window, in seconds.
    pub inv_window: u64,
    /// Seconds a ban lasts.
    pub ban_secs: u64,
    /// Addresses remembered at most.
    pub max_addresses: usize,
    /// Seconds between asking a peer for headers past our tip, in case an announcement was
    /// missed.
    pub resync_interval: u64,
    /// Seconds between replacing one outbound peer by a random other known address, so that
    /// a node whose connections all sit on one side of a healed partition finds the other.
    pub rotate_interval: u64,
    /// The port this node listens on (0: not listening), told to peers.
    pub listen_port: u16,
    /// Where other nodes reach this one, when that is not the address its connections come
    /// from (behind NAT or a port forward): sent to each peer in an `addr` message once the
    /// handshake is done, and first in each answer to `getaddr`, so that it spreads by gossip.
    pub external_addr: Option<std::net::SocketAddr>,
    /// Free text naming the software.
    pub agent: String,
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        Self {
            target_outbound: 8,
            max_inbound: 64,
            handshake_timeout: 30,
            ping_interval: 60,
            ping_timeout: 30,
            block_timeout: 30,
            stall_timeout: 2,
            max_in_flight_per_peer: 16,
            sync_in_flight_per_peer: 128,
            download_window: 128,
            max_inv_per_window: 5_000,
            inv_window: 10,
            ban_secs: 24 * 60 * 60,
            max_addresses: 1_000,
            resync_interval: 30,
            rotate_interval: 300,
            listen_port: 0,
            external_addr: None,
            agent: format!("chain/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}
