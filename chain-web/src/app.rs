//! [`App`]: the whole web application (pages, API, user database, user miners) and
//! [`serve_app`], the one entry point that serves it.

use crate::api::ApiState;
use crate::miners::MinerManager;
use chain_core::address::Address;
use chain_core::keystore::KdfParams;
use chain_store::UserStore;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use warp::http::{HeaderMap, HeaderValue};
use warp::{Filter, Reply};

/// The content security policy of every answer: scripts, styles and everything else only from
/// this server (no inline script), no framing, forms only to this server.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/// Settings of the web application.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Argon2id cost of password hashes and of the keys' encryption (the default outside tests).
    pub password_cost: KdfParams,
    /// Mining threads of each user miner.
    pub miner_threads: usize,
    /// User miners running at once, at most.
    pub max_user_miners: usize,
    /// How long a session lasts, in seconds.
    pub session_ttl: u64,
    /// The HTTP server's connection limits and trusted proxy.
    pub server: crate::ServerOptions,
    /// Requests per client address on the login, register and send forms.
    pub rate_quotas: crate::RateQuotas,
    /// Argon2 runs (register, log in, send) at once and waiting.
    pub kdf_limits: crate::KdfLimits,
    /// The largest fee the send form takes without asking (a fee above the amount is always
    /// asked about).
    pub max_fee: chain_core::units::Amount,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            password_cost: KdfParams::default(),
            miner_threads: 1,
            max_user_miners: 8,
            session_ttl: 12 * 60 * 60,
            server: crate::ServerOptions::default(),
            rate_quotas: crate::RateQuotas::default(),
            kdf_limits: crate::KdfLimits::default(),
            max_fee: chain_core::fees::DEFAULT_MAX_FEE,
        }
    }
}

/// Why the application cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    /// The web data directory cannot be created.
    #[error("cannot create {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The user database is refused or fails.
    #[error("user database {path}: {source}")]
    Users {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<chain_store::Error>,
    },
}

/// The web application's state: the node, the API token, the user database and the user
/// miners. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub(crate) api: ApiState,
    pub(crate) users: Arc<Mutex<UserStore>>,
    pub(crate) miners: MinerManager,
    pub(crate) options: AppOptions,
    pub(crate) limits: crate::throttle::Limits,
    /// Password hashing, run through `kdf` without the user database's lock.
    pub(crate) passwords: chain_store::Passwords,
    pub(crate) kdf: crate::kdf_gate::KdfGate,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("miners", &self.miners)
            .finish_non_exhaustive()
    }
}

impl App {
    /// The application over `api`'s node, with its data (`users.sqlite`, `miners/`) in `web_dir`.
    /// User miners peer with the node's listen address.
    ///
    /// # Errors
    ///
    /// If the directory cannot be created or the user database is refused.
    pub fn open(api: ApiState, web_dir: &Path, options: AppOptions) -> Result<Self, WebError> {
        // The user database and the user miners' keys live here: the owner's alone.
        chain_store::private::create_dir(web_dir).map_err(|source| WebError::Io {
            path: web_dir.to_path_buf(),
            source,
        })?;
        let path = web_dir.join("users.sqlite");
        let users =
            UserStore::open(&path, options.password_cost).map_err(|source| WebError::Users {
                path,
                source: Box::new(source),
            })?;
        let passwords = users.passwords().clone();
        let miners = MinerManager::new(
            web_dir.join("miners"),
            api.node.params().clone(),
            api.node.listen_addr(),
            options.miner_threads,
            options.max_user_miners,
        );
        Ok(Self {
            api,
            users: Arc::new(Mutex::new(users)),
            miners,
            limits: crate::throttle::Limits::new(options.rate_quotas),
            passwords,
            kdf: crate::kdf_gate::KdfGate::new(options.kdf_limits),
            options,
        })
    }

    /// The user miners.
    pub fn miners(&self) -> &MinerManager {
        &self.miners
    }

    /// Starts the miner of every user who wants one (after a restart); returns how many run.
    pub async fn restore_miners(&self) -> usize {
        let wanting = self
            .with_users(|users| users.users_wanting_miners())
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "cannot read the users who want miners");
                Vec::new()
            });
        let prefix = self.api.node.params().address_prefix;
        let mut started = 0;
        for user in wanting {
            let Ok(address) = Address::parse(&user.address, prefix) else {
                tracing::error!(user = user.id, "stored address does not parse");
                continue;
            };
            match self
                .miners
                .start(user.id, &user.username, address, user.miner_port)
                .await
            {
                Ok(port) => {
                    started += 1;
                    if Some(port) != user.miner_port {
                        let id = user.id;
                        let _ = self
                            .with_users(move |u| u.set_miner(id, true, Some(port)))
                            .await;
                    }
                }
                Err(e) => tracing::error!(error = %e, "user miner not restarted"),
            }
        }
        started
    }

    /// Stops the user miners.
    pub async fn shutdown(&self) {
        self.miners.shutdown().await;
    }

    /// Runs `f` on the user database on a blocking thread.
    pub(crate) async fn with_users<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut UserStore) -> Result<T, chain_store::UserError> + Send + 'static,
    ) -> Result<T, chain_store::UserError> {
        let users = self.users.clone();
        tokio::task::spawn_blocking(move || {
            let mut users = users
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut users)
        })
        .await
        .unwrap_or_else(|e| {
            Err(chain_store::UserError::Store(chain_store::Error::Corrupt(
                format!("user database task failed: {e}"),
            )))
        })
    }
}

fn security_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
    headers.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    headers
}

/// Every route of the application: `/api/v1/...` (JSON errors) and the pages (HTML errors).
pub fn app_routes(
    app: App,
) -> impl Filter<Extract = (warp::reply::Response,), Error = Infallible> + Clone {
    let api = warp::path::full()
        .and_then(|path: warp::path::FullPath| async move {
            let path = path.as_str();
            if path.starts_with("/api/") || crate::ops::PATHS.contains(&path) {
                Ok(())
            } else {
                Err(warp::reject::not_found())
            }
        })
        .untuple_one()
        .and(crate::json_routes(app.api.clone()))
        .map(Reply::into_response)
        .boxed();
    let pages = crate::pages::routes(app)
        .recover(crate::pages::recover)
        .map(Reply::into_response);
    api.or(pages)
        .unify()
        .with(warp::reply::with::headers(security_headers()))
        .map(Reply::into_response)
}

/// Serves the application (pages and API) on `addr` until `shutdown` completes. Returns the
/// bound address (useful with port 0) and the server task.
///
/// # Errors
///
/// If the address cannot be bound.
pub async fn serve_app(
    app: App,
    addr: SocketAddr,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let options = app.options.server;
    app.api.metrics.follow(&app.api.node);
    let metrics = app.api.metrics.clone();
    let routes = app_routes(app).boxed();
    crate::server::serve(addr, routes, options, metrics, shutdown).await
}
