//! Peer messages (`chain_core::protocol::Message`), the payload of every frame.
//!
//! Checks: no panic; a decoded message re-encodes to exactly the bytes it was read from (the
//! encoding is canonical, so a txid or block hash cannot be changed by re-encoding); `from_bytes`
//! accepts exactly the inputs that `decode` reads to the end.
#![no_main]

use chain_core::encode::{Decode, DecodeError, Encode, Reader};
use chain_core::protocol::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut reader = Reader::new(data);
    let decoded = Message::decode(&mut reader);
    let whole = Message::from_bytes(data);
    match decoded {
        Ok(message) => {
            let used = data.len() - reader.remaining();
            assert_eq!(message.to_bytes(), data[..used], "{}", message.command());
            match reader.remaining() {
                0 => assert_eq!(whole, Ok(message)),
                count => assert_eq!(whole, Err(DecodeError::TrailingBytes { count })),
            }
        }
        Err(error) => assert_eq!(whole, Err(error)),
    }
});
