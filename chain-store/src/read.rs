//! [`ChainRead`] and [`AccountRead`] on SQLite: one cached prepared statement per query, each an
//! index lookup or an index range scan (checked by `schema::tests`).

use crate::error::{Error, corrupt};
use crate::row;
use crate::store::SqliteStore;
use chain_core::address::Address;
use chain_core::block::{Block, Header};
use chain_core::encode::Decode;
use chain_core::error::StoreError;
use chain_core::hash::{BlockHash, Txid};
use chain_core::pow::Work;
use chain_core::state::{Account, AccountRead, BlockUndo};
use chain_core::store::{
    BlockMeta, ChainRead, HistoryCursor, HistoryEntry, IndexRead, PendingRead, TxLocation,
};
use chain_core::tx::Transfer;
use chain_core::units::{Amount, Height};
use rusqlite::{Row, params};

pub(crate) const ACCOUNT_SQL: &str = "SELECT balance, nonce FROM accounts WHERE address = ?1";
pub(crate) const META_SQL: &str =
    "SELECT height, chain_work, status, seq, header FROM blocks WHERE hash = ?1";
pub(crate) const BODY_SQL: &str = "SELECT data FROM bodies WHERE hash = ?1";
pub(crate) const TIP_SQL: &str = "SELECT height, hash FROM main_chain ORDER BY height DESC LIMIT 1";
pub(crate) const HASH_AT_SQL: &str = "SELECT hash FROM main_chain WHERE height = ?1";
pub(crate) const UNDO_SQL: &str = "SELECT data FROM undo WHERE hash = ?1";
pub(crate) const CHILDREN_SQL: &str = "SELECT hash FROM blocks WHERE prev_hash = ?1 ORDER BY seq";
pub(crate) const HEAVIER_SQL: &str = "SELECT height, chain_work, status, seq, header, hash \
     FROM blocks WHERE chain_work > ?1 AND status != 2";
pub(crate) const MAX_SEQ_SQL: &str = "SELECT max(seq) FROM blocks";
pub(crate) const TX_SQL: &str = "SELECT t.height, t.idx, m.hash FROM txs AS t \
     LEFT JOIN main_chain AS m ON m.height = t.height WHERE t.txid = ?1";
pub(crate) const HISTORY_FIRST_PAGE_SQL: &str = "SELECT height, idx, txid FROM history \
     WHERE address = ?1 ORDER BY height DESC, idx DESC LIMIT ?2";
pub(crate) const HISTORY_PAGE_SQL: &str = "SELECT height, idx, txid FROM history \
     WHERE address = ?1 AND (height, idx) < (?2, ?3) ORDER BY height DESC, idx DESC LIMIT ?4";
pub(crate) const PENDING_SQL: &str = "SELECT txid, data FROM pending ORDER BY txid";

/// A block entry from columns `height, chain_work, status, seq, header` at `first`.
fn decode_meta(row: &Row<'_>, first: usize, hash: BlockHash) -> Result<BlockMeta, Error> {
    // The descriptions are formatted only for an error message.
    let header = Header::from_bytes(row::blob(
        row,
        first + 4,
        format_args!("block {hash} header"),
    )?)
    .map_err(|e| corrupt(format!("block {hash} header: {e}")))?;
    if header.hash() != hash {
        return Err(corrupt(format!(
            "block {hash} header: hashes to {}",
            header.hash()
        )));
    }
    Ok(BlockMeta {
        hash,
        header,
        height: row::height(row, first, format_args!("block {hash} height"))?,
        chain_work: Work::from_be_bytes(row::array(
            row,
            first + 1,
            format_args!("block {hash} chain_work"),
        )?),
        status: row::status(row, first + 2, format_args!("block {hash} status"))?,
        seq: row::unsigned(row, first + 3, format_args!("block {hash} seq"))?,
    })
}

impl SqliteStore {
    /// The best chain's tip as `(height, hash)`.
    pub(crate) fn tip_row(conn: &rusqlite::Connection) -> Result<Option<(u64, BlockHash)>, Error> {
        let mut stmt = conn.prepare_cached(TIP_SQL)?;
        let mut rows = stmt.query([])?;
        match rows.next()? {
            Some(row) => Ok(Some((
                row::unsigned(row, 0, "tip height")?,
                BlockHash(row::array(row, 1, "tip hash")?),
            ))),
            None => Ok(None),
        }
    }

    fn read_account(&self, address: &Address) -> Result<Account, Error> {
        let mut stmt = self.conn.prepare_cached(ACCOUNT_SQL)?;
        let mut rows = stmt.query([&address.0[..]])?;
        let Some(row) = rows.next()? else {
            return Ok(Account::default());
        };
        Ok(Account {
            balance: Amount(row::bits64(row, 0, format_args!("account {address}"))?),
            nonce: row::bits64(row, 1, format_args!("account {address}"))?,
        })
    }

