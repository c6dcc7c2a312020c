//! Known peers, for `chain-net`: where they are, when they were last seen, and until when they
//! are banned. The network crate decides the policy (how many to keep, when to forget one); the
//! store only remembers, so that a restarted node can reconnect without a seed and does not
//! forget its bans.

use crate::error::{Error, corrupt};
use crate::row;
use crate::store::SqliteStore;
use rusqlite::params;

/// A known peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRecord {
    /// Its address as text (`host:port`).
    pub address: String,
    /// When it was last seen (unix seconds).
    pub last_seen: u64,
    /// Until when it is banned (unix seconds; 0 or a past time when it is not).
    pub ban_until: u64,
}

const PUT_PEER_SQL: &str =
    "INSERT OR REPLACE INTO peers (address, last_seen, ban_until) VALUES (?1, ?2, ?3)";
const PEERS_SQL: &str =
    "SELECT address, last_seen, ban_until FROM peers ORDER BY last_seen DESC, address";
const REMOVE_PEER_SQL: &str = "DELETE FROM peers WHERE address = ?1";

impl SqliteStore {
    /// Records a peer, replacing what was known about the same address.
    ///
    /// # Errors
    ///
    /// A SQLite failure, or a time at or beyond 2^63.
    pub fn put_peer(&mut self, peer: &PeerRecord) -> Result<(), Error> {
        self.conn.prepare_cached(PUT_PEER_SQL)?.execute(params![
            peer.address,
            row::to_sql_int(peer.last_seen, "last seen time")?,
            row::to_sql_int(peer.ban_until, "ban time")?,
        ])?;
        Ok(())
    }

    /// Every known peer, the most recently seen first.
    ///
    /// # Errors
    ///
    /// A SQLite failure, or a damaged row ([`Error::Corrupt`]).
    pub fn peers(&self) -> Result<Vec<PeerRecord>, Error> {
        let mut stmt = self.conn.prepare_cached(PEERS_SQL)?;
        let mut rows = stmt.query([])?;
        let mut peers = Vec::new();
        while let Some(r) = rows.next()? {
            let address = match r.get_ref(0)? {
                rusqlite::types::ValueRef::Text(text) => String::from_utf8(text.to_vec())
                    .map_err(|_| corrupt("peer address is not UTF-8"))?,
                other => {
                    return Err(corrupt(format!(
                        "peer address: expected text, found {}",
                        other.data_type()
                    )));
                }
            };
            let what = format!("peer {address}");
            peers.push(PeerRecord {
                last_seen: row::unsigned(r, 1, &what)?,
                ban_until: row::unsigned(r, 2, &what)?,
                address,
            });
        }
        Ok(peers)
    }

    /// Forgets a peer; says whether it was known.
    ///
    /// # Errors
    ///
    /// A SQLite failure.
    pub fn remove_peer(&mut self, address: &str) -> Result<bool, Error> {
        Ok(self
            .conn
            .prepare_cached(REMOVE_PEER_SQL)?
            .execute([address])?
            > 0)
    }
}

impl SqliteStore {
    /// Replaces the peers that are not banned by `peers` (address, last seen), in one
    /// transaction; bans are kept.
    ///
    /// # Errors
    ///
    /// A SQLite failure.
    pub fn replace_known_peers(
        &mut self,
        peers: &[(std::net::SocketAddr, u64)],
    ) -> Result<(), Error> {
        let tx = self.begin()?;
        tx.execute("DELETE FROM peers WHERE ban_until = 0", [])?;
        for (addr, last_seen) in peers {
            tx.prepare_cached(
                "INSERT INTO peers (address, last_seen, ban_until) VALUES (?1, ?2, 0)
                 ON CONFLICT(address) DO UPDATE SET last_seen = excluded.last_seen",
            )?
            .execute(params![
                addr.to_string(),
                row::to_sql_int(*last_seen, "last seen time")?
            ])?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_core::params::ChainParams;

    fn peer(address: &str, last_seen: u64, ban_until: u64) -> PeerRecord {
        PeerRecord {
            address: address.to_string(),
            last_seen,
            ban_until,
        }
    }

    #[test]
    fn peers_are_upserted_listed_newest_first_and_removed() {
        let mut store = SqliteStore::open_in_memory(&ChainParams::regtest()).unwrap();
        assert!(store.peers().unwrap().is_empty());
        store.put_peer(&peer("127.0.0.1:7510", 10, 0)).unwrap();
        store.put_peer(&peer("127.0.0.2:7510", 20, 0)).unwrap();
        store.put_peer(&peer("127.0.0.1:7510", 30, 99)).unwrap();
        assert_eq!(
            store.peers().unwrap(),
            vec![
                peer("127.0.0.1:7510", 30, 99),
                peer("127.0.0.2:7510", 20, 0)
            ]
        );
        assert!(store.remove_peer("127.0.0.1:7510").unwrap());
        assert!(!store.remove_peer("127.0.0.1:7510").unwrap());
        assert_eq!(store.peers().unwrap(), vec![peer("127.0.0.2:7510", 20, 0)]);
        assert!(store.put_peer(&peer("x", u64::MAX, 0)).is_err());
    }

    #[test]
    fn a_damaged_peer_row_is_an_error() {
        let store = SqliteStore::open_in_memory(&ChainParams::regtest()).unwrap();
        store
            .conn
            .execute("INSERT INTO peers VALUES ('p', -1, 0)", [])
            .unwrap();
        assert!(matches!(store.peers(), Err(Error::Corrupt(_))));
    }
}
