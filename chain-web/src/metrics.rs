//! `GET /metrics`: what an operator graphs and alerts on, in the Prometheus (OpenMetrics) text
//! format, on every server beside `/healthz` and `/readyz`, without the token (it shows no
//! secret: counts, heights and rates).
//!
//! Two kinds of figures. Counted as they happen: HTTP requests by route and status (from the
//! server's request hook), blocks connected and refused by rule, reorganisations, transfers
//! accepted and refused by reason (from the node's events). Read at each scrape: the chain
//! (height, best header, work), peers by direction, bans, the mempool, mining, signature checks
//! and the store's commit times (from the node's status and counters). Routes are labelled by
//! their pattern (`/api/v1/blocks/:id`), never by the path asked, so that no client can grow
//! the label set; a path no route knows counts as `other`.

use chain_core::chain::ChainEvent;
use chain_core::node::batch::COMMIT_BUCKETS_MICROS;
use chain_core::protocol::NodeEvent;
use chain_net::NodeHandle;
use chain_net::views::NodeStatus;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The content type of the answer.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How often the block rate is measured.
const RATE_WINDOW: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirectionLabels {
    direction: &'static str,
}

/// A node's metrics: the counters kept as events come, and the figures read at each scrape.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    http: Family<HttpLabels, Counter>,
    blocks_connected: Counter,
    blocks_refused: Family<ReasonLabels, Counter>,
    reorgs: Counter,
    transfers_accepted: Counter,
    transfers_refused: Family<ReasonLabels, Counter>,
    /// Blocks connected per second over the last [`RATE_WINDOW`], in f64 bits.
    block_rate: Gauge<f64, AtomicU64>,
    read: Arc<ReadAtScrape>,
    following: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Metrics with every counter at zero; [`Metrics::follow`] starts the event counting.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("chain");
        let http = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern and status",
            http.clone(),
        );
        let blocks_connected = Counter::default();
        registry.register(
            "blocks_connected",
            "Blocks connected to the best chain",
            blocks_connected.clone(),
        );
        let blocks_refused = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "blocks_refused",
            "Blocks found invalid, by the rule broken",
            blocks_refused.clone(),
        );
        let reorgs = Counter::default();
        registry.register(
            "reorgs",
            "Reorganisations (blocks disconnected from the best chain)",
            reorgs.clone(),
        );
        let transfers_accepted = Counter::default();
        registry.register(
            "transfers_accepted",
            "Transfers admitted to the mempool (from peers and from the API)",
            transfers_accepted.clone(),
        );
        let transfers_refused = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "transfers_refused",
            "Transfers the mempool refused, by reason",
            transfers_refused.clone(),
        );
        let block_rate = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "blocks_connected_per_second",
            "Blocks connected per second over the last 10 s (the sync speed while syncing)",
            block_rate.clone(),
        );
        let read = Arc::new(ReadAtScrape::default());
        registry.register_collector(Box::new(read.clone()));
        Self {
            registry,
            http,
            blocks_connected,
            blocks_refused,
            reorgs,
            transfers_accepted,
            transfers_refused,
            block_rate,
            read,
            following: AtomicBool::new(false),
        }
    }

    /// Counts one answered request.
    pub fn http_request(&self, path: &str, status: u16) {
        self.http
            .get_or_create(&HttpLabels {
                route: route_of(path),
                status,
            })
            .inc();
    }

    /// Counts one node event.
    pub fn event(&self, event: &NodeEvent) {
        match event {
            NodeEvent::Chain(ChainEvent::TipChanged(change)) => {
                self.blocks_connected.inc_by(change.connected.len() as u64);
                if change.is_reorg() {
                    self.reorgs.inc();
                }
            }
            NodeEvent::Chain(ChainEvent::BlockInvalid { error, .. }) => {
                self.blocks_refused
                    .get_or_create(&ReasonLabels {
                        reason: error.code(),
                    })
                    .inc();
            }
            NodeEvent::TransferAccepted(_) => {
                self.transfers_accepted.inc();
            }
            NodeEvent::TransferRefused { reason, .. } => {
                self.transfers_refused
                    .get_or_create(&ReasonLabels { reason })
                    .inc();
            }
            _ => {}
        }
    }

    /// Counts `node`'s events from now until it stops (once: later calls do nothing).
    pub fn follow(self: &Arc<Self>, node: &NodeHandle) {
        if self.following.swap(true, Ordering::Relaxed) {
            return;
        }
        let metrics = self.clone();
        let mut events = node.subscribe();
        let stopping = node.stopping();
        tokio::spawn(async move {
            let mut stopping = std::pin::pin!(stopping);
            let mut window = (Instant::now(), metrics.blocks_connected.get());
            let mut tick = tokio::time::interval(RATE_WINDOW);
            loop {
                tokio::select! {
                    () = &mut stopping => return,
                    _ = tick.tick() => {
                        let now = (Instant::now(), metrics.blocks_connected.get());
                        let seconds = now.0.duration_since(window.0).as_secs_f64();
                        if seconds > 0.0 {
                            metrics.block_rate.set((now.1 - window.1) as f64 / seconds);
                        }
                        window = now;
                    }
                    received = events.recv() => match received {
                        Ok(event) => metrics.event(&event),
                        // Missed events are missed counts; the figures read at scrape stay
                        // right.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                }
            }
        });
    }

    /// The text a scrape answers, with `status` and `counters` as read now.
    ///
    /// # Errors
    ///
    /// Practically never: writing to a `String` does not fail.
    pub fn render(
        &self,
        status: &NodeStatus,
        counters: &chain_net::NodeCounters,
    ) -> Result<String, std::fmt::Error> {
        *self.read.now.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((status.clone(), *counters));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The figures of the last scrape, read from the node just before encoding.
#[derive(Debug, Default)]
struct ReadAtScrape {
    now: Mutex<Option<(NodeStatus, chain_net::NodeCounters)>>,
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: f64,
) -> Result<(), std::fmt::Error> {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for ReadAtScrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        let Some((status, counters)) = now.as_ref() else {
            return Ok(());
        };
        let e = &mut encoder;
        gauge(
            e,
            "height",
            "Height of the best chain's tip",
            status.height.0 as f64,
        )?;
        gauge(
            e,
            "best_header_height",
            "Height of the best header known (above the tip while syncing)",
            status.best_header_height.0 as f64,
        )?;
        gauge(
            e,
            "chain_work",
            "Work of the best chain: the hashes expected to make all of it",
            status.chain_work,
        )?;
        gauge(
            e,
            "syncing",
            "1 while blocks are being downloaded, else 0",
            f64::from(u8::from(status.syncing)),
        )?;
        {
            let mut peers = e.encode_descriptor(
                "peers",
                "Connected peers (handshake done), by who dialled",
                None,
                MetricType::Gauge,
            )?;
            for (direction, count) in [
                ("inbound", status.peers_inbound),
                ("outbound", status.peers_outbound),
            ] {
                let labels = DirectionLabels { direction };
                ConstGauge::new(count as f64).encode(peers.encode_family(&labels)?)?;
            }
        }
        gauge(e, "bans", "Addresses banned now", status.banned as f64)?;
        gauge(
            e,
            "mempool_transfers",
            "Transfers waiting in the mempool",
            status.mempool_transfers as f64,
        )?;
        gauge(
            e,
            "mempool_bytes",
            "Encoded size of the transfers in the mempool",
            status.mempool_bytes as f64,
        )?;
        gauge(
            e,
            "mining_hash_rate",
            "Hashes per second of this node's miner (0 when it does not mine)",
            status.mining.hash_rate,
        )?;
        counter(
            e,
            "mining_blocks_found",
            "Blocks this node's miner found",
            status.mining.blocks_found,
        )?;
        let signatures = counters.signature_cache;
        counter(
            e,
            "signatures_verified",
            "Transfer signatures verified (in the mempool and in blocks)",
            signatures.verified,
        )?;
        counter(
            e,
            "signatures_skipped",
            "Transfer signatures not verified again: the cache of verified ones held them",
            signatures.skipped,
        )?;
        counter(
            e,
            "blocks_checked",
            "Blocks from peers checked before the core thread (form and signatures)",
            counters.blocks_checked,
        )?;
        let buckets: Vec<(f64, u64)> = COMMIT_BUCKETS_MICROS
            .iter()
            .map(|&micros| micros as f64 / 1e6)
            .chain([f64::INFINITY])
            .zip(counters.commit_buckets)
            .collect();
        let mut commits = e.encode_descriptor(
            "store_commit_seconds",
            "Time of each store commit of a batch of blocks (one transaction each)",
            None,
            MetricType::Histogram,
        )?;
        commits.encode_histogram::<prometheus_client::encoding::NoLabelSet>(
            counters.commit_time.as_secs_f64(),
            counters.batches,
            &buckets,
            None,
        )
    }
}

/// The route pattern a path is served by, for the label (`other` for none).
#[must_use]
pub fn route_of(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match segments.as_slice() {
        [""] => "/",
        ["api", "v1", rest @ ..] => match rest {
            ["status"] => "/api/v1/status",
            ["blocks"] => "/api/v1/blocks",
            ["blocks", _] => "/api/v1/blocks/:id",
            ["transfers"] => "/api/v1/transfers",
            ["transfers", _] => "/api/v1/transfers/:txid",
            ["transfers", _, "proof"] => "/api/v1/transfers/:txid/proof",
            ["addresses", _] => "/api/v1/addresses/:address",
            ["addresses", _, "history"] => "/api/v1/addresses/:address/history",
            ["mempool"] => "/api/v1/mempool",
            ["fees"] => "/api/v1/fees",
            ["peers"] => "/api/v1/peers",
            ["openapi.json"] => "/api/v1/openapi.json",
            ["events"] => "/api/v1/events",
            ["mining"] => "/api/v1/mining",
            _ => "other",
        },
        ["healthz"] => "/healthz",
        ["readyz"] => "/readyz",
        ["metrics"] => "/metrics",
        ["login"] => "/login",
        ["logout"] => "/logout",
        ["register"] => "/register",
        ["wallet"] => "/wallet",
        ["wallet", "send"] => "/wallet/send",
        ["receipt", _] => "/receipt/:txid",
        ["explorer"] => "/explorer",
        ["search"] => "/search",
        ["block", _] => "/block/:id",
        ["tx", _] => "/tx/:txid",
        ["address", _] => "/address/:address",
        ["network"] => "/network",
        ["network", "miner"] => "/network/miner",
        ["static", "app.css" | "app.js"] => "/static",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_core::error::BlockError;
    use chain_core::hash::BlockHash;
    use chain_core::units::Height;

    fn status() -> NodeStatus {
        NodeStatus {
            network: "regtest".into(),
            height: Height(7),
            tip: BlockHash([0; 32]),
            tip_time: 0,
            bits: String::new(),
            difficulty: 1.0,
            best_header_height: Height(9),
            syncing: true,
            indexed_height: Height(7),
            peers: 3,
            peers_inbound: 1,
            peers_outbound: 2,
            banned: 1,
            chain_work: 8.0,
            mempool_transfers: 2,
            mempool_bytes: 300,
            mining: chain_net::views::MiningStatus::default(),
            listen: None,
        }
    }

    #[test]
    fn every_metric_the_dashboard_graphs_is_served() {
        let metrics = Metrics::new();
        // One of each event, so that every labelled family has a sample.
        metrics.event(&NodeEvent::Chain(ChainEvent::BlockInvalid {
            hash: BlockHash([1; 32]),
            error: BlockError::BadMerkleRoot,
            source: None,
        }));
        metrics.event(&NodeEvent::TransferRefused {
            txid: chain_core::hash::Txid([2; 32]),
            reason: "fee_too_low",
        });
        metrics.http_request("/api/v1/status", 200);
        let text = metrics
            .render(&status(), &chain_net::NodeCounters::default())
            .unwrap();
        assert!(
            text.contains("chain_blocks_refused_total{reason=\"bad_merkle_root\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("chain_peers{direction=\"outbound\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("chain_store_commit_seconds_bucket{le=\"+Inf\"} 0"),
            "{text}"
        );
        let families: Vec<&str> = text
            .lines()
            .filter_map(|line| line.strip_prefix("# HELP "))
            .filter_map(|rest| rest.split_whitespace().next())
            .collect();
        let dashboard = include_str!("../../docs/grafana-dashboard.json");
        let mut graphed = 0;
        for (at, _) in dashboard.match_indices("chain_") {
            // Inside a name (`chain_chain_work`): not the start of one.
            let before = dashboard[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let name: String = dashboard[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let family = ["_bucket", "_total"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(&name);
            assert!(
                families.contains(&family),
                "the dashboard graphs {name}: not served"
            );
            graphed += 1;
        }
        assert!(graphed >= 20, "{graphed}");
    }

    #[test]
    fn routes_are_labelled_by_pattern_and_unknown_paths_by_one_label() {
        assert_eq!(route_of("/"), "/");
        assert_eq!(route_of("/api/v1/blocks/00ab"), "/api/v1/blocks/:id");
        assert_eq!(
            route_of("/api/v1/addresses/dev1xyz/history"),
            "/api/v1/addresses/:address/history"
        );
        assert_eq!(route_of("/receipt/ff"), "/receipt/:txid");
        for unknown in [
            "/wp-admin",
            "/api/v1/nope",
            "/api/v2/status",
            "/static/x.js",
        ] {
            assert_eq!(route_of(unknown), "other", "{unknown}");
        }
    }
}
