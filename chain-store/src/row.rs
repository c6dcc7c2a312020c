//! Reading columns back into the core's types. SQLite is dynamically typed and a file can be
//! damaged, so every column is checked for its type, length and range, and a mismatch is an
//! [`Error::Corrupt`] naming what was being read, never a panic.
//!
//! Integers: SQLite stores signed 64-bit integers. Heights, sequence numbers and block indexes
//! are far below 2^63 and are stored as they are (so they sort). Balances and nonces are `u64`
//! values that never need sorting in SQL, and are stored bit for bit as `i64`.

use crate::error::{Error, corrupt};
use chain_core::block::Block;
use chain_core::encode::Decode;
use chain_core::hash::BlockHash;
use chain_core::store::BlockStatus;
use chain_core::units::Height;
use rusqlite::Row;
use rusqlite::types::ValueRef;

/// A blob column.
pub(crate) fn blob<'r>(
    row: &'r Row<'_>,
    index: usize,
    what: impl std::fmt::Display + Copy,
) -> Result<&'r [u8], Error> {
    match row.get_ref(index)? {
        ValueRef::Blob(bytes) => Ok(bytes),
        other => Err(corrupt(format!(
            "{what}: expected a blob, found {}",
            other.data_type()
        ))),
    }
}

/// A blob column of exactly `N` bytes.
pub(crate) fn array<const N: usize>(
    row: &Row<'_>,
    index: usize,
    what: impl std::fmt::Display + Copy,
) -> Result<[u8; N], Error> {
    let bytes = blob(row, index, what)?;
    bytes
        .try_into()
        .map_err(|_| corrupt(format!("{what}: {} bytes, expected {N}", bytes.len())))
}

/// An integer column.
pub(crate) fn int(
    row: &Row<'_>,
    index: usize,
    what: impl std::fmt::Display + Copy,
) -> Result<i64, Error> {
    match row.get_ref(index)? {
        ValueRef::Integer(value) => Ok(value),
        other => Err(corrupt(format!(
            "{what}: expected an integer, found {}",
            other.data_type()
        ))),
    }
}

/// A non-negative integer column (heights, sequence numbers, indexes).
pub(crate) fn unsigned(
    row: &Row<'_>,
    index: usize,
    what: impl std::fmt::Display + Copy,
) -> Result<u64, Error> {
    let value = int(row, index, what)?;
    u64::try_from(value).map_err(|_| corrupt(format!("{what}: negative value {value}")))
}

/// A `u64` stored bit for bit (balances, nonces).
pub(crate) fn bits64(
    row: &Row<'_>,
    index: usize,
    what: impl std::fmt::Display + Copy,
) -> Result<u64, Error> {
    Ok(u64::from_ne_bytes(int(row, index, what)?.to_ne_bytes()))
}

/// The `i64` that stores a `u64` bit for bit.
pub(crate) fn to_bits64(value: u64) -> i64 {
    i64::from_ne_bytes(value.to_ne_bytes())
}

/// A height, sequence number or index as SQLite's integer; values at or above 2^63 would not
/// sort, and no real chain reaches them.
pub(crate) fn to_sql_int(value: u64, what: impl std::fmt::Display + Copy) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| corrupt(format!("{what} {value} is out of range")))
}

/// A stored block body, checked to be the block `hash` names.
pub(crate) fn block_body(bytes: &[u8], hash: &BlockHash) -> Result<Block, Error> {
    let block =
        Block::from_bytes(bytes).map_err(|e| corrupt(format!("body of block {hash}: {e}")))?;
    if block.hash() != *hash {
        return Err(corrupt(format!(
            "body of block {hash}: holds block {}",
            block.hash()
        )));
    }
    Ok(block)
}

/// A height column.
pub(crate) fn height(
    row: &Row<'_>,
    index: usize,
    what: impl std::fmt::Display + Copy,
) -> Result<Height, Error> {
    unsigned(row, index, what).map(Height)
}

/// A `u32` column (a transaction's position in its block).
pub(crate) fn index32(
    row: &Row<'_>,
    index: usize,
    what: impl std::fmt::Display + Copy,
) -> Result<u32, Error> {
    let value = int(row, index, what)?;
    u32::try_from(value).map_err(|_| corrupt(format!("{what}: {value} is not a block index")))
}

/// The integer a status is stored as.
pub(crate) fn status_to_int(status: BlockStatus) -> i64 {
    match status {
        BlockStatus::Stored => 0,
        BlockStatus::Valid => 1,
        BlockStatus::Invalid => 2,
    }
}

/// The stored integer of [`BlockStatus::Invalid`] (used in SQL text).
pub(crate) const STATUS_INVALID: i64 = 2;

/// A status column.
pub(crate) fn status(
    row: &Row<'_>,
    index: usize,
    what: impl std::fmt::Display + Copy,
) -> Result<BlockStatus, Error> {
    match int(row, index, what)? {
        0 => Ok(BlockStatus::Stored),
        1 => Ok(BlockStatus::Valid),
        2 => Ok(BlockStatus::Invalid),
        other => Err(corrupt(format!("{what}: unknown block status {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn u64_values_survive_the_signed_column() {
        let conn = Connection::open_in_memory().unwrap();
        for value in [0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
            let back = conn
                .query_row("SELECT ?1", [to_bits64(value)], |row| {
                    Ok(bits64(row, 0, "value").map_err(|e| e.to_string()))
                })
                .unwrap()
                .unwrap();
            assert_eq!(back, value);
        }
        assert!(to_sql_int(u64::MAX, "height").is_err());
    }

    #[test]
    fn wrong_types_and_lengths_are_corrupt_not_panics() {
        let conn = Connection::open_in_memory().unwrap();
        let check = |sql: &str| -> String {
            conn.query_row(sql, [], |row| {
                let results = [
                    array::<32>(row, 0, "hash").err(),
                    unsigned(row, 0, "height").err(),
                    status(row, 0, "status").err(),
                    index32(row, 0, "index").err(),
                ];
                Ok(results
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        assert!(matches!(e, Error::Corrupt(_)), "{e}");
                        e.to_string()
                    })
                    .collect::<Vec<_>>()
                    .join("; "))
            })
            .unwrap()
        };
        let text = check("SELECT x'0102'");
        assert!(text.contains("hash: 2 bytes, expected 32"), "{text}");
        let text = check("SELECT -5");
        assert!(text.contains("height: negative value -5"), "{text}");
        assert!(text.contains("unknown block status -5"), "{text}");
        let text = check("SELECT 'text'");
        assert!(text.contains("expected a blob, found Text"), "{text}");
    }
}
