//! Header sync, headers first: block locators, `getheaders`/`headers`, the validated pending
//! headers and which of their branches are wanted (blocks only for a branch that could beat the
//! tip). Headers of a low-work branch go through `presync.rs` before they are kept.
//! `docs/NETWORK.md` §4.

// The protocol's types and imports: this file is one concern of `Protocol`'s methods.
use super::*;

impl<S: Store> Protocol<S> {
    /// The best header height known (our tip if no better header is known).
    pub fn best_header_height(&self) -> Height {
        let tip = self.ledger.chain().tip();
        match self.best_header {
            // A longer branch with less work is not where the node is going.
            Some((_, height, work)) if work > tip.chain_work && height > tip.height => height,
            _ => tip.height,
        }
    }

    /// Hashes from the parent of the best known header (or the tip) back to genesis: ten dense,
    /// then doubling gaps. Starting below the best header makes a peer that has it answer with
    /// at least that header, so the node learns the peer has the chain under it (a peer on the
    /// same tip would otherwise answer nothing, and never be asked for the pending blocks).
    pub fn locator(&self) -> Result<Vec<BlockHash>, Error> {
        let mut locator = Vec::new();
        // Start with validated headers above the tip, newest first; the rest of the pending
        // chain is not walked, the stored part follows from the tip.
        let mut cursor = self
            .best_header
            .and_then(|(hash, _, _)| self.headers.get(&hash))
            .map(|best| best.header.prev_hash);
        while let Some(hash) = cursor
            && locator.len() < 10
        {
            let Some(pending) = self.headers.get(&hash) else {
                break;
            };
            locator.push(hash);
            cursor = Some(pending.header.prev_hash);
        }
        let store = self.ledger.chain().store();
        let tip = self.ledger.chain().tip().height.0;
        let mut step = 1u64;
        let mut height = tip;
        loop {
            if let Some(hash) = store.hash_at(Height(height))? {
                locator.push(hash);
            }
            if height == 0 || locator.len() >= MAX_LOCATOR - 1 {
                break;
            }
            if locator.len() >= 10 {
                step *= 2;
            }
            height = height.saturating_sub(step);
        }
        if let Some(genesis) = store.hash_at(Height::GENESIS)?
            && locator.last() != Some(&genesis)
        {
            locator.push(genesis);
        }
        Ok(locator)
    }

    pub(super) fn send_getheaders(&mut self, peer: PeerId, stop: BlockHash) {
        match self.locator_for(peer) {
            Ok(locator) => self.send(peer, Message::GetHeaders { locator, stop }),
            Err(_) => {
                // A store failure here only delays sync; the next announcement retries.
            }
        }
    }

    pub(super) fn on_getheaders(
        &mut self,
        peer: PeerId,
        locator: &[BlockHash],
        stop: BlockHash,
    ) -> Result<(), Error> {
        let store = self.ledger.chain().store();
        let mut start = Height(1);
        for hash in locator {
            if let Some(meta) = store.meta(hash)?
                && store.hash_at(meta.height)? == Some(*hash)
            {
                start = Height(meta.height.0 + 1);
                break;
            }
        }
        let tip = self.ledger.chain().tip().height;
        let mut headers = Vec::new();
        let mut height = start;
        while height <= tip && headers.len() < MAX_HEADERS {
            let Some(hash) = store.hash_at(height)? else {
                break;
            };
            let Some(meta) = store.meta(&hash)? else {
                break;
            };
            headers.push(meta.header);
            if hash == stop {
                break;
            }
            height = Height(height.0 + 1);
        }
        self.send(peer, Message::Headers(headers));
        Ok(())
    }

    pub(super) fn known_block(&self, hash: &BlockHash) -> Result<bool, Error> {
        Ok(self.headers.contains_key(hash)
            || self.ledger.chain().is_orphan(hash)
            || self.ledger.chain().store().meta(hash)?.is_some())
    }

