//! An address's history as CSV, one row per transaction, for a spreadsheet or an accountant:
//! the web wallet's download and `chain wallet history --csv` write the same rows.
//!
//! Amounts are signed from the address's side (`-` paid out, `+` received) in coins with eight
//! decimals; the fee is the address's cost, so only on what it sent. Text fields a person or a
//! peer chose (memo, counterparty) are quoted when needed and, when they begin like a formula
//! (`=`, `+`, `-`, `@`, tab, carriage return), prefixed with `'`, so that opening the file runs
//! nothing.

use crate::contract::{HistoryItem, TxKind};

/// The header row.
pub const HEADER: &str =
    "height,index,txid,kind,direction,counterparty,amount,fee,memo,confirmations";

/// The rows of `items` (no header) for the address `me`, each ending in a newline.
pub fn rows(items: &[HistoryItem], me: &str) -> String {
    let mut out = String::new();
    for item in items {
        let tx = &item.tx;
        let outgoing = tx.from.as_deref() == Some(me);
        let (direction, counterparty, sign, fee) = if outgoing {
            ("out", tx.to.as_str(), "-", tx.fee.to_string())
        } else if tx.kind == TxKind::Coinbase {
            ("in", "", "+", String::new())
        } else {
            ("in", tx.from.as_deref().unwrap_or(""), "+", String::new())
        };
        let fields = [
            item.height.to_string(),
            item.index.to_string(),
            tx.txid.to_string(),
            tx.kind.to_string(),
            direction.to_string(),
            text_field(counterparty),
            format!("{sign}{}", tx.amount),
            fee,
            text_field(&tx.memo),
            item.confirmations.to_string(),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// A free-text field: defused if it begins like a formula, quoted if it holds a comma, a quote
/// or a line break.
fn text_field(text: &str) -> String {
    let defused = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::TxView;
    use chain_core::hash::Txid;
    use chain_core::units::{Amount, Height};

    fn item(kind: TxKind, from: Option<&str>, to: &str, memo: &str) -> HistoryItem {
        HistoryItem {
            tx: TxView {
                txid: Txid([1; 32]),
                kind,
                from: from.map(str::to_string),
                to: to.to_string(),
                amount: Amount(150_000_000),
                fee: Amount(1_000),
                nonce: from.map(|_| 0),
                memo: memo.to_string(),
            },
            height: Height(7),
            index: 1,
            confirmations: 3,
        }
    }

    #[test]
    fn rows_sign_amounts_from_the_address_side_and_charge_fees_to_the_sender() {
        let items = [
            item(TxKind::Transfer, Some("me"), "bob", "rent"),
            item(TxKind::Transfer, Some("bob"), "me", ""),
            item(TxKind::Coinbase, None, "me", ""),
        ];
        let txid = Txid([1; 32]).to_string();
        assert_eq!(
            rows(&items, "me"),
            format!(
                "7,1,{txid},transfer,out,bob,-1.50000000,0.00001000,rent,3\n\
                 7,1,{txid},transfer,in,bob,+1.50000000,,,3\n\
                 7,1,{txid},coinbase,in,,+1.50000000,,,3\n"
            )
        );
    }

    #[test]
    fn free_text_is_quoted_and_formulas_are_defused() {
        assert_eq!(text_field("plain"), "plain");
        assert_eq!(text_field("a,b"), "\"a,b\"");
        assert_eq!(text_field("say \"hi\"\nbye"), "\"say \"\"hi\"\"\nbye\"");
        assert_eq!(
            text_field("=HYPERLINK(\"x\")"),
            "\"'=HYPERLINK(\"\"x\"\")\""
        );
        assert_eq!(text_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text_field("-2+3"), "'-2+3");
    }
}
