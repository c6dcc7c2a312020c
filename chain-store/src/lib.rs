//! SQLite adapter for the `chain_core::store::Store` traits: chain, state, indexes, wallets.