    /// Ancestor headers of a header whose parent is `parent` (pending or stored), oldest first.
    pub(super) fn header_ancestors(
        &self,
        parent: BlockHash,
        count: usize,
    ) -> Result<Option<Vec<Header>>, Error> {
        let mut out = Vec::with_capacity(count);
        let mut cursor = parent;
        while out.len() < count {
            if let Some(pending) = self.headers.get(&cursor) {
                out.push(pending.header);
                cursor = pending.header.prev_hash;
                continue;
            }
            let Some(meta) = self.ledger.chain().store().meta(&cursor)? else {
                return Ok(None);
            };
            // The rest comes from the store.
            out.reverse();
            let mut stored = self.ledger.chain().ancestor_headers(&meta)?;
            let keep = count - out.len();
            if stored.len() > keep {
                stored.drain(..stored.len() - keep);
            }
            stored.extend(out);
            return Ok(Some(stored));
        }
        out.reverse();
        Ok(Some(out))
    }

    /// Where a pending or stored block sits: its height and the work of the chain it ends.
    pub(super) fn position_of(&self, hash: &BlockHash) -> Result<Option<(Height, Work)>, Error> {
        if let Some(pending) = self.headers.get(hash) {
            return Ok(Some((pending.height, pending.chain_work)));
        }
        Ok(self
            .ledger
            .chain()
            .store()
            .meta(hash)?
            .map(|m| (m.height, m.chain_work)))
    }

    pub(super) fn on_headers(
        &mut self,
        peer: PeerId,
        headers: Vec<Header>,
        now: u64,
    ) -> Result<(), Error> {
        if headers.is_empty() {
            self.headers_ended(peer);
            return Ok(());
        }
        let full = headers.len() == MAX_HEADERS;
        let params = self.ledger.params().clone();
        let mut last = None;
        for header in headers {
            match self.on_header(&params, peer, header, now)? {
                Some(hash) => last = Some(hash),
                None => return Ok(()),
            }
        }
        if let Some(last) = last
            && let Some(state) = self.peers.get_mut(&peer)
        {
            // Not to be announced back to it.
            state.known.insert(Inventory::Block(last));
        }
        match last {
            Some(last) if full => self.send(
                peer,
                Message::GetHeaders {
                    locator: vec![last],
                    stop: BlockHash::ZERO,
                },
            ),
            _ => self.headers_ended(peer),
        }
        self.request_blocks(now);
        Ok(())
    }

    /// One header of a `headers` message: checked, then kept, counted (`presync.rs`) or found
    /// known. `None` when the rest of the message is to be ignored (the peer was penalised, the
    /// header is from the future, or its branch is being fetched again).
    fn on_header(
        &mut self,
        params: &crate::params::ChainParams,
        peer: PeerId,
        header: Header,
        now: u64,
    ) -> Result<Option<BlockHash>, Error> {
        let hash = header.hash();
        let on_branch = self.presync_parent(peer, &header.prev_hash);
        let parent = match on_branch {
            Some(position) => Some(position),
            None => self.position_of(&header.prev_hash)?,
        };
        let Some((parent_height, parent_work)) = parent else {
            self.penalise(peer, Penalty::InvalidHeaders, now);
            return Ok(None);
        };
        let height = Height(parent_height.0 + 1);
        if let Some(state) = self.peers.get_mut(&peer)
            && height > state.best_height
        {
            state.best_height = height;
        }
        if let Some(pending) = self.headers.get(&hash) {
            // Known already; its branch may beat the tip now (after a reorganisation back to a
            // chain with less work).
            let chain_work = pending.chain_work;
            self.want_if_heavier(hash, chain_work);
        } else if self.known_block(&hash)? {
            // Stored, or an orphan.
        } else {
            let needed =
                crate::difficulty::ancestors_needed(params, height).max(params.median_time_span);
            let ancestors = match on_branch {
                Some(_) => self.presync_ancestors(peer, needed)?,
                None => self.header_ancestors(header.prev_hash, needed)?,
            };
            let Some(ancestors) = ancestors else {
                self.penalise(peer, Penalty::InvalidHeaders, now);
                return Ok(None);
            };
            let checked = check_header_pow(params, &header)
                .and_then(|()| check_header_in_context(params, &header, height, &ancestors, now));
            match checked {
                Ok(()) => {}
                Err(BlockError::TimeTooNew { .. }) => return Ok(None),
                Err(_) => {
                    self.penalise(peer, Penalty::InvalidHeaders, now);
                    return Ok(None);
                }
            }
            // The proof of work just checked makes `bits` a valid target.
            let work = header
                .bits
                .to_target()
                .map(|t| t.work())
                .unwrap_or_default();
            let chain_work = parent_work.saturating_add(work);
            let next_window = crate::difficulty::ancestors_needed(params, Height(height.0 + 1))
                .max(params.median_time_span);
            let position = (hash, height, chain_work);
            match self.place_header(peer, header, position, on_branch.is_some(), next_window) {
                Placement::Keep => self.keep_header(header, position),
                Placement::Count => return Ok(Some(hash)),
                Placement::Redownload | Placement::Abandon => return Ok(None),
            }
            self.mark_has_pending(peer, hash);
            return Ok(Some(hash));
        }
        if !self.known_header(peer, hash, height) {
            return Ok(None);
        }
        self.mark_has_pending(peer, hash);
        Ok(Some(hash))
    }

