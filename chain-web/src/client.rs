//! The typed client of the API: one method per route, each answer read into its
//! [`crate::contract`] type. The CLI and every harness talk to nodes through it, so a change of
//! the contract is a change of their build, not of what they silently read.
//!
//! Blocking (`ureq`): its callers are a command that has nothing else to do meanwhile and
//! harnesses that run one client per thread.

use crate::contract::{
    AccountView, AddPeerBody, Alive, BlockSummary, BlockView, ErrorBody, FeesView, HistoryPage,
    MiningBody, MiningStatus, NodeStatus, PageQuery, PeerAdded, PeerView, PendingView, ProofView,
    Readiness, SubmitBody, Submitted, TxLookup,
};
use chain_core::encode::Encode;
use chain_core::hash::Txid;
use chain_core::tx::Transfer;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Why a call did not give its answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No answer: the node is not there, or the connection failed or timed out. A write may or
    /// may not have been acted on.
    #[error("cannot reach the node at {url}: {reason}")]
    Unreachable {
        /// What was asked.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The API answered with one of its errors.
    #[error("{message} ({code}, {status})")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The API's stable code.
        code: String,
        /// Its explanation.
        message: String,
    },
    /// The answer is not the contract's: not JSON, or not the expected type.
    #[error("the node's answer to {url} is not understood ({status}): {reason}")]
    Unexpected {
        /// What was asked.
        url: String,
        /// HTTP status.
        status: u16,
        /// What did not fit.
        reason: String,
    },
}

impl ClientError {
    /// The API's error code, when the API refused.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the API said the thing asked for does not exist (404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Refused { status: 404, .. })
    }
}

