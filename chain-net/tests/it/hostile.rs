//! Hostile input over real TCP. Each test starts a node with a well-behaved peer node connected,
//! opens a raw socket to it, does (or skips) the handshake by hand, sends one bad thing, and
//! checks the outcome the penalty calls for: a disconnect, a ban of that socket address (bans on
//! loopback are per socket address, since every local peer shares 127.0.0.1), or a small score
//! with the peer kept. Then it checks the node still serves its good peer.

use crate::raw::RawPeer;
use crate::support::{
    extend, mine_until, node_with_params, node_with_store, params, solve, sqlite_store, unix_now,
    wait_for, wait_for_tip,
};
use chain_core::block::Block;
use chain_core::hash::Txid;
use chain_core::ledger::Ledger;
use chain_core::mempool::MempoolPolicy;
use chain_core::merkle::merkle_root;
use chain_core::params::ChainParams;
use chain_core::protocol::frame::MAX_PAYLOAD;
use chain_core::protocol::{BanTarget, Inventory, Message, NodeEvent, PeerId, Penalty};
use chain_core::store::MemoryStore;
use chain_core::testkit::{Rng, address, key, transfer};
use chain_core::tx::Transaction;
use chain_core::units::{COIN, Height};
use chain_core::validate::check_header_pow;
use chain_net::NodeHandle;
use chain_net::views::TxStatus;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::sync::broadcast;

/// The key the common chain pays, so that transfers from it are valid.
const FUNDED: u64 = 40;

/// One block paying [`FUNDED`], shared by the node and its good peer.
fn funded_chain() -> MemoryStore {
    static STORE: OnceLock<MemoryStore> = OnceLock::new();
    STORE
        .get_or_init(|| extend(&params(), MemoryStore::new(), address(FUNDED), vec![], 1))
        .clone()
}

/// A node under attack, the good peer connected to it, and the node's events from before the
/// attack.
struct Setup {
    node: NodeHandle,
    good: NodeHandle,
    good_id: PeerId,
    events: broadcast::Receiver<NodeEvent>,
}

async fn setup(seed: u64) -> Setup {
    let node = node_with_store(vec![], None, seed, funded_chain()).await;
    let events = node.subscribe();
    let good = node_with_store(
        vec![node.listen_addr().unwrap()],
        None,
        seed + 1,
        funded_chain(),
    )
    .await;
    let good_id = wait_for("the good peer ready", 30, || {
        let node = node.clone();
        async move {
            let peers = node.peers().await.ok()?;
            peers.iter().find(|p| p.ready).map(|p| p.id)
        }
    })
    .await;
    Setup {
        node,
        good,
        good_id,
        events,
    }
}

impl Setup {
    /// The node still lists its good peer, answers, and relays a new block to it.
    async fn assert_still_serves_the_good_peer(&self) {
        let peers = self.node.peers().await.unwrap();
        assert!(
            peers.iter().any(|p| p.id == self.good_id && p.ready),
            "the good peer is gone: {peers:?}"
        );
        let before = self.node.status().await.unwrap();
        let mined = mine_until(&self.node, address(2), Height(before.height.0 + 1)).await;
        wait_for_tip("the good peer gets the new block", &[&self.good], mined.tip).await;
        assert_eq!(self.good.status().await.unwrap().peers, 1);
    }

