//! The HTTP server loop: accepts connections and serves a filter on each until shut down.
//!
//! warp's own loop logs every connection that ends before its response is complete as an error,
//! and a browser ends one each time it leaves a page with a live event stream open, so a node's
//! terminal filled with false alarms. Here such an end is a debug line; only a failure to accept
//! (out of file descriptors, say) is an error. Shutting down stops accepting, waits for the
//! requests in progress, and after [`SHUTDOWN_GRACE`] drops the connections still open: an event
//! stream lasts as long as its node, and a client that stops reading would otherwise hold the
//! server open for ever.
//!
//! Under abuse (connections opened and never finished, or simply very many) the server stays
//! up within [`ServerOptions`]: a client has [`ServerOptions::header_read_timeout`] to send a
//! request's head, and an idle keep-alive connection is closed after as long; at most
//! [`ServerOptions::max_connections`] connections are open at once, and at most
//! [`ServerOptions::max_connections_per_client`] from one address, so that one client cannot take
//! them all (nor the process's file descriptors, which the node's peer port needs too). At the
//! total cap a newcomer takes the place of the oldest connection that has not sent a request
//! head (`admission.rs`), so half-open connections from many addresses cannot shut the door
//! either. A connection past a cap is answered `503 Service Unavailable` at once and closed.
//! Only HTTP/1.1 is served: browsers speak HTTP/2 only over TLS, and a plain-text HTTP/2
//! connection has no header timeout to bound it.
//!
//! Every request carries its client's address ([`ClientAddr`], for the handlers' limits) and is
//! logged with it under `chain_web`: method, path, status and time taken. Behind a trusted
//! reverse proxy ([`ServerOptions::trusted_proxy`]) that address is the one the proxy forwards,
//! and the proxy itself is exempt from the per-client connection cap (`proxy.rs`).

use crate::metrics::Metrics;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use warp::filters::BoxedFilter;
use warp::http::Request;
use warp::reply::Response;

/// How long to wait after a failed accept (such as running out of file descriptors) before
/// trying again, so that a persistent failure does not spin.
const ACCEPT_RETRY: Duration = Duration::from_secs(1);

/// How long a shutdown waits for the responses in progress before dropping their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What a connection past a cap is told before it is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\n\
content-length: 40\r\nretry-after: 5\r\nconnection: close\r\n\r\n\
Too many connections; try again shortly.";

/// The limits of one HTTP server (`docs/RELIABILITY.md`, "The front door under abuse"), and
/// the proxy it trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerOptions {
    /// Connections open at once, at most.
    pub max_connections: usize,
    /// Connections open at once from one client address, at most.
    pub max_connections_per_client: usize,
    /// How long a client has to send a request's head, and how long an idle keep-alive
    /// connection is kept waiting for the next request.
    pub header_read_timeout: Duration,
    /// The reverse proxy in front of the server, if any: on connections from this address
    /// (only) `X-Forwarded-For` names the client and `X-Forwarded-Proto: https` makes cookies
    /// `Secure` (`proxy.rs`).
    pub trusted_proxy: Option<IpAddr>,
}

impl Default for ServerOptions {
    /// 256 connections, 32 per client address, 10 s for a request's head, no proxy. Two
    /// servers (API and web) at their caps hold 512 descriptors, half of a common 1,024 limit,
    /// leaving the rest to the node's peers and its database.
    fn default() -> Self {
        Self {
            max_connections: 256,
            max_connections_per_client: 32,
            header_read_timeout: Duration::from_secs(10),
            trusted_proxy: None,
        }
    }
}

/// The address of the client a request came from, in the request's extensions (read it with
/// `warp::ext::get::<ClientAddr>()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// Connections being refused at once, at most: past it a connection is closed without a word.
const MAX_REFUSING: usize = 64;

