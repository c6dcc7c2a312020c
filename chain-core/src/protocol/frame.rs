//! Frames on the wire: `magic (4) | payload length u32 LE (4) | checksum (4) | payload`, the
//! checksum being the first four bytes of SHA-256d of the payload.
//!
//! A reader first parses the 12-byte frame header and checks the magic and the length against
//! [`MAX_PAYLOAD`] *before* buffering the payload, so a peer cannot make a node allocate more than
//! that by declaring a large length. The checksum catches corruption, not attacks.

use super::message::Message;
use crate::encode::{Decode, DecodeError, Encode};
use crate::hash::sha256d;
use crate::params::NetworkId;
use thiserror::Error;

/// Bytes in a frame header.
pub const FRAME_HEADER_LEN: usize = 12;

/// The largest payload accepted (a 1 MiB block with room to spare).
pub const MAX_PAYLOAD: usize = 4 * 1024 * 1024;

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is for another network (or the stream is not this protocol at all).
    #[error("wrong magic {got:02x?}")]
    WrongMagic {
        /// The four bytes found.
        got: [u8; 4],
    },
    /// The declared payload is larger than allowed.
    #[error("payload of {len} bytes exceeds the limit of {max}")]
    Oversized {
        /// Declared length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The payload does not match its checksum.
    #[error("checksum mismatch")]
    BadChecksum,
    /// The payload is not a valid message.
    #[error("malformed message: {0}")]
    Malformed(#[from] DecodeError),
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length, already checked against [`MAX_PAYLOAD`].
    pub len: usize,
    /// Expected checksum of the payload.
    pub checksum: [u8; 4],
}

/// Parses and checks a frame header.
///
/// # Errors
///
/// [`FrameError::WrongMagic`] or [`FrameError::Oversized`].
pub fn parse_header(
    bytes: &[u8; FRAME_HEADER_LEN],
    network: NetworkId,
) -> Result<FrameHeader, FrameError> {
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if magic != network.0 {
        return Err(FrameError::WrongMagic { got: magic });
    }
    let len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if len as usize > MAX_PAYLOAD {
        return Err(FrameError::Oversized {
            len: u64::from(len),
            max: MAX_PAYLOAD,
        });
    }
    Ok(FrameHeader {
        len: len as usize,
        checksum: [bytes[8], bytes[9], bytes[10], bytes[11]],
    })
}

fn checksum(payload: &[u8]) -> [u8; 4] {
    let digest = sha256d(&[payload]);
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Checks a payload against its header and decodes the message.
///
/// # Errors
///
/// [`FrameError::BadChecksum`] or [`FrameError::Malformed`].
pub fn parse_payload(header: &FrameHeader, payload: &[u8]) -> Result<Message, FrameError> {
    if checksum(payload) != header.checksum {
        return Err(FrameError::BadChecksum);
    }
    Ok(Message::from_bytes(payload)?)
}

/// Encodes a message as a complete frame.
pub fn encode_frame(message: &Message, network: NetworkId) -> Vec<u8> {
    let payload = message.to_bytes();
    let mut frame = Vec::with_capacity(FRAME_HEADER_LEN + payload.len());
    frame.extend_from_slice(&network.0);
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&checksum(&payload));
    frame.extend_from_slice(&payload);
    frame
}

/// Decodes one complete frame from the front of `bytes`: `Ok(None)` if more bytes are needed,
/// else the message and how many bytes it used.
///
/// # Errors
///
/// Any [`FrameError`]: the stream cannot be trusted after one.
pub fn decode_frame(
    bytes: &[u8],
    network: NetworkId,
) -> Result<Option<(Message, usize)>, FrameError> {
    let Some(head) = bytes.first_chunk::<FRAME_HEADER_LEN>() else {
        return Ok(None);
    };
    let header = parse_header(head, network)?;
    let end = FRAME_HEADER_LEN + header.len;
    if bytes.len() < end {
        return Ok(None);
    }
    let message = parse_payload(&header, &bytes[FRAME_HEADER_LEN..end])?;
    Ok(Some((message, end)))
}
