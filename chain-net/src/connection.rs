//! One TCP connection: frames in, frames out, with the length checked before buffering.
//!
//! The reader parses the 12-byte frame header first and refuses a wrong magic or an oversized
//! length before reading the payload, so a peer cannot make the node allocate more than
//! [`MAX_PAYLOAD`]; and the payload buffer grows only as bytes arrive, so a declared length costs
//! nothing until the peer actually sends it. A clean close is `Ok(None)`; anything malformed is a [`FrameError`], and the
//! connection is dropped after it (the byte stream cannot be trusted any more).

use chain_core::params::NetworkId;
use chain_core::protocol::Message;
use chain_core::protocol::frame::{self, FRAME_HEADER_LEN, FrameError, MAX_PAYLOAD};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// What reading a frame gave.
#[derive(Debug)]
pub enum ReadOutcome {
    /// A message.
    Message(Message),
    /// The peer closed the connection (or it broke).
    Closed,
    /// The bytes are not a frame or message.
    Malformed(FrameError),
}

/// The reading half of a connection.
#[derive(Debug)]
pub struct FrameReader {
    stream: OwnedReadHalf,
    network: NetworkId,
    buffer: Vec<u8>,
}

impl FrameReader {
    /// A reader over `stream` for `network`'s frames.
    pub fn new(stream: OwnedReadHalf, network: NetworkId) -> Self {
        Self {
            stream,
            network,
            buffer: Vec::new(),
        }
    }

    /// Reads the next frame.
    pub async fn read(&mut self) -> ReadOutcome {
        let mut head = [0u8; FRAME_HEADER_LEN];
        if self.stream.read_exact(&mut head).await.is_err() {
            return ReadOutcome::Closed;
        }
        let header = match frame::parse_header(&head, self.network) {
            Ok(header) => header,
            Err(error) => return ReadOutcome::Malformed(error),
        };
        debug_assert!(header.len <= MAX_PAYLOAD);
        // The buffer grows with the bytes that arrive, not to the declared length at once: a
        // peer that declares 4 MiB and sends ten bytes costs ten bytes, not 4 MiB per connection.
        self.buffer.clear();
        let mut payload = (&mut self.stream).take(header.len as u64);
        match payload.read_to_end(&mut self.buffer).await {
            Ok(n) if n == header.len => {}
            _ => return ReadOutcome::Closed,
        }
        let outcome = match frame::parse_payload(&header, &self.buffer) {
            Ok(message) => ReadOutcome::Message(message),
            Err(error) => ReadOutcome::Malformed(error),
        };
        // Do not keep a large buffer around after a large block.
        if self.buffer.capacity() > 64 * 1024 {
            self.buffer = Vec::new();
        }
        outcome
    }
}

/// Writes encoded frames to the writing half until the channel closes or a write fails.
pub async fn write_frames(
    mut stream: OwnedWriteHalf,
    mut frames: tokio::sync::mpsc::Receiver<std::sync::Arc<Vec<u8>>>,
) {
    while let Some(bytes) = frames.recv().await {
        if stream.write_all(&bytes).await.is_err() {
            break;
        }
    }
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::net::{TcpListener, TcpStream};

    #[tokio::test]
    async fn a_declared_length_is_not_allocated_before_its_bytes_arrive() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let network = NetworkId(*b"test");
        // A header declaring the largest payload allowed, and ten bytes of it.
        let mut bytes = network.0.to_vec();
        bytes.extend_from_slice(&(MAX_PAYLOAD as u32).to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&[1; 10]);
        client.write_all(&bytes).await.unwrap();
        let (read, _write) = server.into_split();
        let mut reader = FrameReader::new(read, network);
        // The frame never completes: the read is still waiting when given up.
        let read = tokio::time::timeout(Duration::from_millis(200), reader.read()).await;
        assert!(read.is_err());
        assert!(
            reader.buffer.capacity() < 64 * 1024,
            "{} bytes reserved for 10 received",
            reader.buffer.capacity()
        );
    }
}
