//! [`ChainWrite`] on SQLite: each method is one transaction, so a crash at any instant leaves
//! either all of a write or none of it.
//!
//! Between `begin_batch` and `end_batch` the writes share one transaction instead, which commits
//! once: a crash keeps all of the batch or none of it, and never part of one write. A write that
//! fails inside a batch may have left part of itself in the transaction, so it spoils the batch:
//! `end_batch` then rolls the whole batch back and reports the failure. (Savepoints would let the
//! rest of the batch commit, but they copy every page a write touches first, which cost a fifth
//! of the core thread's time during a sync.)
//!
//! `connect` and `disconnect` check that they extend or shorten the best chain at its tip (the
//! core never asks otherwise; if it did, writing would damage the store). Statements are
//! prepared once per connection and reused across a block's rows, so a block of a thousand
//! transfers costs a few thousand B-tree updates and one commit.

use crate::error::{Error, corrupt};
use crate::index;
use crate::row::{STATUS_INVALID, status_to_int, to_bits64, to_sql_int};
use crate::store::SqliteStore;
use chain_core::block::Block;
use chain_core::encode::Encode;
use chain_core::error::StoreError;
use chain_core::hash::{BlockHash, Txid};
use chain_core::state::AccountEntry;
use chain_core::store::{
    Batches, BlockMeta, BlockStatus, ChainWrite, ConnectBlock, DisconnectBlock, IndexWrite,
    PendingWrite,
};
use chain_core::tx::Transfer;
use rusqlite::{Connection, Transaction, TransactionBehavior, params};

const PUT_BLOCK_SQL: &str = "INSERT OR REPLACE INTO blocks \
     (hash, prev_hash, height, chain_work, status, seq, header) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
const PUT_BODY_SQL: &str = "INSERT OR REPLACE INTO bodies (hash, data) VALUES (?1, ?2)";
const SET_STATUS_SQL: &str = "UPDATE blocks SET status = ?2 WHERE hash = ?1";
const UPSERT_ACCOUNT_SQL: &str =
    "INSERT OR REPLACE INTO accounts (address, balance, nonce) VALUES (?1, ?2, ?3)";
const DELETE_ACCOUNT_SQL: &str = "DELETE FROM accounts WHERE address = ?1";
const PUT_UNDO_SQL: &str = "INSERT OR REPLACE INTO undo (hash, data) VALUES (?1, ?2)";
const DELETE_UNDO_SQL: &str = "DELETE FROM undo WHERE hash = ?1";
const PUSH_MAIN_SQL: &str = "INSERT INTO main_chain (height, hash) VALUES (?1, ?2)";
const POP_MAIN_SQL: &str = "DELETE FROM main_chain WHERE height = ?1";
const PUT_PENDING_SQL: &str = "INSERT OR REPLACE INTO pending (txid, data) VALUES (?1, ?2)";
const DELETE_PENDING_SQL: &str = "DELETE FROM pending WHERE txid = ?1";

/// One write: a transaction of its own, or part of the open batch's transaction.
pub(crate) enum Write<'a> {
    Alone(Transaction<'a>),
    InBatch(&'a Connection),
}

impl std::ops::Deref for Write<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        match self {
            Write::Alone(tx) => tx,
            Write::InBatch(conn) => conn,
        }
    }
}

impl Write<'_> {
    /// Makes the write part of the database (or leaves it in the batch). Dropping a write of
    /// its own instead rolls it back.
    pub(crate) fn commit(self) -> Result<(), Error> {
        match self {
            Write::Alone(tx) => tx.commit()?,
            Write::InBatch(_) => {}
        }
        Ok(())
    }
}

