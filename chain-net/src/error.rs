//! The errors of the network crate.

use thiserror::Error;

/// Anything that can go wrong starting or talking to a node.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NetError {
    /// The consensus core refused something or its store failed.
    #[error(transparent)]
    Core(#[from] chain_core::Error),
    /// A socket could not be bound or used.
    #[error("network i/o failed: {0}")]
    Io(#[from] std::io::Error),
    /// The node has stopped (its core thread is gone).
    #[error("the node has stopped")]
    Stopped,
}
