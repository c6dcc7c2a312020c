//! The chain state machine: accepts blocks in any order, keeps the best valid chain connected,
//! and says what changed.
//!
//! - A block is first checked on its own ([`crate::validate::check_block`]; a signature the
//!   mempool verified already is not verified again, see [`crate::sigcache`]), then against its
//!   ancestors (bits, time, coinbase height), then stored with its cumulative work.
//! - A block whose parent is unknown waits in a bounded orphan pool until the parent arrives;
//!   its signatures are verified only then, so an orphan that never connects costs none.
//! - Every block remembers who sent it ([`Arrival::source`]) until it is connected, so a rule it
//!   is found to break later (when its parent arrives, or when its branch is connected) is
//!   charged to its own sender, never to the sender of the block that let it in.
//! - A block nobody asked for ([`Arrival::unrequested`]) must bring its own weight: it is stored
//!   only if it makes a chain with more work than the tip, and kept as an orphan only if its
//!   work is near the tip's ([`ORPHAN_WORK_DIVISOR`]). Otherwise it is dropped
//!   ([`AcceptStatus::Unwanted`]) after the proof-of-work check and before any signature check:
//!   a private low-work branch pushed at a node costs it neither disk nor signature checks.
//! - Fork choice: the chain with the most cumulative work wins; on a tie the first seen stays.
//!   Switching chains disconnects blocks down to the fork point with their undo records, then
//!   connects the other branch, each block in its own atomic store write.
//! - If a block of the new branch breaks a state rule, it and its descendants are marked invalid
//!   and the node goes back to the best chain that is still valid.
//!
//! Every change of the tip is reported as a [`TipChange`] listing the blocks disconnected and
//! connected, which the mempool uses to put transfers back and take mined ones out.

use crate::block::{Block, Header};
use crate::difficulty::ancestors_needed;
use crate::error::{BlockError, Error, StoreError};
use crate::hash::BlockHash;
use crate::params::ChainParams;
use crate::pow::Work;
use crate::sigcache::{DEFAULT_SIGNATURE_CACHE_ENTRIES, SignatureCache};
use crate::state::{Account, apply_block};
use crate::store::{BlockMeta, BlockStatus, ConnectBlock, DisconnectBlock, Store};
use crate::units::Height;
use crate::validate::{
    VerifiedBlock, check_block_form, check_coinbase_height, check_header_in_context,
    verify_block_signatures,
};
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// Orphan blocks kept at most, by default.
pub const DEFAULT_MAX_ORPHANS: usize = 256;

/// An unrequested orphan must carry at least the work of the tip's block divided by this: an
/// honest block arrives before its parent only near the tip, at about the tip's difficulty
/// (LWMA moves it by a few percent a block), while a block at `pow_limit` costs 1/1024 of it on
/// devnet.
pub const ORPHAN_WORK_DIVISOR: u64 = 4;

/// Senders of stored blocks not yet connected that are remembered at most (oldest forgotten).
const MAX_SOURCES: usize = 4_096;

/// Who handed a block to the chain, in the caller's terms (the protocol gives its peer id).
pub type BlockSource = u64;

/// How a block reached the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Arrival {
    /// Who sent it, to be named if it turns out invalid later ([`ChainEvent::BlockInvalid`]).
    pub source: Option<BlockSource>,
    /// Nobody asked for it (headers first asks only for blocks of a branch with more work than
    /// the tip): it is kept only if it could matter, see the module documentation.
    pub unrequested: bool,
}

impl Arrival {
    /// A block asked of `source`, or the local miner's (`None`).
    pub fn requested(source: Option<BlockSource>) -> Self {
        Self {
            source,
            unrequested: false,
        }
    }

    /// A block `source` sent without being asked.
    pub fn unrequested(source: BlockSource) -> Self {
        Self {
            source: Some(source),
            unrequested: true,
        }
    }
}

/// A block together with where it sits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBlock {
    /// Its hash.
    pub hash: BlockHash,
    /// Its height.
    pub height: Height,
    /// The block.
    pub block: Arc<Block>,
}

/// A change of the best chain's tip.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TipChange {
    /// Blocks taken off the chain, the old tip first.
    pub disconnected: Vec<ChainBlock>,
    /// Blocks put on the chain, lowest first.
    pub connected: Vec<ChainBlock>,
}

