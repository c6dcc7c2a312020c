//! What a node tells its callers, in plain serialisable structs: the JSON of the web API and
//! the CLI's `--json` output are these types.

use chain_core::address::Address;
use chain_core::block::Block;
use chain_core::hash::{BlockHash, Txid};
use chain_core::params::ChainParams;
use chain_core::store::BlockMeta;
use chain_core::tx::Transaction;
use chain_core::units::{Amount, Height};
use serde::{Deserialize, Serialize};

/// A node's state at a glance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NodeStatus {
    /// Network name.
    pub network: String,
    /// Tip height.
    pub height: Height,
    /// Tip hash.
    pub tip: BlockHash,
    /// Tip time (unix seconds).
    pub tip_time: u64,
    /// Tip's target, in compact form (hex).
    pub bits: String,
    /// Expected hashes per block at the tip's target.
    pub difficulty: f64,
    /// The best header known (above the tip while syncing).
    pub best_header_height: Height,
    /// Whether blocks are being downloaded.
    pub syncing: bool,
    /// The height up to which transfers and address histories can be looked up: below the
    /// tip only while the indexes catch up after an initial sync.
    pub indexed_height: Height,
    /// Connected peers (handshake done).
    pub peers: usize,
    /// Of those, the ones that connected to this node.
    pub peers_inbound: usize,
    /// And the ones this node dialled.
    pub peers_outbound: usize,
    /// Addresses banned now (misbehaving peers).
    pub banned: usize,
    /// The best chain's work: the hashes expected to make all of it.
    pub chain_work: f64,
    /// Pending transfers.
    pub mempool_transfers: usize,
    /// Their encoded size.
    pub mempool_bytes: usize,
    /// Local mining.
    pub mining: MiningStatus,
    /// Where the node listens for peers, if it does.
    pub listen: Option<String>,
}

/// Whether a node serves its chain: no block download under way, its lookup indexes caught
/// up ([`NodeStatus::readiness`]; the web's `GET /readyz`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Readiness {
    /// Ready to serve.
    pub ready: bool,
    /// Why not, when not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Tip height.
    pub height: Height,
    /// The best header known (above the tip when blocks are still coming, or when the peer
    /// that announced them left before sending them).
    pub best_header_height: Height,
    /// Where the lookup indexes are.
    pub indexed_height: Height,
}

impl NodeStatus {
    /// Whether this node serves its chain: it is downloading no block (none queued, none asked
    /// of a peer) and its lookup indexes have caught up. A node that knows no better chain than
    /// its own is ready, alone or not. Headers whose blocks no connected peer serves (their
    /// announcer left) do not hold it back, since it has nothing to wait for: they show as
    /// `best_header_height` above `height`, and a peer that brings those blocks makes the
    /// node sync, and not ready, again.
    pub fn readiness(&self) -> Readiness {
        let reason = if self.syncing {
            Some("syncing: blocks are being downloaded".to_string())
        } else if self.indexed_height < self.height {
            Some(
                "indexing: transfers and histories of the last blocks cannot be looked up yet"
                    .to_string(),
            )
        } else {
            None
        };
        Readiness {
            ready: reason.is_none(),
            reason,
            height: self.height,
            best_header_height: self.best_header_height,
            indexed_height: self.indexed_height,
        }
    }
}

/// The local miner's state.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct MiningStatus {
    /// Whether it is mining.
    pub enabled: bool,
    /// Paid address (text form).
    pub address: Option<String>,
    /// Threads.
    pub threads: usize,
    /// Hashes per second over the last seconds.
    pub hash_rate: f64,
    /// The hashing kernel in use.
    pub kernel: String,
    /// Blocks this node mined since it started.
    pub blocks_found: u64,
}

/// A transaction as people read it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TxView {
    /// Its id.
    pub txid: Txid,
    /// A coinbase or a transfer.
    pub kind: TxKind,
    /// Sender address (transfers only).
    pub from: Option<String>,
    /// Receiver address.
    pub to: String,
    /// Amount moved.
    pub amount: Amount,
    /// Fee paid (zero for a coinbase).
    pub fee: Amount,
    /// Sender nonce (transfers only).
    pub nonce: Option<u64>,
    /// Memo, as text (invalid UTF-8 replaced).
    pub memo: String,
}

