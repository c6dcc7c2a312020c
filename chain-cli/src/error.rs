//! The CLI's errors, each with its own exit code so scripts can tell them apart.

use thiserror::Error;

/// What can go wrong, and the exit code for it.
#[derive(Debug, Error)]
pub enum CliError {
    /// The node's API cannot be reached (exit 3).
    #[error("cannot reach the node at {url}: {reason}")]
    Unreachable {
        /// The API URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The wallet password is wrong (exit 4).
    #[error("wrong password")]
    WrongPassword,
    /// An address does not parse (exit 5).
    #[error("bad address: {0}")]
    BadAddress(String),
    /// The balance cannot pay (exit 6).
    #[error("insufficient balance: {0}")]
    InsufficientBalance(String),
    /// The block, transfer or wallet entry does not exist (exit 7).
    #[error("{0}")]
    NotFound(String),
    /// The node refused the request (exit 8).
    #[error("refused by the node ({code}): {message}")]
    Refused {
        /// The API's error code.
        code: String,
        /// Its message.
        message: String,
    },
    /// Arguments that cannot be used (exit 2, like clap's own errors).
    #[error("{0}")]
    Usage(String),
    /// Anything else (exit 1).
    #[error("{0}")]
    Other(String),
}

impl CliError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Other(_) => 1,
            CliError::Usage(_) => 2,
            CliError::Unreachable { .. } => 3,
            CliError::WrongPassword => 4,
            CliError::BadAddress(_) => 5,
            CliError::InsufficientBalance(_) => 6,
            CliError::NotFound(_) => 7,
            CliError::Refused { .. } => 8,
        }
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        CliError::Other(error.to_string())
    }
}

impl From<chain_web::client::ClientError> for CliError {
    fn from(error: chain_web::client::ClientError) -> Self {
        use chain_web::client::ClientError;
        match error {
            ClientError::Unreachable { url, reason } => CliError::Unreachable { url, reason },
            ClientError::Refused { code, message, .. } => match code.as_str() {
                "not_found" => CliError::NotFound(message),
                "bad_address" => CliError::BadAddress(message),
                "insufficient_balance" => CliError::InsufficientBalance(message),
                _ => CliError::Refused { code, message },
            },
            unexpected @ ClientError::Unexpected { .. } => CliError::Other(unexpected.to_string()),
        }
    }
}
