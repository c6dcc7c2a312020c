//! Headers pre-sync: the headers of a branch with little work are checked and counted, not kept.
//!
//! Headers cost a node memory until their blocks are stored, and headers are cheap where the
//! difficulty is low: a branch forked deep in the past, its timestamps spread out, falls to
//! `pow_limit` within a few blocks, and an attacker can then make millions of headers for the
//! work of a few real blocks. So a header is kept (as a pending header, `download.rs`) only if
//! the chain it ends has at least the *keep threshold* of work: the tip's chain work less
//! [`HEADER_WORK_HEADROOM`] blocks at the tip's difficulty (Bitcoin Core's anti-DoS threshold,
//! without its fixed minimum chain work: a private network starts from nothing).
//!
//! A peer's headers below the threshold go through two phases, in the spirit of Bitcoin Core's
//! headers pre-sync:
//! - *Pre-sync*: each header is checked (linkage, proof of work, retarget, time) as usual, but
//!   the node keeps only the branch's end (the last headers, as many as the next checks read)
//!   and the hash of every [`MARK_SPACING`]-th header: memory per peer stays a few kilobytes
//!   plus one hash per hundred headers, however long the branch.
//! - *Redownload*: once the branch reaches the threshold, its headers are asked for again from
//!   the fork and kept this time, each marked height checked against the hash seen before. A
//!   peer that answers with another branch (a mark differs, or its answer ends before the
//!   branch did) has what it sent forgotten; it is not penalised, as an honest peer may have
//!   switched chains in between. What it made the node hold was at most one mark's spacing.
//!
//! An honest fork near the tip has its headers kept as before; an initial sync (tip at
//! genesis, threshold zero) never pre-syncs. `docs/NETWORK.md` §4.

// The protocol's types and imports: this file is one concern of `Protocol`'s methods.
use super::*;
use std::collections::VecDeque;

/// Blocks' worth of work, at the tip's difficulty, that a branch may lack against the tip and
/// still have its headers kept. A fork this close could overtake the tip soon; one further
/// behind is counted before it is kept.
pub const HEADER_WORK_HEADROOM: u64 = 144;

/// A pre-sync remembers the hash of one header in this many, to check the redownload by.
pub const MARK_SPACING: u64 = 100;

/// Where a peer's header sync stands when its branch has less work than the keep threshold.
#[derive(Debug, Clone)]
pub(crate) enum HeaderSync {
    /// Following a branch below the threshold, keeping its end and marks only.
    Presync(Presync),
    /// Fetching a branch again that reached the threshold, to keep it this time.
    Redownload(Redownload),
}

/// A branch followed without being kept.
#[derive(Debug, Clone)]
pub(crate) struct Presync {
    /// The kept block (stored or pending) the branch leaves from.
    fork: BlockHash,
    /// The branch's newest header: its hash, height and the chain work it ends.
    last: (BlockHash, Height, Work),
    /// The branch's newest headers, oldest first: as many as checking the next one reads.
    window: VecDeque<Header>,
    /// The hash at every height that is a multiple of [`MARK_SPACING`].
    marks: BTreeMap<Height, BlockHash>,
}

/// A branch fetched again to be kept.
#[derive(Debug, Clone)]
pub(crate) struct Redownload {
    /// The header that reached the threshold, and its height: where the redownload ends.
    target: (BlockHash, Height),
    /// The pre-sync's marks, the target among them.
    marks: BTreeMap<Height, BlockHash>,
    /// Headers kept by this redownload: forgotten if the peer turns out to send another branch.
    kept: Vec<BlockHash>,
}

/// What becomes of one header of a peer, once it is known to connect and to be valid.
pub(super) enum Placement {
    /// Kept as a pending header.
    Keep,
    /// Counted only: the branch is still below the threshold.
    Count,
    /// The branch reached the threshold: the redownload was asked for, the rest of this
    /// message is ignored.
    Redownload,
    /// The redownload brought another branch: dropped, with the rest of this message.
    Abandon,
}

impl<S: Store> Protocol<S> {
    /// The least chain work a branch must have for its headers to be kept.
    pub(super) fn keep_threshold(&self) -> Work {
        let chain = self.ledger.chain();
        let headroom = chain
            .tip_block_work()
            .saturating_times(HEADER_WORK_HEADROOM);
        chain.tip().chain_work.saturating_sub(headroom)
    }

    /// The height and chain work of `parent` if it is the end of `peer`'s pre-sync branch.
    pub(super) fn presync_parent(
        &self,
        peer: PeerId,
        parent: &BlockHash,
    ) -> Option<(Height, Work)> {
        match self.peers.get(&peer)?.header_sync.as_ref()? {
            HeaderSync::Presync(presync) if presync.last.0 == *parent => {
                Some((presync.last.1, presync.last.2))
            }
            _ => None,
        }
    }

    /// The last `count` headers of `peer`'s pre-sync branch and the kept blocks under it, oldest
    /// first: what checking the branch's next header reads.
    pub(super) fn presync_ancestors(
        &self,
        peer: PeerId,
        count: usize,
    ) -> Result<Option<Vec<Header>>, Error> {
        let Some(HeaderSync::Presync(presync)) =
            self.peers.get(&peer).and_then(|p| p.header_sync.as_ref())
        else {
            return Ok(None);
        };
        let from_window = presync.window.len().min(count);
        let Some(mut ancestors) = self.header_ancestors(presync.fork, count - from_window)? else {
            return Ok(None);
        };
        ancestors.extend(
            presync
                .window
                .iter()
                .skip(presync.window.len() - from_window),
        );
        Ok(Some(ancestors))
    }

