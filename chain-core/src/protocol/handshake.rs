//! Connections: opening and closing them, the `version`/`verack` handshake (protocol version,
//! network, genesis, best chain, listen port, a nonce against self-connections), outbound
//! dialling from the address book and outbound rotation. `docs/NETWORK.md` §3 and §6.

// The protocol's types and imports: this file is one concern of `Protocol`'s methods.
use super::*;

impl<S: Store> Protocol<S> {
    /// A connection is open (inbound accepted or outbound established).
    pub fn connected(&mut self, peer: PeerId, addr: SocketAddr, direction: Direction, now: u64) {
        self.dialing.remove(&addr);
        if self.is_banned(addr, now) {
            self.outbox
                .push(Io::Disconnect(peer, DisconnectReason::AddressBanned));
            return;
        }
        let inbound = self
            .peers
            .values()
            .filter(|p| p.direction == Direction::Inbound)
            .count();
        if direction == Direction::Inbound && inbound >= self.config.max_inbound {
            self.outbox
                .push(Io::Disconnect(peer, DisconnectReason::TooManyPeers));
            return;
        }
        let mut state = Peer::new(addr, direction, now);
        if direction == Direction::Outbound {
            self.addresses.connected(addr, now);
            state.sent_version = true;
            self.peers.insert(peer, state);
            self.send_version(peer);
        } else {
            self.peers.insert(peer, state);
        }
    }

    /// Dialling `addr` failed.
    pub fn connect_failed(&mut self, addr: SocketAddr, now: u64) {
        self.dialing.remove(&addr);
        self.addresses.dial_failed(addr, now);
    }

    /// A connection closed (by either side).
    pub fn disconnected(&mut self, peer: PeerId, now: u64) {
        let Some(state) = self.peers.remove(&peer) else {
            return;
        };
        // Blocks it had in flight go back to the queue.
        for hash in &state.in_flight {
            self.in_flight.remove(hash);
            self.requeue(hash);
        }
        // Transfers asked of it and never delivered may be asked of the next peer to announce
        // them; otherwise one lost answer would keep a transfer from this node for good.
        self.requested_transfers
            .remove_all(&state.transfers_requested);
        self.addresses.tried(&state.addr, now);
        self.outbox.push(Io::Event(NodeEvent::PeerDisconnected {
            peer,
            addr: state.addr,
        }));
        self.request_blocks(now);
    }

    pub(super) fn send_version(&mut self, peer: PeerId) {
        let tip = *self.ledger.chain().tip();
        let params = self.ledger.params();
        let version = Version {
            version: PROTOCOL_VERSION,
            network: params.network_id,
            genesis: params.genesis_hash(),
            best_height: tip.height,
            best_work: tip.chain_work,
            listen_port: self.config.listen_port,
            nonce: self.nonce,
            agent: self.config.agent.clone(),
        };
        self.send(peer, Message::Version(version));
    }

    pub(super) fn on_version(&mut self, peer: PeerId, version: Version, now: u64) {
        let params = self.ledger.params();
        let (network, genesis) = (params.network_id, params.genesis_hash());
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        if state.version.is_some() {
            self.penalise(peer, Penalty::HandshakeViolation, now);
            return;
        }
        let reason = if version.network != network || version.genesis != genesis {
            Some(DisconnectReason::WrongNetwork)
        } else if version.nonce == self.nonce {
            Some(DisconnectReason::SelfConnection)
        } else if version.version < PROTOCOL_VERSION {
            Some(DisconnectReason::ObsoleteVersion(version.version))
        } else {
            None
        };
        if let Some(reason) = reason {
            if reason == DisconnectReason::SelfConnection {
                // Gossip brings a node's own listen address back to it: kept out for good, or
                // it is dialled again after every backoff. The side that sees its own version
                // is often the inbound one: its own listen address is then the connection's
                // address at the port that version names.
                let addr = state.addr;
                self.addresses.forget_as_own(addr);
                if version.listen_port != 0 {
                    self.addresses
                        .forget_as_own(SocketAddr::new(addr.ip(), version.listen_port));
                }
            }
            self.outbox.push(Io::Disconnect(peer, reason));
            self.disconnected(peer, now);
            return;
        }
        state.best_height = version.best_height;
        state.best_work = version.best_work;
        state.version = Some(version);
        let send_version = !state.sent_version;
        state.sent_version = true;
        if send_version {
            self.send_version(peer);
        }
        self.send(peer, Message::Verack);
    }

