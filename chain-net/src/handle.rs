//! [`NodeHandle`]: the cloneable way to talk to a running node. Every call is a message to the
//! core thread with a reply channel, so handles never touch the store and never block the
//! runtime.

use crate::command::Command;
use crate::core::{BlockRef, Input, MiningConfig};
use crate::error::NetError;
use crate::node::Shared;
use crate::views::*;
use chain_core::address::Address;
use chain_core::error::MempoolError;
use chain_core::hash::Txid;
use chain_core::params::ChainParams;
use chain_core::protocol::NodeEvent;
use chain_core::store::HistoryCursor;
use chain_core::tx::Transfer;
use chain_core::units::Height;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc, oneshot};

/// The core thread and the signal it sends when it has closed the store.
type CoreThread = (oneshot::Receiver<()>, std::thread::JoinHandle<()>);

/// A handle to a running node. Clone it freely; [`NodeHandle::shutdown`] stops the node for
/// every clone.
#[derive(Clone)]
pub struct NodeHandle {
    inputs: mpsc::Sender<Input>,
    events: broadcast::Sender<NodeEvent>,
    shared: Shared,
    stopped: Arc<Mutex<Option<CoreThread>>>,
    listen: Option<SocketAddr>,
    params: ChainParams,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("listen", &self.listen)
            .finish_non_exhaustive()
    }
}

impl NodeHandle {
    pub(crate) fn new(
        inputs: mpsc::Sender<Input>,
        events: broadcast::Sender<NodeEvent>,
        shared: Shared,
        stopped: oneshot::Receiver<()>,
        thread: std::thread::JoinHandle<()>,
        listen: Option<SocketAddr>,
        params: ChainParams,
    ) -> Self {
        Self {
            inputs,
            events,
            shared,
            stopped: Arc::new(Mutex::new(Some((stopped, thread)))),
            listen,
            params,
        }
    }