    /// Keeps a valid header as pending: its block is fetched once its branch is wanted.
    fn keep_header(
        &mut self,
        header: Header,
        (hash, height, chain_work): (BlockHash, Height, Work),
    ) {
        self.add_header(
            hash,
            PendingHeader {
                header,
                height,
                chain_work,
                wanted: false,
            },
        );
        self.want_if_heavier(hash, chain_work);
        if self
            .best_header
            .is_none_or(|(_, _, best)| chain_work > best)
        {
            self.best_header = Some((hash, height, chain_work));
        }
    }

    /// A peer that has a block has all its ancestors: records the pending ones as fetchable from
    /// it. The walk ends at the first one already recorded (its ancestors are too), so marking
    /// every header of a sync costs one step per header, not one per pending header.
    pub(super) fn mark_has_pending(&mut self, peer: PeerId, hash: BlockHash) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let mut cursor = hash;
        while let Some(pending) = self.headers.get(&cursor)
            && state.pending_blocks.insert(cursor)
        {
            cursor = pending.header.prev_hash;
        }
    }

    /// Records a validated header (its block is fetched once its branch is wanted).
    pub(super) fn add_header(&mut self, hash: BlockHash, pending: PendingHeader) {
        self.header_children
            .entry(pending.header.prev_hash)
            .or_default()
            .push(hash);
        self.headers.insert(hash, pending);
    }

    /// Headers first, blocks only for a branch that could beat the tip: when the pending header
    /// `hash` ends a chain with more work than the tip, it and its pending ancestors not wanted
    /// yet are queued for download. Until then a branch costs the node its headers in memory
    /// and nothing else: no download, no disk, no signature check.
    pub(super) fn want_if_heavier(&mut self, hash: BlockHash, chain_work: Work) {
        if chain_work <= self.ledger.chain().tip().chain_work {
            return;
        }
        let mut cursor = hash;
        while let Some(pending) = self.headers.get_mut(&cursor)
            && !pending.wanted
        {
            pending.wanted = true;
            if !self.in_flight.contains_key(&cursor) {
                self.queue.insert((pending.height, cursor));
            }
            cursor = pending.header.prev_hash;
        }
    }

    /// Forgets a pending header (its block is stored, or invalid).
    pub(super) fn forget_header(&mut self, hash: &BlockHash) {
        let Some(pending) = self.headers.remove(hash) else {
            return;
        };
        self.queue.remove(&(pending.height, *hash));
        for peer in self.peers.values_mut() {
            peer.pending_blocks.remove(hash);
        }
        let parent = pending.header.prev_hash;
        if let Some(siblings) = self.header_children.get_mut(&parent) {
            siblings.retain(|h| h != hash);
            if siblings.is_empty() {
                self.header_children.remove(&parent);
            }
        }
    }

    /// Every `resync_interval`, asks a ready peer picked at random for headers past our tip, in
    /// case an announcement was missed.
    pub(super) fn resync_if_due(&mut self, now: u64) {
        if now < self.next_resync_at {
            return;
        }
        self.next_resync_at = now + self.config.resync_interval;
        let ready: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| p.ready)
            .map(|(id, _)| *id)
            .collect();
        if !ready.is_empty() {
            let pick = ready[(self.next_random() % ready.len() as u64) as usize];
            self.send_getheaders(pick, BlockHash::ZERO);
        }
    }
}
