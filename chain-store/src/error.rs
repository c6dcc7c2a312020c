//! The crate's one error enum. Opening a database says precisely why it refuses a file (not a
//! database, another program's, a newer schema, another network), because the person reading the
//! message has to decide what to do with their data directory. Everything found wrong *inside* an
//! opened database is [`Error::Corrupt`], which becomes the core's [`StoreError::Corrupt`].

use chain_core::error::StoreError;
use std::path::PathBuf;
use thiserror::Error;

/// Why the SQLite store failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The file is not a SQLite database, or is damaged beyond opening. Nothing was written.
    #[error("{path}: not a chain database (not SQLite, or damaged): {source}")]
    NotADatabase {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A SQLite database, but another program's. Nothing was written.
    #[error("{path}: a SQLite database of another program (application id {application_id:#x})")]
    ForeignDatabase {
        /// The file.
        path: PathBuf,
        /// Its application id (ours is [`crate::APPLICATION_ID`]).
        application_id: i32,
    },
    /// A chain database written by a newer version of this program. Nothing was written.
    #[error(
        "{path}: schema version {found} is newer than the {supported} this program knows; \
         run a newer version"
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// The database's schema version.
        found: u32,
        /// The newest version this program can use.
        supported: u32,
    },
    /// A chain database of another network. Nothing was written.
    #[error(
        "{path}: holds the {found} chain (genesis {found_genesis}), not {expected} \
         (genesis {expected_genesis})"
    )]
    WrongNetwork {
        /// The file.
        path: PathBuf,
        /// The network asked for.
        expected: String,
        /// Its genesis hash.
        expected_genesis: String,
        /// The network the database holds.
        found: String,
        /// The genesis hash recorded in it.
        found_genesis: String,
    },
    /// Data inside the database is missing, out of range or does not decode.
    #[error("chain database is inconsistent: {0}")]
    Corrupt(String),
    /// SQLite failed (I/O, a full disk, a lock held too long).
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A write inside a batch failed earlier, so the batch was rolled back as a whole.
    #[error("a write of the batch failed; the whole batch was rolled back")]
    BatchRolledBack,
    /// A file could not be created.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The store's checkpoint thread could not be started.
    #[error("cannot start the checkpoint thread: {0}")]
    Thread(#[source] std::io::Error),
}

impl From<Error> for StoreError {
    fn from(error: Error) -> Self {
        match error {
            Error::Corrupt(what) => StoreError::Corrupt(what),
            other => StoreError::Backend(Box::new(other)),
        }
    }
}

/// A [`Error::Corrupt`] from anything printable.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Corrupt(what.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupt_maps_to_the_cores_corrupt_and_the_rest_to_backend() {
        let mapped: StoreError = corrupt("body of block 00").into();
        assert!(matches!(mapped, StoreError::Corrupt(ref s) if s == "body of block 00"));
        let mapped: StoreError = Error::Sqlite(rusqlite::Error::InvalidQuery).into();
        assert!(matches!(mapped, StoreError::Backend(_)));
    }
}
