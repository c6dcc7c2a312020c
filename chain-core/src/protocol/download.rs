//! Block download: the queue of pending headers' blocks, requests in a window spread over the
//! peers that have them (in runs while far behind), received blocks, and the rules that drop a
//! peer that holds the sync up (block timeout, stalling). `docs/NETWORK.md` §4.

// The protocol's types and imports: this file is one concern of `Protocol`'s methods.
use super::*;

impl<S: Store> Protocol<S> {
    /// Sync internals for diagnostics: validated headers waiting for blocks, blocks queued,
    /// blocks in flight.
    pub fn sync_counts(&self) -> (usize, usize, usize) {
        (self.headers.len(), self.queue.len(), self.in_flight.len())
    }

    /// Whether the best header known is more than `max_in_flight_per_peer` blocks past the tip:
    /// an initial sync, or one after a long time offline. Blocks are then requested in larger
    /// numbers, and a node may store them more cheaply (deferring its lookup indexes).
    pub fn far_behind(&self) -> bool {
        let tip = self.ledger.chain().tip().height;
        let behind = self.best_header_height().0.saturating_sub(tip.0);
        behind > self.config.max_in_flight_per_peer as u64
    }

    /// Whether blocks are being downloaded: some are asked of a peer, or queued while a
    /// connected peer has them. Blocks queued that no connected peer has (their announcer left
    /// before sending them) are not a download: the node waits for nobody until a peer that has
    /// them comes.
    pub fn is_syncing(&self) -> bool {
        !self.in_flight.is_empty()
            || self.peers.values().filter(|p| p.ready).any(|p| {
                p.pending_blocks.iter().any(|hash| {
                    self.headers
                        .get(hash)
                        .is_some_and(|pending| self.queue.contains(&(pending.height, *hash)))
                })
            })
    }

    /// Takes `hash` back from `peer` if it had the request, and queues it again.
    pub(super) fn unassign(&mut self, peer: PeerId, hash: &BlockHash) {
        if self.in_flight.get(hash).is_some_and(|(p, _)| *p == peer) {
            self.in_flight.remove(hash);
            self.requeue(hash);
        }
        if let Some(state) = self.peers.get_mut(&peer) {
            state.in_flight.remove(hash);
        }
    }

    /// Queues a pending block for download again (nothing if its header is not pending, or
    /// not wanted).
    pub(super) fn requeue(&mut self, hash: &BlockHash) {
        if let Some(pending) = self.headers.get(hash).filter(|p| p.wanted) {
            self.queue.insert((pending.height, *hash));
        }
    }

    /// Blocks one peer may have in flight now: more while far behind.
    pub(super) fn in_flight_limit(&self) -> usize {
        let normal = self.config.max_in_flight_per_peer;
        if self.far_behind() {
            normal.max(self.config.sync_in_flight_per_peer)
        } else {
            normal
        }
    }

    /// Hands queued blocks within the download window to peers that have them, lowest first.
    /// Blocks out of the window, or that no free peer has, stay queued for a later call. The
    /// queue is kept in height order, so this looks at the window's blocks only, not at every
    /// pending header.
    pub(super) fn request_blocks(&mut self, now: u64) {
        if self.queue.is_empty() {
            return;
        }
        // A node that starts to download on a tip it has not seen move yet counts a stall from
        // here, not from its next tick.
        self.note_tip(now);
        let tip = self.ledger.chain().tip().height;
        let limit = Height(tip.0.saturating_add(self.config.download_window));
        let max = self.in_flight_limit();
        let mut free: usize = self
            .peers
            .values()
            .filter(|p| p.ready)
            .map(|p| max.saturating_sub(p.in_flight.len()))
            .sum();
        if free == 0 {
            return;
        }
        // A block that came before its parent waits in the chain's orphan pool: not asked for
        // again (it would come back an orphan again, as often as asked) unless the pool lets it
        // go before the parent arrives.
        let chain = self.ledger.chain();
        let window: Vec<(Height, BlockHash)> = self
            .queue
            .iter()
            .take_while(|(height, _)| *height <= limit)
            .filter(|(_, hash)| !chain.is_orphan(hash))
            .copied()
            .collect();
        if self.wait_for_a_run(&window, limit, free, max) {
            return;
        }
        let mut requests: BTreeMap<PeerId, Vec<Inventory>> = BTreeMap::new();
        for (height, hash) in window {
            if free == 0 {
                break;
            }
            // Only a peer that announced or sent this block's header has it: a peer on another
            // fork at a greater height does not.
            let item = Inventory::Block(hash);
            let candidate = self
                .peers
                .iter()
                .filter(|(_, p)| {
                    p.ready && p.pending_blocks.contains(&hash) && p.in_flight.len() < max
                })
                .min_by_key(|(id, p)| (p.in_flight.len(), **id))
                .map(|(id, _)| *id);
            let Some(peer) = candidate else {
                continue;
            };
            if let Some(state) = self.peers.get_mut(&peer) {
                if state.in_flight.is_empty() {
                    // The delivery clock starts with the first request outstanding.
                    state.last_delivery = now;
                }
                state.in_flight.insert(hash);
            }
            self.queue.remove(&(height, hash));
            self.in_flight.insert(hash, (peer, now));
            requests.entry(peer).or_default().push(item);
            free -= 1;
        }
        for (peer, items) in requests {
            for chunk in items.chunks(MAX_BLOCKS_PER_REQUEST) {
                self.send(peer, Message::GetData(chunk.to_vec()));
            }
        }
    }

