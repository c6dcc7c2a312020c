//! Address text (`chain_core::address::Address::parse`, bech32m), as people type it into the
//! CLI, the API and the wallet pages.
//!
//! Checks: no panic; a text that parses is the address's own text, lowercase, up to the
//! surrounding whitespace `parse` trims (so one address has one text, and what a user sees
//! echoed is what they typed); any 20 bytes survive text and back.
#![no_main]

use chain_core::address::{ADDRESS_LEN, Address};
use libfuzzer_sys::fuzz_target;

const PREFIXES: [&str; 2] = ["dev", "reg"];

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for prefix in PREFIXES {
            if let Ok(address) = Address::parse(text, prefix) {
                assert_eq!(address.to_text(prefix), text.trim().to_lowercase());
            }
        }
    }
    if let Some(bytes) = data.first_chunk::<ADDRESS_LEN>() {
        let address = Address(*bytes);
        for prefix in PREFIXES {
            assert_eq!(
                Address::parse(&address.to_text(prefix), prefix),
                Ok(address)
            );
        }
    }
});