impl TipChange {
    /// Whether anything was disconnected (a reorganisation, not just an extension).
    pub fn is_reorg(&self) -> bool {
        !self.disconnected.is_empty()
    }
}

/// Something subscribers want to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainEvent {
    /// The best chain changed.
    TipChanged(TipChange),
    /// A block broke a rule after it was accepted: a stored block when connected (it and its
    /// descendants are marked invalid), or an orphan when its parent arrived (it is dropped).
    BlockInvalid {
        /// The block.
        hash: BlockHash,
        /// The rule it broke.
        error: BlockError,
        /// Who sent that block ([`Arrival::source`]), if known.
        source: Option<BlockSource>,
    },
}

/// What became of a block handed to [`Chain::accept_block`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptStatus {
    /// Already stored.
    Duplicate,
    /// Its parent is unknown; it waits in the orphan pool.
    Orphan {
        /// The parent to ask peers for.
        missing: BlockHash,
    },
    /// Checked and stored (whether or not it became part of the best chain).
    Stored {
        /// Its height.
        height: Height,
    },
    /// Not stored: nobody asked for it and it could not matter (see [`Arrival::unrequested`]).
    Unwanted,
}

/// The result of accepting a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptOutcome {
    /// What became of the block itself.
    pub status: AcceptStatus,
    /// What changed as a result, including through orphans it let in.
    pub events: Vec<ChainEvent>,
}

/// A block waiting for its parent.
#[derive(Debug)]
struct Orphan {
    block: Block,
    source: Option<BlockSource>,
    /// How much of its checking is done: its form always, its signatures if it came as a
    /// [`VerifiedBlock`].
    checked: Checked,
}

/// How much of a block's context-free checking is done, in the order it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Checked {
    Nothing,
    Form,
    FormAndSignatures,
}

/// Blocks whose parent is not known yet, bounded in count, oldest evicted first.
#[derive(Debug, Default)]
struct OrphanPool {
    blocks: HashMap<BlockHash, Orphan>,
    by_parent: HashMap<BlockHash, Vec<BlockHash>>,
    arrival: VecDeque<BlockHash>,
    max: usize,
}

impl OrphanPool {
    fn new(max: usize) -> Self {
        Self {
            max,
            ..Self::default()
        }
    }

    fn insert(&mut self, hash: BlockHash, orphan: Orphan) {
        if self.blocks.contains_key(&hash) || self.max == 0 {
            return;
        }
        while self.blocks.len() >= self.max {
            let Some(oldest) = self.arrival.pop_front() else {
                break;
            };
            self.remove(&oldest);
        }
        self.by_parent
            .entry(orphan.block.header.prev_hash)
            .or_default()
            .push(hash);
        self.blocks.insert(hash, orphan);
        self.arrival.push_back(hash);
    }

    fn remove(&mut self, hash: &BlockHash) -> Option<Orphan> {
        let orphan = self.blocks.remove(hash)?;
        let parent = orphan.block.header.prev_hash;
        if let Some(siblings) = self.by_parent.get_mut(&parent) {
            siblings.retain(|h| h != hash);
            if siblings.is_empty() {
                self.by_parent.remove(&parent);
            }
        }
        Some(orphan)
    }

    fn take_children(&mut self, parent: &BlockHash) -> Vec<(BlockHash, Orphan)> {
        let hashes = self.by_parent.remove(parent).unwrap_or_default();
        self.arrival.retain(|h| !hashes.contains(h));
        hashes
            .into_iter()
            .filter_map(|h| self.blocks.remove(&h).map(|b| (h, b)))
            .collect()
    }
}

/// The best-chain state machine over a [`Store`].
#[derive(Debug)]
pub struct Chain<S: Store> {
    params: ChainParams,
    store: S,
    tip: BlockMeta,
    orphans: OrphanPool,
    /// Stored blocks with more work than the tip, best last: `(work, first seen first)`.
    candidates: BTreeMap<(Work, Reverse<u64>), BlockHash>,
    next_seq: u64,
    verify_threads: usize,
    /// Transfers whose signatures verified already (the mempool's), shared with whoever checks
    /// blocks before the chain sees them.
    signatures: Arc<SignatureCache>,
    /// The last blocks stored, so that connecting one right after storing it (the common case:
    /// a block on the tip) does not read and decode it back from the store.
    recent: VecDeque<(BlockHash, Arc<Block>)>,
    /// Headers of the last blocks stored, so that checking a block against its ancestors
    /// (retarget, median time) does not read them back from the store one by one.
    headers: HeaderCache,
    /// Who sent each stored block that is not connected yet, oldest first, bounded.
    sources: Sources,
}

