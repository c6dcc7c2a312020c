//! The HTTP server loop: accepts connections and serves a filter on each until shut down.
//!
//! warp's own loop logs every connection that ends before its response is complete as an error,
//! and a browser ends one each time it leaves a page with a live event stream open, so a node's
//! terminal filled with false alarms. Here such an end is a debug line; only a failure to accept
//! (out of file descriptors, say) is an error. Shutting down stops accepting, waits for the
//! requests in progress, and after [`SHUTDOWN_GRACE`] drops the connections still open: an event
//! stream lasts as long as its node, and a client that stops reading would otherwise hold the
//! server open for ever.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use warp::filters::BoxedFilter;
use warp::reply::Response;
use warp::{Filter, Reply};

/// How long to wait after a failed accept (such as running out of file descriptors) before
/// trying again, so that a persistent failure does not spin.
const ACCEPT_RETRY: Duration = Duration::from_secs(1);

/// How long a shutdown waits for the responses in progress before dropping their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Binds `addr` and serves `routes` on it, each request logged under `chain_web`, until
/// `shutdown` completes. Returns the bound address (useful with port 0) and the server task.
pub(crate) async fn serve(
    addr: SocketAddr,
    routes: BoxedFilter<(Response,)>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let routes = routes
        .with(warp::log("chain_web"))
        .map(Reply::into_response)
        .boxed();
    Ok((bound, tokio::spawn(run(listener, routes, shutdown))))
}

async fn run(
    listener: TcpListener,
    routes: BoxedFilter<(Response,)>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut connections = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
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
        let service = hyper_util::service::TowerToHyperService::new(warp::service(routes.clone()));
        let watcher = graceful.watcher();
        // Forget the connections that have ended, so the set holds only open ones.
        while connections.try_join_next().is_some() {}
        connections.spawn(async move {
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let connection = builder
                .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), service)
                .into_owned();
            if let Err(error) = watcher.watch(connection).await {
                tracing::debug!(error, "a connection ended before its response was complete");
            }
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

fn is_client_gone(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    )
}