    /// The next event `pick` accepts (others are skipped); panics after 10 s.
    async fn event<T>(&mut self, what: &str, mut pick: impl FnMut(&NodeEvent) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let event = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
            match event {
                Ok(event) => {
                    if let Some(value) = pick(&event) {
                        return value;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("the node stopped"),
            }
        }
    }

    /// Waits for a penalty of `penalty` and returns the peer's score.
    async fn penalised(&mut self, peer: Option<PeerId>, penalty: Penalty) -> u32 {
        self.event(&format!("{penalty:?}"), |e| match e {
            NodeEvent::PeerPenalised {
                peer: p,
                penalty: got,
                score,
            } if *got == penalty && peer.is_none_or(|id| id == *p) => Some(*score),
            _ => None,
        })
        .await
    }

    /// The node's id for the raw peer at `local`, once its handshake is done.
    async fn ready_id(&self, local: SocketAddr) -> PeerId {
        let node = self.node.clone();
        wait_for("the raw peer ready", 10, || {
            let node = node.clone();
            async move {
                let peers = node.peers().await.ok()?;
                peers
                    .iter()
                    .find(|p| p.ready && p.addr == local.to_string())
                    .map(|p| p.id)
            }
        })
        .await
    }

    /// The raw peer's score as the node lists it.
    async fn score(&self, id: PeerId) -> Option<u32> {
        let peers = self.node.peers().await.unwrap();
        peers.iter().find(|p| p.id == id).map(|p| p.score)
    }
}

/// The node refuses a new connection from `local` (it closes it without a word, even after our
/// `version`), but still takes a connection from another port of the same host.
async fn assert_banned(node: &NodeHandle, local: SocketAddr) {
    let to = node.listen_addr().unwrap();
    let mut again = RawPeer::connect_from(local, to).await;
    assert_eq!(again.local, local);
    let version = again.version(0xba_22ed);
    again.send(&version).await;
    assert_eq!(again.recv().await, None, "a banned address was answered");
    let mut other = RawPeer::connect(to).await;
    other.handshake().await;
}

/// Waits until the node reports `local`'s connection gone; returns the peer ids penalised before
/// (penalties are reported before the disconnect they cause).
async fn penalties_until_gone(setup: &mut Setup, local: SocketAddr) -> Vec<PeerId> {
    let mut penalised = Vec::new();
    setup
        .event("the raw peer's disconnection", |e| match e {
            NodeEvent::PeerPenalised { peer, .. } => {
                penalised.push(*peer);
                None
            }
            NodeEvent::PeerDisconnected { addr, .. } if *addr == local => Some(()),
            _ => None,
        })
        .await;
    penalised
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_bytes_get_the_peer_banned() {
    let mut s = setup(100).await;
    let mut raw = RawPeer::connect(s.node.listen_addr().unwrap()).await;
    raw.handshake().await;
    let id = s.ready_id(raw.local).await;
    let mut rng = Rng::new(7);
    let garbage: Vec<u8> = (0..8).flat_map(|_| rng.bytes32()).collect();
    raw.send_raw(&garbage).await;
    assert_eq!(s.penalised(Some(id), Penalty::MalformedMessage).await, 100);
    raw.expect_closed().await;
    let local = raw.local;
    drop(raw);
    assert_banned(&s.node, local).await;
    s.assert_still_serves_the_good_peer().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ban_is_saved_when_made_and_outlives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let params = params();
    let node = node_with_params(
        params.clone(),
        vec![],
        None,
        105,
        sqlite_store(&dir, &params),
    )
    .await;
    let mut raw = RawPeer::connect(node.listen_addr().unwrap()).await;
    raw.handshake().await;
    raw.send_raw(&[0xff; 64]).await;
    raw.expect_closed().await;
    let local = raw.local;
    drop(raw);
    // In the store at once (another connection to the same file sees it), not only at shutdown:
    // a crash does not lift it.
    let reader = sqlite_store(&dir, &params);
    let banned = BanTarget::Socket(local);
    wait_for("the ban in the store", 10, || {
        let found = reader
            .saved_bans()
            .unwrap()
            .iter()
            .any(|(target, until)| *target == banned && *until > unix_now());
        async move { found.then_some(()) }
    })
    .await;
    drop(reader);
    node.shutdown().await;
    // Started again on the same store, the node still refuses that address.
    let node = node_with_params(
        params.clone(),
        vec![],
        None,
        106,
        sqlite_store(&dir, &params),
    )
    .await;
    assert_banned(&node, local).await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_with_another_networks_magic_gets_the_peer_banned() {
    let mut s = setup(110).await;
    let mut raw = RawPeer::connect(s.node.listen_addr().unwrap()).await;
    // A well-formed version frame, but for devnet.
    raw.network = ChainParams::devnet().network_id;
    let version = raw.version(1);
    raw.send(&version).await;
    assert_eq!(s.penalised(None, Penalty::MalformedMessage).await, 100);
    raw.expect_closed().await;
    let local = raw.local;
    drop(raw);
    assert_banned(&s.node, local).await;
    s.assert_still_serves_the_good_peer().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_length_gets_the_peer_banned_before_any_payload() {
    let mut s = setup(120).await;
    let mut raw = RawPeer::connect(s.node.listen_addr().unwrap()).await;
    let mut header = params().network_id.0.to_vec();
    header.extend_from_slice(&(MAX_PAYLOAD as u32 + 1).to_le_bytes());
    header.extend_from_slice(&[0; 4]);
    // The header alone: the node must refuse it without waiting for 4 MiB that never come.
    raw.send_raw(&header).await;
    assert_eq!(s.penalised(None, Penalty::MalformedMessage).await, 100);
    raw.expect_closed().await;
    let local = raw.local;
    drop(raw);
    assert_banned(&s.node, local).await;
    s.assert_still_serves_the_good_peer().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_frame_then_close_only_ends_the_connection() {
    let mut s = setup(130).await;
    let mut raw = RawPeer::connect(s.node.listen_addr().unwrap()).await;
    raw.handshake().await;
    let id = s.ready_id(raw.local).await;
    // A header declaring 1,000 bytes, 10 of them, and the end of our side of the stream.
    let mut frame = params().network_id.0.to_vec();
    frame.extend_from_slice(&1_000u32.to_le_bytes());
    frame.extend_from_slice(&[0; 4]);
    frame.extend_from_slice(&[0xab; 10]);
    raw.send_raw(&frame).await;
    raw.finish().await;
    raw.expect_closed().await;
    // A connection cut mid-frame looks like a broken link, not misbehaviour: no penalty, so no
    // ban (a ban only ever follows a penalty, which is reported before the disconnection).
    let penalised = penalties_until_gone(&mut s, raw.local).await;
    assert!(!penalised.contains(&id), "penalised: {penalised:?}");
    s.assert_still_serves_the_good_peer().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_with_bad_proof_of_work_gets_the_peer_banned() {
    let mut s = setup(140).await;
    let mut raw = RawPeer::connect(s.node.listen_addr().unwrap()).await;
    raw.handshake().await;
    let id = s.ready_id(raw.local).await;
    // A block on the node's tip, right in every way but its proof of work.
    let params = params();
    let ledger = Ledger::open(
        params.clone(),
        funded_chain(),
        MempoolPolicy::default(),
        unix_now(),
    )
    .unwrap();
    let mut block: Block = ledger.block_template(address(3), unix_now()).unwrap();
    while check_header_pow(&params, &block.header).is_ok() {
        block.header.nonce += 1;
    }
    let hash = block.hash();
    raw.send(&Message::Block(block)).await;
    assert_eq!(s.penalised(Some(id), Penalty::InvalidBlock).await, 100);
    raw.expect_closed().await;
    let local = raw.local;
    drop(raw);
    assert_eq!(s.node.block_by_hash(hash).await.unwrap(), None);
    assert_banned(&s.node, local).await;
    s.assert_still_serves_the_good_peer().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_with_a_forged_signature_gets_the_peer_banned() {
    let mut s = setup(145).await;
    let mut raw = RawPeer::connect(s.node.listen_addr().unwrap()).await;
    raw.handshake().await;
    let id = s.ready_id(raw.local).await;
    // A block on the node's tip with valid proof of work, whose transfer spends the funded key's
    // coins with another key's signature. Pushed unasked, it goes to the core as it came, which
    // finds it would extend the tip, checks its signatures and penalises the sender.
    let params = params();
    let ledger = Ledger::open(
        params.clone(),
        funded_chain(),
        MempoolPolicy::default(),
        unix_now(),
    )
    .unwrap();
    let mut forged = transfer(&key(41), address(41), COIN, 1_000, 0, params.network_id);
    forged.from = key(FUNDED).public_key();
    let mut block: Block = ledger.block_template(address(3), unix_now()).unwrap();
    block.txs.push(Transaction::Transfer(forged));
    block.header.merkle_root = merkle_root(&block.txids());
    solve(&mut block.header);
    let hash = block.hash();
    raw.send(&Message::Block(block)).await;
    assert_eq!(s.penalised(Some(id), Penalty::InvalidBlock).await, 100);
    raw.expect_closed().await;
    let local = raw.local;
    drop(raw);
    assert_eq!(s.node.block_by_hash(hash).await.unwrap(), None);
    assert_banned(&s.node, local).await;
    s.assert_still_serves_the_good_peer().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_with_a_forged_signature_gets_the_peer_banned() {
    let mut s = setup(150).await;
    let mut raw = RawPeer::connect(s.node.listen_addr().unwrap()).await;
    raw.handshake().await;
    let id = s.ready_id(raw.local).await;
    // Key 41 signs a transfer that claims to spend the funded key's coins.
    let network = params().network_id;
    let mut forged = transfer(&key(41), address(41), COIN, 1_000, 0, network);
    forged.from = key(FUNDED).public_key();
    let txid = forged.txid();
    raw.send(&Message::Transfer(forged)).await;
    assert_eq!(s.penalised(Some(id), Penalty::InvalidTransfer).await, 100);
    raw.expect_closed().await;
    let local = raw.local;
    drop(raw);
    assert_eq!(s.node.transfer(txid).await.unwrap(), None);
    assert_banned(&s.node, local).await;
    s.assert_still_serves_the_good_peer().await;
    assert_eq!(s.good.transfer(txid).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_spend_is_dropped_without_charging_the_peer() {
    let s = setup(160).await;
    let mut raw = RawPeer::connect(s.node.listen_addr().unwrap()).await;
    raw.handshake().await;
    let id = s.ready_id(raw.local).await;
    let network = params().network_id;
    let first = transfer(&key(FUNDED), address(5), COIN, 1_000, 0, network);
    // Same sender nonce, another receiver, and no fee bump: a conflict, not a replacement.
    let second = transfer(&key(FUNDED), address(6), COIN, 1_000, 0, network);
    raw.send(&Message::Transfer(first.clone())).await;
    raw.send(&Message::Transfer(second.clone())).await;
    // A conflict is a race an honest relayer can lose (an attacker sends each neighbour a
    // variant): no penalty. The pong comes after both transfers were handled.
    raw.ping(1).await;
    assert_eq!(s.score(id).await, Some(0));
    // The first is relayed to the good peer; the second is nowhere.
    let good = s.good.clone();
    wait_for("the first transfer at the good peer", 10, || {
        let good = good.clone();
        let txid = first.txid();
        async move { (good.transfer(txid).await.ok()??.status == TxStatus::Pending).then_some(()) }
    })
    .await;
    assert_eq!(s.node.transfer(second.txid()).await.unwrap(), None);
    s.assert_still_serves_the_good_peer().await;
    assert_eq!(s.score(id).await, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inventory_flood_gets_the_peer_penalised_then_banned() {
    let mut s = setup(170).await;
    let mut raw = RawPeer::connect(s.node.listen_addr().unwrap()).await;
    raw.handshake().await;
    let id = s.ready_id(raw.local).await;
    let mut rng = Rng::new(170);
    let mut junk = |n: usize| -> Message {
        Message::Inv(
            (0..n)
                .map(|_| Inventory::Transfer(Txid(rng.bytes32())))
                .collect(),
        )
    };
    // Announcements up to the limit (5,000 per window by default) are fine.
    for _ in 0..5 {
        raw.send(&junk(1_000)).await;
    }
    raw.ping(1).await;
    assert_eq!(s.score(id).await, Some(0));
    // One more is a flood: half the ban score, the peer stays.
    raw.send(&junk(1_000)).await;
    assert_eq!(s.penalised(Some(id), Penalty::InventoryFlood).await, 50);
    raw.ping(2).await;
    assert_eq!(s.score(id).await, Some(50));
    // Flooding on gets it banned.
    raw.send(&junk(1_000)).await;
    assert_eq!(s.penalised(Some(id), Penalty::InventoryFlood).await, 100);
    raw.expect_closed().await;
    let local = raw.local;
    drop(raw);
    assert_banned(&s.node, local).await;
    s.assert_still_serves_the_good_peer().await;
}

/// The top block of `store`.
fn tip_block(store: &MemoryStore) -> Block {
    use chain_core::store::ChainRead;
    let hash = store.tip().unwrap().unwrap();
    store.block(&hash).unwrap().unwrap()
}

/// A block pushed unasked goes to the core as it came, not to the checking threads: an orphan's
/// signatures are not verified until its parent comes (a peer pushing orphans it will never
/// complete costs the node no signature check), and then they are, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unrequested_orphan_costs_no_signature_check_until_its_parent_comes() {
    let s = setup(170).await;
    let mut raw = RawPeer::connect(s.node.listen_addr().unwrap()).await;
    raw.handshake().await;
    let id = s.ready_id(raw.local).await;
    let params = params();
    let with_parent = extend(&params, funded_chain(), address(3), vec![], 1);
    let parent = tip_block(&with_parent);
    let paid = transfer(&key(FUNDED), address(5), COIN, 1_000, 0, params.network_id);
    let child = tip_block(&extend(&params, with_parent, address(3), vec![paid], 1));
    let verified = |node: &NodeHandle| node.counters().signature_cache.verified;
    let before = verified(&s.node);

    raw.send(&Message::Block(child.clone())).await;
    // The pong comes after the block was handled.
    raw.ping(1).await;
    assert_eq!(s.node.counters().signatures, 0, "no checking thread saw it");
    assert_eq!(
        verified(&s.node),
        before,
        "its signature waits for its parent"
    );

    raw.send(&Message::Block(parent)).await;
    wait_for_tip("the orphan connected", &[&s.node], child.hash()).await;
    assert_eq!(verified(&s.node), before + 1);
    assert_eq!(s.score(id).await, Some(0));
    s.assert_still_serves_the_good_peer().await;
}
