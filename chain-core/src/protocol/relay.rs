//! Relay: new blocks and transfers announced by hash (`inv`) and fetched on request
//! (`getdata`), transfers into the mempool, and what a tip change announces again.
//! `docs/NETWORK.md` §5.

// The protocol's types and imports: this file is one concern of `Protocol`'s methods.
use super::*;

impl<S: Store> Protocol<S> {
    /// Tells a peer that just became ready about our pending transfers, highest fee rate first,
    /// those it is not known to have: one `inv` of at most [`MAX_INV`] now, the rest queued
    /// for [`Protocol::announce_backlogs`]. A transfer is otherwise announced only when it
    /// enters the mempool, so one accepted while this node had no ready peer (cut off, or just
    /// restarted with its mempool reloaded from the store) would wait here, unmined unless this
    /// node mines, until it expires. (Before the backlog, only the first [`MAX_INV`] were ever
    /// announced: after a partition with more pending than that, the rest never reached the
    /// miners on the other side.)
    pub(super) fn announce_pending(&mut self, peer: PeerId, now: u64) {
        let txids: Vec<Txid> = self
            .ledger
            .mempool()
            .entries()
            .into_iter()
            .map(|entry| entry.txid)
            .collect();
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        state.announce_backlog = txids.into();
        self.announce_backlog(peer, now);
    }