    /// Whether to hold back requests until a run of them can go at once. While far behind,
    /// blocks are asked for in runs of at least the per-peer limit / [`SYNC_REQUEST_RUN`],
    /// not one by one as each arrives: one `getdata`, and one wake-up of each side, for many
    /// blocks. A shorter run goes when it is all there is to ask for (no block waits past the
    /// window), when the tip's next block (or one at or below the tip, of another branch) is
    /// among it, or when nothing is in flight (nothing would call again).
    pub(super) fn wait_for_a_run(
        &self,
        window: &[(Height, BlockHash)],
        limit: Height,
        free: usize,
        max: usize,
    ) -> bool {
        if !self.far_behind() || self.in_flight.is_empty() {
            return false;
        }
        let run = (max / SYNC_REQUEST_RUN).max(1);
        let next = Height(self.ledger.chain().tip().height.0.saturating_add(1));
        let more_later = self.queue.last().is_some_and(|(height, _)| *height > limit);
        let next_is_queued = window.first().is_some_and(|(height, _)| *height <= next);
        window.len().min(free) < run && more_later && !next_is_queued
    }

    pub(super) fn on_block(
        &mut self,
        peer: PeerId,
        block: IncomingBlock,
        now: u64,
    ) -> Result<(), Error> {
        let hash = match &block {
            IncomingBlock::Plain(block) => block.hash(),
            IncomingBlock::Verified(block) => block.hash(),
        };
        let asked_of = self.in_flight.get(&hash).map(|(p, _)| *p);
        let header_wanted = self.headers.get(&hash).map(|p| p.wanted);
        if let Some(state) = self.peers.get_mut(&peer) {
            state.known.insert(Inventory::Block(hash));
            if asked_of == Some(peer) {
                state.last_delivery = now;
            }
        }
        if asked_of.is_none() && header_wanted == Some(false) {
            // Pushed unasked, of a branch whose headers showed it cannot beat the tip: not even
            // checked.
            return Ok(());
        }
        // Asked of this peer or another, or of a branch this node wants: a block nobody asked
        // for has to show it could matter before the chain spends anything on it.
        let arrival = if asked_of.is_some() || header_wanted == Some(true) {
            Arrival::requested(Some(peer))
        } else {
            Arrival::unrequested(peer)
        };
        self.unassign(peer, &hash);
        let accepted = match block {
            IncomingBlock::Plain(block) => self.ledger.accept_block_from(block, arrival, now),
            IncomingBlock::Verified(block) => self.ledger.accept_verified_from(block, arrival, now),
        };
        match accepted {
            Ok(outcome) => {
                match outcome.status {
                    AcceptStatus::Orphan { missing } => {
                        if !self.known_block(&missing)? {
                            self.send_getheaders(peer, BlockHash::ZERO);
                        }
                    }
                    AcceptStatus::Stored { .. }
                    | AcceptStatus::Duplicate
                    | AcceptStatus::Unwanted => {}
                }
                self.forget_stored_headers(hash)?;
                self.publish_chain_events(outcome.events, Some(peer), now);
            }
            Err(Error::Block(BlockError::TimeTooNew { .. })) => {}
            Err(Error::Block(_)) => {
                self.forget_header(&hash);
                self.penalise(peer, Penalty::InvalidBlock, now);
            }
            Err(other) => return Err(other),
        }
        self.request_blocks(now);
        Ok(())
    }

