//! The read-only answers of the core thread: blocks, transfers, proofs, accounts and history,
//! read from the ledger and its store for the API. Nothing here changes the node.

use crate::core::BlockRef;
use crate::views::*;
use chain_core::address::Address;
use chain_core::block::Block;
use chain_core::hash::Txid;
use chain_core::ledger::Ledger;
use chain_core::merkle::MerkleProof;
use chain_core::store::{HistoryCursor, Store};
use chain_core::tx::Transaction;
use chain_core::units::Height;
use std::collections::HashMap;

pub(crate) fn block_view<S: Store>(
    ledger: &Ledger<S>,
    which: BlockRef,
) -> Result<Option<BlockView>, chain_core::Error> {
    let store = ledger.chain().store();
    let hash = match which {
        BlockRef::Hash(hash) => hash,
        BlockRef::Height(height) => match store.hash_at(height)? {
            Some(hash) => hash,
            None => return Ok(None),
        },
    };
    let (Some(meta), Some(block)) = (store.meta(&hash)?, store.block(&hash)?) else {
        return Ok(None);
    };
    let params = ledger.params();
    let tip = ledger.chain().tip().height;
    let in_best_chain = store.hash_at(meta.height)? == Some(hash);
    Ok(Some(BlockView {
        summary: BlockSummary::of(&meta, &block, params),
        prev_hash: meta.header.prev_hash,
        merkle_root: meta.header.merkle_root.to_string(),
        bits: meta.header.bits.to_string(),
        nonce: meta.header.nonce,
        in_best_chain,
        confirmations: if in_best_chain {
            tip.0 - meta.height.0 + 1
        } else {
            0
        },
        txs: block
            .txs
            .iter()
            .map(|tx| TxView::of(tx, params.address_prefix))
            .collect(),
    }))
}

pub(crate) fn block_list<S: Store>(
    ledger: &Ledger<S>,
    before: Option<Height>,
    limit: usize,
) -> Result<Vec<BlockSummary>, chain_core::Error> {
    let store = ledger.chain().store();
    let tip = ledger.chain().tip().height;
    let top = before
        .map(|h| h.0.saturating_sub(1))
        .unwrap_or(tip.0)
        .min(tip.0);
    let mut out = Vec::new();
    let mut height = top;
    while out.len() < limit.min(100) {
        if let Some(hash) = store.hash_at(Height(height))?
            && let (Some(meta), Some(block)) = (store.meta(&hash)?, store.block(&hash)?)
        {
            out.push(BlockSummary::of(&meta, &block, ledger.params()));
        }
        if height == 0 {
            break;
        }
        height -= 1;
    }
    Ok(out)
}

pub(crate) fn tx_lookup<S: Store>(
    ledger: &Ledger<S>,
    txid: &Txid,
) -> Result<Option<TxLookup>, chain_core::Error> {
    let prefix = ledger.params().address_prefix;
    if let Some(entry) = ledger.mempool().get(txid) {
        return Ok(Some(TxLookup {
            tx: TxView::of(&Transaction::Transfer(entry.transfer.clone()), prefix),
            status: TxStatus::Pending,
        }));
    }
    let store = ledger.chain().store();
    let Some(location) = store.tx_location(txid)? else {
        return Ok(None);
    };
    let Some(block) = store.block(&location.block)? else {
        return Ok(None);
    };
    let Some(tx) = block.txs.get(location.index as usize) else {
        return Ok(None);
    };
    let tip = ledger.chain().tip().height;
    Ok(Some(TxLookup {
        tx: TxView::of(tx, prefix),
        status: TxStatus::Confirmed {
            block: location.block,
            height: location.height,
            confirmations: tip.0.saturating_sub(location.height.0) + 1,
        },
    }))
}

pub(crate) fn proof<S: Store>(
    ledger: &Ledger<S>,
    txid: &Txid,
) -> Result<Option<ProofView>, chain_core::Error> {
    let store = ledger.chain().store();
    let Some(location) = store.tx_location(txid)? else {
        return Ok(None);
    };
    let Some(block) = store.block(&location.block)? else {
        return Ok(None);
    };
    let txids = block.txids();
    Ok(
        MerkleProof::build(&txids, location.index as usize).map(|proof| ProofView {
            txid: *txid,
            block: location.block,
            height: location.height,
            merkle_root: block.header.merkle_root,
            proof,
        }),
    )
}

pub(crate) fn account<S: Store>(
    ledger: &Ledger<S>,
    address: &Address,
) -> Result<AccountView, chain_core::Error> {
    let account = ledger.chain().account(address)?;
    let (pending_out, pending_in) = ledger.mempool().pending_flows(address);
    Ok(AccountView {
        address: address.to_text(ledger.params().address_prefix),
        balance: account.balance,
        nonce: account.nonce,
        pending_out,
        pending_in,
        next_nonce: ledger.mempool().next_nonce(address, account),
    })
}

pub(crate) fn history<S: Store>(
    ledger: &Ledger<S>,
    address: &Address,
    before: Option<HistoryCursor>,
    limit: usize,
) -> Result<HistoryPage, chain_core::Error> {
    let store = ledger.chain().store();
    let limit = limit.clamp(1, 100);
    let entries = store.history(address, before, limit + 1)?;
    let more = entries.len() > limit;
    let tip = ledger.chain().tip().height;
    let prefix = ledger.params().address_prefix;
    let mut items = Vec::with_capacity(limit);
    let mut blocks: HashMap<Height, Block> = HashMap::new();
    for entry in entries.iter().take(limit) {
        if !blocks.contains_key(&entry.height)
            && let Some(hash) = store.hash_at(entry.height)?
            && let Some(block) = store.block(&hash)?
        {
            blocks.insert(entry.height, block);
        }
        let Some(tx) = blocks
            .get(&entry.height)
            .and_then(|b| b.txs.get(entry.index as usize))
        else {
            continue;
        };
        items.push(HistoryItem {
            tx: TxView::of(tx, prefix),
            height: entry.height,
            index: entry.index,
            confirmations: tip.0.saturating_sub(entry.height.0) + 1,
        });
    }
    let next = if more {
        entries.get(limit - 1).map(|e| format_cursor(e.cursor()))
    } else {
        None
    };
    Ok(HistoryPage { items, next })
}