impl TxView {
    /// The view of `tx` with addresses under `prefix`.
    pub fn of(tx: &Transaction, prefix: &str) -> Self {
        match tx {
            Transaction::Coinbase(c) => Self {
                txid: tx.txid(),
                kind: TxKind::Coinbase,
                from: None,
                to: c.to.to_text(prefix),
                amount: c.amount,
                fee: Amount::ZERO,
                nonce: None,
                memo: String::new(),
            },
            Transaction::Transfer(t) => Self {
                txid: tx.txid(),
                kind: TxKind::Transfer,
                from: Some(t.sender().to_text(prefix)),
                to: t.to.to_text(prefix),
                amount: t.amount,
                fee: t.fee,
                nonce: Some(t.nonce),
                memo: String::from_utf8_lossy(&t.memo).into_owned(),
            },
        }
    }
}

/// What a transaction is.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TxKind {
    /// New coins paid to a block's miner.
    Coinbase,
    /// Coins moved by a signed transfer.
    Transfer,
}

impl std::fmt::Display for TxKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Coinbase => "coinbase",
            Self::Transfer => "transfer",
        })
    }
}

/// Which side opened a peer connection.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PeerDirection {
    /// The peer connected to this node.
    Inbound,
    /// This node dialled the peer.
    Outbound,
}

impl std::fmt::Display for PeerDirection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Inbound => "inbound",
            Self::Outbound => "outbound",
        })
    }
}

/// Where a transaction stands.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TxStatus {
    /// Waiting in the mempool.
    Pending,
    /// In a block of the best chain.
    Confirmed {
        /// The block.
        block: BlockHash,
        /// Its height.
        height: Height,
        /// Blocks on top of it, itself included.
        confirmations: u64,
    },
}

/// A transaction and its status.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TxLookup {
    /// The transaction.
    pub tx: TxView,
    /// Its status.
    pub status: TxStatus,
}

/// A block summary (for lists).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BlockSummary {
    /// Hash.
    pub hash: BlockHash,
    /// Height.
    pub height: Height,
    /// Time (unix seconds).
    pub time: u64,
    /// Transactions, coinbase included.
    pub tx_count: usize,
    /// Encoded size.
    pub size: usize,
    /// Expected hashes at its target.
    pub difficulty: f64,
    /// Who the coinbase paid.
    pub miner: String,
}

/// A whole block.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BlockView {
    /// Summary fields.
    #[serde(flatten)]
    pub summary: BlockSummary,
    /// Parent hash.
    pub prev_hash: BlockHash,
    /// Merkle root.
    pub merkle_root: String,
    /// Compact target (hex).
    pub bits: String,
    /// Nonce.
    pub nonce: u64,
    /// Whether it is on the best chain.
    pub in_best_chain: bool,
    /// Blocks on top of it (itself included) if on the best chain.
    pub confirmations: u64,
    /// Its transactions.
    pub txs: Vec<TxView>,
}

impl BlockSummary {
    /// The summary of a stored block.
    pub fn of(meta: &BlockMeta, block: &Block, params: &ChainParams) -> Self {
        let miner = match block.txs.first() {
            Some(Transaction::Coinbase(c)) => c.to.to_text(params.address_prefix),
            _ => String::new(),
        };
        Self {
            hash: meta.hash,
            height: meta.height,
            time: meta.header.time,
            tx_count: block.txs.len(),
            size: block.encoded_len(),
            difficulty: meta
                .header
                .bits
                .to_target()
                .map(|t| t.work().as_f64())
                .unwrap_or(0.0),
            miner,
        }
    }
}

/// An address's account as a wallet shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccountView {
    /// Text form.
    pub address: String,
    /// Confirmed balance.
    pub balance: Amount,
    /// Confirmed nonce.
    pub nonce: u64,
    /// What pending transfers will take (amounts and fees).
    pub pending_out: Amount,
    /// What pending transfers will bring.
    pub pending_in: Amount,
    /// The nonce its next transfer should use.
    pub next_nonce: u64,
}

impl AccountView {
    /// What a wallet's checks before signing read of the account
    /// ([`chain_core::send::prepare_transfer`]).
    pub fn sender(&self) -> chain_core::send::SenderAccount {
        chain_core::send::SenderAccount {
            balance: self.balance,
            pending_out: self.pending_out,
            next_nonce: self.next_nonce,
        }
    }
}

