//! The web frontend over a [`chain_net::NodeHandle`]: a JSON API under `/api/v1` (described by
//! an OpenAPI document), server-sent events, and the pages a person uses: home, register, log
//! in, wallet, receipt, explorer and network. It holds no consensus logic: every answer comes
//! from the node.
//!
//! Two entry points: [`serve`] serves the API alone (a plain node); [`serve_app`] serves the
//! whole [`App`], pages and API, with its user database (`chain_store::UserStore`) and the
//! user miners ([`miners::MinerManager`]). Both serve the operator endpoints `GET /healthz`
//! and `GET /readyz` (`ops.rs`).
//!
//! Main decisions:
//! - pages are rendered on the server from askama templates (checked at compile time, every
//!   value escaped); the only script is `static/app.js`, which refreshes parts of a page on
//!   server-sent events. Charts are inline SVG drawn on the server.
//! - a Content-Security-Policy allows scripts, styles and connections to this server only, so
//!   even an escaping bug could not run an injected inline script.
//! - sessions and form tokens: see `session.rs`.
//! - under abuse: the server loop's connection caps and header timeout (`server.rs`), rate
//!   limits per client address on the forms anyone can post (`throttle.rs`), a bound on the
//!   Argon2 work at once (`kdf_gate.rs`), a cap on user miners (`miners.rs`); `docs/RELIABILITY.md`, "The front door under abuse".

mod admission;
pub mod api;
mod app;
mod charts;
pub mod client;
pub mod contract;
pub mod csv;
mod error;
mod events;
mod kdf_gate;
pub mod metrics;
pub mod miners;
mod ops;
mod pages;
mod proxy;
mod server;
mod session;
mod templates;
mod throttle;

pub use api::ApiState;
pub use app::{App, AppOptions, CONTENT_SECURITY_POLICY, WebError, app_routes, serve_app};
pub use error::ApiError;
pub use kdf_gate::KdfLimits;
pub use proxy::OverHttps;
pub use server::{ClientAddr, ServerOptions};
pub use session::{FORM_COOKIE, SECURE_COOKIE_PREFIX, SESSION_COOKIE};
pub use throttle::RateQuotas;

use std::net::SocketAddr;
use warp::{Filter, Reply};

/// Serves the API on `addr`, within the default [`ServerOptions`], until `shutdown` completes.
/// Returns the bound address (useful with port 0) and the server task.
///
/// # Errors
///
/// If the address cannot be bound.
pub async fn serve(
    state: ApiState,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    serve_with(state, addr, ServerOptions::default(), shutdown).await
}

/// As [`serve`], within `options` (limits, trusted proxy).
///
/// # Errors
///
/// If the address cannot be bound.
pub async fn serve_with(
    state: ApiState,
    addr: SocketAddr,
    options: ServerOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    state.metrics.follow(&state.node);
    let metrics = state.metrics.clone();
    server::serve(addr, json_routes(state), options, metrics, shutdown).await
}

/// The API under `/api/v1` and the operator endpoints (`/healthz`, `/readyz`), every refusal a
/// JSON error.
fn json_routes(state: ApiState) -> warp::filters::BoxedFilter<(warp::reply::Response,)> {
    ops::routes(state.clone())
        .or(api::routes(state))
        .unify()
        .recover(api::recover)
        .map(Reply::into_response)
        .boxed()
}
