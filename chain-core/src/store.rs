//! The storage seam: what the chain and the node machine need from a database, as narrow
//! traits, and an in-memory implementation for tests and embedding.
//!
//! - [`ChainRead`] / [`ChainWrite`]: the block tree, the best chain and the account state;
//!   [`ChainWrite::connect`] and [`ChainWrite::disconnect`] must each be atomic: a block's state
//!   changes, undo record, indexes and the new tip are written together or not at all;
//! - [`IndexRead`] / [`IndexWrite`]: the lookup indexes (txid, address history), which a node
//!   far behind may build after the blocks;
//! - [`Batches`]: many writes committed as one transaction;
//! - [`PendingRead`] / [`PendingWrite`]: the mempool's transfers, saved across restarts;
//! - [`PeerBook`]: the node's known peers and bans.
//!
//! None has default methods: a store that leaves a part out does not compile, rather than drop
//! what it is given. A [`Store`] is all of them; code that needs less asks for less (the node's
//! batch policy takes [`Batches`] + [`IndexWrite`]). The core decides what to write (it computes
//! the new account values and the undo data); a store only records it, so every store behaves
//! the same and `chain-store` runs this crate's conformance suite.

use crate::address::Address;
use crate::block::{Block, Header};
use crate::error::StoreError;
use crate::hash::{BlockHash, Txid};
use crate::pow::Work;
use crate::state::{AccountEntry, AccountRead, BlockUndo};
use crate::tx::{Transaction, Transfer};
use crate::units::Height;
use serde::{Deserialize, Serialize};

mod memory;
mod peer_book;
pub use memory::MemoryStore;
pub use peer_book::{BanTarget, PeerBook};

/// How far a stored block has been checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BlockStatus {
    /// Its header and body passed every check that needs no state; never connected yet.
    Stored,
    /// It was connected: every rule holds.
    Valid,
    /// It or an ancestor breaks a rule; never connect it.
    Invalid,
}

/// A block's entry in the block tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockMeta {
    /// The block's hash.
    pub hash: BlockHash,
    /// Its header.
    pub header: Header,
    /// Its height.
    pub height: Height,
    /// Total work of the chain ending at this block.
    pub chain_work: Work,
    /// How far it has been checked.
    pub status: BlockStatus,
    /// The order in which this node first stored it (fork-choice tie-break: first seen wins).
    pub seq: u64,
}

/// Where a confirmed transaction sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxLocation {
    /// The block holding it (on the best chain).
    pub block: BlockHash,
    /// That block's height.
    pub height: Height,
    /// Its position in the block.
    pub index: u32,
}

/// A position in an address's history, newest first: `(height, index)` of the last entry seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HistoryCursor {
    /// Height of the entry.
    pub height: Height,
    /// Its position in the block.
    pub index: u32,
}

/// One transaction in an address's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The transaction.
    pub txid: Txid,
    /// Where it is.
    pub height: Height,
    /// Its position in the block.
    pub index: u32,
}

impl HistoryEntry {
    /// The cursor that continues after this entry.
    pub fn cursor(&self) -> HistoryCursor {
        HistoryCursor {
            height: self.height,
            index: self.index,
        }
    }
}

/// What connecting one block writes.
#[derive(Debug, Clone, Copy)]
pub struct ConnectBlock<'a> {
    /// The block's entry (its status becomes [`BlockStatus::Valid`]).
    pub meta: &'a BlockMeta,
    /// The block.
    pub block: &'a Block,
    /// New states of the accounts it touched.
    pub accounts: &'a [AccountEntry],
    /// Their previous states.
    pub undo: &'a BlockUndo,
}

/// What disconnecting the tip block writes.
#[derive(Debug, Clone, Copy)]
pub struct DisconnectBlock<'a> {
    /// The tip's entry.
    pub meta: &'a BlockMeta,
    /// The tip block.
    pub block: &'a Block,
    /// The accounts' states to restore (its undo record).
    pub undo: &'a BlockUndo,
}

