//! What the CLI prints for each answer of the API: the plain text a person reads, or with
//! `--json` the answer itself. Every function reads the contract's types
//! (`chain_web::contract`), never untyped JSON, so a renamed field breaks this build.

use chain_web::contract::{
    AccountView, BlockView, FeesView, HistoryPage, NodeStatus, PeerView, PendingView, TxKind,
    TxLookup, TxStatus,
};
use serde::Serialize;

/// Prints `value` as pretty JSON in JSON mode, else the text `text` makes of it.
pub fn print<T: Serialize>(json_mode: bool, value: &T, text: impl FnOnce(&T) -> String) {
    if json_mode {
        // The contract's types are plain data: they always serialise.
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        println!("{}", text(value));
    }
}

/// " indexing, at N" while the lookup indexes catch up after a sync, else nothing.
pub fn indexing_note(indexed: u64, height: u64) -> String {
    if indexed < height {
        format!(" indexing, at {indexed}")
    } else {
        String::new()
    }
}

/// `chain status`.
pub fn status(s: &NodeStatus) -> String {
    format!(
        "network {}\nheight {} tip {}\npeers {} mempool {} syncing {}{}\nmining {} ({:.0} H/s, {})",
        s.network,
        s.height,
        s.tip,
        s.peers,
        s.mempool_transfers,
        s.syncing,
        indexing_note(s.indexed_height.0, s.height.0),
        s.mining.enabled,
        s.mining.hash_rate,
        if s.mining.kernel.is_empty() {
            "-"
        } else {
            &s.mining.kernel
        },
    )
}

/// `chain block`.
pub fn block(b: &BlockView) -> String {
    let mut out = format!(
        "block {} height {} time {} txs {} confirmations {}",
        b.summary.hash, b.summary.height, b.summary.time, b.summary.tx_count, b.confirmations
    );
    for tx in &b.txs {
        out.push_str(&format!(
            "\n  {} {} -> {} {}",
            tx.txid, tx.kind, tx.to, tx.amount
        ));
    }
    out
}

/// `chain tx`.
pub fn transfer(t: &TxLookup) -> String {
    let status = match &t.status {
        TxStatus::Confirmed {
            height,
            confirmations,
            ..
        } => format!("confirmed in block {height} ({confirmations} confirmations)"),
        TxStatus::Pending => "pending".to_string(),
    };
    format!(
        "transfer {}\nfrom {}\nto {}\namount {} fee {}\nstatus {status}",
        t.tx.txid,
        t.tx.from.as_deref().unwrap_or("(coinbase)"),
        t.tx.to,
        t.tx.amount,
        t.tx.fee,
    )
}

/// `chain address` and `chain wallet balance`.
pub fn account(a: &AccountView) -> String {
    format!(
        "address {}\nbalance {} (pending out {}, in {})\nnonce {}",
        a.address, a.balance, a.pending_out, a.pending_in, a.nonce
    )
}

/// `chain peers`.
pub fn peers(peers: &[PeerView]) -> String {
    peers
        .iter()
        .map(|p| {
            format!(
                "{} {} height {} score {}",
                p.addr, p.direction, p.best_height, p.score
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `chain fees`.
pub fn fees(f: &FeesView) -> String {
    format!(
        "next block {} ({}/byte)\nwithin 3 blocks {} ({}/byte)\nwithin 6 blocks {} ({}/byte)\nminimum {}/byte; {} pending transfers, {} bytes; a transfer without a memo is {} bytes",
        f.next_block_fee,
        f.next_block_per_byte,
        f.within_3_blocks_fee,
        f.within_3_blocks_per_byte,
        f.within_6_blocks_fee,
        f.within_6_blocks_per_byte,
        f.minimum_per_byte,
        f.mempool_transfers,
        f.mempool_bytes,
        f.transfer_bytes
    )
}

/// `chain mempool`.
pub fn mempool(pending: &[PendingView]) -> String {
    pending
        .iter()
        .map(|e| {
            format!(
                "{} {} -> {} {} fee {}",
                e.tx.txid,
                e.tx.from.as_deref().unwrap_or(""),
                e.tx.to,
                e.tx.amount,
                e.tx.fee
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `chain wallet history` of the address `me`: one line per entry, amounts signed (`-` out,
/// `+` in), with the other side.
pub fn history(page: &HistoryPage, me: &str) -> String {
    page.items
        .iter()
        .map(|item| {
            let tx = &item.tx;
            let (sign, other) = if tx.from.as_deref() == Some(me) {
                ("-", tx.to.as_str())
            } else if tx.kind == TxKind::Coinbase {
                ("+", "(mined)")
            } else {
                ("+", tx.from.as_deref().unwrap_or(""))
            };
            format!(
                "height {} {sign}{} {} {}",
                item.height, tx.amount, other, tx.txid
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