/// How long a refused connection is given to take its answer.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// Tells a connection past a cap so, and closes it. The client has usually sent its request
/// already: closing a socket with unread data resets it, and the reset can destroy the answer
/// before the client reads it, so the request is read (and dropped) for up to
/// [`REFUSAL_LINGER`] after the answer is sent. At most [`MAX_REFUSING`] refusals linger.
fn refuse(stream: TcpStream, client: SocketAddr, refusing: &Arc<tokio::sync::Semaphore>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Debug, not a warning: a flood of connections must not become a flood of log lines.
    tracing::debug!(target: "chain_web", %client, "connection refused: too many open connections");
    let Ok(permit) = refusing.clone().try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let mut stream = stream;
        let linger = async {
            stream.write_all(BUSY).await?;
            stream.shutdown().await?;
            let mut sink = [0u8; 1_024];
            while stream.read(&mut sink).await? > 0 {}
            Ok::<(), std::io::Error>(())
        };
        let _ = tokio::time::timeout(REFUSAL_LINGER, linger).await;
        drop(permit);
    });
}

/// Binds `addr` and serves `routes` on it within `options`, each request logged under
/// `chain_web`, until `shutdown` completes. Returns the bound address (useful with port 0) and
/// the server task.
pub(crate) async fn serve(
    addr: SocketAddr,
    routes: BoxedFilter<(Response,)>,
    options: ServerOptions,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    Ok((
        bound,
        tokio::spawn(run(listener, routes, options, metrics, shutdown)),
    ))
}

async fn run(
    listener: TcpListener,
    routes: BoxedFilter<(Response,)>,
    options: ServerOptions,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let admission = crate::admission::Admission::new(options);
    let refusing = Arc::new(tokio::sync::Semaphore::new(MAX_REFUSING));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, client) = match accepted {
            Ok(accepted) => accepted,
            // The client gave up before we took its connection: nothing to do.
            Err(error) if is_client_gone(&error) => continue,
            Err(error) => {
                tracing::error!(%error, "accepting a connection failed");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_RETRY) => continue,
                    () = &mut shutdown => break,
                }
            }
        };
        let Some(admitted) = admission.admit(client.ip()) else {
            refuse(stream, client, &refusing);
            continue;
        };
        let state = admitted.state.clone();
        let service = WithClient {
            inner: hyper_util::service::TowerToHyperService::new(warp::service(routes.clone())),
            peer: client,
            trusted_proxy: options.trusted_proxy,
            state: state.clone(),
            metrics: metrics.clone(),
        };
        let watcher = graceful.watcher();
        // Forget the connections that have ended, so the set holds only open ones.
        while connections.try_join_next().is_some() {}
        connections.spawn(async move {
            let mut builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .http1_only();
            builder
                .http1()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(options.header_read_timeout);
            let connection = builder
                .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), service)
                .into_owned();
            tokio::select! {
                served = watcher.watch(connection) => if let Err(error) = served {
                    tracing::debug!(error, "a connection ended before its response was complete");
                },
                () = state.evicted() => tracing::debug!(
                    target: "chain_web",
                    %client,
                    "connection closed to make room: no request head after the others"
                ),
            }
            drop(admitted);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::debug!(
            open = connections.len(),
            "dropping the connections still open after the shutdown grace"
        );
    }
    // Dropping the set aborts the connections' tasks, which closes their sockets.
    drop(connections);
}

/// A connection's service: puts the client's address in each request and logs the request.
#[derive(Clone)]
struct WithClient<S> {
    inner: S,
    /// The connection's other end.
    peer: SocketAddr,
    trusted_proxy: Option<IpAddr>,
    /// Told when a request head has come (such a connection is never closed for a newcomer).
    state: Arc<crate::admission::ConnectionState>,
    /// Counts each answer.
    metrics: Arc<Metrics>,
}

impl<S, B, ResponseBody> hyper::service::Service<Request<B>> for WithClient<S>
where
    S: hyper::service::Service<Request<B>, Response = warp::http::Response<ResponseBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, mut request: Request<B>) -> Self::Future {
        self.state.head_seen();
        let origin = crate::proxy::origin(self.peer, self.trusted_proxy, request.headers());
        let client = origin.client;
        request.extensions_mut().insert(ClientAddr(client));
        if origin.https {
            request.extensions_mut().insert(crate::proxy::OverHttps);
        }
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let started = Instant::now();
        let response = self.inner.call(request);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let response = response.await?;
            metrics.http_request(&path, response.status().as_u16());
            tracing::info!(
                target: "chain_web",
                %client,
                %method,
                path,
                status = response.status().as_u16(),
                ms = started.elapsed().as_millis() as u64,
                "request"
            );
            Ok(response)
        })
    }
}

fn is_client_gone(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}