    /// One `inv` of the next [`MAX_INV`] transfers of each ready peer's backlog that are due
    /// (every [`BACKLOG_INV_EVERY`] seconds), skipping those the mempool no longer has or the
    /// peer has heard of meanwhile.
    pub(super) fn announce_backlogs(&mut self, now: u64) {
        let due: Vec<PeerId> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.ready && !p.announce_backlog.is_empty() && now >= p.next_backlog_inv_at
            })
            .map(|(id, _)| *id)
            .collect();
        for peer in due {
            self.announce_backlog(peer, now);
        }
    }

    fn announce_backlog(&mut self, peer: PeerId, now: u64) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let mempool = self.ledger.mempool();
        let mut items = Vec::new();
        while items.len() < MAX_INV
            && let Some(txid) = state.announce_backlog.pop_front()
        {
            let item = Inventory::Transfer(txid);
            if mempool.get(&txid).is_some() && state.known.insert(item) {
                items.push(item);
            }
        }
        state.next_backlog_inv_at = now + BACKLOG_INV_EVERY;
        if !items.is_empty() {
            self.send(peer, Message::Inv(items));
        }
    }

    pub(super) fn on_inv(
        &mut self,
        peer: PeerId,
        items: Vec<Inventory>,
        now: u64,
    ) -> Result<(), Error> {
        let (window, limit) = (self.config.inv_window, self.config.max_inv_per_window);
        let Some(state) = self.peers.get_mut(&peer) else {
            return Ok(());
        };
        if now >= state.inv_window_start + window {
            state.inv_window_start = now;
            state.inv_in_window = 0;
        }
        state.inv_in_window += items.len();
        if state.inv_in_window > limit {
            self.penalise(peer, Penalty::InventoryFlood, now);
            return Ok(());
        }
        for item in &items {
            state.known.insert(*item);
        }
        let mut wanted = Vec::new();
        let mut unknown_block = None;
        for item in items {
            match item {
                Inventory::Block(hash) => {
                    if !self.known_block(&hash)? {
                        unknown_block = Some(hash);
                    }
                    // A peer announcing a block whose header is pending has the blocks under it:
                    // it can serve them if the peer first asked does not.
                    self.mark_has_pending(peer, hash);
                }
                Inventory::Transfer(txid) => {
                    if self.ledger.mempool().get(&txid).is_none()
                        && !self.rejected_transfers.contains(&txid)
                        && self.requested_transfers.insert(txid)
                    {
                        wanted.push(Inventory::Transfer(txid));
                    }
                }
            }
        }
        if let Some(hash) = unknown_block {
            // Ask for the headers up to it; the blocks follow through the download pipeline.
            self.send_getheaders(peer, hash);
        }
        if !wanted.is_empty() {
            self.request_items(peer, wanted);
        }
        Ok(())
    }

    /// Sends `getdata` for `items`, noting the transfers among them as asked of `peer` (so that
    /// they may be asked of another peer if this one leaves without answering).
    pub(super) fn request_items(&mut self, peer: PeerId, items: Vec<Inventory>) {
        if let Some(state) = self.peers.get_mut(&peer) {
            for item in &items {
                if let Inventory::Transfer(txid) = item
                    && state.transfers_requested.len() < MAX_TRANSFERS_REQUESTED
                {
                    state.transfers_requested.insert(*txid);
                }
            }
        }
        self.send(peer, Message::GetData(items));
    }

    pub(super) fn on_getdata(
        &mut self,
        peer: PeerId,
        items: Vec<Inventory>,
        now: u64,
    ) -> Result<(), Error> {
        let blocks = items
            .iter()
            .filter(|i| matches!(i, Inventory::Block(_)))
            .count();
        if blocks > MAX_BLOCKS_PER_REQUEST {
            self.penalise(peer, Penalty::OversizedRequest, now);
            return Ok(());
        }
        let mut missing = Vec::new();
        for item in items {
            match item {
                Inventory::Block(hash) => match self.ledger.chain().store().block(&hash)? {
                    Some(block) => self.send(peer, Message::Block(block)),
                    None => missing.push(item),
                },
                Inventory::Transfer(txid) => match self.ledger.mempool().get(&txid) {
                    Some(entry) => {
                        let transfer = entry.transfer.clone();
                        self.send(peer, Message::Transfer(transfer));
                    }
                    None => missing.push(item),
                },
            }
        }
        if !missing.is_empty() {
            self.send(peer, Message::NotFound(missing));
        }
        Ok(())
    }

    /// A transfer refused against the old tip (its sender unfunded, its nonce ahead) may be
    /// valid on the new one. The refusals are forgotten, and every one remembered (the set is
    /// bounded) is asked again of a ready peer that has it, [`MAX_INV`] to a `getdata`.
    /// (Before, only the latest [`MAX_INV`] were: after a partition, a miner that had refused
    /// more than that never saw the rest again, since no peer announces a transfer twice.)
    pub(super) fn request_refused_again(&mut self) {
        let refused: Vec<Txid> = self.rejected_transfers.newest_first().copied().collect();
        self.rejected_transfers.clear();
        let mut requests: BTreeMap<PeerId, Vec<Inventory>> = BTreeMap::new();
        for txid in refused {
            let item = Inventory::Transfer(txid);
            if self.ledger.mempool().get(&txid).is_some() {
                continue;
            }
            let holder = self
                .peers
                .iter()
                .find(|(_, peer)| peer.ready && peer.known.contains(&item))
                .map(|(id, _)| *id);
            if let Some(peer) = holder
                && self.requested_transfers.insert(txid)
            {
                requests.entry(peer).or_default().push(item);
            }
        }
        for (peer, items) in requests {
            for chunk in items.chunks(MAX_INV) {
                self.request_items(peer, chunk.to_vec());
            }
        }
    }

    pub(super) fn publish_chain_events(
        &mut self,
        events: Vec<ChainEvent>,
        from: Option<PeerId>,
        now: u64,
    ) {
        for event in events {
            if let ChainEvent::TipChanged(change) = &event {
                self.note_tip(now);
                self.request_refused_again();
                if let Some(last) = change.connected.last() {
                    // Announce every new tip: peers that know it already are skipped, and a peer
                    // that is behind learns where to sync to.
                    self.announce(Inventory::Block(last.hash), from);
                    let target = self.best_header_height();
                    self.outbox.push(Io::Event(NodeEvent::SyncProgress {
                        height: last.height,
                        target,
                    }));
                }
                // Transfers of the abandoned branch that went back into the mempool are still
                // valid: announce them again, since the side that won has never seen them.
                let returned: Vec<Txid> = change
                    .disconnected
                    .iter()
                    .flat_map(|b| b.block.txs.iter())
                    .filter_map(|tx| match tx {
                        Transaction::Transfer(t) => Some(t.txid()),
                        Transaction::Coinbase(_) => None,
                    })
                    .filter(|txid| self.ledger.mempool().get(txid).is_some())
                    .collect();
                for txid in returned {
                    self.announce(Inventory::Transfer(txid), None);
                }
            }
            if let ChainEvent::BlockInvalid {
                hash,
                error,
                source,
            } = &event
            {
                self.forget_header(hash);
                // Charged to whoever sent that block, not to whoever sent the block that let it
                // in (an attacker's invalid orphan would otherwise get an honest relayer of its
                // parent banned). A time too far ahead is not a fault: it may be valid later.
                if let Some(peer) = *source
                    && !matches!(error, BlockError::TimeTooNew { .. })
                {
                    self.penalise(peer, Penalty::InvalidBlock, now);
                }
            }
            self.outbox.push(Io::Event(NodeEvent::Chain(event)));
        }
    }

    pub(super) fn announce(&mut self, item: Inventory, except: Option<PeerId>) {
        let targets: Vec<PeerId> = self
            .peers
            .iter_mut()
            .filter(|(id, p)| p.ready && Some(**id) != except && !p.known.contains(&item))
            .map(|(id, p)| {
                p.known.insert(item);
                *id
            })
            .collect();
        for peer in targets {
            self.send(peer, Message::Inv(vec![item]));
        }
    }

    pub(super) fn on_transfer(
        &mut self,
        from: Option<PeerId>,
        transfer: Transfer,
        now: u64,
    ) -> Result<Result<Admitted, MempoolError>, Error> {
        let txid = transfer.txid();
        let mut requested = from.is_none();
        if let Some(peer) = from.and_then(|p| self.peers.get_mut(&p)) {
            peer.known.insert(Inventory::Transfer(txid));
            requested = peer.transfers_requested.remove(&txid);
        }
        match self.ledger.submit_transfer(transfer, now) {
            Ok(admitted) => {
                self.outbox
                    .push(Io::Event(NodeEvent::TransferAccepted(txid)));
                self.announce(Inventory::Transfer(txid), from);
                Ok(Ok(admitted))
            }
            Err(Error::Mempool(error)) => {
                // Not asked for again while the chain stays as it is: the refusal is remembered
                // until the tip changes (see `publish_chain_events`), not as a request made.
                self.requested_transfers.remove(&txid);
                self.rejected_transfers.insert(txid);
                self.outbox.push(Io::Event(NodeEvent::TransferRefused {
                    txid,
                    reason: error.code(),
                }));
                if let Some(peer) = from
                    && let Some(penalty) = transfer_penalty(&error, requested)
                {
                    self.penalise(peer, penalty, now);
                }
                Ok(Err(error))
            }
            Err(other) => Err(other),
        }
    }
}

/// The penalty a peer earns for a transfer the mempool refused, if any. Only a fault the peer
/// could have seen is charged: a transfer invalid on its own, or one this node holds already
/// and did not ask that peer for (honest peers send transfers only when asked, so repeats are
/// a flood, and cost no signature check: the mempool finds them first). A conflict (a used
/// nonce, a replacement below the fee step) is a race two honest peers can lose to each other
/// when an attacker sends each a variant: dropped, never charged.
fn transfer_penalty(error: &MempoolError, requested: bool) -> Option<Penalty> {
    use crate::error::TxError;
    match error {
        MempoolError::Invalid(
            TxError::Signature(_)
            | TxError::ZeroAmount
            | TxError::MemoTooLong { .. }
            | TxError::AmountOverflow,
        ) => Some(Penalty::InvalidTransfer),
        MempoolError::Duplicate { .. } if !requested => Some(Penalty::UnrequestedDuplicate),
        _ => None,
    }
}
