//! Requests from handles to the core thread, each with the channel its answer comes back on.

use crate::core::{BlockRef, MiningConfig};
use crate::views::*;
use chain_core::address::Address;
use chain_core::error::MempoolError;
use chain_core::hash::Txid;
use chain_core::store::HistoryCursor;
use chain_core::tx::Transfer;
use chain_core::units::Height;
use std::net::SocketAddr;
use tokio::sync::oneshot;

type Reply<T> = oneshot::Sender<Result<T, chain_core::Error>>;

/// A request to the core thread.
#[derive(Debug)]
pub(crate) enum Command {
    Status(oneshot::Sender<NodeStatus>),
    SubmitTransfer(Transfer, Reply<Result<Txid, MempoolError>>),
    Block(BlockRef, Reply<Option<BlockView>>),
    Blocks {
        before: Option<Height>,
        limit: usize,
        reply: Reply<Vec<BlockSummary>>,
    },
    Transfer(Txid, Reply<Option<TxLookup>>),
    Proof(Txid, Reply<Option<ProofView>>),
    Account(Address, Reply<AccountView>),
    History {
        address: Address,
        before: Option<HistoryCursor>,
        limit: usize,
        reply: Reply<HistoryPage>,
    },
    Mempool(oneshot::Sender<Vec<PendingView>>),
    Fees(oneshot::Sender<FeesView>),
    Peers(oneshot::Sender<Vec<PeerView>>),
    AddPeer(SocketAddr),
    SetMining(Option<MiningConfig>, oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}
