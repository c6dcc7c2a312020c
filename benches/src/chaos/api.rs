//! The few JSON API calls the harness makes to a node, through the API's typed client
//! (`chain_web::client`), each with a short timeout: a node may be dead, restarting or cut off
//! at any moment, and the harness must move on rather than wait.

use super::Error;
use chain_core::hash::{BlockHash, Txid};
use chain_core::tx::Transfer;
use chain_core::units::Height;
use chain_web::client::{Client, ClientError};
use chain_web::contract::{AccountView, BlockView, MiningBody, NodeStatus, TxStatus};
use std::time::Duration;

/// How long one call may take before the node counts as not answering.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(3);

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

/// A client of one node's API: the typed client, its answers read as the harness needs them.
#[derive(Debug, Clone)]
pub struct Api {
    client: Client,
}

fn failed(error: ClientError) -> Error {
    Error::new(error.to_string())
}

impl Api {
    /// A client of the API at `base` (`http://127.0.0.1:port`), with the node's token if known.
    pub fn new(base: String, token: Option<String>) -> Self {
        Self {
            client: Client::new(&base, token, CALL_TIMEOUT),
        }
    }

    /// The API's base address.
    pub fn base(&self) -> &str {
        self.client.base()
    }

    /// `GET /status`.
    ///
    /// # Errors
    ///
    /// If the node does not answer, or answers something else than a status.
    pub fn status(&self) -> Result<NodeStatus, Error> {
        self.client.status().map_err(failed)
    }

    /// `GET /addresses/{address}`.
    ///
    /// # Errors
    ///
    /// As [`Api::status`].
    pub fn account(&self, address: &str) -> Result<AccountView, Error> {
        self.client.account(address).map_err(failed)
    }

    /// `GET /transfers/{txid}`.
    ///
    /// # Errors
    ///
    /// As [`Api::status`].
    pub fn transfer(&self, txid: &Txid) -> Result<TxState, Error> {
        match self.client.transfer(txid) {
            Ok(lookup) => Ok(tx_state(&lookup.status)),
            Err(error) if error.is_not_found() => Ok(TxState::Unknown),
            Err(error) => Err(failed(error)),
        }
    }

    /// `GET /blocks/{hash}` (`None`: the node does not know the block).
    ///
    /// # Errors
    ///
    /// As [`Api::status`].
    pub fn block(&self, hash: &BlockHash) -> Result<Option<BlockView>, Error> {
        match self.client.block(&hash.to_string()) {
            Ok(block) => Ok(Some(block)),
            Err(error) if error.is_not_found() => Ok(None),
            Err(error) => Err(failed(error)),
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

    /// `POST /transfers` with a signed transfer.
    ///
    /// # Errors
    ///
    /// If the node does not answer (the transfer may or may not have been taken), or answers
    /// with an error that is not a refusal of the transfer (a bad token, a malformed body).
    pub fn submit(&self, transfer: &Transfer) -> Result<Submitted, Error> {
        match self.client.submit(transfer) {
            Ok(_) => Ok(Submitted::Accepted),
            Err(ClientError::Refused { status, code, .. }) => match (status, code.as_str()) {
                (409, _) | (_, "duplicate" | "nonce_used") => Ok(Submitted::Accepted),
                (422, _) => Ok(Submitted::Refused { code }),
                _ => Err(Error::new(format!(
                    "POST {}/api/v1/transfers: {status} {code}",
                    self.base()
                ))),
            },
            Err(error) => Err(failed(error)),
        }
    }

    /// `POST /mining`: start (to `address`, on one thread) or stop.
    ///
    /// # Errors
    ///
    /// If the node does not answer or refuses.
    pub fn set_mining(&self, address: Option<&str>) -> Result<(), Error> {
        let body = MiningBody {
            enabled: address.is_some(),
            address: address.map(str::to_string),
            threads: address.map(|_| 1),
        };
        self.client.set_mining(&body).map(|_| ()).map_err(failed)
    }
}

/// Where a transfer lookup says it is.
fn tx_state(status: &TxStatus) -> TxState {
    match status {
        TxStatus::Pending => TxState::Pending,
        TxStatus::Confirmed { block, height, .. } => TxState::Confirmed {
            block: *block,
            height: *height,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfers_state_is_read_from_the_apis_answer() {
        let block = BlockHash([7; 32]);
        assert_eq!(tx_state(&TxStatus::Pending), TxState::Pending);
        assert_eq!(
            tx_state(&TxStatus::Confirmed {
                block,
                height: Height(12),
                confirmations: 1
            }),
            TxState::Confirmed {
                block,
                height: Height(12)
            }
        );
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