    pub(super) fn on_verack(&mut self, peer: PeerId, now: u64) {
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        if state.version.is_none() {
            self.penalise(peer, Penalty::HandshakeViolation, now);
            return;
        }
        state.ready = true;
        state.next_ping_at = now + self.config.ping_interval;
        let (addr, best_height, best_work, direction) = (
            state.addr,
            state.best_height,
            state.best_work,
            state.direction,
        );
        let listen = state.listen_addr();
        if let Some(listen) = listen {
            self.add_address(listen, now);
        }
        self.outbox.push(Io::Event(NodeEvent::PeerReady {
            peer,
            addr,
            best_height,
        }));
        if direction == Direction::Outbound {
            self.send(peer, Message::GetAddr);
        }
        if let Some(external) = self.config.external_addr {
            self.send(
                peer,
                Message::Addr(vec![super::message::PeerAddress {
                    addr: external,
                    last_seen: now,
                }]),
            );
        }
        if best_work > self.ledger.chain().tip().chain_work {
            self.send_getheaders(peer, BlockHash::ZERO);
        }
        self.announce_pending(peer, now);
    }

    /// Drops the longest-connected outbound peer when outbound connections are full and the
    /// address book has someone else to try.
    pub(super) fn rotate_outbound(&mut self, now: u64) {
        let outbound: Vec<(PeerId, u64)> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.direction == Direction::Outbound && p.ready && p.in_flight.is_empty()
            })
            .map(|(id, p)| (*id, p.connected_at))
            .collect();
        if outbound.len() < self.config.target_outbound || self.addresses.len() <= outbound.len() {
            return;
        }
        if let Some((oldest, _)) = outbound.iter().min_by_key(|(id, at)| (*at, *id)) {
            self.outbox
                .push(Io::Disconnect(*oldest, DisconnectReason::Rotated));
            self.disconnected(*oldest, now);
        }
    }

    /// Remembers `addr` and dials it now, unless it is connected or being dialled already (a
    /// second connection to one peer would be refused by it, and the failure counted against
    /// the address).
    pub fn connect_now(&mut self, addr: SocketAddr, now: u64) {
        self.add_address(addr, now);
        let connected = self
            .peers
            .values()
            .any(|p| p.addr == addr || p.listen_addr() == Some(addr));
        if connected || self.dialing.contains_key(&addr) {
            return;
        }
        self.addresses.tried(&addr, now);
        self.dialing.insert(addr, now);
        self.outbox.push(Io::Connect(addr));
    }

    pub(super) fn dial(&mut self, now: u64) {
        let outbound = self
            .peers
            .values()
            .filter(|p| p.direction == Direction::Outbound)
            .count()
            + self.dialing.len();
        if outbound >= self.config.target_outbound {
            return;
        }
        let connected: Vec<SocketAddr> = self
            .peers
            .values()
            .flat_map(|p| [Some(p.addr), p.listen_addr()])
            .flatten()
            .collect();
        let mut candidates = self.addresses.dial_candidates(now, |addr| {
            connected.contains(addr) || self.dialing.contains_key(addr)
        });
        // A random order: always dialling the most recently seen would keep a node inside the
        // group it already knows.
        for i in (1..candidates.len()).rev() {
            let j = (self.next_random() % (i as u64 + 1)) as usize;
            candidates.swap(i, j);
        }
        for addr in candidates
            .into_iter()
            .take(self.config.target_outbound - outbound)
        {
            self.addresses.tried(&addr, now);
            self.dialing.insert(addr, now);
            self.outbox.push(Io::Connect(addr));
        }
    }

    /// Handshakes and pings that took too long, and pings due (sent now).
    pub(super) fn liveness_timeouts(&mut self, now: u64) -> Vec<(PeerId, &'static str)> {
        let mut timed_out = Vec::new();
        let mut pings = Vec::new();
        for (id, peer) in &mut self.peers {
            if !peer.ready {
                if now >= peer.connected_at + self.config.handshake_timeout {
                    timed_out.push((*id, "handshake"));
                }
                continue;
            }
            match peer.ping {
                Some((_, sent)) if now >= sent + self.config.ping_timeout => {
                    timed_out.push((*id, "ping"));
                }
                None if now >= peer.next_ping_at => pings.push(*id),
                _ => {}
            }
        }
        for id in pings {
            let nonce = self.next_random();
            if let Some(peer) = self.peers.get_mut(&id) {
                peer.ping = Some((nonce, now));
                peer.next_ping_at = now + self.config.ping_interval;
            }
            self.send(id, Message::Ping(nonce));
        }
        timed_out
    }

    /// Rotates an outbound peer every `rotate_interval` (the first time one interval after
    /// the first tick).
    pub(super) fn rotate_if_due(&mut self, now: u64) {
        if self.next_rotate_at == 0 {
            self.next_rotate_at = now + self.config.rotate_interval;
        } else if now >= self.next_rotate_at {
            self.next_rotate_at = now + self.config.rotate_interval;
            self.rotate_outbound(now);
        }
    }
}
