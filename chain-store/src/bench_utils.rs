//! Direct table fills for this crate's benchmarks (feature `bench-utils`): a million accounts
//! or a long address history in seconds, where going through blocks would take minutes. They
//! bypass every rule of the chain and are not for anything else.

use crate::error::Error;
use crate::row::to_sql_int;
use crate::store::SqliteStore;
use crate::write::write_accounts;
use chain_core::address::Address;
use chain_core::state::AccountEntry;
use chain_core::store::HistoryEntry;
use rusqlite::params;

impl SqliteStore {
    /// Writes account states directly, in one transaction.
    ///
    /// # Errors
    ///
    /// A SQLite failure.
    pub fn bench_put_accounts(&mut self, entries: &[AccountEntry]) -> Result<(), Error> {
        let tx = self.begin()?;
        write_accounts(&tx, entries)?;
        tx.commit()?;
        Ok(())
    }

    /// Writes history entries of `address` directly, in one transaction.
    ///
    /// # Errors
    ///
    /// A SQLite failure.
    pub fn bench_put_history(
        &mut self,
        address: &Address,
        entries: &[HistoryEntry],
    ) -> Result<(), Error> {
        let tx = self.begin()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT OR REPLACE INTO history (address, height, idx, txid) \
                 VALUES (?1, ?2, ?3, ?4)",
            )?;
            for entry in entries {
                put.execute(params![
                    &address.0[..],
                    to_sql_int(entry.height.0, "height")?,
                    i64::from(entry.index),
                    &entry.txid.0[..],
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}
