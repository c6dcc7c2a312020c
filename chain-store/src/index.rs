//! The lookup indexes: where each best-chain transaction sits (`txs`) and each address's
//! history (`history`), for the explorer, receipts and wallets.
//!
//! They cover the best chain from genesis up to a height, with no gaps: `meta`'s
//! `index_next_height` is the first height not in them. Normally `connect` indexes its block in
//! its own transaction and moves that mark on. While the node is far behind (an initial sync) it
//! defers them instead: txids and addresses are random keys, so indexing a batch of blocks one by
//! one touched most pages of both tables in every batch, and cost the core thread more than the
//! blocks' own rows (`docs/PERFORMANCE.md`, Sync). [`SqliteStore::catch_up`] then indexes many
//! blocks per transaction with their rows sorted by key, so that each page is written once per
//! run. A block connected while the indexes are behind is left to the catch-up too, which keeps
//! the no-gap rule; disconnecting an indexed block removes its entries and moves the mark back.
//! Every change of the mark is in the same transaction as the rows it accounts for.

use crate::error::{Error, corrupt};
use crate::row::{self, to_sql_int};
use crate::store::SqliteStore;
use chain_core::address::Address;
use chain_core::block::Block;
use chain_core::hash::{BlockHash, Txid};
use chain_core::store::touched_addresses;
use rusqlite::{Connection, OptionalExtension, params};

const NEXT_KEY: &str = "index_next_height";
const NEXT_SQL: &str = "SELECT value FROM meta WHERE key = 'index_next_height'";
const SET_NEXT_SQL: &str =
    "INSERT OR REPLACE INTO meta (key, value) VALUES ('index_next_height', ?1)";
const PUT_TX_SQL: &str = "INSERT OR REPLACE INTO txs (txid, height, idx) VALUES (?1, ?2, ?3)";
const DELETE_TX_SQL: &str = "DELETE FROM txs WHERE txid = ?1";
const PUT_HISTORY_SQL: &str =
    "INSERT OR REPLACE INTO history (address, height, idx, txid) VALUES (?1, ?2, ?3, ?4)";
const DELETE_HISTORY_SQL: &str =
    "DELETE FROM history WHERE address = ?1 AND height = ?2 AND idx = ?3";
const BLOCKS_FROM_SQL: &str = "SELECT m.height, m.hash, b.data FROM main_chain AS m \
     JOIN bodies AS b ON b.hash = m.hash WHERE m.height >= ?1 ORDER BY m.height";

/// The migration that adds the mark to a database whose indexes are complete.
pub(crate) const MIGRATION: &str = "INSERT OR REPLACE INTO meta (key, value) \
     SELECT 'index_next_height', CAST(COALESCE(MAX(height) + 1, 0) AS TEXT) FROM main_chain;";

/// The first best-chain height not in the indexes.
pub(crate) fn next_height(conn: &Connection) -> Result<u64, Error> {
    let text: Option<String> = conn
        .prepare_cached(NEXT_SQL)?
        .query_row([], |r| r.get(0))
        .optional()?;
    let text = text.ok_or_else(|| corrupt(format!("meta entry `{NEXT_KEY}` is missing")))?;
    text.parse()
        .map_err(|_| corrupt(format!("meta entry `{NEXT_KEY}` is {text:?}")))
}

fn set_next_height(conn: &Connection, height: u64) -> Result<(), Error> {
    conn.prepare_cached(SET_NEXT_SQL)?
        .execute([height.to_string()])?;
    Ok(())
}

/// One `txs` row.
type TxRow = (Txid, i64, i64);
/// One `history` row.
type HistoryRow = (Address, i64, i64, Txid);

/// Appends the rows of the block at `height`.
fn rows_of(block: &Block, height: i64, txs: &mut Vec<TxRow>, history: &mut Vec<HistoryRow>) {
    for (index, transaction) in block.txs.iter().enumerate() {
        let txid = transaction.txid();
        let index = index as i64;
        txs.push((txid, height, index));
        for address in touched_addresses(transaction) {
            history.push((address, height, index, txid));
        }
    }
}