impl SqliteStore {
    /// Starts a write: a transaction taking the write lock at once (so a busy database fails
    /// here and not halfway through), or inside a batch the batch's transaction.
    pub(crate) fn begin(&mut self) -> Result<Write<'_>, Error> {
        if self.in_batch {
            Ok(Write::InBatch(&self.conn))
        } else {
            self.before_transaction();
            Ok(Write::Alone(self.conn.transaction_with_behavior(
                TransactionBehavior::Immediate,
            )?))
        }
    }

    fn start_batch(&mut self) -> Result<(), Error> {
        if !self.in_batch {
            self.before_transaction();
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.in_batch = true;
        }
        Ok(())
    }

    fn commit_batch(&mut self) -> Result<(), Error> {
        if !self.in_batch {
            return Ok(());
        }
        self.in_batch = false;
        if std::mem::take(&mut self.batch_spoiled) {
            self.conn.execute_batch("ROLLBACK")?;
            return Err(Error::BatchRolledBack);
        }
        if let Err(error) = self.conn.execute_batch("COMMIT") {
            // Leave no transaction open: the batch is lost as a whole, never in part.
            if !self.conn.is_autocommit() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            return Err(error.into());
        }
        Ok(())
    }

    fn write_block(&mut self, meta: &BlockMeta, block: &Block) -> Result<(), Error> {
        let tx = self.begin()?;
        tx.prepare_cached(PUT_BLOCK_SQL)?.execute(params![
            &meta.hash.0[..],
            &meta.header.prev_hash.0[..],
            to_sql_int(meta.height.0, "height")?,
            &meta.chain_work.to_be_bytes()[..],
            status_to_int(meta.status),
            to_sql_int(meta.seq, "seq")?,
            &meta.header.to_array()[..],
        ])?;
        tx.prepare_cached(PUT_BODY_SQL)?
            .execute(params![&meta.hash.0[..], block.to_bytes()])?;
        tx.commit()?;
        Ok(())
    }

    fn write_invalid(&mut self, hashes: &[BlockHash]) -> Result<(), Error> {
        let tx = self.begin()?;
        {
            let mut mark = tx.prepare_cached(SET_STATUS_SQL)?;
            for hash in hashes {
                mark.execute(params![&hash.0[..], STATUS_INVALID])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn write_connect(&mut self, change: ConnectBlock<'_>) -> Result<(), Error> {
        let meta = change.meta;
        let height = to_sql_int(meta.height.0, "height")?;
        let defer_indexes = self.defer_indexes;
        let tx = self.begin()?;
        match Self::tip_row(&tx)? {
            None if meta.height.0 == 0 => {}
            Some((tip, hash)) if tip + 1 == meta.height.0 && hash == meta.header.prev_hash => {}
            tip => {
                return Err(corrupt(format!(
                    "connect of block {} at height {} whose parent is not the tip {tip:?}",
                    meta.hash, meta.height
                )));
            }
        }
        write_accounts(&tx, change.accounts)?;
        tx.prepare_cached(PUT_UNDO_SQL)?
            .execute(params![&meta.hash.0[..], change.undo.to_bytes()])?;
        index::on_connect(&tx, meta.height.0, change.block, defer_indexes)?;
        tx.prepare_cached(PUSH_MAIN_SQL)?
            .execute(params![height, &meta.hash.0[..]])?;
        tx.prepare_cached(SET_STATUS_SQL)?
            .execute(params![&meta.hash.0[..], status_to_int(BlockStatus::Valid)])?;
        tx.commit()?;
        Ok(())
    }

    fn write_disconnect(&mut self, change: DisconnectBlock<'_>) -> Result<(), Error> {
        let meta = change.meta;
        let height = to_sql_int(meta.height.0, "height")?;
        let tx = self.begin()?;
        if Self::tip_row(&tx)? != Some((meta.height.0, meta.hash)) {
            return Err(corrupt(format!(
                "disconnect of block {} at height {}, which is not the tip",
                meta.hash, meta.height
            )));
        }
        write_accounts(&tx, &change.undo.accounts)?;
        tx.prepare_cached(DELETE_UNDO_SQL)?
            .execute([&meta.hash.0[..]])?;
        index::on_disconnect(&tx, meta.height.0, change.block)?;
        tx.prepare_cached(POP_MAIN_SQL)?.execute([height])?;
        tx.commit()?;
        Ok(())
    }

    fn write_pending(&mut self, transfers: &[Transfer]) -> Result<(), Error> {
        if transfers.is_empty() {
            return Ok(());
        }
        let tx = self.begin()?;
        {
            let mut put = tx.prepare_cached(PUT_PENDING_SQL)?;
            for transfer in transfers {
                put.execute(params![&transfer.txid().0[..], transfer.to_bytes()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn delete_pending(&mut self, txids: &[Txid]) -> Result<(), Error> {
        if txids.is_empty() {
            return Ok(());
        }
        let tx = self.begin()?;
        {
            let mut delete = tx.prepare_cached(DELETE_PENDING_SQL)?;
            for txid in txids {
                delete.execute([&txid.0[..]])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// Writes account states; the empty account is deleted (absent and empty are the same).
pub(crate) fn write_accounts(tx: &Connection, entries: &[AccountEntry]) -> Result<(), Error> {
    let mut upsert = tx.prepare_cached(UPSERT_ACCOUNT_SQL)?;
    let mut delete = tx.prepare_cached(DELETE_ACCOUNT_SQL)?;
    for entry in entries {
        if entry.account.is_empty() {
            delete.execute([&entry.address.0[..]])?;
        } else {
            upsert.execute(params![
                &entry.address.0[..],
                to_bits64(entry.account.balance.0),
                to_bits64(entry.account.nonce),
            ])?;
        }
    }
    Ok(())
}

impl SqliteStore {
    /// Passes a write's result on; a failure inside a batch spoils the batch.
    pub(crate) fn watch<T>(&mut self, result: Result<T, Error>) -> Result<T, StoreError> {
        if result.is_err() && self.in_batch {
            self.batch_spoiled = true;
        }
        Ok(result?)
    }
}

impl ChainWrite for SqliteStore {
    fn put_block(&mut self, meta: &BlockMeta, block: &Block) -> Result<(), StoreError> {
        let result = self.write_block(meta, block);
        self.watch(result)
    }

    fn mark_invalid(&mut self, hashes: &[BlockHash]) -> Result<(), StoreError> {
        let result = self.write_invalid(hashes);
        self.watch(result)
    }

    fn connect(&mut self, change: ConnectBlock<'_>) -> Result<(), StoreError> {
        let result = self.write_connect(change);
        self.watch(result)
    }

    fn disconnect(&mut self, change: DisconnectBlock<'_>) -> Result<(), StoreError> {
        let result = self.write_disconnect(change);
        self.watch(result)
    }
}

impl IndexWrite for SqliteStore {
    fn defer_indexes(&mut self, defer: bool) {
        self.defer_indexes = defer;
    }

    fn catch_up_indexes(&mut self, max_transactions: usize) -> Result<bool, StoreError> {
        let result = self.catch_up(max_transactions);
        self.watch(result)
    }
}

impl Batches for SqliteStore {
    fn begin_batch(&mut self) -> Result<(), StoreError> {
        Ok(self.start_batch()?)
    }

    fn end_batch(&mut self) -> Result<(), StoreError> {
        Ok(self.commit_batch()?)
    }
}

impl PendingWrite for SqliteStore {
    fn put_pending(&mut self, transfers: &[Transfer]) -> Result<(), StoreError> {
        let result = self.write_pending(transfers);
        self.watch(result)
    }

    fn remove_pending(&mut self, txids: &[Txid]) -> Result<(), StoreError> {
        let result = self.delete_pending(txids);
        self.watch(result)
    }
}
