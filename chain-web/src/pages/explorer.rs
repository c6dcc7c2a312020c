//! The explorer: the home page, blocks, transfers (and the receipt, the same page shown after a
//! send), addresses, the charts page and search. Read-only views of the chain anyone may open,
//! logged in or not.

use super::history::{HISTORY_PAGE, HistoryQuery};
use super::{PageError, html, layout, parse_address, redirect, respond, tx_row};
use crate::app::App;
use crate::charts;
use crate::session::{Ctx, now};
use crate::templates::*;
use chain_core::hash::{BlockHash, Txid};
use chain_core::units::Height;
use chain_net::views::{TxLookup, TxStatus};
use std::convert::Infallible;
use warp::http::StatusCode;
use warp::reply::Response;

fn age(time: u64) -> String {
    let seconds = now().saturating_sub(time);
    match seconds {
        0..=59 => format!("{seconds} s ago"),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

fn status_text(status: &TxStatus) -> String {
    match status {
        TxStatus::Pending => "pending".into(),
        TxStatus::Confirmed {
            height,
            confirmations,
            ..
        } => format!(
            "confirmed in block {height} ({confirmations} confirmation{})",
            if *confirmations == 1 { "" } else { "s" }
        ),
    }
}

fn block_rows(blocks: &[chain_net::views::BlockSummary]) -> Vec<BlockRow> {
    blocks
        .iter()
        .map(|b| BlockRow {
            height: b.height.0,
            hash: b.hash.to_string(),
            age: age(b.time),
            txs: b.tx_count,
            miner: b.miner.clone(),
        })
        .collect()
}

pub(super) async fn home(ctx: Ctx, app: App) -> Result<Response, Infallible> {
    let result = async {
        let node = &app.api.node;
        let status = node.status().await?;
        let blocks = node.blocks(None, 30).await?;
        let mempool = node.mempool().await?;
        let page = HomePage {
            layout: layout(&ctx, &app, "Home", "home"),
            height: status.height.0,
            tip: status.tip.to_string(),
            difficulty: charts::format_number(status.difficulty),
            hash_rate: charts::format_rate(charts::hash_rate(&blocks)),
            peers: status.peers,
            mempool: status.mempool_transfers,
            blocks: block_rows(&blocks[..blocks.len().min(10)]),
            pending: mempool
                .iter()
                .take(10)
                .map(|p| tx_row(&p.tx, "pending".into(), None))
                .collect(),
        };
        Ok(html(&ctx, StatusCode::OK, &page))
    };
    respond(&ctx, &app, result.await)
}

async fn tx_page(ctx: &Ctx, app: &App, id: &str, receipt: bool) -> Result<Response, PageError> {
    let txid: Txid = id.parse().map_err(|_| {
        PageError::new(
            StatusCode::BAD_REQUEST,
            "Not a txid",
            "A txid is 64 hex digits.",
        )
    })?;
    let Some(TxLookup { tx, status }) = app.api.node.transfer(txid).await? else {
        let message = match crate::api::index_lag(&app.api.node).await {
            None => {
                format!(
                    "No transfer {txid} is known to this node (neither pending nor in a block)."
                )
            }
            Some((indexed, tip)) => format!(
                "No transfer {txid} is pending or in the blocks this node has indexed (up to \
                 height {indexed}). Blocks {} to {tip} are not indexed yet (they are once a sync \
                 is over): try again later.",
                indexed.0 + 1
            ),
        };
        return Err(PageError::not_found(message));
    };
    let (confirmed, block_height, block_hash) = match &status {
        TxStatus::Confirmed { block, height, .. } => (true, height.0, block.to_string()),
        TxStatus::Pending => (false, 0, String::new()),
    };
    // When it happened: its block's time once confirmed, else when this node received it.
    let time = match &status {
        TxStatus::Confirmed { block, .. } => app
            .api
            .node
            .block_by_hash(*block)
            .await?
            .map(|b| b.summary.time),
        TxStatus::Pending => app
            .api
            .node
            .mempool()
            .await?
            .iter()
            .find(|p| p.tx.txid == tx.txid)
            .map(|p| p.added),
    };
    let page = TxPage {
        layout: layout(ctx, app, if receipt { "Receipt" } else { "Transfer" }, "tx"),
        age: time.map(age).unwrap_or_default(),
        time,
        receipt,
        tx: tx_row(&tx, status_text(&status), None),
        confirmed,
        block_height,
        block_hash,
        memo: tx.memo.clone(),
    };
    Ok(html(ctx, StatusCode::OK, &page))
}

pub(super) async fn receipt(id: String, ctx: Ctx, app: App) -> Result<Response, Infallible> {
    let result = tx_page(&ctx, &app, &id, true).await;
    respond(&ctx, &app, result)
}

pub(super) async fn transfer(id: String, ctx: Ctx, app: App) -> Result<Response, Infallible> {
    let result = tx_page(&ctx, &app, &id, false).await;
    respond(&ctx, &app, result)
}

pub(super) async fn block(id: String, ctx: Ctx, app: App) -> Result<Response, Infallible> {
    let result = async {
        let node = &app.api.node;
        let found = if let Ok(height) = id.parse::<u64>() {
            node.block_at(Height(height)).await?
        } else if let Ok(hash) = id.parse::<BlockHash>() {
            node.block_by_hash(hash).await?
        } else {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "Not a block",
                "A block is named by its height or its 64-digit hash.",
            ));
        };
        let block = found
            .ok_or_else(|| PageError::not_found(format!("No block {id} on this node's chain.")))?;
        let s = &block.summary;
        let page = BlockPage {
            layout: layout(&ctx, &app, &format!("Block {}", s.height), "block"),
            height: s.height.0,
            hash: s.hash.to_string(),
            prev_hash: block.prev_hash.to_string(),
            age: age(s.time),
            time: s.time,
            difficulty: charts::format_number(s.difficulty),
            bits: block.bits.clone(),
            nonce: block.nonce,
            size: s.size,
            merkle_root: block.merkle_root.clone(),
            confirmations: block.confirmations,
            in_best_chain: block.in_best_chain,
            txs: block
                .txs
                .iter()
                .map(|tx| tx_row(tx, format!("block {}", s.height), None))
                .collect(),
        };
        Ok(html(&ctx, StatusCode::OK, &page))
    };
    respond(&ctx, &app, result.await)
}

