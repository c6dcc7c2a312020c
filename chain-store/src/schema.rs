//! The tables, their versions, and the checks made before a file is touched.
//!
//! The schema version is SQLite's `user_version` (in the file header, so it can be read before
//! any table, and written in the same transaction as the migration it records). Migrations are
//! a list: version `n` is reached by running the `n`-th script, each in one transaction together
//! with the new `user_version`, so a crash mid-migration leaves the old version intact. The
//! `meta` table repeats the version for people reading the file with the `sqlite3` shell, and
//! records the network and genesis hash the database was created for.
//!
//! A file is checked in this order, with reads only, and refused with the first reason found:
//! not SQLite (or damaged) → another program's (its `application_id`) → a newer schema → another
//! network. Only then is anything written (WAL mode, migrations).
//!
//! Table design, for speed at a large chain:
//! - small rows keyed by what they are looked up by are `WITHOUT ROWID` tables (one B-tree
//!   search per read); blobs that may be large (block bodies, undo records) stay in rowid
//!   tables, which handle overflow pages better;
//! - `chain_work` is a 32-byte big-endian blob, so SQLite's byte comparison orders it as a
//!   number and `heavier_than` is an index range scan;
//! - the txid index stores `(height, index)` only: it covers the best chain, whose block at a
//!   height is one join away in `main_chain`, which saves 32 bytes per transaction;
//! - `history` is keyed by `(address, height, idx)`, so a page is a backward range scan of the
//!   primary key from the cursor: its cost does not depend on the chain's or the address's length.

use crate::error::{Error, corrupt};
use chain_core::params::ChainParams;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Transaction};
use std::path::Path;

/// The `application_id` of our databases ("CHNS"): tells a chain database from any other SQLite
/// file.
pub const APPLICATION_ID: i32 = 0x4348_4e53;

/// Migration scripts; the script at position `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, crate::index::MIGRATION];

/// The schema version this program writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

const V1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE blocks (
    hash       BLOB PRIMARY KEY,
    prev_hash  BLOB NOT NULL,
    height     INTEGER NOT NULL,
    chain_work BLOB NOT NULL,
    status     INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    header     BLOB NOT NULL
) WITHOUT ROWID;
CREATE INDEX blocks_by_prev ON blocks (prev_hash, seq);
CREATE INDEX blocks_by_work ON blocks (chain_work);
CREATE INDEX blocks_by_seq ON blocks (seq);

CREATE TABLE bodies (
    hash BLOB PRIMARY KEY NOT NULL,
    data BLOB NOT NULL
);

CREATE TABLE main_chain (
    height INTEGER PRIMARY KEY,
    hash   BLOB NOT NULL
);

