//! Transfers and transactions (`chain_core::tx`), as peers relay them, the API accepts them and
//! blocks carry them.
//!
//! Checks: no panic, in the decoder or in `check_transfer` (form and signature, the first thing
//! a node does with a transfer from outside); a decoded transaction re-encodes to the same bytes
//! and `encoded_len` (what fee rates are measured against) equals the bytes read; a transfer
//! decodes to the same value, with the same txid, on its own and as a transaction.
#![no_main]

use chain_core::encode::{Decode, Encode};
use chain_core::params::ChainParams;
use chain_core::tx::{Transaction, Transfer};
use chain_core::validate::check_transfer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let transaction = Transaction::from_bytes(data);
    let transfer = Transfer::from_bytes(data);
    if let Ok(tx) = &transaction {
        assert_eq!(tx.to_bytes(), data);
        assert_eq!(tx.encoded_len(), data.len());
    }
    match (&transaction, &transfer) {
        (Ok(Transaction::Transfer(inner)), Ok(transfer)) => {
            assert_eq!(inner, transfer);
            assert_eq!(transfer.txid(), Transaction::Transfer(inner.clone()).txid());
            let _ = check_transfer(transfer, ChainParams::devnet().network_id);
        }
        (Ok(Transaction::Coinbase(_)), Err(_)) | (Err(_), Err(_)) => {}
        (transaction, transfer) => {
            panic!("transaction {transaction:?} but transfer {transfer:?}")
        }
    }
});