/// Senders of stored blocks not connected yet, at most [`MAX_SOURCES`], oldest forgotten.
#[derive(Debug, Default)]
struct Sources {
    map: HashMap<BlockHash, BlockSource>,
    order: VecDeque<BlockHash>,
}

impl Sources {
    fn insert(&mut self, hash: BlockHash, source: BlockSource) {
        if self.map.insert(hash, source).is_none() {
            self.order.push_back(hash);
        }
        while self.order.len() > MAX_SOURCES {
            if let Some(oldest) = self.order.pop_front() {
                self.map.remove(&oldest);
            }
        }
    }

    /// Forgets a block's sender (it is connected or invalid), giving it back. The order queue
    /// keeps the hash until it reaches the front; a hash in it but not in the map is skipped.
    fn take(&mut self, hash: &BlockHash) -> Option<BlockSource> {
        let source = self.map.remove(hash)?;
        if self.order.front() == Some(hash) {
            self.order.pop_front();
        }
        Some(source)
    }
}

/// Stored blocks kept in memory for their connection.
const RECENT_BLOCKS: usize = 8;

/// Headers of stored blocks kept in memory, the oldest forgotten first.
#[derive(Debug)]
struct HeaderCache {
    map: HashMap<BlockHash, (Height, Header)>,
    order: VecDeque<BlockHash>,
}

impl HeaderCache {
    /// Headers kept: more than the retarget and the median time of any network look back
    /// (`docs/PROTOCOL.md`), with room for a few branches; about 200 KiB.
    const CAPACITY: usize = 1_024;

    fn new() -> Self {
        Self {
            map: HashMap::with_capacity(Self::CAPACITY),
            order: VecDeque::with_capacity(Self::CAPACITY),
        }
    }

    fn insert(&mut self, hash: BlockHash, height: Height, header: Header) {
        if self.map.insert(hash, (height, header)).is_some() {
            return;
        }
        self.order.push_back(hash);
        if self.order.len() > Self::CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.map.remove(&oldest);
        }
    }

    fn get(&self, hash: &BlockHash) -> Option<(Height, Header)> {
        self.map.get(hash).copied()
    }
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Store(StoreError::Corrupt(what.to_string()))
}

impl<S: Store> Chain<S> {
    /// Opens the chain in `store`, writing the genesis block into an empty store.
    ///
    /// # Errors
    ///
    /// [`StoreError::Corrupt`] when the store holds another network's chain, or a store failure.
    pub fn open(params: ChainParams, mut store: S) -> Result<Self, Error> {
        let genesis = params.genesis_block();
        let genesis_hash = genesis.hash();
        let tip = match store.tip()? {
            Some(tip) => {
                if store.hash_at(Height::GENESIS)? != Some(genesis_hash) {
                    return Err(corrupt(format!(
                        "the store holds another network's chain (expected {} genesis {genesis_hash})",
                        params.name
                    )));
                }
                store
                    .meta(&tip)?
                    .ok_or_else(|| corrupt("the tip has no block entry"))?
            }
            None => {
                let meta = BlockMeta {
                    hash: genesis_hash,
                    header: genesis.header,
                    height: Height::GENESIS,
                    chain_work: params.pow_limit_target().work(),
                    status: BlockStatus::Stored,
                    seq: 0,
                };
                let effects = apply_block(&params, Height::GENESIS, &genesis, &store)?;
                store.put_block(&meta, &genesis)?;
                store.connect(ConnectBlock {
                    meta: &meta,
                    block: &genesis,
                    accounts: &effects.accounts,
                    undo: &effects.undo,
                })?;
                BlockMeta {
                    status: BlockStatus::Valid,
                    ..meta
                }
            }
        };
        let next_seq = store.max_seq()? + 1;
        let signatures = Arc::new(SignatureCache::new(
            params.network_id,
            DEFAULT_SIGNATURE_CACHE_ENTRIES,
        ));
        let mut chain = Self {
            params,
            store,
            tip,
            orphans: OrphanPool::new(DEFAULT_MAX_ORPHANS),
            candidates: BTreeMap::new(),
            next_seq,
            verify_threads: 1,
            signatures,
            recent: VecDeque::with_capacity(RECENT_BLOCKS),
            headers: HeaderCache::new(),
            sources: Sources::default(),
        };
        // Blocks with more work than the tip exist only if the node stopped in the middle of a
        // reorganisation: pick it up again on the next activation.
        for meta in chain.store.heavier_than(chain.tip.chain_work)? {
            chain
                .candidates
                .insert((meta.chain_work, Reverse(meta.seq)), meta.hash);
        }
        Ok(chain)
    }

