//! Nodes over real TCP on loopback: convergence, late sync, partitions.

use crate::raw::RawPeer;
use crate::support::{
    extend, mine_until, node, node_with_params, node_with_store, params, sqlite_store, wait_for,
    wait_for_tip,
};
use chain_core::block::Block;
use chain_core::hash::BlockHash;
use chain_core::params::ChainParams;
use chain_core::protocol::message::MAX_HEADERS;
use chain_core::protocol::{Inventory, Message};
use chain_core::store::{ChainRead, MemoryStore};
use chain_core::testkit::{address, key, transfer};
use chain_core::units::{Amount, COIN, Height};
use chain_net::views::TxStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_mining_nodes_converge_on_one_tip_and_equal_balances() {
    let a = node(vec![], Some(address(1)), 1).await;
    let b = node(vec![a.listen_addr().unwrap()], Some(address(2)), 2).await;
    let c = node(
        vec![a.listen_addr().unwrap(), b.listen_addr().unwrap()],
        Some(address(3)),
        3,
    )
    .await;
    let nodes = [a, b, c];
    // Let them mine to height 20 or more.
    wait_for("height 20 everywhere", 60, || {
        let nodes = nodes.clone();
        async move {
            for n in &nodes {
                if n.status().await.ok()?.height < Height(20) {
                    return None;
                }
            }
            Some(())
        }
    })
    .await;
    // Two stop mining; the third mines on, so one chain is clearly heaviest (chains of equal
    // work stay apart until the next block, as in any proof-of-work network); then it stops.
    nodes[1].set_mining(None).await.unwrap();
    nodes[2].set_mining(None).await.unwrap();
    let h = nodes[0].status().await.unwrap().height;
    wait_for("two more blocks", 30, || {
        let a = nodes[0].clone();
        async move { (a.status().await.ok()?.height >= Height(h.0 + 2)).then_some(()) }
    })
    .await;
    nodes[0].set_mining(None).await.unwrap();
    let tip = wait_for("one tip", 30, || {
        let nodes = nodes.clone();
        async move {
            let mut tips = Vec::new();
            for n in &nodes {
                let st = n.status().await.ok()?;
                if std::env::var("NET_DEBUG").is_ok() {
                    let peers = n.peers().await.ok()?;
                    eprintln!(
                        "{:?} h={} tip={} peers={:?}",
                        st.listen,
                        st.height,
                        st.tip,
                        peers
                            .iter()
                            .map(|p| (p.addr.clone(), p.ready, p.best_height.0))
                            .collect::<Vec<_>>()
                    );
                }
                tips.push(st.tip);
            }
            tips.windows(2).all(|w| w[0] == w[1]).then(|| tips[0])
        }
    })
    .await;
    let mut balances = Vec::new();
    for n in &nodes {
        let mut row = Vec::new();
        for i in 1..=3 {
            row.push(n.account(address(i)).await.unwrap().balance);
        }
        balances.push(row);
    }
    assert!(
        balances.windows(2).all(|w| w[0] == w[1]),
        "{balances:?} at {tip}"
    );
    let total: u64 = balances[0].iter().map(|a| a.0).sum();
    let height = nodes[0].status().await.unwrap().height.0;
    let params = params();
    let issued: u64 = (1..=height).map(|h| params.subsidy(Height(h)).0).sum();
    assert_eq!(total, issued, "every block's subsidy, and nothing else");
    for n in &nodes {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_node_syncs_2000_blocks_then_follows_the_tip() {
    // Plain regtest (a block in a couple of hashes): 2,000 blocks are built in a moment.
    let params = ChainParams::regtest();
    let store = extend(&params, MemoryStore::new(), address(9), vec![], 2_000);
    let a = node_with_params(params.clone(), vec![], None, 11, store).await;
    let start = a.status().await.unwrap();
    assert_eq!(start.height, Height(2_000));
    // B stores on SQLite, as a real node does: far behind, it defers its lookup indexes and
    // catches them up once synced.
    let dir = tempfile::tempdir().unwrap();
    let b_store = sqlite_store(&dir, &params);
    let b = node_with_params(
        params.clone(),
        vec![a.listen_addr().unwrap()],
        None,
        12,
        b_store,
    )
    .await;
    wait_for_tip("the late node at A's tip", &[&b], start.tip).await;
    let synced = b.status().await.unwrap();
    assert_eq!(synced.height, Height(2_000));
    assert_eq!(synced.best_header_height, Height(2_000));
    assert!(!synced.syncing);
    wait_for("the late node's indexes at its tip", 30, || {
        let b = b.clone();
        async move { (b.status().await.ok()?.indexed_height == Height(2_000)).then_some(()) }
    })
    .await;
    // Every block pays address 9: its history holds them all, newest first.
    let history = b.history(address(9), None, 3).await.unwrap();
    assert_eq!(
        history.items.iter().map(|e| e.height).collect::<Vec<_>>(),
        [Height(2_000), Height(1_999), Height(1_998)]
    );
    let first = b.block_at(Height(1)).await.unwrap().unwrap();
    let found = b.transfer(first.txs[0].txid).await.unwrap().unwrap();
    assert!(matches!(
        found.status,
        TxStatus::Confirmed {
            height: Height(1),
            ..
        }
    ));

    // A mines a few more blocks (on regtest, as many as it finds before it is told to stop).
    let mined = mine_until(&a, address(1), Height(2_003)).await;
    wait_for_tip("the late node following A", &[&b], mined.tip).await;
    let ready = wait_for("the late node ready", 30, || {
        let b = b.clone();
        async move { Some(b.status().await.ok()?.readiness()).filter(|r| r.ready) }
    })
    .await;
    assert_eq!(ready.height, ready.best_header_height);
    for who in [address(1), address(9)] {
        assert_eq!(
            b.account(who).await.unwrap().balance,
            a.account(who).await.unwrap().balance
        );
    }
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_that_stalls_far_behind_still_brings_the_indexes_to_what_the_node_holds() {
    // A peer announces 300 blocks, sends the first 100 and then only answers pings. The node
    // stays far behind (its best header 200 blocks past its tip) with no block coming: its lookup
    // indexes, deferred while it was far behind, must not wait for a tip it cannot reach.
    let params = ChainParams::regtest();
    let store = extend(&params, MemoryStore::new(), address(9), vec![], 300);
    let chain: Vec<Block> = (0..=300)
        .map(|height| {
            let hash = store.hash_at(Height(height)).unwrap().unwrap();
            store.block(&hash).unwrap().unwrap()
        })
        .collect();
    let tip = store.meta(&chain[300].hash()).unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let b_store = sqlite_store(&dir, &params);
    let b = node_with_params(params.clone(), vec![], None, 13, b_store).await;
    let mut raw = RawPeer::connect(b.listen_addr().unwrap()).await.claiming(
        params,
        tip.height,
        tip.chain_work,
    );
    raw.handshake().await;
    let server = tokio::spawn(serve_then_stall(raw, chain.clone(), 100));

    let status = wait_for("the node's indexes at the last block it got", 30, || {
        let b = b.clone();
        async move {
            let status = b.status().await.ok()?;
            (status.indexed_height == Height(100)).then_some(status)
        }
    })
    .await;
    assert_eq!(status.height, Height(100));
    assert_eq!(status.best_header_height, Height(300), "still far behind");
    let readiness = status.readiness();
    assert!(
        !readiness.ready,
        "a node 200 blocks behind its best header is not ready"
    );
    assert!(readiness.reason.unwrap().starts_with("syncing"));
    let history = b.history(address(9), None, 3).await.unwrap();
    assert_eq!(
        history.items.iter().map(|e| e.height).collect::<Vec<_>>(),
        [Height(100), Height(99), Height(98)]
    );
    let found = b.transfer(chain[1].txs[0].txid()).await.unwrap().unwrap();
    assert!(matches!(
        found.status,
        TxStatus::Confirmed {
            height: Height(1),
            ..
        }
    ));
    server.abort();
    b.shutdown().await;
}

/// Answers as a peer holding `chain` (genesis first) that sends only blocks up to height
/// `served`: headers of the whole chain, those blocks, pongs, and nothing else.
async fn serve_then_stall(mut raw: RawPeer, chain: Vec<Block>, served: usize) {
    let hashes: Vec<BlockHash> = chain.iter().map(Block::hash).collect();
    let height_of = |hash: &BlockHash| hashes.iter().position(|h| h == hash);
    while let Some(message) = raw.next().await {
        match message {
            Message::GetHeaders { locator, .. } => {
                let fork = locator.iter().find_map(height_of).unwrap_or(0);
                let headers = chain[fork + 1..]
                    .iter()
                    .take(MAX_HEADERS)
                    .map(|block| block.header)
                    .collect();
                raw.send(&Message::Headers(headers)).await;
            }
            Message::GetData(items) => {
                for item in items {
                    if let Inventory::Block(hash) = item
                        && let Some(height) = height_of(&hash)
                        && height <= served
                    {
                        raw.send(&Message::Block(chain[height].clone())).await;
                    }
                }
            }
            Message::Ping(nonce) => raw.send(&Message::Pong(nonce)).await,
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_mining_apart_reconnect_on_the_most_work_chain_and_remine_the_losing_transfer() {
    let params = params();
    // A common prefix of two blocks paying key 7, on every node.
    let prefix = extend(&params, MemoryStore::new(), address(7), vec![], 2);
    let a = node_with_store(vec![], None, 21, prefix.clone()).await;
    let b = node_with_store(vec![a.listen_addr().unwrap()], None, 22, prefix.clone()).await;
    // C is never told about A or B.
    let c = node_with_store(vec![], None, 23, prefix).await;
    wait_for("A and B connected", 30, || {
        let (a, b) = (a.clone(), b.clone());
        async move {
            (a.status().await.ok()?.peers == 1 && b.status().await.ok()?.peers == 1).then_some(())
        }
    })
    .await;

    // Group 1 (A, B) gets a transfer from the prefix's coins, mines it, and will lose.
    let sent = transfer(&key(7), address(8), 10 * COIN, 1_000, 0, params.network_id);
    let txid = b.submit_transfer(sent).await.unwrap().unwrap();
    wait_for("the transfer relayed to A", 30, || {
        let a = a.clone();
        async move { a.transfer(txid).await.ok()?.map(|_| ()) }
    })
    .await;
    let losing = mine_until(&a, address(1), Height(4)).await;
    wait_for_tip("B on A's branch", &[&b], losing.tip).await;
    assert!(matches!(
        b.transfer(txid).await.unwrap().unwrap().status,
        TxStatus::Confirmed { .. }
    ));

    // Group 2 (C) mines a longer branch of its own (every block has the same work).
    let winning = mine_until(&c, address(3), Height(losing.height.0 + 2)).await;
    assert!(c.transfer(txid).await.unwrap().is_none());

    // Reconnected, everyone ends on C's branch: the one with the most work.
    b.add_peer(c.listen_addr().unwrap()).await.unwrap();
    wait_for_tip("everyone on C's branch", &[&a, &b, &c], winning.tip).await;
    for n in [&a, &b] {
        assert_eq!(n.account(address(8)).await.unwrap().balance, Amount::ZERO);
    }

    // The transfer is still valid on C's branch: A and B took it back into their mempools and
    // announce it again, so C, which never saw it, gets it and mines it.
    wait_for("the returned transfer relayed to C", 30, || {
        let c = c.clone();
        async move { (c.transfer(txid).await.ok()??.status == TxStatus::Pending).then_some(()) }
    })
    .await;
    let remined = mine_until(&c, address(3), Height(winning.height.0 + 1)).await;
    wait_for_tip("everyone on the new tip", &[&a, &b, &c], remined.tip).await;
    for n in [&a, &b, &c] {
        let status = n.transfer(txid).await.unwrap().unwrap().status;
        assert!(
            matches!(status, TxStatus::Confirmed { height, .. } if height > winning.height),
            "{status:?}"
        );
        assert_eq!(
            n.account(address(8)).await.unwrap().balance,
            Amount(10 * COIN)
        );
    }
    for n in [&a, &b, &c] {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_given_by_name_is_looked_up_and_dialled() {
    let a = node(vec![], None, 21).await;
    let port = a.listen_addr().unwrap().port();
    let mut config = chain_net::NodeConfig::new(crate::support::params());
    config.listen = Some("127.0.0.1:0".parse().unwrap());
    config.seed = 22;
    config.verify_threads = 1;
    config.peer_names = vec![format!("localhost:{port}").parse().unwrap()];
    let b = chain_net::start(config, MemoryStore::new()).await.unwrap();
    for (who, node) in [("the named peer", &a), ("the node that named it", &b)] {
        wait_for(who, 30, || {
            let node = node.clone();
            async move { (node.status().await.ok()?.peers == 1).then_some(()) }
        })
        .await;
    }
    b.shutdown().await;
    a.shutdown().await;
}
