//! [`SqliteStore`]: one SQLite connection, set up for a node's chain database (durability,
//! threads and memory are explained on the type).

use crate::checkpoint::Checkpointer;
use crate::error::Error;
use crate::schema;
use chain_core::params::ChainParams;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How hard commits push data to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: a committed write survives a power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: a committed write survives a process crash; a power loss may roll
    /// back the last writes (the database stays consistent).
    Normal,
}

/// Settings of an opened store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// How commits are synced.
    pub durability: Durability,
    /// SQLite's page cache limit in KiB.
    pub cache_kib: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            cache_kib: 4 * 1024,
        }
    }
}

impl StoreOptions {
    /// The settings of a node's chain database (the CLI's nodes, the sync harness):
    /// `synchronous=NORMAL`, since the chain can always be rebuilt from peers and WAL stays
    /// atomic and survives a killed process; and a 64 MiB page cache, so that the B-tree pages
    /// a sync keeps inserting into stay in memory (with 4 MiB, reading them back through the
    /// kernel took a third of the core thread's time during a sync).
    pub fn node() -> Self {
        Self {
            durability: Durability::Normal,
            cache_kib: 64 * 1024,
        }
    }
}

/// How long a write waits for another connection's lock (a query tool reading the same file)
/// before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Distinct statements this crate prepares; the cache holds all of them and no more.
const STATEMENT_CACHE: usize = 48;

/// WAL size kept on disk after a checkpoint.
const JOURNAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

/// The chain store on SQLite. See the [crate documentation](crate) for the layout.
///
/// # Durability
///
/// The database runs in WAL mode with `synchronous=FULL` by default: every committed
/// transaction (a block stored, connected or disconnected) is synced to disk before the write
/// returns, so a committed block survives a process crash *and* a power loss or kernel panic. With
/// `synchronous=NORMAL` a process crash loses nothing either (the WAL is in the OS page cache), but
/// a power loss can roll back the transactions since the last checkpoint. Either way the database
/// is consistent after any crash: each write of the [`chain_core::store::ChainWrite`] trait is
/// one SQLite transaction, or a batch of them is (`begin_batch`/`end_batch`: one commit for a run
/// of blocks).
///
/// FULL costs one `fsync` per commit (about 4 ms on the development machine's disk, see
/// `docs/PERFORMANCE.md`). For a node receiving a block every few seconds that is nothing; for a
/// bulk import or a test suite [`Durability::Normal`] is offered, and is safe as long as the
/// machine itself does not lose power (the chain database can always be rebuilt from peers).
///
/// # Threads
///
/// SQLite calls block. [`SqliteStore`] is `Send` but not `Sync`: it is meant to be owned by one
/// dedicated thread (the node's storage thread) that receives requests over a channel, never to be
/// called from an async runtime's worker threads. This crate has no async code.
///
/// A store on a file also starts a thread of its own, `chain-checkpoint`, with a second
/// connection that copies the WAL back into the database file, so that no commit waits for a
/// checkpoint and its `fsync` (see `src/checkpoint.rs`). Dropping the store stops it.
///
/// # Memory
///
/// Nothing here caches data that grows with the chain: reads go to SQLite, whose page cache is
/// limited by `cache_size` (4 MiB by default, [`StoreOptions::cache_kib`]), and the prepared
/// statement cache holds a fixed set of statements. The operating system's file cache does the
/// rest.
pub struct SqliteStore {
    pub(crate) conn: Connection,
    path: PathBuf,
    /// Whether a batch's transaction is open (see [`chain_core::store::Batches::begin_batch`]).
    pub(crate) in_batch: bool,
    /// Whether a write failed inside the open batch, which must then be rolled back.
    pub(crate) batch_spoiled: bool,
    /// Whether `connect` leaves the lookup indexes to the catch-up (see `index.rs`).
    pub(crate) defer_indexes: bool,
    /// The checkpoint thread of a database file (after `conn`: it stops once `conn` is closed).
    checkpointer: Option<Checkpointer>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // The hook holds a way to wake the checkpoint thread: remove it, so that the thread
        // stops when the checkpointer is dropped.
        let _ = self
            .conn
            .wal_hook(None::<fn(&mut rusqlite::hooks::Wal, i32) -> rusqlite::Result<()>>);
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (or creates) the chain database at `path` for the network `params`, with the
    /// default [`StoreOptions`].
    ///
    /// # Errors
    ///
    /// [`Error::NotADatabase`], [`Error::ForeignDatabase`], [`Error::NewerSchema`] or
    /// [`Error::WrongNetwork`] when the file is refused (it is left unchanged), or a SQLite
    /// failure.
    pub fn open(path: impl AsRef<Path>, params: &ChainParams) -> Result<Self, Error> {
        Self::open_with(path, params, StoreOptions::default())
    }

    /// [`SqliteStore::open`] with explicit options.
    ///
    /// # Errors
    ///
    /// As [`SqliteStore::open`].
    pub fn open_with(
        path: impl AsRef<Path>,
        params: &ChainParams,
        options: StoreOptions,
    ) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&path, flags)?;
        let mut store = Self::init(conn, path, params, options)?;
        store.checkpointer = Some(Checkpointer::start(
            &mut store.conn,
            &store.path,
            options.durability,
            BUSY_TIMEOUT,
        )?);
        Ok(store)
    }

    /// A store that lives in memory only (for tests and throwaway chains).
    ///
    /// # Errors
    ///
    /// A SQLite failure.
    pub fn open_in_memory(params: &ChainParams) -> Result<Self, Error> {
        let conn = Connection::open_in_memory()?;
        Self::init(
            conn,
            PathBuf::from(":memory:"),
            params,
            StoreOptions::default(),
        )
    }

    fn init(
        mut conn: Connection,
        path: PathBuf,
        params: &ChainParams,
        options: StoreOptions,
    ) -> Result<Self, Error> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Only reads until the file is known to be ours.
        let create = schema::check(&conn, &path, params)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if mode != "wal" && mode != "memory" {
            return Err(Error::Corrupt(format!(
                "cannot switch to WAL mode (got {mode})"
            )));
        }
        let synchronous = match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
        conn.pragma_update(None, "cache_size", -i64::from(options.cache_kib))?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.pragma_update_and_check(None, "journal_size_limit", JOURNAL_SIZE_LIMIT, |_| Ok(()))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        schema::migrate(&mut conn, params, create)?;
        Ok(Self {
            conn,
            path,
            in_batch: false,
            batch_spoiled: false,
            defer_indexes: false,
            checkpointer: None,
        })
    }

    /// Lets the checkpointer finish its copy first when the log is long (see `checkpoint.rs`).
    pub(crate) fn before_transaction(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.before_write(&self.conn);
        }
    }

    /// The database file (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_can_move_to_its_own_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<SqliteStore>();
    }

    #[test]
    fn pragmas_are_set() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            SqliteStore::open(dir.path().join("chain.db"), &ChainParams::regtest()).unwrap();
        let get = |name: &str| -> String {
            store
                .conn
                .query_row(&format!("PRAGMA {name}"), [], |r| {
                    r.get::<_, rusqlite::types::Value>(0)
                })
                .map(|v| format!("{v:?}"))
                .unwrap()
        };
        assert_eq!(get("journal_mode"), "Text(\"wal\")");
        assert_eq!(get("synchronous"), "Integer(2)");
        assert_eq!(get("cache_size"), "Integer(-4096)");
        assert_eq!(
            get("application_id"),
            format!("Integer({})", schema::APPLICATION_ID)
        );
    }
}
