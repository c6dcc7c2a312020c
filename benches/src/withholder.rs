//! A peer that announces a chain and never delivers a block of it, on a real socket: the sync
//! harness's withholding peer (`sync --trouble`).
//!
//! It speaks the protocol by hand (frames from `chain_core::protocol::frame`): answers the
//! handshake, `getheaders` from its [`ServedChain`] and `ping`, and ignores every `getdata`.
//! A node that asks it for blocks must notice the stall and fetch them elsewhere; if it
//! reconnects, the withholder serves it the same way again. It counts the connections it saw and
//! the blocks asked of it.

use chain_core::protocol::frame::{FRAME_HEADER_LEN, encode_frame, parse_header, parse_payload};
use chain_core::protocol::{Inventory, Message};
use chain_core::testkit::served::{ServedChain, Serves};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the withholder saw.
#[derive(Debug, Default)]
pub struct Withheld {
    /// Connections accepted.
    pub connections: AtomicU64,
    /// Blocks asked for (and not sent).
    pub blocks_asked: AtomicU64,
}

/// A running withholder; it stops when dropped.
pub struct Withholder {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it saw so far.
    pub seen: Arc<Withheld>,
    task: JoinHandle<()>,
}

impl Drop for Withholder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Withholder {
    /// Listens on a free loopback port and serves `chain` headers-only to whoever connects.
    ///
    /// # Errors
    ///
    /// If the listener cannot bind.
    pub async fn start(chain: Arc<ServedChain>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Withheld::default());
        let task = tokio::spawn(accept(listener, chain, seen.clone()));
        Ok(Self { addr, seen, task })
    }
}

async fn accept(listener: TcpListener, chain: Arc<ServedChain>, seen: Arc<Withheld>) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        seen.connections.fetch_add(1, Ordering::Relaxed);
        connections.spawn(serve(stream, chain.clone(), seen.clone()));
    }
}

/// Serves one connection until the node closes it or sends something unreadable.
async fn serve(mut stream: TcpStream, chain: Arc<ServedChain>, seen: Arc<Withheld>) {
    let network = chain.version(0).network;
    let mut nonce = 0x0077_1740_0000_u64;
    while let Some(message) = read(&mut stream, network).await {
        let answers = match &message {
            Message::Version(_) => {
                nonce += 1;
                vec![Message::Version(chain.version(nonce)), Message::Verack]
            }
            Message::GetData(items) => {
                let blocks = items
                    .iter()
                    .filter(|item| matches!(item, Inventory::Block(_)))
                    .count();
                seen.blocks_asked
                    .fetch_add(blocks as u64, Ordering::Relaxed);
                Vec::new()
            }
            other => chain.answer(other, Serves::HeadersOnly),
        };
        for answer in answers {
            if stream
                .write_all(&encode_frame(&answer, network))
                .await
                .is_err()
            {
                return;
            }
        }
    }
}

async fn read(stream: &mut TcpStream, network: chain_core::params::NetworkId) -> Option<Message> {
    let mut head = [0u8; FRAME_HEADER_LEN];
    stream.read_exact(&mut head).await.ok()?;
    let header = parse_header(&head, network).ok()?;
    let mut payload = vec![0u8; header.len];
    stream.read_exact(&mut payload).await.ok()?;
    parse_payload(&header, &payload).ok()
}
