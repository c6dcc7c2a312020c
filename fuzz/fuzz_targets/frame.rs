//! The frame parser: what a peer's TCP stream delivers, decoded as `chain-net`'s `FrameReader`
//! does (header, then payload) and as `decode_frame` does (one buffer).
//!
//! Checks: no panic; both paths give the same answer; an accepted frame is exactly the frame
//! this node would send for that message (one encoding per message); a strict prefix of a frame
//! is "need more bytes", never an error.
//!
//! Almost every mutation breaks the checksum, which would stop the fuzzer at the header, so each
//! input is also tried with its length and checksum fields made to match the rest: that sends
//! mutated payloads through the frame code into the message decoder.
#![no_main]

use chain_core::hash::sha256d;
use chain_core::params::{ChainParams, NetworkId};
use chain_core::protocol::Message;
use chain_core::protocol::frame::{
    FRAME_HEADER_LEN, FrameError, MAX_PAYLOAD, decode_frame, encode_frame, parse_header,
    parse_payload,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let network = ChainParams::devnet().network_id;
    let _ = check(data, network);
    if let Some(fixed) = with_matching_length_and_checksum(data) {
        let decoded = check(&fixed, network);
        assert!(
            !matches!(decoded, Err(FrameError::BadChecksum)),
            "a recomputed checksum was refused"
        );
    }
});

type Decoded = Result<Option<(Message, usize)>, FrameError>;

fn check(data: &[u8], network: NetworkId) -> Decoded {
    let decoded = decode_frame(data, network);
    assert_eq!(decoded, read_like_frame_reader(data, network));
    if let Ok(Some((message, used))) = &decoded {
        assert_eq!(encode_frame(message, network), data[..*used]);
        assert_eq!(decode_frame(&data[..used - 1], network), Ok(None));
    }
    decoded
}

/// The steps `chain_net::connection::FrameReader::read` takes, on a buffer instead of a socket.
fn read_like_frame_reader(data: &[u8], network: NetworkId) -> Decoded {
    let Some(head) = data.first_chunk::<FRAME_HEADER_LEN>() else {
        return Ok(None);
    };
    let header = parse_header(head, network)?;
    assert!(header.len <= MAX_PAYLOAD);
    let end = FRAME_HEADER_LEN + header.len;
    let Some(payload) = data.get(FRAME_HEADER_LEN..end) else {
        return Ok(None);
    };
    parse_payload(&header, payload).map(|message| Some((message, end)))
}

fn with_matching_length_and_checksum(data: &[u8]) -> Option<Vec<u8>> {
    let payload = data.get(FRAME_HEADER_LEN..)?;
    let len = u32::try_from(payload.len()).ok()?;
    let mut fixed = data.to_vec();
    fixed[4..8].copy_from_slice(&len.to_le_bytes());
    fixed[8..12].copy_from_slice(&sha256d(&[payload])[..4]);
    Some(fixed)
}