pub(super) async fn address(
    id: String,
    query: HistoryQuery,
    ctx: Ctx,
    app: App,
) -> Result<Response, Infallible> {
    let result = async {
        let address = parse_address(&app, &id).map_err(|message| {
            PageError::new(StatusCode::BAD_REQUEST, "Not an address", message)
        })?;
        let before = query.cursor()?;
        let node = &app.api.node;
        let account = node.account(address).await?;
        let history = node.history(address, before, HISTORY_PAGE).await?;
        let text = address.to_text(node.params().address_prefix);
        let page = AddressPage {
            layout: layout(&ctx, &app, "Address", "address"),
            balance: account.balance.to_string(),
            pending_in: account.pending_in.to_string(),
            pending_out: account.pending_out.to_string(),
            nonce: account.nonce,
            history: history
                .items
                .iter()
                .map(|item| {
                    tx_row(
                        &item.tx,
                        format!("block {} · {} conf.", item.height, item.confirmations),
                        Some(&text),
                    )
                })
                .collect(),
            paging: Paging::of(&history, before),
            address: text,
        };
        Ok(html(&ctx, StatusCode::OK, &page))
    };
    respond(&ctx, &app, result.await)
}

pub(super) async fn explorer(ctx: Ctx, app: App) -> Result<Response, Infallible> {
    let result = async {
        let blocks = app.api.node.blocks(None, 100).await?;
        let charts = charts::charts(&blocks);
        let page = ExplorerPage {
            layout: layout(&ctx, &app, "Explorer", "explorer"),
            block_time_chart: charts.block_time,
            difficulty_chart: charts.difficulty,
            hash_rate_chart: charts.hash_rate,
            hash_rate: charts::format_rate(charts::hash_rate(&blocks)),
            blocks: block_rows(&blocks[..blocks.len().min(20)]),
        };
        Ok(html(&ctx, StatusCode::OK, &page))
    };
    respond(&ctx, &app, result.await)
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct SearchQuery {
    q: Option<String>,
}

pub(super) async fn search(query: SearchQuery, ctx: Ctx, app: App) -> Result<Response, Infallible> {
    let result = async {
        let q = query.q.unwrap_or_default().trim().to_string();
        if q.is_empty() {
            return Ok(redirect("/"));
        }
        if q.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(redirect(&format!("/block/{q}")));
        }
        if q.len() == 64 && q.bytes().all(|b| b.is_ascii_hexdigit()) {
            let node = &app.api.node;
            if let Ok(hash) = q.parse::<BlockHash>()
                && node.block_by_hash(hash).await?.is_some()
            {
                return Ok(redirect(&format!("/block/{hash}")));
            }
            if let Ok(txid) = q.parse::<Txid>()
                && node.transfer(txid).await?.is_some()
            {
                return Ok(redirect(&format!("/tx/{txid}")));
            }
            return Err(PageError::not_found(format!(
                "No block or transfer has the hash {q}."
            )));
        }
        match parse_address(&app, &q) {
            Ok(address) => Ok(redirect(&format!(
                "/address/{}",
                address.to_text(app.api.node.params().address_prefix)
            ))),
            Err(problem) => Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "Nothing found",
                format!("Search takes a height, a block hash, a txid or an address. {problem}"),
            )),
        }
    };
    respond(&ctx, &app, result.await)
}