    /// Decides what becomes of a valid header `hash` at `height`, ending a chain of
    /// `chain_work`, sent by `peer`; `on_branch` tells whether its parent is the end of the
    /// peer's pre-sync branch (otherwise the parent is kept). `window` is how many headers the
    /// next header's checks read.
    pub(super) fn place_header(
        &mut self,
        peer: PeerId,
        header: Header,
        (hash, height, chain_work): (BlockHash, Height, Work),
        on_branch: bool,
        window: usize,
    ) -> Placement {
        let threshold = self.keep_threshold();
        let Some(state) = self.peers.get_mut(&peer) else {
            return Placement::Abandon;
        };
        let (placement, next) = match (state.header_sync.take(), on_branch) {
            (Some(HeaderSync::Redownload(redownload)), _) => {
                return self.redownload_step(peer, redownload, hash, height, true);
            }
            (Some(HeaderSync::Presync(presync)), true) if chain_work >= threshold => {
                let mut marks = presync.marks;
                marks.insert(height, hash);
                let redownload = Redownload {
                    target: (hash, height),
                    marks,
                    kept: Vec::new(),
                };
                (
                    Placement::Redownload,
                    Some(HeaderSync::Redownload(redownload)),
                )
            }
            (Some(HeaderSync::Presync(mut presync)), true) => {
                presync.extend(header, (hash, height, chain_work), window);
                (Placement::Count, Some(HeaderSync::Presync(presync)))
            }
            // A branch of its own below the threshold (a pre-sync of another branch, if any, is
            // over: the peer has moved on).
            (_, _) if chain_work < threshold => {
                let mut presync = Presync {
                    fork: header.prev_hash,
                    last: (hash, height, chain_work),
                    window: VecDeque::new(),
                    marks: BTreeMap::new(),
                };
                presync.extend(header, (hash, height, chain_work), window);
                (Placement::Count, Some(HeaderSync::Presync(presync)))
            }
            // At or above the threshold, from a kept parent: kept, as any header.
            (_, _) => (Placement::Keep, None),
        };
        state.header_sync = next;
        if matches!(placement, Placement::Redownload) {
            // From the fork: the locator no longer starts at the branch's end.
            self.send_getheaders(peer, BlockHash::ZERO);
        }
        placement
    }

    /// A header `peer` sent that is kept already (stored, or pending by another peer's
    /// headers): it ends a pre-sync, and counts as a step of a redownload.
    pub(super) fn known_header(&mut self, peer: PeerId, hash: BlockHash, height: Height) -> bool {
        let Some(state) = self.peers.get_mut(&peer) else {
            return false;
        };
        match state.header_sync.take() {
            Some(HeaderSync::Redownload(redownload)) => !matches!(
                self.redownload_step(peer, redownload, hash, height, false),
                Placement::Abandon
            ),
            Some(HeaderSync::Presync(_)) | None => true,
        }
    }

    /// One header of a redownload: checked against the marks, `newly_kept` noted to be
    /// forgotten if the branch turns out another; the redownload ends at its target.
    fn redownload_step(
        &mut self,
        peer: PeerId,
        mut redownload: Redownload,
        hash: BlockHash,
        height: Height,
        newly_kept: bool,
    ) -> Placement {
        if redownload
            .marks
            .get(&height)
            .is_some_and(|mark| *mark != hash)
        {
            self.abandon_redownload(redownload);
            return Placement::Abandon;
        }
        if newly_kept {
            redownload.kept.push(hash);
        }
        if height < redownload.target.1
            && let Some(state) = self.peers.get_mut(&peer)
        {
            state.header_sync = Some(HeaderSync::Redownload(redownload));
        }
        Placement::Keep
    }

    /// A peer's `headers` answer ended (fewer than a full message): a redownload that has not
    /// reached its target brought another branch, and is abandoned. (A pre-sync stays: the
    /// branch may grow.)
    pub(super) fn headers_ended(&mut self, peer: PeerId) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        match state.header_sync.take() {
            Some(HeaderSync::Redownload(redownload)) => self.abandon_redownload(redownload),
            other => state.header_sync = other,
        }
    }

    /// Forgets the headers a redownload kept that no branch wants: they were of another branch.
    fn abandon_redownload(&mut self, redownload: Redownload) {
        for hash in redownload.kept {
            if self.headers.get(&hash).is_some_and(|p| !p.wanted) {
                self.forget_header(&hash);
            }
        }
    }

    /// The locator to send `peer`: the end of its pre-sync branch first, if it has one, so that
    /// it goes on from there rather than from the fork.
    pub(super) fn locator_for(&self, peer: PeerId) -> Result<Vec<BlockHash>, Error> {
        let mut locator = self.locator()?;
        if let Some(HeaderSync::Presync(presync)) =
            self.peers.get(&peer).and_then(|p| p.header_sync.as_ref())
        {
            locator.insert(0, presync.last.0);
            locator.truncate(MAX_LOCATOR);
        }
        Ok(locator)
    }
}

impl Presync {
    /// Moves the branch's end to `header`, keeping `window` headers and the marks.
    fn extend(&mut self, header: Header, last: (BlockHash, Height, Work), window: usize) {
        self.last = last;
        self.window.push_back(header);
        while self.window.len() > window.max(1) {
            self.window.pop_front();
        }
        if last.1.0.is_multiple_of(MARK_SPACING) {
            self.marks.insert(last.1, last.0);
        }
    }
}
