//! What a running node's log says about what happens to it, at INFO: a line per block
//! connected (one for a whole reorganisation), per peer joining and leaving, and while syncing
//! a progress line every [`PROGRESS_EVERY`] instead of a line per block (a sync connects
//! thousands a second). Invalid blocks are warnings. The node's decisions
//! are not made here: this only words the events the protocol reports.

use chain_core::chain::{ChainEvent, TipChange};
use chain_core::hash::BlockHash;
use chain_core::protocol::NodeEvent;
use chain_core::units::Height;
use std::time::{Duration, Instant};

/// How often a sync in progress is logged.
pub(crate) const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Blocks of one tip change logged one by one, at most; more are summed up in one line.
const BLOCKS_ONE_BY_ONE: usize = 5;

/// A tip change, as much of it as the log tells.
struct Tip {
    disconnected: usize,
    connected: Vec<(Height, BlockHash, usize)>,
}

impl Tip {
    fn of(change: &TipChange) -> Self {
        Self {
            disconnected: change.disconnected.len(),
            connected: change
                .connected
                .iter()
                .map(|b| (b.height, b.hash, b.block.txs.len().saturating_sub(1)))
                .collect(),
        }
    }

    fn log(&self) {
        let Some(&(height, hash, _)) = self.connected.last() else {
            return;
        };
        if self.disconnected > 0 {
            tracing::info!(
                target: "chain_net",
                disconnected = self.disconnected,
                connected = self.connected.len(),
                height = height.0,
                %hash,
                "reorganised to a heavier branch"
            );
        } else if self.connected.len() > BLOCKS_ONE_BY_ONE {
            tracing::info!(
                target: "chain_net",
                blocks = self.connected.len(),
                height = height.0,
                %hash,
                "blocks connected"
            );
        } else {
            for &(height, hash, transfers) in &self.connected {
                tracing::info!(
                    target: "chain_net",
                    height = height.0,
                    %hash,
                    transfers,
                    "block connected"
                );
            }
        }
    }
}

/// See the [module documentation](self).
#[derive(Default)]
pub(crate) struct EventLog {
    /// The last tip change, logged once the sync progress after it tells whether the node is
    /// syncing.
    tip: Option<Tip>,
    /// While syncing: when and at what height progress was last logged.
    progress: Option<(Instant, Height)>,
}

impl EventLog {
    /// Logs what `event` says, at `now`.
    pub(crate) fn note(&mut self, event: &NodeEvent, now: Instant) {
        match event {
            NodeEvent::Chain(ChainEvent::TipChanged(change)) => self.tip = Some(Tip::of(change)),
            NodeEvent::Chain(ChainEvent::BlockInvalid { hash, error, .. }) => {
                tracing::warn!(target: "chain_net", %hash, %error, "invalid block");
            }
            NodeEvent::SyncProgress { height, target } => self.progress(*height, *target, now),
            NodeEvent::PeerReady {
                peer,
                addr,
                best_height,
            } => tracing::info!(
                target: "chain_net",
                peer,
                %addr,
                best_height = best_height.0,
                "peer joined"
            ),
            NodeEvent::PeerDisconnected { peer, addr } => {
                tracing::info!(target: "chain_net", peer, %addr, "peer left");
            }
            NodeEvent::PeerPenalised {
                peer,
                penalty,
                score,
            } => tracing::info!(target: "chain_net", peer, ?penalty, score, "peer penalised"),
            NodeEvent::TransferAccepted(txid) => {
                tracing::debug!(target: "chain_net", %txid, "transfer accepted");
            }
            NodeEvent::TransferRefused { txid, reason } => {
                tracing::debug!(target: "chain_net", %txid, reason, "transfer refused");
            }
        }
    }

    fn progress(&mut self, height: Height, target: Height, now: Instant) {
        let tip = self.tip.take();
        if target > height {
            match self.progress {
                None => {
                    tracing::info!(target: "chain_net", height = height.0, target = target.0, "syncing");
                    self.progress = Some((now, height));
                }
                Some((at, from)) if now.duration_since(at) >= PROGRESS_EVERY => {
                    let seconds = now.duration_since(at).as_secs_f64();
                    let rate = height.0.saturating_sub(from.0) as f64 / seconds;
                    tracing::info!(
                        target: "chain_net",
                        height = height.0,
                        target = target.0,
                        blocks_per_second = format!("{rate:.0}"),
                        "sync progress"
                    );
                    self.progress = Some((now, height));
                }
                Some(_) => {}
            }
            return;
        }
        if self.progress.take().is_some() {
            tracing::info!(target: "chain_net", height = height.0, "synced");
        }
        if let Some(tip) = tip {
            tip.log();
        }
    }
}
