//! A peer speaking the protocol by hand over a raw socket: the hostile-input tests send it bad
//! bytes, and the stalled-sync test makes it serve part of a chain and then fall silent.

use crate::support::{params, wait_for};
use chain_core::params::{ChainParams, NetworkId};
use chain_core::pow::Work;
use chain_core::protocol::frame::{FRAME_HEADER_LEN, encode_frame, parse_header, parse_payload};
use chain_core::protocol::{Message, PROTOCOL_VERSION, Version};
use chain_core::units::Height;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// A raw connection to a node, on the network of [`params`] unless told otherwise.
pub struct RawPeer {
    stream: TcpStream,
    /// Our end of the connection, as the node sees it.
    pub local: SocketAddr,
    /// The network whose magic frames carry (a test may change it to send a foreign frame).
    pub network: NetworkId,
    /// The network our `version` names.
    params: ChainParams,
    /// The best chain our `version` claims.
    best: (Height, Work),
}

impl RawPeer {
    pub async fn connect(to: SocketAddr) -> Self {
        Self::connect_from("127.0.0.1:0".parse().unwrap(), to).await
    }

    /// Connects from a given local address (retrying while the old socket on it finishes
    /// closing).
    pub async fn connect_from(local: SocketAddr, to: SocketAddr) -> Self {
        let stream = wait_for("a socket on the address", 10, || async move {
            let socket = TcpSocket::new_v4().ok()?;
            socket.set_reuseaddr(true).ok()?;
            socket.bind(local).ok()?;
            socket.connect(to).await.ok()
        })
        .await;
        let local = stream.local_addr().unwrap();
        let params = params();
        Self {
            stream,
            local,
            network: params.network_id,
            params,
            best: (Height(0), Work::ZERO),
        }
    }

    /// Speaks for a node of `params` whose best chain ends at `height` with `work`.
    pub fn claiming(mut self, params: ChainParams, height: Height, work: Work) -> Self {
        self.network = params.network_id;
        self.params = params;
        self.best = (height, work);
        self
    }

    pub async fn send(&mut self, message: &Message) {
        let frame = encode_frame(message, self.network);
        self.send_raw(&frame).await;
    }

    /// Writes bytes; a write to a connection the node has already closed is not an error here.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes).await;
    }

    /// Ends our side of the stream (the node reads end of file).
    pub async fn finish(&mut self) {
        self.stream.shutdown().await.unwrap();
    }

    /// The next message, or `None` once the node has closed the connection; panics after 10 s.
    pub async fn recv(&mut self) -> Option<Message> {
        tokio::time::timeout(Duration::from_secs(10), self.next())
            .await
            .expect("the node neither answered nor closed the connection")
    }

    /// The next message, or `None` once the node has closed the connection, however long it
    /// takes (for a peer serving a node in a task of its own).
    pub async fn next(&mut self) -> Option<Message> {
        let mut head = [0u8; FRAME_HEADER_LEN];
        self.stream.read_exact(&mut head).await.ok()?;
        let header = parse_header(&head, self.network).unwrap();
        let mut payload = vec![0u8; header.len];
        self.stream.read_exact(&mut payload).await.ok()?;
        Some(parse_payload(&header, &payload).unwrap())
    }

    /// Our `version` message, with a given self-connection nonce.
    pub fn version(&self, nonce: u64) -> Message {
        Message::Version(Version {
            version: PROTOCOL_VERSION,
            network: self.params.network_id,
            genesis: self.params.genesis_hash(),
            best_height: self.best.0,
            best_work: self.best.1,
            listen_port: 0,
            nonce,
            agent: "raw test peer".into(),
        })
    }

    /// `version`, their `version` and `verack`, our `verack`.
    pub async fn handshake(&mut self) {
        let version = self.version(0x5eed_0000 + u64::from(self.local.port()));
        self.send(&version).await;
        assert!(matches!(self.recv().await, Some(Message::Version(_))));
        assert_eq!(self.recv().await, Some(Message::Verack));
        self.send(&Message::Verack).await;
    }

    /// Pings and waits for the matching pong (skipping anything else): the connection is alive
    /// and everything sent before the ping has been handled.
    pub async fn ping(&mut self, nonce: u64) {
        self.send(&Message::Ping(nonce)).await;
        loop {
            match self.recv().await {
                Some(Message::Pong(n)) if n == nonce => return,
                Some(_) => {}
                None => panic!("disconnected while waiting for a pong"),
            }
        }
    }

    /// Reads until the node closes the connection.
    pub async fn expect_closed(&mut self) {
        while self.recv().await.is_some() {}
    }
}
