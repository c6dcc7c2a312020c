//! Nodes over real TCP on loopback: convergence, late sync, partitions.

use crate::support::{node, params, wait_for};
use chain_core::testkit::address;
use chain_core::units::Height;

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