    /// Where the node listens for peers.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.listen
    }

    /// The network's parameters.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// What the node has done so far: blocks and signatures checked, the CPU time of the
    /// signature checks, signatures the cache spared, store batches (for benchmarks and
    /// diagnostics).
    pub fn counters(&self) -> crate::NodeCounters {
        let mut counters = self.shared.counters.snapshot();
        counters.signature_cache = self.shared.signatures.stats();
        counters
    }

    /// Events from now on: new blocks, reorganisations, transfers, peers, sync progress.
    ///
    /// The receiver does not close when the node stops (every handle can still subscribe); a
    /// subscriber that should end with the node also waits for [`NodeHandle::stopping`].
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// Completes once the node has been told to stop (by [`NodeHandle::shutdown`] from any
    /// clone), or at once if it already has.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + use<> {
        self.shared.shutdown.clone().cancelled_owned()
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NetError> {
        let (reply, answer) = oneshot::channel();
        self.inputs
            .send(Input::Command(make(reply)))
            .await
            .map_err(|_| NetError::Stopped)?;
        answer.await.map_err(|_| NetError::Stopped)
    }

    async fn ask_core<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, chain_core::Error>>) -> Command,
    ) -> Result<T, NetError> {
        Ok(self.ask(make).await??)
    }

    /// The node's status.
    ///
    /// # Errors
    ///
    /// [`NetError::Stopped`] once the node has stopped (likewise for every query).
    pub async fn status(&self) -> Result<NodeStatus, NetError> {
        self.ask(Command::Status).await
    }

    /// Submits a signed transfer: `Ok(Ok(txid))` if the mempool took it (it is then announced
    /// to peers), `Ok(Err(reason))` if it refused it.
    ///
    /// # Errors
    ///
    /// [`NetError::Stopped`], or a store failure.
    pub async fn submit_transfer(
        &self,
        transfer: Transfer,
    ) -> Result<Result<Txid, MempoolError>, NetError> {
        self.ask_core(|reply| Command::SubmitTransfer(transfer, reply))
            .await
    }

    /// A block by hash.
    #[allow(clippy::missing_errors_doc)]
    pub async fn block_by_hash(
        &self,
        hash: chain_core::hash::BlockHash,
    ) -> Result<Option<BlockView>, NetError> {
        self.ask_core(|reply| Command::Block(BlockRef::Hash(hash), reply))
            .await
    }

    /// A block of the best chain by height.
    #[allow(clippy::missing_errors_doc)]
    pub async fn block_at(&self, height: Height) -> Result<Option<BlockView>, NetError> {
        self.ask_core(|reply| Command::Block(BlockRef::Height(height), reply))
            .await
    }

    /// Up to `limit` (at most 100) best-chain blocks below `before` (or from the tip), newest first.
    #[allow(clippy::missing_errors_doc)]
    pub async fn blocks(
        &self,
        before: Option<Height>,
        limit: usize,
    ) -> Result<Vec<BlockSummary>, NetError> {
        self.ask_core(|reply| Command::Blocks {
            before,
            limit,
            reply,
        })
        .await
    }

    /// A transaction, pending or confirmed.
    #[allow(clippy::missing_errors_doc)]
    pub async fn transfer(&self, txid: Txid) -> Result<Option<TxLookup>, NetError> {
        self.ask_core(|reply| Command::Transfer(txid, reply)).await
    }

    /// A merkle proof that a confirmed transaction is in its block.
    #[allow(clippy::missing_errors_doc)]
    pub async fn proof(&self, txid: Txid) -> Result<Option<ProofView>, NetError> {
        self.ask_core(|reply| Command::Proof(txid, reply)).await
    }

    /// An address's balance, nonce and pending flows.
    #[allow(clippy::missing_errors_doc)]
    pub async fn account(&self, address: Address) -> Result<AccountView, NetError> {
        self.ask_core(|reply| Command::Account(address, reply))
            .await
    }

    /// A page of an address's history, newest first.
    #[allow(clippy::missing_errors_doc)]
    pub async fn history(
        &self,
        address: Address,
        before: Option<HistoryCursor>,
        limit: usize,
    ) -> Result<HistoryPage, NetError> {
        self.ask_core(|reply| Command::History {
            address,
            before,
            limit,
            reply,
        })
        .await
    }

    /// Pending transfers, highest fee rate first.
    #[allow(clippy::missing_errors_doc)]
    pub async fn mempool(&self) -> Result<Vec<PendingView>, NetError> {
        self.ask(Command::Mempool).await
    }

    /// What a transfer should pay now, read from the mempool.
    #[allow(clippy::missing_errors_doc)]
    pub async fn fees(&self) -> Result<FeesView, NetError> {
        self.ask(Command::Fees).await
    }

    /// Connected peers.
    #[allow(clippy::missing_errors_doc)]
    pub async fn peers(&self) -> Result<Vec<PeerView>, NetError> {
        self.ask(Command::Peers).await
    }

    /// Connects to a peer (and remembers its address).
    #[allow(clippy::missing_errors_doc)]
    pub async fn add_peer(&self, addr: SocketAddr) -> Result<(), NetError> {
        self.inputs
            .send(Input::Command(Command::AddPeer(addr)))
            .await
            .map_err(|_| NetError::Stopped)
    }

    /// Starts mining with `config`, or stops with `None`.
    #[allow(clippy::missing_errors_doc)]
    pub async fn set_mining(&self, config: Option<MiningConfig>) -> Result<(), NetError> {
        self.ask(|reply| Command::SetMining(config, reply)).await
    }

    /// Stops the node: mining threads end, connections close, every task finishes, the store is
    /// closed. Returns when all of that is done. Calling it again is harmless.
    pub async fn shutdown(&self) {
        let (reply, _) = oneshot::channel();
        let _ = self
            .inputs
            .send(Input::Command(Command::Shutdown(reply)))
            .await;
        self.shared.shutdown.cancel();
        let stopped = self.stopped.lock().ok().and_then(|mut s| s.take());
        if let Some((stopped, thread)) = stopped {
            let _ = stopped.await;
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        self.shared.tracker.close();
        self.shared.tracker.wait().await;
        let checkers = self.shared.checkers.clone();
        let _ = tokio::task::spawn_blocking(move || checkers.stop()).await;
    }
}
