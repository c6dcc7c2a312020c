//! The few JSON API calls the harness makes to a node (`chain-web/src/openapi.json`), blocking,
//! each with a short timeout: a node may be dead, restarting or cut off at any moment, and the
//! harness must move on rather than wait.

use super::Error;
use chain_core::hash::{BlockHash, Txid};
use chain_core::units::{Amount, Height};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

/// How long one call may take before the node counts as not answering.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// What `GET /status` says (the part the harness reads).
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Status {
    /// Tip height.
    pub height: Height,
    /// Tip hash.
    pub tip: BlockHash,
    /// Connected peers.
    pub peers: usize,
    /// Pending transfers.
    pub mempool_transfers: usize,
}

/// What `GET /addresses/{a}` says (the part the harness reads).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Account {
    /// Confirmed balance.
    pub balance: Amount,
    /// Transfers confirmed from it.
    pub nonce: u64,
}

/// A block of a node's chain, as far as the harness reads it (`GET /blocks/{id}`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ChainBlock {
    /// Its hash.
    pub hash: BlockHash,
    /// Its height.
    pub height: Height,
    /// Its parent.
    pub prev_hash: BlockHash,
    /// Whether it is in the node's best chain.
    pub in_best_chain: bool,
    /// Its transactions, coinbase first.
    pub txs: Vec<ChainTx>,
}

/// A transaction of a [`ChainBlock`].
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ChainTx {
    /// Its id.
    pub txid: Txid,
}

/// Where a node holds a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxState {
    /// Not known to the node (404).
    Unknown,
    /// In its mempool.
    Pending,
    /// In its best chain.
    Confirmed {
        /// The block.
        block: BlockHash,
        /// Its height.
        height: Height,
    },
}

/// How a node answered a submitted transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// Accepted into the mempool, or already there, or already confirmed (its nonce is used:
    /// the harness never signs two transfers with one nonce, so that is this transfer).
    Accepted,
    /// Refused for now (balance, nonce gap, ...): it may be offered again elsewhere.
    Refused {
        /// The API's error code.
        code: String,
    },
}

/// A client of one node's API.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

