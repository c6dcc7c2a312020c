//! An in-memory [`Store`](super::Store): maps in place of tables. For tests, simulations and
//! programs that embed a throwaway chain. Each write method changes the maps in one step, which
//! is trivially atomic.

use super::{
    BanTarget, Batches, BlockMeta, BlockStatus, ChainRead, ChainWrite, ConnectBlock,
    DisconnectBlock, HistoryCursor, HistoryEntry, IndexRead, IndexWrite, PeerBook, PendingRead,
    PendingWrite, TxLocation, touched_addresses,
};
use crate::address::Address;
use crate::block::Block;
use crate::error::StoreError;
use crate::hash::{BlockHash, Txid};
use crate::pow::Work;
use crate::state::{Account, AccountRead, BlockUndo};
use crate::tx::Transfer;
use crate::units::Height;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

/// A store that keeps everything in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    metas: HashMap<BlockHash, BlockMeta>,
    blocks: HashMap<BlockHash, Block>,
    children: HashMap<BlockHash, Vec<BlockHash>>,
    main: Vec<BlockHash>,
    accounts: HashMap<Address, Account>,
    undo: HashMap<BlockHash, BlockUndo>,
    txs: HashMap<Txid, TxLocation>,
    history: BTreeMap<(Address, HistoryCursor), Txid>,
    pending: BTreeMap<Txid, Transfer>,
    peers: Vec<(SocketAddr, u64)>,
    bans: BTreeMap<BanTarget, u64>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every non-empty account (for tests that compare whole states).
    pub fn accounts(&self) -> BTreeMap<Address, Account> {
        self.accounts.iter().map(|(a, s)| (*a, *s)).collect()
    }

    fn set_account(&mut self, address: Address, account: Account) {
        if account.is_empty() {
            self.accounts.remove(&address);
        } else {
            self.accounts.insert(address, account);
        }
    }

    fn corrupt(what: &str, hash: &BlockHash) -> StoreError {
        StoreError::Corrupt(format!("{what} {hash}"))
    }
}

impl AccountRead for MemoryStore {
    fn account(&self, address: &Address) -> Result<Account, StoreError> {
        Ok(self.accounts.get(address).copied().unwrap_or_default())
    }
}

impl ChainRead for MemoryStore {
    fn meta(&self, hash: &BlockHash) -> Result<Option<BlockMeta>, StoreError> {
        Ok(self.metas.get(hash).copied())
    }

    fn block(&self, hash: &BlockHash) -> Result<Option<Block>, StoreError> {
        Ok(self.blocks.get(hash).cloned())
    }

    fn tip(&self) -> Result<Option<BlockHash>, StoreError> {
        Ok(self.main.last().copied())
    }

    fn hash_at(&self, height: Height) -> Result<Option<BlockHash>, StoreError> {
        Ok(usize::try_from(height.0)
            .ok()
            .and_then(|h| self.main.get(h))
            .copied())
    }

    fn undo(&self, hash: &BlockHash) -> Result<Option<BlockUndo>, StoreError> {
        Ok(self.undo.get(hash).cloned())
    }

    fn children(&self, hash: &BlockHash) -> Result<Vec<BlockHash>, StoreError> {
        Ok(self.children.get(hash).cloned().unwrap_or_default())
    }

    fn heavier_than(&self, work: Work) -> Result<Vec<BlockMeta>, StoreError> {
        Ok(self
            .metas
            .values()
            .filter(|m| m.chain_work > work && m.status != BlockStatus::Invalid)
            .copied()
            .collect())
    }

    fn max_seq(&self) -> Result<u64, StoreError> {
        Ok(self.metas.values().map(|m| m.seq).max().unwrap_or(0))
    }
}

impl IndexRead for MemoryStore {
    fn tx_location(&self, txid: &Txid) -> Result<Option<TxLocation>, StoreError> {
        Ok(self.txs.get(txid).copied())
    }

    fn history(
        &self,
        address: &Address,
        before: Option<HistoryCursor>,
        limit: usize,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let low = (
            *address,
            HistoryCursor {
                height: Height(0),
                index: 0,
            },
        );
        let entries = match before {
            Some(cursor) => self.history.range(low..(*address, cursor)),
            None => self.history.range(
                low..=(
                    *address,
                    HistoryCursor {
                        height: Height(u64::MAX),
                        index: u32::MAX,
                    },
                ),
            ),
        };
        Ok(entries
            .rev()
            .take(limit)
            .map(|((_, c), txid)| HistoryEntry {
                txid: *txid,
                height: c.height,
                index: c.index,
            })
            .collect())
    }