    /// Sets how many threads verify a block's signatures (default 1).
    pub fn set_verify_threads(&mut self, threads: usize) {
        self.verify_threads = threads.max(1);
    }

    /// Replaces the cache of verified transfer signatures (to share one with the threads that
    /// check blocks as they arrive, or to size it). A cache of another network is never
    /// consulted.
    pub fn set_signature_cache(&mut self, cache: Arc<SignatureCache>) {
        self.signatures = cache;
    }

    /// The cache of verified transfer signatures.
    pub fn signature_cache(&self) -> &Arc<SignatureCache> {
        &self.signatures
    }

    /// Sets how many orphan blocks are kept at most.
    pub fn set_max_orphans(&mut self, max: usize) {
        self.orphans.max = max;
    }

    /// The network's parameters.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// The store (for queries).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Ends the chain, giving back its store.
    pub fn into_store(self) -> S {
        self.store
    }

    /// The store, for writes that are not the chain's own (pending transfers).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The tip of the best chain.
    pub fn tip(&self) -> &BlockMeta {
        &self.tip
    }

    /// The work of the tip block alone: what one block at the current difficulty proves.
    pub fn tip_block_work(&self) -> Work {
        self.tip
            .header
            .bits
            .to_target()
            // A stored block's bits passed the proof-of-work check: always a valid target.
            .unwrap_or(self.params.pow_limit_target())
            .work()
    }

