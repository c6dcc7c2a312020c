//! The API's contract: every request and answer body of `/api/v1` (and of `/healthz` and
//! `/readyz`), as types that serialise and deserialise. The server writes these, the typed
//! client ([`crate::client`]) reads them, and the CLI, the harnesses and embedders share them:
//! a field renamed here breaks the build of whoever reads it, instead of printing nothing.
//!
//! The node's views (`chain_net::views`) are the answers of the read routes; they are
//! re-exported here so that one module names the whole contract.

use chain_core::hash::{BlockHash, Txid};
use chain_core::units::Height;
use serde::{Deserialize, Serialize};

pub use chain_net::views::{
    AccountView, BlockSummary, BlockView, FeesView, HistoryItem, HistoryPage, MiningStatus,
    NodeStatus, PeerDirection, PeerView, PendingView, ProofView, Readiness, TxKind, TxLookup,
    TxStatus, TxView,
};

/// Query of paged lists.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PageQuery {
    /// Continue below this height (blocks) or after this cursor (history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// Items per page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// Body of `POST /transfers`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SubmitBody {
    /// The signed transfer's canonical encoding, hex.
    pub transfer: String,
}

/// Answer of `POST /transfers` (202): the transfer is in the node's mempool.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Submitted {
    /// Its id.
    pub txid: Txid,
}

/// Body of `POST /peers`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AddPeerBody {
    /// `host:port`: a host name or an address, and the peer's port.
    pub peer: String,
}

/// Answer of `POST /peers` (202): the addresses the peer resolved to, each now dialled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PeerAdded {
    /// The peer as asked for.
    pub peer: String,
    /// What it resolved to.
    pub addresses: Vec<String>,
}

/// Body of `POST /mining`; the answer is the node's [`MiningStatus`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MiningBody {
    /// Start (with `address`) or stop.
    pub enabled: bool,
    /// Paid address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Threads (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
}

/// Every error answer: a stable machine-readable code and what a person should read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// Stable code (`not_found`, `bad_address`, `insufficient_balance`, ...).
    pub code: String,
    /// The explanation.
    pub message: String,
}

/// Answer of `GET /healthz`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Alive {
    /// Always `true`: the process and its node answered.
    pub alive: bool,
}

/// Data of a `block` or `reorg` event of `GET /events`: the new tip.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TipEvent {
    /// The tip's height.
    pub height: Height,
    /// Its hash.
    pub hash: BlockHash,
    /// Its time (unix seconds).
    pub time: u64,
    /// Transfers in it (the coinbase not counted).
    pub transfers: usize,
    /// Blocks the change took off the best chain (0 for a plain `block`).
    pub disconnected: usize,
    /// Blocks it put on.
    pub connected: usize,
}

/// Data of a `transfer` event: a transfer entered the mempool.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TransferEvent {
    /// Its id.
    pub txid: Txid,
}

/// Data of a `sync` event: block download progress.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncEvent {
    /// Blocks connected so far.
    pub height: Height,
    /// The best header known.
    pub target: Height,
}
