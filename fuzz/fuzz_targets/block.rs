//! Blocks (`chain_core::block::Block`), as a peer sends them in `block` messages and as the
//! store reads them back.
//!
//! Checks: no panic, in the decoder or in the context-free block rules a node runs next
//! (`check_block_form`: size, proof of work, merkle root, coinbase, duplicates); a decoded block
//! re-encodes to the same bytes, and `encoded_len` (what the size limit is checked against)
//! equals the number of bytes read; the header decodes the same on its own.
#![no_main]

use chain_core::block::{Block, HEADER_LEN, Header};
use chain_core::encode::{Decode, Encode, Reader};
use chain_core::params::ChainParams;
use chain_core::validate::check_block_form;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(head) = data.first_chunk::<HEADER_LEN>() {
        let header = Header::from_bytes(head).expect("any 88 bytes are a header");
        assert_eq!(&header.to_array(), head);
    }
    let mut reader = Reader::new(data);
    let Ok(block) = Block::decode(&mut reader) else {
        return;
    };
    let used = data.len() - reader.remaining();
    assert_eq!(block.to_bytes(), data[..used]);
    assert_eq!(block.encoded_len(), used);
    // Regtest: its easy target lets mutated seeds pass proof of work and reach the later rules.
    let _ = check_block_form(&ChainParams::regtest(), &block);
});