/// Reading the block tree, the best chain and the account state.
pub trait ChainRead: AccountRead {
    /// The entry of a stored block.
    ///
    /// # Errors
    ///
    /// A [`StoreError`] when storage fails (likewise for every method here).
    fn meta(&self, hash: &BlockHash) -> Result<Option<BlockMeta>, StoreError>;
    /// A stored block.
    #[allow(clippy::missing_errors_doc)]
    fn block(&self, hash: &BlockHash) -> Result<Option<Block>, StoreError>;
    /// The tip of the best chain, or `None` for an empty store.
    #[allow(clippy::missing_errors_doc)]
    fn tip(&self) -> Result<Option<BlockHash>, StoreError>;
    /// The hash of the best chain's block at `height`.
    #[allow(clippy::missing_errors_doc)]
    fn hash_at(&self, height: Height) -> Result<Option<BlockHash>, StoreError>;
    /// The undo record of a connected block.
    #[allow(clippy::missing_errors_doc)]
    fn undo(&self, hash: &BlockHash) -> Result<Option<BlockUndo>, StoreError>;
    /// The stored blocks whose parent is `hash`.
    #[allow(clippy::missing_errors_doc)]
    fn children(&self, hash: &BlockHash) -> Result<Vec<BlockHash>, StoreError>;
    /// Stored blocks not marked invalid whose chain work exceeds `work` (candidates for the
    /// best chain; used when a node restarts in the middle of a reorganisation).
    #[allow(clippy::missing_errors_doc)]
    fn heavier_than(&self, work: Work) -> Result<Vec<BlockMeta>, StoreError>;
    /// The highest `seq` stored, for numbering new blocks.
    #[allow(clippy::missing_errors_doc)]
    fn max_seq(&self) -> Result<u64, StoreError>;
}

