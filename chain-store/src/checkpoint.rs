//! WAL checkpoints, mostly on their own thread.
//!
//! In WAL mode a commit appends pages to the write-ahead log; a checkpoint copies them back into
//! the database file and syncs it (under `synchronous=FULL` and `NORMAL` alike). SQLite's
//! automatic checkpoint runs inside the commit that takes the log past 1,000 pages, so that
//! commit waits for the copy and the `fsync`s: during a sync, where every batch of blocks passes
//! the mark, the node's core thread spent most of its commit time there (88 ms a batch of about
//! 120 blocks on the development machine, against 12 ms without).
//!
//! Here the writing connection's WAL hook only wakes a thread that runs a `PASSIVE` checkpoint on
//! a connection of its own: it copies and syncs what the writer committed, never blocking it.
//! The log is reused from its start only when a write transaction begins with every frame
//! copied, which a busy writer (a batch begins as the last commits) never sees. So once the log
//! holds [`RESTART_PAGES`], the writer, before its next transaction, waits for the thread's
//! checkpoint under way and copies the rest itself (the frames of its last commit or two): the
//! log then starts over, and stays bounded. Crash safety is SQLite's own: a checkpoint can stop
//! at any point.

use crate::error::Error;
use crate::store::Durability;
use rusqlite::{Connection, OpenFlags};
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Log pages after a commit that wake the checkpoint thread (16 MiB of 4 KiB pages; SQLite's
/// own threshold is 1,000 pages, but here waiting longer costs the writer nothing, and a page
/// changed by several batches is copied once).
const CHECKPOINT_PAGES: i32 = 4_000;

/// Log pages after which the writer makes the log start over before its next transaction: 64 MiB,
/// the size the log file is cut back to (`journal_size_limit`).
const RESTART_PAGES: i32 = 4 * CHECKPOINT_PAGES;

/// The checkpoint thread of one store. Dropping it (after the writing connection's hook is
/// gone) stops the thread and waits for it.
pub(crate) struct Checkpointer {
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Pages in the log after the last commit, as the hook saw them.
    log_pages: Arc<AtomicI32>,
    /// Held by whoever checkpoints, so the writer can wait for the thread's checkpoint.
    running: Arc<Mutex<()>>,
}

impl Checkpointer {
    /// Opens a second connection to the database at `path` and starts the thread; installs the
    /// hook on the writing connection `writer` (it replaces SQLite's automatic checkpoint).
    pub(crate) fn start(
        writer: &mut Connection,
        path: &Path,
        durability: Durability,
        busy_timeout: Duration,
    ) -> Result<Self, Error> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(busy_timeout)?;
        // The checkpointing connection's setting decides how the checkpoint syncs.
        let synchronous = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous)?;
        let running = Arc::new(Mutex::new(()));
        let log_pages = Arc::new(AtomicI32::new(0));
        let (wake, woken) = sync_channel(1);
        let thread = {
            let running = running.clone();
            std::thread::Builder::new()
                .name("chain-checkpoint".into())
                .spawn(move || run(&conn, &woken, &running))
                .map_err(Error::Thread)?
        };
        let hook_wake = wake.clone();
        let hook_pages = log_pages.clone();
        writer.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: i32| {
            hook_pages.store(pages, Ordering::Relaxed);
            if pages >= CHECKPOINT_PAGES {
                // Never waits: a wake-up already pending covers this commit too.
                let _ = hook_wake.try_send(());
            }
            Ok(())
        }))?;
        Ok(Self {
            wake: Some(wake),
            thread: Some(thread),
            log_pages,
            running,
        })
    }

    /// Called by the writer before a transaction of its own (not inside one): once the log is
    /// long, finishes the copy so that the transaction starts the log over.
    pub(crate) fn before_write(&self, writer: &Connection) {
        if self.log_pages.load(Ordering::Relaxed) < RESTART_PAGES {
            return;
        }
        let _running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        // A failure (a reader outside this program holding old frames) leaves the log as it
        // is; the next transaction tries again.
        let _ = writer.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        self.log_pages.store(0, Ordering::Relaxed);
    }
}

/// Checkpoints each time it is woken, until every sender is gone.
fn run(conn: &Connection, woken: &Receiver<()>, running: &Mutex<()>) {
    while woken.recv().is_ok() {
        let _running = running.lock().unwrap_or_else(|e| e.into_inner());
        // A failure (the database busy) only delays the copy: the next commit past the mark
        // wakes the thread again.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.wake = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