/// One entry of an address's history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HistoryItem {
    /// The transaction.
    pub tx: TxView,
    /// Its block's height.
    pub height: Height,
    /// Its position in the block.
    pub index: u32,
    /// Confirmations.
    pub confirmations: u64,
}

/// A page of history, newest first, and the cursor for the next page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HistoryPage {
    /// Entries.
    pub items: Vec<HistoryItem>,
    /// Pass as `before` to get the next page; `None` at the end.
    pub next: Option<String>,
}

/// What a transfer should pay now (`chain_core::fee_estimate`): rates per encoded byte, and
/// the fee at each rate for a transfer without a memo.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FeesView {
    /// The least the node relays, per byte.
    pub minimum_per_byte: u64,
    /// To be in the next block, per byte.
    pub next_block_per_byte: u64,
    /// To be within 3 blocks, per byte.
    pub within_3_blocks_per_byte: u64,
    /// To be within 6 blocks, per byte.
    pub within_6_blocks_per_byte: u64,
    /// The size of a transfer without a memo (each memo byte adds one, or more past 252).
    pub transfer_bytes: usize,
    /// The fee of such a transfer at the next-block rate.
    pub next_block_fee: Amount,
    /// At the 3-block rate.
    pub within_3_blocks_fee: Amount,
    /// At the 6-block rate.
    pub within_6_blocks_fee: Amount,
    /// Transfers pending, and their bytes: what the rates were read from.
    pub mempool_transfers: usize,
    /// See `mempool_transfers`.
    pub mempool_bytes: usize,
}

impl FeesView {
    /// The view of `rates`, read from a mempool of `transfers` transfers and `bytes` bytes.
    pub fn of(rates: chain_core::fee_estimate::FeeRates, transfers: usize, bytes: usize) -> Self {
        let size = chain_core::tx::Transfer::len_with_memo(0);
        let fee = |rate: u64| Amount(rate.saturating_mul(size as u64));
        Self {
            minimum_per_byte: rates.minimum,
            next_block_per_byte: rates.next_block,
            within_3_blocks_per_byte: rates.within_3_blocks,
            within_6_blocks_per_byte: rates.within_6_blocks,
            transfer_bytes: size,
            next_block_fee: fee(rates.next_block),
            within_3_blocks_fee: fee(rates.within_3_blocks),
            within_6_blocks_fee: fee(rates.within_6_blocks),
            mempool_transfers: transfers,
            mempool_bytes: bytes,
        }
    }
}

/// A pending transfer in the mempool.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingView {
    /// The transfer.
    pub tx: TxView,
    /// Encoded size.
    pub size: usize,
    /// When it arrived (unix seconds).
    pub added: u64,
}

/// A connected peer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PeerView {
    /// Connection id.
    pub id: u64,
    /// Remote address.
    pub addr: String,
    /// Who opened the connection.
    pub direction: PeerDirection,
    /// Handshake done.
    pub ready: bool,
    /// Its best height as known.
    pub best_height: Height,
    /// Misbehaviour score.
    pub score: u32,
    /// Its software.
    pub agent: String,
}

/// A merkle inclusion proof of a confirmed transaction.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProofView {
    /// The transaction.
    pub txid: Txid,
    /// Its block.
    pub block: BlockHash,
    /// The block's height.
    pub height: Height,
    /// The block's merkle root.
    pub merkle_root: chain_core::hash::MerkleRoot,
    /// The proof.
    pub proof: chain_core::merkle::MerkleProof,
}

/// Parses a history cursor `height:index`.
pub fn parse_cursor(text: &str) -> Option<chain_core::store::HistoryCursor> {
    let (height, index) = text.split_once(':')?;
    Some(chain_core::store::HistoryCursor {
        height: Height(height.parse().ok()?),
        index: index.parse().ok()?,
    })
}

/// Formats a history cursor as `height:index`.
pub fn format_cursor(cursor: chain_core::store::HistoryCursor) -> String {
    format!("{}:{}", cursor.height, cursor.index)
}

/// Addresses in views are text; this names the helper that makes them.
pub fn address_text(address: &Address, params: &ChainParams) -> String {
    address.to_text(params.address_prefix)
}
