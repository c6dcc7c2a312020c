//! The body of `POST /api/v1/transfers`: JSON as warp's `body::json()` reads it, then
//! `chain_web::api::parse_submit_body` (hex, then the transfer decoder), as the route does.
//!
//! Checks: no panic; a refused body is a 400 `malformed_transfer`; an accepted one carries the
//! canonical hex of the transfer it gave, up to case and surrounding whitespace (so no other
//! text can smuggle the same transfer past a filter on its hex).
#![no_main]

use chain_core::encode::Encode;
use chain_core::hash::to_hex;
use chain_web::api::{SubmitBody, parse_submit_body};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<SubmitBody>(data) else {
        return;
    };
    match parse_submit_body(&body) {
        Ok(transfer) => {
            assert_eq!(
                to_hex(&transfer.to_bytes()),
                body.transfer.trim().to_lowercase()
            );
        }
        Err(error) => {
            assert_eq!((error.status, error.code), (400, "malformed_transfer"));
        }
    }
});