    /// The state of an address at the tip.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub fn account(&self, address: &crate::address::Address) -> Result<Account, Error> {
        Ok(self.store.account(address)?)
    }

    /// Whether the pool of orphans holds `hash`.
    pub fn is_orphan(&self, hash: &BlockHash) -> bool {
        self.orphans.blocks.contains_key(hash)
    }

    /// How many orphans wait for their parents.
    pub fn orphan_count(&self) -> usize {
        self.orphans.blocks.len()
    }

    /// The headers before a block whose parent is `parent`, oldest first, ending at the parent:
    /// as many as the retarget and the median time need.
    ///
    /// # Errors
    ///
    /// A store failure, or a missing ancestor (a damaged store).
    pub fn ancestor_headers(&self, parent: &BlockMeta) -> Result<Vec<Header>, Error> {
        let height = parent
            .height
            .next()
            .ok_or_else(|| corrupt("height overflow"))?;
        let count = ancestors_needed(&self.params, height).max(self.params.median_time_span);
        let mut headers = Vec::with_capacity(count);
        let (mut height, mut header) = (parent.height, parent.header);
        loop {
            headers.push(header);
            if headers.len() == count || height == Height::GENESIS {
                break;
            }
            let prev = header.prev_hash;
            (height, header) = match self.headers.get(&prev) {
                Some(cached) => cached,
                None => self
                    .store
                    .meta(&prev)?
                    .map(|meta| (meta.height, meta.header))
                    .ok_or_else(|| corrupt(format!("missing ancestor {prev}")))?,
            };
        }
        headers.reverse();
        Ok(headers)
    }

    /// Accepts a block from anywhere (a peer, the local miner), at local time `now` (unix
    /// seconds), and moves the tip to the best valid chain. The block counts as requested and
    /// of no named sender; see [`Chain::accept_block_from`].
    ///
    /// # Errors
    ///
    /// [`Error::Block`] when the block breaks a rule (it is not stored; a state rule found while
    /// connecting is reported as a [`ChainEvent::BlockInvalid`] instead, since the block was
    /// stored by then), or a store failure.
    pub fn accept_block(&mut self, block: Block, now: u64) -> Result<AcceptOutcome, Error> {
        self.accept_block_from(block, Arrival::default(), now)
    }

    /// As [`Chain::accept_block`], saying how the block came (who sent it, whether it was asked
    /// for).
    ///
    /// # Errors
    ///
    /// As [`Chain::accept_block`].
    pub fn accept_block_from(
        &mut self,
        block: Block,
        arrival: Arrival,
        now: u64,
    ) -> Result<AcceptOutcome, Error> {
        let hash = block.hash();
        self.accept(hash, block, Checked::Nothing, arrival, now)
    }

    /// As [`Chain::accept_block`] for a block that already passed the checks that need neither
    /// ancestors nor state (form and signatures) for this network; they are run again if it was
    /// for another.
    ///
    /// # Errors
    ///
    /// As [`Chain::accept_block`].
    pub fn accept_verified(
        &mut self,
        block: VerifiedBlock,
        now: u64,
    ) -> Result<AcceptOutcome, Error> {
        self.accept_verified_from(block, Arrival::default(), now)
    }

    /// As [`Chain::accept_verified`], saying how the block came.
    ///
    /// # Errors
    ///
    /// As [`Chain::accept_block`].
    pub fn accept_verified_from(
        &mut self,
        block: VerifiedBlock,
        arrival: Arrival,
        now: u64,
    ) -> Result<AcceptOutcome, Error> {
        let checked = if block.network() == self.params.network_id {
            Checked::FormAndSignatures
        } else {
            Checked::Nothing
        };
        let hash = block.hash();
        self.accept(hash, block.into_block(), checked, arrival, now)
    }

    fn accept(
        &mut self,
        hash: BlockHash,
        block: Block,
        checked: Checked,
        arrival: Arrival,
        now: u64,
    ) -> Result<AcceptOutcome, Error> {
        let status = self.store_block(hash, block, checked, arrival, now)?;
        let mut events = Vec::new();
        if let AcceptStatus::Stored { .. } = status {
            // Orphans that were waiting for this block, and for those, recursively.
            let mut parents = vec![hash];
            while let Some(parent) = parents.pop() {
                for (child_hash, child) in self.orphans.take_children(&parent) {
                    // Its parent is stored now, so it is no longer judged by its own work; its
                    // signatures are verified now unless they came verified.
                    let arrival = Arrival::requested(child.source);
                    match self.store_block(child_hash, child.block, child.checked, arrival, now) {
                        Ok(AcceptStatus::Stored { .. }) => parents.push(child_hash),
                        Ok(_) => {}
                        Err(Error::Block(error)) => events.push(ChainEvent::BlockInvalid {
                            hash: child_hash,
                            error,
                            source: child.source,
                        }),
                        Err(other) => return Err(other),
                    }
                }
            }
        }
        events.extend(self.activate_best_chain()?);
        Ok(AcceptOutcome { status, events })
    }

    /// The least work an unrequested orphan must carry: the tip block's over
    /// [`ORPHAN_WORK_DIVISOR`].
    fn orphan_work_floor(&self) -> Work {
        Work(self.tip_block_work().0 / ruint::aliases::U256::from(ORPHAN_WORK_DIVISOR))
    }

    /// Checks and stores a block (`checked`: how much of its context-free checking is done).
    /// The cheap checks come first: form and proof of work, then whether an unrequested block
    /// could matter, and only then the signatures.
    fn store_block(
        &mut self,
        hash: BlockHash,
        block: Block,
        checked: Checked,
        arrival: Arrival,
        now: u64,
    ) -> Result<AcceptStatus, Error> {
        if let Some(meta) = self.store.meta(&hash)? {
            return match meta.status {
                BlockStatus::Invalid => Err(BlockError::KnownInvalid { hash }.into()),
                _ => Ok(AcceptStatus::Duplicate),
            };
        }
        let missing = block.header.prev_hash;
        if self.orphans.blocks.contains_key(&hash) {
            return Ok(AcceptStatus::Orphan { missing });
        }
        if checked == Checked::Nothing {
            check_block_form(&self.params, &block)?;
        }
        // A valid target: the form check or the checks before it saw to it.
        let work = block
            .header
            .bits
            .to_target()
            .ok_or(BlockError::InvalidBits {
                bits: block.header.bits,
            })?
            .work();
        let Some(parent) = self.store.meta(&missing)? else {
            if arrival.unrequested && work < self.orphan_work_floor() {
                return Ok(AcceptStatus::Unwanted);
            }
            self.orphans.insert(
                hash,
                Orphan {
                    block,
                    source: arrival.source,
                    // The form was checked above if it had not been.
                    checked: checked.max(Checked::Form),
                },
            );
            return Ok(AcceptStatus::Orphan { missing });
        };
        if parent.status == BlockStatus::Invalid {
            return Err(BlockError::InvalidParent {
                parent: parent.hash,
            }
            .into());
        }
        let chain_work = parent.chain_work.saturating_add(work);
        if arrival.unrequested && chain_work <= self.tip.chain_work {
            return Ok(AcceptStatus::Unwanted);
        }
        let height = parent
            .height
            .next()
            .ok_or_else(|| corrupt("height overflow"))?;
        check_coinbase_height(&block, height)?;
        let ancestors = self.ancestor_headers(&parent)?;
        check_header_in_context(&self.params, &block.header, height, &ancestors, now)?;
        if checked != Checked::FormAndSignatures {
            verify_block_signatures(
                self.params.network_id,
                &block.txs,
                self.verify_threads,
                Some(&self.signatures),
            )?;
        }
        let meta = BlockMeta {
            hash,
            header: block.header,
            height,
            chain_work,
            status: BlockStatus::Stored,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.store.put_block(&meta, &block)?;
        if let Some(source) = arrival.source {
            self.sources.insert(hash, source);
        }
        self.headers.insert(hash, height, block.header);
        if self.recent.len() == RECENT_BLOCKS {
            self.recent.pop_front();
        }
        self.recent.push_back((hash, Arc::new(block)));
        if meta.chain_work > self.tip.chain_work {
            self.candidates
                .insert((meta.chain_work, Reverse(meta.seq)), hash);
        }
        Ok(AcceptStatus::Stored { height })
    }

    /// Moves the tip to the stored chain with the most work that is valid.
    fn activate_best_chain(&mut self) -> Result<Vec<ChainEvent>, Error> {
        let mut events = Vec::new();
        while let Some((&(work, seq), &hash)) = self.candidates.last_key_value() {
            // Ordered as the candidates are: most work, then first seen. After a branch failed
            // half-connected, the old tip may have no more work than where the chain stopped,
            // and it was seen first, so it must win the tie.
            if (work, seq) <= (self.tip.chain_work, Reverse(self.tip.seq)) {
                self.candidates.clear();
                break;
            }
            self.candidates.remove(&(work, seq));
            let (change, failure) = self.reorganize_to(hash)?;
            if !change.connected.is_empty() || !change.disconnected.is_empty() {
                events.push(ChainEvent::TipChanged(change));
            }
            if let Some((bad, error)) = failure {
                self.invalidate(bad)?;
                let source = self.sources.take(&bad);
                events.push(ChainEvent::BlockInvalid {
                    hash: bad,
                    error,
                    source,
                });
            }
        }
        Ok(events)
    }

    /// Switches the best chain to end at `target`: disconnects to the fork point, then connects
    /// `target`'s branch, stopping at the first block that breaks a rule.
    fn reorganize_to(
        &mut self,
        target: BlockHash,
    ) -> Result<(TipChange, Option<(BlockHash, BlockError)>), Error> {
        let mut change = TipChange::default();
        let mut branch = Vec::new();
        let mut cursor = self
            .store
            .meta(&target)?
            .ok_or_else(|| corrupt(format!("missing block {target}")))?;
        // Down to the best chain. A block above the tip is not on it, and the tip's child (the
        // common case) needs no lookup at all.
        while cursor.hash != self.tip.hash
            && (cursor.height > self.tip.height
                || self.store.hash_at(cursor.height)? != Some(cursor.hash))
        {
            if cursor.status == BlockStatus::Invalid {
                return Ok((
                    change,
                    Some((cursor.hash, BlockError::KnownInvalid { hash: cursor.hash })),
                ));
            }
            branch.push(cursor);
            let prev = cursor.header.prev_hash;
            cursor = if prev == self.tip.hash {
                self.tip
            } else {
                self.store
                    .meta(&prev)?
                    .ok_or_else(|| corrupt(format!("missing ancestor {prev}")))?
            };
        }
        let fork = cursor.hash;
        let old_tip = self.tip;
        while self.tip.hash != fork {
            change.disconnected.push(self.disconnect_tip()?);
        }
        if old_tip.hash != fork {
            // The old tip stays a candidate in case the new branch turns out invalid.
            self.candidates
                .insert((old_tip.chain_work, Reverse(old_tip.seq)), old_tip.hash);
        }
        for meta in branch.into_iter().rev() {
            match self.connect_block(meta)? {
                Ok(connected) => change.connected.push(connected),
                Err(error) => return Ok((change, Some((meta.hash, error)))),
            }
        }
        Ok((change, None))
    }

    /// Connects a stored block on top of the tip, or says which state rule it breaks.
    fn connect_block(&mut self, meta: BlockMeta) -> Result<Result<ChainBlock, BlockError>, Error> {
        let block = match self.recent.iter().position(|(hash, _)| *hash == meta.hash) {
            Some(index) => self
                .recent
                .remove(index)
                .map(|(_, block)| block)
                .ok_or_else(|| corrupt("recent block vanished"))?,
            None => Arc::new(
                self.store
                    .block(&meta.hash)?
                    .ok_or_else(|| corrupt(format!("missing block data {}", meta.hash)))?,
            ),
        };
        let effects = match apply_block(&self.params, meta.height, &block, &self.store) {
            Ok(effects) => effects,
            Err(Error::Block(error)) => return Ok(Err(error)),
            Err(other) => return Err(other),
        };
        self.store.connect(ConnectBlock {
            meta: &meta,
            block: &block,
            accounts: &effects.accounts,
            undo: &effects.undo,
        })?;
        self.tip = BlockMeta {
            status: BlockStatus::Valid,
            ..meta
        };
        self.sources.take(&meta.hash);
        Ok(Ok(ChainBlock {
            hash: meta.hash,
            height: meta.height,
            block,
        }))
    }

    fn disconnect_tip(&mut self) -> Result<ChainBlock, Error> {
        let meta = self.tip;
        if meta.height == Height::GENESIS {
            return Err(corrupt("asked to disconnect the genesis block"));
        }
        let block = self
            .store
            .block(&meta.hash)?
            .ok_or_else(|| corrupt(format!("missing block {}", meta.hash)))?;
        let undo = self
            .store
            .undo(&meta.hash)?
            .ok_or_else(|| corrupt(format!("missing undo {}", meta.hash)))?;
        self.store.disconnect(DisconnectBlock {
            meta: &meta,
            block: &block,
            undo: &undo,
        })?;
        self.tip = self
            .store
            .meta(&meta.header.prev_hash)?
            .ok_or_else(|| corrupt(format!("missing parent of {}", meta.hash)))?;
        Ok(ChainBlock {
            hash: meta.hash,
            height: meta.height,
            block: Arc::new(block),
        })
    }

    /// Disconnects blocks until the tip is at `height` (for tools and tests). The blocks stay
    /// stored; the chain returns to the most-work chain the next time it is opened.
    ///
    /// # Errors
    ///
    /// A store failure.
    pub fn rewind_to(&mut self, height: Height) -> Result<TipChange, Error> {
        let mut change = TipChange::default();
        while self.tip.height > height {
            change.disconnected.push(self.disconnect_tip()?);
        }
        Ok(change)
    }

    /// Marks `hash` and every stored descendant invalid.
    fn invalidate(&mut self, hash: BlockHash) -> Result<(), Error> {
        let mut invalid = vec![hash];
        let mut queue = vec![hash];
        while let Some(parent) = queue.pop() {
            for child in self.store.children(&parent)? {
                invalid.push(child);
                queue.push(child);
            }
        }
        self.store.mark_invalid(&invalid)?;
        let invalid: HashSet<BlockHash> = invalid.into_iter().collect();
        self.candidates.retain(|_, h| !invalid.contains(h));
        Ok(())
    }
}