/// How long a call may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A client of one node's API.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Client {
    /// A client of the API at `base` (`http://127.0.0.1:8080`), with the operator's token if
    /// given (sent on writes only), each call at most `timeout`.
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        Self {
            base: base.trim_end_matches('/').to_string(),
            token,
            agent,
        }
    }

    /// The API's base address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET /api/v1/status`.
    ///
    /// # Errors
    ///
    /// Every method: [`ClientError::Unreachable`] without an answer, [`ClientError::Refused`]
    /// for the API's errors, [`ClientError::Unexpected`] for an answer outside the contract.
    pub fn status(&self) -> Result<NodeStatus, ClientError> {
        self.get("/api/v1/status", &[])
    }

    /// `GET /readyz`: the readiness whether ready (200) or not (503).
    ///
    /// # Errors
    ///
    /// As [`Client::status`].
    pub fn readiness(&self) -> Result<Readiness, ClientError> {
        let url = format!("{}/readyz", self.base);
        let (status, text) = self.text(&url, self.agent.get(&url).call())?;
        // 503 (not ready) carries a readiness too, not an error.
        match status {
            200 | 503 => parse(&url, status, &text),
            _ => Err(refusal(&url, status, &text)),
        }
    }

    /// `GET /healthz`.
    ///
    /// # Errors
    ///
    /// As [`Client::status`].
    pub fn alive(&self) -> Result<Alive, ClientError> {
        self.get("/healthz", &[])
    }

    /// `GET /api/v1/blocks`: the newest blocks (below `before` when given).
    ///
    /// # Errors
    ///
    /// As [`Client::status`].
    pub fn blocks(&self, page: &PageQuery) -> Result<Vec<BlockSummary>, ClientError> {
        self.get("/api/v1/blocks", &page_query(page))
    }

    /// `GET /api/v1/blocks/{id}`: a block by height or hash.
    ///
    /// # Errors
    ///
    /// As [`Client::status`] (404 for an unknown block).
    pub fn block(&self, id: &str) -> Result<BlockView, ClientError> {
        self.get(&format!("/api/v1/blocks/{id}"), &[])
    }

    /// `GET /api/v1/transfers/{txid}`.
    ///
    /// # Errors
    ///
    /// As [`Client::status`] (404 for an unknown transfer).
    pub fn transfer(&self, txid: &Txid) -> Result<TxLookup, ClientError> {
        self.get(&format!("/api/v1/transfers/{txid}"), &[])
    }

    /// `GET /api/v1/transfers/{txid}/proof`.
    ///
    /// # Errors
    ///
    /// As [`Client::status`] (404 for a transfer not confirmed).
    pub fn proof(&self, txid: &Txid) -> Result<ProofView, ClientError> {
        self.get(&format!("/api/v1/transfers/{txid}/proof"), &[])
    }

    /// `GET /api/v1/addresses/{address}`.
    ///
    /// # Errors
    ///
    /// As [`Client::status`].
    pub fn account(&self, address: &str) -> Result<AccountView, ClientError> {
        self.get(&format!("/api/v1/addresses/{address}"), &[])
    }

    /// `GET /api/v1/addresses/{address}/history`.
    ///
    /// # Errors
    ///
    /// As [`Client::status`].
    pub fn history(&self, address: &str, page: &PageQuery) -> Result<HistoryPage, ClientError> {
        self.get(
            &format!("/api/v1/addresses/{address}/history"),
            &page_query(page),
        )
    }

    /// `GET /api/v1/mempool`.
    ///
    /// # Errors
    ///
    /// As [`Client::status`].
    pub fn mempool(&self) -> Result<Vec<PendingView>, ClientError> {
        self.get("/api/v1/mempool", &[])
    }

    /// `GET /api/v1/fees`.
    ///
    /// # Errors
    ///
    /// As [`Client::status`].
    pub fn fees(&self) -> Result<FeesView, ClientError> {
        self.get("/api/v1/fees", &[])
    }

    /// `GET /api/v1/peers`.
    ///
    /// # Errors
    ///
    /// As [`Client::status`].
    pub fn peers(&self) -> Result<Vec<PeerView>, ClientError> {
        self.get("/api/v1/peers", &[])
    }

    /// `POST /api/v1/peers` (the operator's): dial `peer` (`host:port`).
    ///
    /// # Errors
    ///
    /// As [`Client::status`].
    pub fn add_peer(&self, peer: &str) -> Result<PeerAdded, ClientError> {
        self.post(
            "/api/v1/peers",
            &AddPeerBody {
                peer: peer.to_string(),
            },
        )
    }

    /// `POST /api/v1/transfers`: broadcast a signed transfer (open to anyone).
    ///
    /// # Errors
    ///
    /// As [`Client::status`]; a refusal of the transfer is [`ClientError::Refused`] with the
    /// mempool's code (`insufficient_balance`, `nonce_used`, `duplicate`, ...).
    pub fn submit(&self, transfer: &Transfer) -> Result<Submitted, ClientError> {
        self.post(
            "/api/v1/transfers",
            &SubmitBody {
                transfer: chain_core::hash::to_hex(&transfer.to_bytes()),
            },
        )
    }

    /// `POST /api/v1/mining` (the operator's): start or stop the node's miner.
    ///
    /// # Errors
    ///
    /// As [`Client::status`].
    pub fn set_mining(&self, body: &MiningBody) -> Result<MiningStatus, ClientError> {
        self.post("/api/v1/mining", body)
    }

    fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url);
        for (name, value) in query {
            request = request.query(*name, value);
        }
        self.read(&url, request.call())
    }

    fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.post(&url);
        if let Some(token) = &self.token {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        self.read(&url, request.send_json(body))
    }

    /// The status and body text of an answer.
    fn text(
        &self,
        url: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<(u16, String), ClientError> {
        let unreachable = |error: ureq::Error| ClientError::Unreachable {
            url: url.to_string(),
            reason: error.to_string(),
        };
        let mut response = response.map_err(unreachable)?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(unreachable)?;
        Ok((status, text))
    }

    fn read<T: DeserializeOwned>(
        &self,
        url: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ClientError> {
        let (status, text) = self.text(url, response)?;
        if status >= 400 {
            return Err(refusal(url, status, &text));
        }
        parse(url, status, &text)
    }
}

/// The API's error answer, or [`ClientError::Unexpected`] when it is not one.
fn refusal(url: &str, status: u16, text: &str) -> ClientError {
    match parse::<ErrorBody>(url, status, text) {
        Ok(error) => ClientError::Refused {
            status,
            code: error.code,
            message: error.message,
        },
        Err(unexpected) => unexpected,
    }
}

fn parse<T: DeserializeOwned>(url: &str, status: u16, text: &str) -> Result<T, ClientError> {
    serde_json::from_str(text).map_err(|e| ClientError::Unexpected {
        url: url.to_string(),
        status,
        reason: e.to_string(),
    })
}

fn page_query(page: &PageQuery) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if let Some(before) = &page.before {
        query.push(("before", before.clone()));
    }
    if let Some(limit) = page.limit {
        query.push(("limit", limit.to_string()));
    }
    query
}
