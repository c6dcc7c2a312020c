//! A node of fast regtest parameters on loopback with the whole web app in front of it.

use chain_core::keystore::KdfParams;
use chain_core::miner::mine_reference;
use chain_core::params::ChainParams;
use chain_core::pow::CompactTarget;
use chain_core::store::MemoryStore;
use chain_net::{NodeConfig, NodeHandle};
use chain_web::{ApiState, App, AppOptions, RateQuotas, ServerOptions};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Regtest with a target of about a million hashes: a block every few hundred milliseconds on
/// one thread. (The genesis block is mined once per test process.)
pub fn params() -> ChainParams {
    static PARAMS: OnceLock<ChainParams> = OnceLock::new();
    PARAMS
        .get_or_init(|| {
            let mut params = ChainParams::regtest();
            params.pow_limit = CompactTarget(0x1e0f_ffff);
            params.initial_bits = params.pow_limit;
            let mut header = params.genesis_block().header;
            header.nonce = 0;
            assert!(mine_reference(&mut header, u64::MAX));
            params.genesis_nonce = header.nonce;
            params
        })
        .clone()
}

/// How a [`TestApp`] differs from the defaults.
pub struct Setup<'a> {
    pub token: Option<&'a str>,
    pub server: ServerOptions,
    pub rate_quotas: RateQuotas,
    pub write_quota: Option<u32>,
}

impl Default for Setup<'_> {
    fn default() -> Self {
        Self {
            token: None,
            server: ServerOptions::default(),
            rate_quotas: RateQuotas::default(),
            write_quota: Some(chain_web::api::DEFAULT_WRITES_PER_MINUTE),
        }
    }
}

/// A running node with the web app on a free port.
pub struct TestApp {
    pub runtime: tokio::runtime::Runtime,
    pub node: NodeHandle,
    pub app: App,
    pub url: String,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestApp {
    /// Starts a node (not mining) and the app; the test thread stays free for blocking clients.
    pub fn start() -> Self {
        Self::start_with_token(None)
    }

    /// As [`TestApp::start`], with state-changing API routes needing `Bearer <token>`.
    pub fn start_with_token(token: Option<&str>) -> Self {
        Self::start_with(Setup {
            token,
            ..Setup::default()
        })
    }

    /// As [`TestApp::start`], the server with `server`'s limits and proxy.
    pub fn start_with_server(server: ServerOptions) -> Self {
        Self::start_with(Setup {
            server,
            ..Setup::default()
        })
    }

    /// As [`TestApp::start`], the forms limited to `rate_quotas` per client address.
    pub fn start_with_quotas(rate_quotas: RateQuotas) -> Self {
        Self::start_with(Setup {
            rate_quotas,
            ..Setup::default()
        })
    }

    /// As [`TestApp::start_with_token`], the API's state-changing requests without the token
    /// limited to `per_minute` per client address.
    pub fn start_with_write_quota(token: Option<&str>, per_minute: u32) -> Self {
        Self::start_with(Setup {
            token,
            write_quota: Some(per_minute),
            ..Setup::default()
        })
    }

    /// As [`TestApp::start`], set up as `setup` says.
    pub fn start_with(setup: Setup<'_>) -> Self {
        let Setup {
            token,
            server,
            rate_quotas,
            write_quota,
        } = setup;
        let token: Option<std::sync::Arc<str>> = token.map(Into::into);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_stack_size(4 * 1024 * 1024)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let web_dir = dir.path().join("web");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (node, app, addr) = runtime.block_on(async {
            let mut config = NodeConfig::new(params());
            config.listen = Some("127.0.0.1:0".parse().unwrap());
            config.verify_threads = 1;
            let node = chain_net::start(config, MemoryStore::new()).await.unwrap();
            let api = ApiState::new(node.clone(), token).with_write_quota(write_quota);
            let options = AppOptions {
                password_cost: KdfParams::insecure_for_tests(),
                miner_threads: 1,
                session_ttl: 3600,
                server,
                rate_quotas,
                ..AppOptions::default()
            };
            let app = App::open(api, &web_dir, options).unwrap();
            let shutdown = async move {
                let _ = stopped.await;
            };
            let (addr, _task) =
                chain_web::serve_app(app.clone(), "127.0.0.1:0".parse().unwrap(), shutdown)
                    .await
                    .unwrap();
            (node, app, addr)
        });
        Self {
            runtime,
            node,
            app,
            url: format!("http://{addr}"),
            dir,
            stop: Some(stop),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let (app, node) = (self.app.clone(), self.node.clone());
        self.runtime.block_on(async move {
            app.shutdown().await;
            node.shutdown().await;
        });
    }
}

/// Polls `check` every 100 ms until it returns `Some`, or panics after `secs` seconds.
pub fn wait_for<T>(what: &str, secs: u64, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