    fn read_meta(&self, hash: &BlockHash) -> Result<Option<BlockMeta>, Error> {
        let mut stmt = self.conn.prepare_cached(META_SQL)?;
        let mut rows = stmt.query([&hash.0[..]])?;
        rows.next()?
            .map(|row| decode_meta(row, 0, *hash))
            .transpose()
    }

    fn read_block(&self, hash: &BlockHash) -> Result<Option<Block>, Error> {
        let mut stmt = self.conn.prepare_cached(BODY_SQL)?;
        let mut rows = stmt.query([&hash.0[..]])?;
        let Some(row) = rows.next()? else {
            return Ok(None);
        };
        let bytes = row::blob(row, 0, format_args!("body of block {hash}"))?;
        Ok(Some(row::block_body(bytes, hash)?))
    }

    fn read_hash_at(&self, height: Height) -> Result<Option<BlockHash>, Error> {
        let Ok(height) = i64::try_from(height.0) else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare_cached(HASH_AT_SQL)?;
        let mut rows = stmt.query([height])?;
        rows.next()?
            .map(|row| {
                row::array(row, 0, format_args!("main chain hash at {height}")).map(BlockHash)
            })
            .transpose()
    }

    fn read_undo(&self, hash: &BlockHash) -> Result<Option<BlockUndo>, Error> {
        let mut stmt = self.conn.prepare_cached(UNDO_SQL)?;
        let mut rows = stmt.query([&hash.0[..]])?;
        let Some(row) = rows.next()? else {
            return Ok(None);
        };
        BlockUndo::from_bytes(row::blob(
            row,
            0,
            format_args!("undo record of block {hash}"),
        )?)
        .map(Some)
        .map_err(|e| corrupt(format!("undo record of block {hash}: {e}")))
    }

    fn read_children(&self, hash: &BlockHash) -> Result<Vec<BlockHash>, Error> {
        let mut stmt = self.conn.prepare_cached(CHILDREN_SQL)?;
        let mut rows = stmt.query([&hash.0[..]])?;
        let mut children = Vec::new();
        while let Some(row) = rows.next()? {
            children.push(BlockHash(row::array(
                row,
                0,
                format_args!("child of {hash}"),
            )?));
        }
        Ok(children)
    }

    fn read_heavier(&self, work: Work) -> Result<Vec<BlockMeta>, Error> {
        let mut stmt = self.conn.prepare_cached(HEAVIER_SQL)?;
        let mut rows = stmt.query([&work.to_be_bytes()[..]])?;
        let mut metas = Vec::new();
        while let Some(row) = rows.next()? {
            let hash = BlockHash(row::array(row, 5, "block hash")?);
            metas.push(decode_meta(row, 0, hash)?);
        }
        Ok(metas)
    }

    fn read_max_seq(&self) -> Result<u64, Error> {
        let mut stmt = self.conn.prepare_cached(MAX_SEQ_SQL)?;
        let mut rows = stmt.query([])?;
        match rows.next()? {
            Some(row) if row.get_ref(0)? != rusqlite::types::ValueRef::Null => {
                row::unsigned(row, 0, "max seq")
            }
            _ => Ok(0),
        }
    }

    fn read_tx_location(&self, txid: &Txid) -> Result<Option<TxLocation>, Error> {
        let mut stmt = self.conn.prepare_cached(TX_SQL)?;
        let mut rows = stmt.query([&txid.0[..]])?;
        let Some(row) = rows.next()? else {
            return Ok(None);
        };
        let what = format!("txid index entry {txid}");
        let height = row::height(row, 0, &what)?;
        if row.get_ref(2)? == rusqlite::types::ValueRef::Null {
            return Err(corrupt(format!(
                "{what}: no best-chain block at height {height}"
            )));
        }
        Ok(Some(TxLocation {
            block: BlockHash(row::array(row, 2, &what)?),
            height,
            index: row::index32(row, 1, &what)?,
        }))
    }

    fn read_history(
        &self,
        address: &Address,
        before: Option<HistoryCursor>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt;
        let mut rows = match before {
            None => {
                stmt = self.conn.prepare_cached(HISTORY_FIRST_PAGE_SQL)?;
                stmt.query(params![&address.0[..], limit])?
            }
            Some(cursor) => {
                // A cursor beyond any storable height continues from the newest entry.
                let (height, index) = match i64::try_from(cursor.height.0) {
                    Ok(height) => (height, i64::from(cursor.index)),
                    Err(_) => (i64::MAX, i64::MAX),
                };
                stmt = self.conn.prepare_cached(HISTORY_PAGE_SQL)?;
                stmt.query(params![&address.0[..], height, index, limit])?
            }
        };
        let mut entries = Vec::new();
        while let Some(row) = rows.next()? {
            let what = "history entry";
            entries.push(HistoryEntry {
                height: row::height(row, 0, what)?,
                index: row::index32(row, 1, what)?,
                txid: Txid(row::array(row, 2, what)?),
            });
        }
        Ok(entries)
    }

