//! The web frontend: a JSON API under `/api/v1` (described by an OpenAPI document) and
//! server-sent events, over a [`chain_net::NodeHandle`]. It holds no consensus logic: every
//! answer comes from the node.

pub mod api;
mod error;
mod events;

pub use api::ApiState;
pub use error::ApiError;

use std::net::SocketAddr;
use warp::Filter;

/// Serves the API on `addr` until `shutdown` completes. Returns the bound address (useful with
/// port 0) and the server task.
///
/// # Errors
///
/// If the address cannot be bound.
pub async fn serve(
    state: ApiState,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let routes = api::routes(state)
        .recover(api::recover)
        .with(warp::log("chain_web"));
    let server = warp::serve(routes).incoming(listener).graceful(shutdown);
    Ok((bound, tokio::spawn(server.run())))
}