impl Api {
    /// A client of the API at `base` (`http://127.0.0.1:port`), with the node's token if known.
    pub fn new(base: String, token: Option<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(CALL_TIMEOUT))
            .build()
            .into();
        Self { base, token, agent }
    }

    /// The API's base address.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/{path}", self.base)
    }

    /// `GET` a path: the status code and the JSON body.
    fn get(&self, path: &str) -> Result<(u16, Value), Error> {
        let mut response = self
            .agent
            .get(&self.url(path))
            .call()
            .map_err(|e| Error::new(format!("GET {}: {e}", self.url(path))))?;
        self.answer("GET", path, &mut response)
    }

    /// The status and JSON body of an answer to `method path`.
    fn answer(
        &self,
        method: &str,
        path: &str,
        response: &mut ureq::http::Response<ureq::Body>,
    ) -> Result<(u16, Value), Error> {
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_json()
            .map_err(|e| Error::new(format!("{method} {}: not JSON: {e}", self.url(path))))?;
        Ok((status, body))
    }

    fn post(&self, path: &str, body: &Value) -> Result<(u16, Value), Error> {
        let mut request = self.agent.post(&self.url(path));
        if let Some(token) = &self.token {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        let mut response = request
            .send_json(body)
            .map_err(|e| Error::new(format!("POST {}: {e}", self.url(path))))?;
        self.answer("POST", path, &mut response)
    }

    fn ok<T: for<'de> Deserialize<'de>>(&self, path: &str) -> Result<T, Error> {
        let (status, body) = self.get(path)?;
        if status != 200 {
            return Err(Error::new(format!(
                "GET {}: {status} {body}",
                self.url(path)
            )));
        }
        serde_json::from_value(body)
            .map_err(|e| Error::new(format!("GET {}: unexpected answer: {e}", self.url(path))))
    }

    /// `GET /status`.
    ///
    /// # Errors
    ///
    /// If the node does not answer, or answers something else than a status.
    pub fn status(&self) -> Result<Status, Error> {
        self.ok("status")
    }

    /// `GET /addresses/{address}`.
    ///
    /// # Errors
    ///
    /// As [`Api::status`].
    pub fn account(&self, address: &str) -> Result<Account, Error> {
        self.ok(&format!("addresses/{address}"))
    }

    /// `GET /transfers/{txid}`.
    ///
    /// # Errors
    ///
    /// As [`Api::status`].
    pub fn transfer(&self, txid: &Txid) -> Result<TxState, Error> {
        let path = format!("transfers/{txid}");
        let (status, body) = self.get(&path)?;
        match status {
            404 => Ok(TxState::Unknown),
            200 => tx_state(&body["status"]).ok_or_else(|| {
                Error::new(format!("GET {}: unexpected answer {body}", self.url(&path)))
            }),
            _ => Err(Error::new(format!(
                "GET {}: {status} {body}",
                self.url(&path)
            ))),
        }
    }

    /// `GET /blocks/{hash}` (`None`: the node does not know the block).
    ///
    /// # Errors
    ///
    /// As [`Api::status`].
    pub fn block(&self, hash: &BlockHash) -> Result<Option<ChainBlock>, Error> {
        let path = format!("blocks/{hash}");
        let (status, body) = self.get(&path)?;
        match status {
            404 => Ok(None),
            200 => serde_json::from_value(body).map(Some).map_err(|e| {
                Error::new(format!("GET {}: unexpected answer: {e}", self.url(&path)))
            }),
            _ => Err(Error::new(format!(
                "GET {}: {status} {body}",
                self.url(&path)
            ))),
        }
    }

    /// Whether the node has the block in its best chain (`None`: it does not know the block).
    ///
    /// # Errors
    ///
    /// As [`Api::status`].
    pub fn in_best_chain(&self, block: &BlockHash) -> Result<Option<bool>, Error> {
        Ok(self.block(block)?.map(|b| b.in_best_chain))
    }

    /// `POST /transfers` with a signed transfer's canonical encoding.
    ///
    /// # Errors
    ///
    /// If the node does not answer (the transfer may or may not have been taken), or answers
    /// with an error that is not a refusal of the transfer (a bad token, a malformed body).
    pub fn submit(&self, encoded: &[u8]) -> Result<Submitted, Error> {
        let hex = chain_core::hash::to_hex(encoded);
        let (status, body) = self.post("transfers", &json!({ "transfer": hex }))?;
        let code = body["code"].as_str().unwrap_or_default().to_string();
        Ok(match (status, code.as_str()) {
            (202, _) | (409, _) | (_, "duplicate" | "nonce_used") => Submitted::Accepted,
            (422, _) => Submitted::Refused { code },
            _ => {
                return Err(Error::new(format!(
                    "POST {}: {status} {body}",
                    self.url("transfers")
                )));
            }
        })
    }

    /// `POST /mining`: start (to `address`, on one thread) or stop.
    ///
    /// # Errors
    ///
    /// If the node does not answer or refuses.
    pub fn set_mining(&self, address: Option<&str>) -> Result<(), Error> {
        let body = match address {
            Some(address) => json!({ "enabled": true, "address": address, "threads": 1 }),
            None => json!({ "enabled": false }),
        };
        let (status, answer) = self.post("mining", &body)?;
        if status != 200 {
            return Err(Error::new(format!(
                "POST {}: {status} {answer}",
                self.url("mining")
            )));
        }
        Ok(())
    }
}

/// Reads the `status` object of a transfer lookup.
fn tx_state(status: &Value) -> Option<TxState> {
    match status["state"].as_str()? {
        "pending" => Some(TxState::Pending),
        "confirmed" => Some(TxState::Confirmed {
            block: status["block"].as_str()?.parse().ok()?,
            height: Height(status["height"].as_u64()?),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfers_state_is_read_from_the_apis_answer() {
        let block = BlockHash([7; 32]);
        assert_eq!(
            tx_state(&json!({ "state": "pending" })),
            Some(TxState::Pending)
        );
        assert_eq!(
            tx_state(&json!({
                "state": "confirmed", "block": block.to_string(), "height": 12, "confirmations": 1
            })),
            Some(TxState::Confirmed {
                block,
                height: Height(12)
            })
        );
        assert_eq!(
            tx_state(&json!({ "state": "confirmed", "block": "xx" })),
            None
        );
        assert_eq!(tx_state(&json!({})), None);
    }

    #[test]
    fn a_node_that_does_not_listen_is_an_error_not_a_hang() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let api = Api::new(format!("http://127.0.0.1:{port}"), None);
        let started = std::time::Instant::now();
        assert!(api.status().is_err());
        assert!(started.elapsed() < CALL_TIMEOUT + Duration::from_secs(1));
    }
}
