//! Known peers, for `chain-net`: where they are, when they were last seen, and until when they
//! are banned. The network crate decides the policy (how many to keep, when to forget one); the
//! store only remembers, so that a restarted node can reconnect without a seed and does not
//! forget its bans.

use crate::error::{Error, corrupt};
use crate::row;
use crate::store::SqliteStore;
use chain_core::error::StoreError;
use chain_core::store::{BanTarget, PeerBook};
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

    /// Saves bans (each replaces what was saved for its target; a known peer's row keeps when
    /// it was last seen), and lifts the bans that ended by `now`: a row kept only for its ban
    /// goes. A time past 2^63 - 1 is saved as 2^63 - 1.
    ///
    /// # Errors
    ///
    /// A SQLite failure, or a time `now` at or beyond 2^63.
    pub fn save_bans(&mut self, bans: &[(BanTarget, u64)], now: u64) -> Result<(), Error> {
        let now = row::to_sql_int(now, "time")?;
        let tx = self.begin()?;
        tx.prepare_cached(
            "DELETE FROM peers WHERE ban_until != 0 AND ban_until <= ?1 AND last_seen = 0",
        )?
        .execute([now])?;
        tx.prepare_cached(
            "UPDATE peers SET ban_until = 0 WHERE ban_until != 0 AND ban_until <= ?1",
        )?
        .execute([now])?;
        for (target, until) in bans {
            tx.prepare_cached(
                "INSERT INTO peers (address, last_seen, ban_until) VALUES (?1, 0, ?2)
                 ON CONFLICT(address) DO UPDATE SET ban_until = excluded.ban_until",
            )?
            .execute(params![
                target.to_string(),
                i64::try_from(*until).unwrap_or(i64::MAX)
            ])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The saved bans. Rows whose address no longer parses (none are written so) are skipped.
    ///
    /// # Errors
    ///
    /// A SQLite failure, or a damaged row ([`Error::Corrupt`]).
    pub fn saved_bans(&self) -> Result<Vec<(BanTarget, u64)>, Error> {
        Ok(self
            .peers()?
            .into_iter()
            .filter(|p| p.ban_until != 0)
            .filter_map(|p| p.address.parse().ok().map(|target| (target, p.ban_until)))
            .collect())
    }
}

impl PeerBook for SqliteStore {
    fn known_peers(&self) -> Result<Vec<(std::net::SocketAddr, u64)>, StoreError> {
        // Rows whose address no longer parses (none are written so) are skipped, not fatal.
        Ok(self
            .peers()?
            .into_iter()
            // Rows kept only for a ban are not peers to dial; a banned known peer is listed,
            // and the protocol, which restores its ban, does not dial it while the ban lasts.
            .filter(|p| p.last_seen != 0)
            .filter_map(|p| p.address.parse().ok().map(|addr| (addr, p.last_seen)))
            .collect())
    }

    fn bans(&self) -> Result<Vec<(BanTarget, u64)>, StoreError> {
        Ok(self.saved_bans()?)
    }

    fn put_known_peers(&mut self, peers: &[(std::net::SocketAddr, u64)]) -> Result<(), StoreError> {
        let result = self.replace_known_peers(peers);
        self.watch(result)
    }

    fn put_bans(&mut self, bans: &[(BanTarget, u64)], now: u64) -> Result<(), StoreError> {
        let result = self.save_bans(bans, now);
        self.watch(result)
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
    fn bans_are_saved_lifted_when_over_and_leave_known_peers_alone() {
        let mut store = SqliteStore::open_in_memory(&ChainParams::regtest()).unwrap();
        let known: std::net::SocketAddr = "127.0.0.1:7510".parse().unwrap();
        store.replace_known_peers(&[(known, 50)]).unwrap();
        let ip = BanTarget::Ip("192.0.2.7".parse().unwrap());
        let socket = BanTarget::Socket(known);
        store.save_bans(&[(ip, 1_000)], 100).unwrap();
        store.save_bans(&[(socket, 2_000)], 100).unwrap();
        let mut bans = store.saved_bans().unwrap();
        bans.sort_unstable();
        assert_eq!(bans, vec![(ip, 1_000), (socket, 2_000)]);
        // A banned known peer keeps its row and last-seen time, and is still listed: the
        // protocol, which restores the ban, does not dial it while it lasts.
        assert_eq!(store.peers().unwrap()[0], peer("127.0.0.1:7510", 50, 2_000));
        let known_peers = |store: &SqliteStore| PeerBook::known_peers(store);
        assert_eq!(known_peers(&store).unwrap(), vec![(known, 50)]);
        // Saving the known peers keeps the bans.
        store.replace_known_peers(&[(known, 60)]).unwrap();
        assert_eq!(store.saved_bans().unwrap().len(), 2);
        // At time 1,500 the IP's ban is over: its row (kept only for the ban) goes.
        store.save_bans(&[], 1_500).unwrap();
        assert_eq!(store.saved_bans().unwrap(), vec![(socket, 2_000)]);
        // A ban's time is replaced, and one past 2^63 - 1 is saved as 2^63 - 1.
        store.save_bans(&[(socket, u64::MAX)], 1_500).unwrap();
        assert_eq!(store.saved_bans().unwrap(), vec![(socket, i64::MAX as u64)]);
        store.save_bans(&[(socket, 3_000)], 2_500).unwrap();
        store.save_bans(&[], 3_000).unwrap();
        assert!(store.saved_bans().unwrap().is_empty());
        assert_eq!(store.peers().unwrap(), vec![peer("127.0.0.1:7510", 60, 0)]);
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
