//! Operator endpoints, beside the API at the server's root: `GET /healthz` (the process and its
//! node answer) and `GET /readyz` (the node serves its chain: no block download under way,
//! lookups caught up; `chain_net::views::Readiness`), for a supervisor or a load balancer, and
//! `GET /metrics` for a Prometheus scraper (`crate::metrics`). Both are served by every
//! server (API alone or the whole app), need no token, and answer JSON.

use crate::api::ApiState;
use crate::contract::Alive;
use crate::error::ApiError;
use chain_net::views::NodeStatus;
use std::convert::Infallible;
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Rejection, Reply};

/// The paths served here.
pub(crate) const PATHS: &[&str] = &["/healthz", "/readyz", "/metrics"];

async fn healthz(state: ApiState) -> Result<Response, Infallible> {
    Ok(match state.node.status().await {
        Ok(_) => warp::reply::json(&Alive { alive: true }).into_response(),
        Err(error) => ApiError::from(error).reply().into_response(),
    })
}

/// 200 with the node's readiness when it is ready, else 503 with the same body and why.
fn readiness_reply(status: &NodeStatus) -> Response {
    let readiness = status.readiness();
    let code = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    warp::reply::with_status(warp::reply::json(&readiness), code).into_response()
}

async fn readyz(state: ApiState) -> Result<Response, Infallible> {
    Ok(match state.node.status().await {
        Ok(status) => readiness_reply(&status),
        Err(error) => ApiError::from(error).reply().into_response(),
    })
}

async fn metrics(state: ApiState) -> Result<Response, Infallible> {
    let status = match state.node.status().await {
        Ok(status) => status,
        Err(error) => return Ok(ApiError::from(error).reply().into_response()),
    };
    let counters = state.node.counters();
    Ok(match state.metrics.render(&status, &counters) {
        Ok(text) => warp::reply::with_header(text, "content-type", crate::metrics::CONTENT_TYPE)
            .into_response(),
        Err(_) => ApiError::new(500, "internal", "the metrics could not be written")
            .reply()
            .into_response(),
    })
}

/// `GET /healthz`, `GET /readyz` and `GET /metrics`.
pub(crate) fn routes(
    state: ApiState,
) -> impl Filter<Extract = (Response,), Error = Rejection> + Clone {
    let with = move || {
        let state = state.clone();
        warp::any().map(move || state.clone())
    };
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .and(with())
        .and_then(healthz);
    let readyz = warp::path!("readyz")
        .and(warp::get())
        .and(with())
        .and_then(readyz);
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(with())
        .and_then(metrics);
    healthz.or(readyz).unify().or(metrics).unify()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_core::hash::BlockHash;
    use chain_core::units::Height;
    use chain_net::views::MiningStatus;

    fn status(height: u64, best_header: u64, indexed: u64, syncing: bool) -> NodeStatus {
        NodeStatus {
            network: "regtest".into(),
            height: Height(height),
            tip: BlockHash([0; 32]),
            tip_time: 0,
            bits: String::new(),
            difficulty: 1.0,
            best_header_height: Height(best_header),
            syncing,
            indexed_height: Height(indexed),
            peers: 1,
            peers_inbound: 1,
            peers_outbound: 0,
            banned: 0,
            chain_work: 1.0,
            mempool_transfers: 0,
            mempool_bytes: 0,
            mining: MiningStatus::default(),
            listen: None,
        }
    }

    #[test]
    fn ready_only_when_no_block_is_coming_and_indexes_caught_up() {
        assert_eq!(readiness_reply(&status(10, 10, 10, false)).status(), 200);
        // Headers whose announcer left without their blocks: nothing to wait for.
        assert_eq!(readiness_reply(&status(10, 20, 10, false)).status(), 200);
        for behind in [status(10, 300, 10, true), status(10, 10, 9, false)] {
            assert_eq!(readiness_reply(&behind).status(), 503, "{behind:?}");
        }
    }
}
