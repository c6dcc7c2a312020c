//! Server-sent events: new blocks, reorganisations, transfers and sync progress, as they happen.

use crate::contract::{SyncEvent, TipEvent, TransferEvent};
use chain_core::chain::ChainEvent;
use chain_core::protocol::NodeEvent;
use chain_net::NodeHandle;
use futures_util::{StreamExt, stream};
use std::convert::Infallible;
use tokio::sync::broadcast::error::RecvError;
use warp::sse::Event;

fn to_sse(event: &NodeEvent) -> Option<Event> {
    let (name, data) = match event {
        NodeEvent::Chain(ChainEvent::TipChanged(change)) => {
            let last = change.connected.last()?;
            let name = if change.is_reorg() { "reorg" } else { "block" };
            let data = TipEvent {
                height: last.height,
                hash: last.hash,
                time: last.block.header.time,
                transfers: last.block.txs.len().saturating_sub(1),
                disconnected: change.disconnected.len(),
                connected: change.connected.len(),
            };
            (name, serde_json::to_string(&data))
        }
        NodeEvent::TransferAccepted(txid) => (
            "transfer",
            serde_json::to_string(&TransferEvent { txid: *txid }),
        ),
        NodeEvent::SyncProgress { height, target } => (
            "sync",
            serde_json::to_string(&SyncEvent {
                height: *height,
                target: *target,
            }),
        ),
        _ => return None,
    };
    // Plain structs of numbers and hex strings always serialise.
    Some(Event::default().event(name).data(data.ok()?))
}

/// The event stream of `node`, from now on until the node stops.
pub fn stream(node: NodeHandle) -> impl warp::Reply {
    let receiver = node.subscribe();
    let stopping = node.stopping();
    let events = stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(event) => {
                    if let Some(sse) = to_sse(&event) {
                        return Some((Ok::<Event, Infallible>(sse), receiver));
                    }
                }
                // A slow reader misses some events; it reads on from the newest.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    warp::sse::reply(warp::sse::keep_alive().stream(events.take_until(stopping)))
}