/// Writing blocks and state. Each method is atomic, and so is a batch of them ([`Batches`]).
pub trait ChainWrite {
    /// Stores a block and its tree entry (not connected).
    ///
    /// # Errors
    ///
    /// A [`StoreError`] when storage fails (likewise for every method here); nothing is
    /// written then.
    fn put_block(&mut self, meta: &BlockMeta, block: &Block) -> Result<(), StoreError>;
    /// Marks blocks invalid.
    #[allow(clippy::missing_errors_doc)]
    fn mark_invalid(&mut self, hashes: &[BlockHash]) -> Result<(), StoreError>;
    /// Connects a block on top of the tip: states, undo, indexes (unless they are deferred or
    /// behind: see [`IndexWrite::defer_indexes`]), tip, in one transaction.
    #[allow(clippy::missing_errors_doc)]
    fn connect(&mut self, change: ConnectBlock<'_>) -> Result<(), StoreError>;
    /// Disconnects the tip block: restores states, removes its index entries (if it was
    /// indexed), sets the tip to the parent, in one transaction.
    #[allow(clippy::missing_errors_doc)]
    fn disconnect(&mut self, change: DisconnectBlock<'_>) -> Result<(), StoreError>;
}

/// Reading the lookup indexes: transfers by txid, an address's history, and how far they reach.
pub trait IndexRead {
    /// Where a transaction of the best chain sits.
    #[allow(clippy::missing_errors_doc)]
    fn tx_location(&self, txid: &Txid) -> Result<Option<TxLocation>, StoreError>;
    /// Up to `limit` history entries of `address` on the best chain, newest first, strictly
    /// older than `before` when given.
    #[allow(clippy::missing_errors_doc)]
    fn history(
        &self,
        address: &Address,
        before: Option<HistoryCursor>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError>;
    /// The height up to which the best chain's blocks are in the lookup indexes
    /// ([`IndexRead::tx_location`], [`IndexRead::history`]); `None` when no block is. Below the
    /// tip only while a store catches its indexes up after an initial sync (see
    /// [`IndexWrite::defer_indexes`]); a store that always indexes with the block answers the
    /// tip's height.
    #[allow(clippy::missing_errors_doc)]
    fn indexed_height(&self) -> Result<Option<Height>, StoreError>;
}

/// Building the lookup indexes later than the blocks, for a node far behind.
pub trait IndexWrite {
    /// While `defer` is set, [`ChainWrite::connect`] leaves the lookup indexes (txid and address
    /// history) for [`IndexWrite::catch_up_indexes`], which builds them for many blocks at once.
    /// A node defers them while it is far behind (an initial sync): written block by block,
    /// their random keys touch most of their pages in every batch and cost more than the rest
    /// of a block's rows. A store that has no cheaper way may ignore this and always index.
    fn defer_indexes(&mut self, defer: bool);
    /// Adds the best-chain blocks above [`IndexRead::indexed_height`] to the lookup indexes,
    /// whole blocks in height order, in one transaction, stopping once `max_transactions` are
    /// added; answers whether blocks remain unindexed. Once the indexes reach the tip,
    /// `connect` keeps them there (unless deferred); until then it leaves them, so they always
    /// cover the best chain up to a height, with no gaps.
    #[allow(clippy::missing_errors_doc)]
    fn catch_up_indexes(&mut self, max_transactions: usize) -> Result<bool, StoreError>;
}

/// Many writes committed together, kept or lost whole.
pub trait Batches {
    /// Starts a batch: the writes until [`Batches::end_batch`] are committed together, as
    /// one atomic transaction, instead of one commit each. A node uses it for a run of blocks
    /// that arrived together (a sync). Every write stays whole: after a crash the store holds
    /// all of the batch or none of it, and so is consistent either way. If a write fails inside
    /// the batch, [`Batches::end_batch`] rolls the whole batch back and fails. Dropping the
    /// store with a batch open loses the batch. A store whose every write is whole at once and
    /// that cannot crash half-way (the in-memory one) may ignore batches. Calling it with a
    /// batch open does nothing.
    #[allow(clippy::missing_errors_doc)]
    fn begin_batch(&mut self) -> Result<(), StoreError>;
    /// Commits the batch begun by [`Batches::begin_batch`] (nothing if none is open). If the
    /// commit fails, or a write of the batch failed, none of the batch is kept and this fails;
    /// a [`crate::chain::Chain`] over the store is then ahead of it and must be opened again
    /// (a node stops on any store failure).
    #[allow(clippy::missing_errors_doc)]
    fn end_batch(&mut self) -> Result<(), StoreError>;
}

/// The mempool's transfers as last saved, read back at start.
pub trait PendingRead {
    /// The transfers waiting in the mempool when it was last saved.
    #[allow(clippy::missing_errors_doc)]
    fn pending(&self) -> Result<Vec<Transfer>, StoreError>;
}

/// Saving the mempool's transfers as they come and go.
pub trait PendingWrite {
    /// Saves pending transfers (keyed by txid).
    #[allow(clippy::missing_errors_doc)]
    fn put_pending(&mut self, transfers: &[Transfer]) -> Result<(), StoreError>;
    /// Forgets pending transfers.
    #[allow(clippy::missing_errors_doc)]
    fn remove_pending(&mut self, txids: &[Txid]) -> Result<(), StoreError>;
}

/// A complete store: the block tree and state, the lookup indexes, batches, the mempool's
/// transfers, and the node's book of peers. Each part is a trait of its own with no default
/// methods, so a store that leaves one out does not compile.
pub trait Store:
    ChainRead + ChainWrite + IndexRead + IndexWrite + Batches + PendingRead + PendingWrite + PeerBook
{
}
impl<T> Store for T where
    T: ChainRead
        + ChainWrite
        + IndexRead
        + IndexWrite
        + Batches
        + PendingRead
        + PendingWrite
        + PeerBook
{
}

/// Each address a transaction touches, for the history index (sender and receiver; the
/// receiver of a coinbase). A transfer to oneself is listed once.
pub fn touched_addresses(tx: &Transaction) -> Vec<Address> {
    match tx {
        Transaction::Coinbase(c) => vec![c.to],
        Transaction::Transfer(t) => {
            let sender = t.sender();
            if sender == t.to {
                vec![sender]
            } else {
                vec![sender, t.to]
            }
        }
    }
}