    fn read_pending(&self) -> Result<Vec<Transfer>, Error> {
        let mut stmt = self.conn.prepare_cached(PENDING_SQL)?;
        let mut rows = stmt.query([])?;
        let mut transfers = Vec::new();
        while let Some(row) = rows.next()? {
            let txid = Txid(row::array(row, 0, "pending txid")?);
            let what = format!("pending transfer {txid}");
            let transfer = Transfer::from_bytes(row::blob(row, 1, &what)?)
                .map_err(|e| corrupt(format!("{what}: {e}")))?;
            if transfer.txid() != txid {
                return Err(corrupt(format!("{what}: holds {}", transfer.txid())));
            }
            transfers.push(transfer);
        }
        Ok(transfers)
    }
}

impl AccountRead for SqliteStore {
    fn account(&self, address: &Address) -> Result<Account, StoreError> {
        Ok(self.read_account(address)?)
    }
}

impl ChainRead for SqliteStore {
    fn meta(&self, hash: &BlockHash) -> Result<Option<BlockMeta>, StoreError> {
        Ok(self.read_meta(hash)?)
    }

    fn block(&self, hash: &BlockHash) -> Result<Option<Block>, StoreError> {
        Ok(self.read_block(hash)?)
    }

    fn tip(&self) -> Result<Option<BlockHash>, StoreError> {
        Ok(Self::tip_row(&self.conn)?.map(|(_, hash)| hash))
    }

    fn hash_at(&self, height: Height) -> Result<Option<BlockHash>, StoreError> {
        Ok(self.read_hash_at(height)?)
    }

    fn undo(&self, hash: &BlockHash) -> Result<Option<BlockUndo>, StoreError> {
        Ok(self.read_undo(hash)?)
    }

    fn children(&self, hash: &BlockHash) -> Result<Vec<BlockHash>, StoreError> {
        Ok(self.read_children(hash)?)
    }

    fn heavier_than(&self, work: Work) -> Result<Vec<BlockMeta>, StoreError> {
        Ok(self.read_heavier(work)?)
    }

    fn max_seq(&self) -> Result<u64, StoreError> {
        Ok(self.read_max_seq()?)
    }
}

impl IndexRead for SqliteStore {
    fn tx_location(&self, txid: &Txid) -> Result<Option<TxLocation>, StoreError> {
        Ok(self.read_tx_location(txid)?)
    }

    fn history(
        &self,
        address: &Address,
        before: Option<HistoryCursor>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        Ok(self.read_history(address, before, limit)?)
    }

    fn indexed_height(&self) -> Result<Option<Height>, StoreError> {
        Ok(self.read_indexed_height()?.map(Height))
    }
}

impl PendingRead for SqliteStore {
    fn pending(&self) -> Result<Vec<Transfer>, StoreError> {
        Ok(self.read_pending()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_core::params::ChainParams;
    use chain_core::store::{BlockStatus, ChainWrite};

    fn work(value: u64, shift_bytes: usize) -> Work {
        let mut bytes = [0u8; 32];
        bytes[24 - shift_bytes..32 - shift_bytes].copy_from_slice(&value.to_be_bytes());
        Work::from_be_bytes(bytes)
    }

    /// Big-endian blobs compare as the numbers they encode, across byte boundaries.
    #[test]
    fn heavier_than_compares_work_as_a_number() {
        let params = ChainParams::regtest();
        let mut store = SqliteStore::open_in_memory(&params).unwrap();
        let genesis = params.genesis_block();
        let works = [work(255, 0), work(256, 0), work(1, 20), work(7, 0)];
        let mut hashes = Vec::new();
        for (i, chain_work) in works.into_iter().enumerate() {
            let mut block = genesis.clone();
            block.header.nonce = i as u64;
            let meta = BlockMeta {
                hash: block.hash(),
                header: block.header,
                height: Height(1),
                chain_work,
                status: if i == 3 {
                    BlockStatus::Invalid
                } else {
                    BlockStatus::Stored
                },
                seq: i as u64,
            };
            store.put_block(&meta, &block).unwrap();
            hashes.push(meta.hash);
        }
        let heavier = |w: Work| {
            let mut found: Vec<BlockHash> = store
                .heavier_than(w)
                .unwrap()
                .into_iter()
                .map(|m| m.hash)
                .collect();
            found.sort();
            found
        };
        let mut expected = vec![hashes[1], hashes[2]];
        expected.sort();
        assert_eq!(heavier(work(255, 0)), expected);
        assert_eq!(heavier(work(256, 0)), vec![hashes[2]]);
        assert_eq!(heavier(work(1, 20)), vec![]);
        // The invalid block (work 7) is never a candidate.
        assert_eq!(heavier(Work::ZERO).len(), 3);
        assert_eq!(store.max_seq().unwrap(), 3);
    }
}