fn insert(conn: &Connection, txs: &[TxRow], history: &[HistoryRow]) -> Result<(), Error> {
    let mut put_tx = conn.prepare_cached(PUT_TX_SQL)?;
    for (txid, height, index) in txs {
        put_tx.execute(params![&txid.0[..], height, index])?;
    }
    let mut put_history = conn.prepare_cached(PUT_HISTORY_SQL)?;
    for (address, height, index, txid) in history {
        put_history.execute(params![&address.0[..], height, index, &txid.0[..]])?;
    }
    Ok(())
}

/// The index part of connecting the block at `height`: indexes it if the indexes reach its
/// parent and are not deferred; otherwise leaves it to the catch-up.
pub(crate) fn on_connect(
    conn: &Connection,
    height: u64,
    block: &Block,
    deferred: bool,
) -> Result<(), Error> {
    if deferred || next_height(conn)? != height {
        return Ok(());
    }
    let (mut txs, mut history) = (Vec::new(), Vec::new());
    rows_of(block, to_sql_int(height, "height")?, &mut txs, &mut history);
    insert(conn, &txs, &history)?;
    set_next_height(conn, height + 1)
}

/// The index part of disconnecting the tip block at `height`: removes its entries if it was
/// indexed.
pub(crate) fn on_disconnect(conn: &Connection, height: u64, block: &Block) -> Result<(), Error> {
    if next_height(conn)? <= height {
        return Ok(());
    }
    let (mut txs, mut history) = (Vec::new(), Vec::new());
    rows_of(block, to_sql_int(height, "height")?, &mut txs, &mut history);
    let mut delete_tx = conn.prepare_cached(DELETE_TX_SQL)?;
    for (txid, _, _) in &txs {
        delete_tx.execute([&txid.0[..]])?;
    }
    let mut delete_history = conn.prepare_cached(DELETE_HISTORY_SQL)?;
    for (address, height, index, _) in &history {
        delete_history.execute(params![&address.0[..], height, index])?;
    }
    set_next_height(conn, height)
}

impl SqliteStore {
    /// Indexes the best-chain blocks above the mark, whole blocks, until at least
    /// `max_transactions` rows of `txs` are added or the tip is reached, in one transaction.
    /// Answers whether blocks remain.
    pub(crate) fn catch_up(&mut self, max_transactions: usize) -> Result<bool, Error> {
        let tx = self.begin()?;
        let next = next_height(&tx)?;
        let (mut txs, mut history) = (Vec::new(), Vec::new());
        let mut indexed_to = None;
        let mut more = false;
        {
            let mut blocks = tx.prepare_cached(BLOCKS_FROM_SQL)?;
            let mut rows = blocks.query([to_sql_int(next, "height")?])?;
            while let Some(row) = rows.next()? {
                if txs.len() >= max_transactions.max(1) {
                    more = true;
                    break;
                }
                let height = row::height(row, 0, "main chain height")?;
                let hash = BlockHash(row::array(row, 1, "main chain hash")?);
                let expected = indexed_to.map_or(next, |h: u64| h + 1);
                if height.0 != expected {
                    return Err(corrupt(format!(
                        "main chain: found height {height} where {expected} was expected \
                         (a gap in main_chain, or a block without its body)"
                    )));
                }
                let block = row::block_body(row::blob(row, 2, "block body")?, &hash)?;
                rows_of(
                    &block,
                    to_sql_int(height.0, "height")?,
                    &mut txs,
                    &mut history,
                );
                indexed_to = Some(height.0);
            }
        }
        let Some(last) = indexed_to else {
            return Ok(false);
        };
        // Sorted by key, the rows go into each B-tree page in one pass.
        txs.sort_unstable_by_key(|row| row.0);
        history.sort_unstable_by_key(|row| (row.0, row.1, row.2));
        insert(&tx, &txs, &history)?;
        set_next_height(&tx, last + 1)?;
        tx.commit()?;
        Ok(more)
    }

    /// The highest indexed height, `None` if none is.
    pub(crate) fn read_indexed_height(&self) -> Result<Option<u64>, Error> {
        Ok(next_height(&self.conn)?.checked_sub(1))
    }
}