CREATE TABLE accounts (
    address BLOB PRIMARY KEY,
    balance INTEGER NOT NULL,
    nonce   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE undo (
    hash BLOB PRIMARY KEY NOT NULL,
    data BLOB NOT NULL
);

CREATE TABLE txs (
    txid   BLOB PRIMARY KEY,
    height INTEGER NOT NULL,
    idx    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE history (
    address BLOB NOT NULL,
    height  INTEGER NOT NULL,
    idx     INTEGER NOT NULL,
    txid    BLOB NOT NULL,
    PRIMARY KEY (address, height, idx)
) WITHOUT ROWID;

CREATE TABLE pending (
    txid BLOB PRIMARY KEY,
    data BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE peers (
    address   TEXT PRIMARY KEY,
    last_seen INTEGER NOT NULL,
    ban_until INTEGER NOT NULL
) WITHOUT ROWID;
";

/// What the header and `meta` of an existing file say.
struct Found {
    application_id: i32,
    version: i64,
    tables: i64,
}

/// Reads the header fields and counts tables: the first reads of a file, so a file that is not
/// SQLite fails here, before anything is written.
fn probe(conn: &Connection, path: &Path) -> Result<Found, Error> {
    let read = || -> rusqlite::Result<Found> {
        Ok(Found {
            application_id: conn.query_row("PRAGMA application_id", [], |r| r.get(0))?,
            version: conn.query_row("PRAGMA user_version", [], |r| r.get(0))?,
            tables: conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?,
        })
    };
    read().map_err(|source| match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => Error::NotADatabase {
            path: path.to_path_buf(),
            source,
        },
        _ => Error::Sqlite(source),
    })
}

/// Whether the file needs creating; refuses, without writing, a file that is not ours, newer
/// than us, or of another network.
pub(crate) fn check(conn: &Connection, path: &Path, params: &ChainParams) -> Result<bool, Error> {
    let found = probe(conn, path)?;
    if found.application_id == 0 && found.version == 0 && found.tables == 0 {
        return Ok(true);
    }
    if found.application_id != APPLICATION_ID {
        return Err(Error::ForeignDatabase {
            path: path.to_path_buf(),
            application_id: found.application_id,
        });
    }
    let version = u32::try_from(found.version)
        .map_err(|_| corrupt(format!("schema version {}", found.version)))?;
    if version > SCHEMA_VERSION {
        return Err(Error::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version == 0 {
        return Err(corrupt("a chain database without a schema version"));
    }
    let network = meta(conn, "network")?;
    let genesis = meta(conn, "genesis")?;
    let expected_genesis = params.genesis_hash().to_string();
    if network != params.name || genesis != expected_genesis {
        return Err(Error::WrongNetwork {
            path: path.to_path_buf(),
            expected: params.name.to_string(),
            expected_genesis,
            found: network,
            found_genesis: genesis,
        });
    }
    Ok(false)
}

fn meta(conn: &Connection, key: &str) -> Result<String, Error> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?
        .ok_or_else(|| corrupt(format!("meta entry `{key}` is missing")))
}

/// Brings the schema to [`SCHEMA_VERSION`], one transaction per step; a new database also gets
/// its application id, network and genesis hash in the first step.
pub(crate) fn migrate(
    conn: &mut Connection,
    params: &ChainParams,
    create: bool,
) -> Result<(), Error> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (from, script) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let to = from as u32 + 1;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(script)?;
        if create && from == 0 {
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
            set_meta(&tx, "network", params.name)?;
            set_meta(&tx, "genesis", &params.genesis_hash().to_string())?;
        }
        set_meta(&tx, "schema_version", &to.to_string())?;
        tx.pragma_update(None, "user_version", to)?;
        tx.commit()?;
    }
    Ok(())
}

fn set_meta(tx: &Transaction<'_>, key: &str, value: &str) -> Result<(), Error> {
    tx.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
        [key, value],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_database_gets_the_latest_schema_and_its_network() {
        let mut conn = Connection::open_in_memory().unwrap();
        let params = ChainParams::regtest();
        let path = Path::new(":memory:");
        assert!(check(&conn, path, &params).unwrap());
        migrate(&mut conn, &params, true).unwrap();
        assert!(!check(&conn, path, &params).unwrap());
        assert_eq!(
            meta(&conn, "schema_version").unwrap(),
            SCHEMA_VERSION.to_string()
        );
        assert!(matches!(
            check(&conn, path, &ChainParams::devnet()),
            Err(Error::WrongNetwork { .. })
        ));
    }

    /// The page query must be a range search of the primary key, not a scan: its cost must not
    /// grow with the chain.
    #[test]
    fn history_pages_and_hot_lookups_use_indexes() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &ChainParams::regtest(), true).unwrap();
        let plan = |sql: &str| -> String {
            let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
            let rows = stmt
                .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
                .unwrap()
                .map(|r| r.unwrap())
                .collect::<Vec<_>>();
            rows.join(" | ")
        };
        let page = plan(crate::read::HISTORY_PAGE_SQL);
        assert!(
            page.contains("SEARCH history USING PRIMARY KEY (address=? AND"),
            "{page}"
        );
        assert!(!page.contains("TEMP B-TREE"), "{page}");
        let first = plan(crate::read::HISTORY_FIRST_PAGE_SQL);
        assert!(
            first.contains("SEARCH history USING PRIMARY KEY (address=?)"),
            "{first}"
        );
        assert!(!first.contains("TEMP B-TREE"), "{first}");
        let heavier = plan(crate::read::HEAVIER_SQL);
        assert!(heavier.contains("blocks_by_work"), "{heavier}");
        let children = plan(crate::read::CHILDREN_SQL);
        assert!(children.contains("blocks_by_prev"), "{children}");
        let seq = plan(crate::read::MAX_SEQ_SQL);
        assert!(seq.contains("blocks_by_seq"), "{seq}");
        let tip = plan(crate::read::TIP_SQL);
        assert!(
            !tip.contains("TEMP B-TREE") && tip.contains("SCAN main_chain"),
            "{tip}"
        );
    }
}