    /// It indexes every block as it connects it: the tip's height.
    fn indexed_height(&self) -> Result<Option<Height>, StoreError> {
        Ok(self.main.len().checked_sub(1).map(|h| Height(h as u64)))
    }
}

impl PendingRead for MemoryStore {
    fn pending(&self) -> Result<Vec<Transfer>, StoreError> {
        Ok(self.pending.values().cloned().collect())
    }
}

impl ChainWrite for MemoryStore {
    fn put_block(&mut self, meta: &BlockMeta, block: &Block) -> Result<(), StoreError> {
        if self.metas.insert(meta.hash, *meta).is_none() {
            self.children
                .entry(meta.header.prev_hash)
                .or_default()
                .push(meta.hash);
        }
        self.blocks.insert(meta.hash, block.clone());
        Ok(())
    }

    fn mark_invalid(&mut self, hashes: &[BlockHash]) -> Result<(), StoreError> {
        for hash in hashes {
            if let Some(meta) = self.metas.get_mut(hash) {
                meta.status = BlockStatus::Invalid;
            }
        }
        Ok(())
    }

    fn connect(&mut self, change: ConnectBlock<'_>) -> Result<(), StoreError> {
        let meta = change.meta;
        if meta.height.0 != self.main.len() as u64 {
            return Err(Self::corrupt("connect at the wrong height:", &meta.hash));
        }
        for entry in change.accounts {
            self.set_account(entry.address, entry.account);
        }
        self.undo.insert(meta.hash, change.undo.clone());
        for (index, tx) in change.block.txs.iter().enumerate() {
            let txid = tx.txid();
            let location = TxLocation {
                block: meta.hash,
                height: meta.height,
                index: index as u32,
            };
            self.txs.insert(txid, location);
            let cursor = HistoryCursor {
                height: meta.height,
                index: index as u32,
            };
            for address in touched_addresses(tx) {
                self.history.insert((address, cursor), txid);
            }
        }
        self.main.push(meta.hash);
        if let Some(stored) = self.metas.get_mut(&meta.hash) {
            stored.status = BlockStatus::Valid;
        }
        Ok(())
    }

    fn disconnect(&mut self, change: DisconnectBlock<'_>) -> Result<(), StoreError> {
        let meta = change.meta;
        if self.main.last() != Some(&meta.hash) {
            return Err(Self::corrupt(
                "disconnect of a block that is not the tip:",
                &meta.hash,
            ));
        }
        for entry in &change.undo.accounts {
            self.set_account(entry.address, entry.account);
        }
        self.undo.remove(&meta.hash);
        for (index, tx) in change.block.txs.iter().enumerate() {
            self.txs.remove(&tx.txid());
            let cursor = HistoryCursor {
                height: meta.height,
                index: index as u32,
            };
            for address in touched_addresses(tx) {
                self.history.remove(&(address, cursor));
            }
        }
        self.main.pop();
        Ok(())
    }
}

impl IndexWrite for MemoryStore {
    /// Its indexes cost no more block by block than in bulk: it always indexes.
    fn defer_indexes(&mut self, _defer: bool) {}

    /// Never behind: nothing to catch up.
    fn catch_up_indexes(&mut self, _max_transactions: usize) -> Result<bool, StoreError> {
        Ok(false)
    }
}

impl Batches for MemoryStore {
    /// Each write changes the maps in one step and nothing survives a crash: a batch is the
    /// writes in it, whole, as they are made.
    fn begin_batch(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Nothing to commit: every write of the batch was whole when it was made.
    fn end_batch(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

impl PendingWrite for MemoryStore {
    fn put_pending(&mut self, transfers: &[Transfer]) -> Result<(), StoreError> {
        for transfer in transfers {
            self.pending.insert(transfer.txid(), transfer.clone());
        }
        Ok(())
    }

    fn remove_pending(&mut self, txids: &[Txid]) -> Result<(), StoreError> {
        for txid in txids {
            self.pending.remove(txid);
        }
        Ok(())
    }
}

impl PeerBook for MemoryStore {
    fn known_peers(&self) -> Result<Vec<(SocketAddr, u64)>, StoreError> {
        Ok(self.peers.clone())
    }

    fn put_known_peers(&mut self, peers: &[(SocketAddr, u64)]) -> Result<(), StoreError> {
        self.peers = peers.to_vec();
        Ok(())
    }

    fn bans(&self) -> Result<Vec<(BanTarget, u64)>, StoreError> {
        Ok(self
            .bans
            .iter()
            .map(|(target, until)| (*target, *until))
            .collect())
    }

    fn put_bans(&mut self, bans: &[(BanTarget, u64)], now: u64) -> Result<(), StoreError> {
        self.bans.extend(bans.iter().copied());
        self.bans.retain(|_, until| *until > now);
        Ok(())
    }
}