    /// Drops pending headers whose blocks are now stored: the block just received, and the
    /// pending descendants that its arrival let the chain store (orphans waiting for it). Only
    /// those can have changed, so the store is asked about them alone, not about every pending
    /// header (thousands during a sync, for every block).
    pub(super) fn forget_stored_headers(&mut self, received: BlockHash) -> Result<(), Error> {
        let store = self.ledger.chain().store();
        let mut stored = Vec::new();
        let mut frontier = vec![received];
        while let Some(hash) = frontier.pop() {
            if store.meta(&hash)?.is_none() {
                continue;
            }
            stored.push(hash);
            if let Some(children) = self.header_children.get(&hash) {
                frontier.extend(children.iter().copied());
            }
        }
        for hash in stored {
            self.forget_header(&hash);
        }
        Ok(())
    }

    /// Notes when the tip changed (at `now`, if it differs from the one noted), for the stall
    /// rules; each change brings the stall timeout a step back towards the configured one.
    pub(super) fn note_tip(&mut self, now: u64) {
        let tip = self.ledger.chain().tip().hash;
        if self.tip_since.0 != tip {
            self.tip_since = (tip, now);
            self.stall_timeout = (self.stall_timeout / 2).max(self.config.stall_timeout);
        }
    }

    /// The request that stalls a sync, and its peer: the block the chain needs next, asked
    /// at least `stall_timeout` seconds ago, while the tip has not moved for as long and
    /// another ready peer has the block (dropping the only peer that has it would not help).
    /// Bitcoin Core's block-stalling rule, in whole seconds of the tick.
    pub(super) fn staller(
        &self,
        tip: Height,
        tip_since: u64,
        now: u64,
    ) -> Option<(BlockHash, PeerId)> {
        let wait = self.stall_timeout;
        if !self.far_behind() || now < tip_since.saturating_add(wait) {
            return None;
        }
        let next = tip.0.saturating_add(1);
        self.in_flight
            .iter()
            .filter(|(hash, (_, at))| {
                now >= at.saturating_add(wait)
                    && self.headers.get(hash).is_some_and(|p| p.height.0 <= next)
            })
            .filter(|(hash, (holder, _))| {
                self.peers
                    .iter()
                    .any(|(id, p)| id != holder && p.ready && p.pending_blocks.contains(hash))
            })
            // The same choice on every run (the map's order is not).
            .min_by_key(|(hash, _)| **hash)
            .map(|(hash, (holder, _))| (*hash, *holder))
    }

    /// Block requests that took too long: the staller of a sync is dropped here and now
    /// ([`ProtocolConfig::stall_timeout`]); the requests past the block timeout go back to the
    /// queue, and their peers are returned, to be dropped.
    ///
    /// With many blocks requested at once (a sync) the last may come long after it was asked
    /// for: a peer that keeps delivering requested blocks is not timed out, unless it holds
    /// back the block the chain needs next (blocks are served in the order asked, so an honest
    /// peer sends that one first): the tip has then not moved for the timeout, while the peer
    /// could drip the others for a long time.
    pub(super) fn download_timeouts(&mut self, now: u64) -> Vec<(PeerId, &'static str)> {
        let timeout = self.config.block_timeout;
        let tip = *self.ledger.chain().tip();
        self.note_tip(now);
        let tip_since = self.tip_since.1;
        if let Some((hash, peer)) = self.staller(tip.height, tip_since, now) {
            self.unassign(peer, &hash);
            // Dialled again at once, it would be handed a share of the window and stall it
            // again; an inbound staller may come back on its own.
            let addrs = self
                .peers
                .get(&peer)
                .map(|p| [Some(p.addr), p.listen_addr()])
                .unwrap_or_default();
            for addr in addrs.into_iter().flatten() {
                self.addresses
                    .stalled(&addr, now.saturating_add(STALLER_REDIAL_SECS));
            }
            self.outbox
                .push(Io::Disconnect(peer, DisconnectReason::Stalling));
            self.disconnected(peer, now);
            self.stall_timeout = (self.stall_timeout * 2).min(MAX_STALL_TIMEOUT);
        }
        let next = tip.height.0.saturating_add(1);
        let late: Vec<(BlockHash, PeerId)> = self
            .in_flight
            .iter()
            .filter(|(hash, (peer, at))| {
                if now < at + timeout {
                    return false;
                }
                let needed_next = self.headers.get(hash).is_none_or(|p| p.height.0 <= next);
                let delivering = self
                    .peers
                    .get(peer)
                    .is_some_and(|p| now < p.last_delivery + timeout);
                !delivering || (needed_next && now >= tip_since + timeout)
            })
            .map(|(hash, (peer, _))| (*hash, *peer))
            .collect();
        let mut timed_out = Vec::new();
        for (hash, peer) in late {
            self.unassign(peer, &hash);
            timed_out.push((peer, "block download"));
        }
        timed_out
    }
}
