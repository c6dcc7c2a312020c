//! The body of `POST /api/v1/mining`: JSON as warp's `body::json()` reads it, then
//! `chain_web::api::parse_mining_body`, as the route does (on devnet, prefix `dev`).
//!
//! Checks: no panic; `enabled: false` always means stop; an accepted start pays the address the
//! body names (its own lowercase text, up to surrounding whitespace) on 1 to 64 threads; a
//! refused body is a 400.
#![no_main]

use chain_web::api::{MiningBody, parse_mining_body};
use libfuzzer_sys::fuzz_target;

const PREFIX: &str = "dev";

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<MiningBody>(data) else {
        return;
    };
    let (enabled, address, threads) = (body.enabled, body.address.clone(), body.threads);
    match parse_mining_body(body, PREFIX) {
        Ok(None) => assert!(!enabled),
        Ok(Some(config)) => {
            assert!(enabled);
            let text = address.expect("a start names an address");
            assert_eq!(config.address.to_text(PREFIX), text.trim().to_lowercase());
            assert_eq!(config.threads, threads.unwrap_or(1).clamp(1, 64));
            assert!((1..=64).contains(&config.threads));
        }
        Err(error) => {
            assert!(enabled);
            assert_eq!(error.status, 400);
        }
    }
});
