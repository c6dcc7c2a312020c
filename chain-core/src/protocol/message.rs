//! Peer messages and their canonical encoding: a one-byte tag, then the fields.
//!
//! Every list has a limit checked before it is allocated; a message that breaks one is
//! malformed, and the peer that sent it is penalised.

use crate::block::{Block, Header};
use crate::encode::{Decode, DecodeError, Encode, Reader, write_bytes, write_list};
use crate::hash::{BlockHash, Txid};
use crate::params::NetworkId;
use crate::pow::Work;
use crate::tx::Transfer;
use crate::units::Height;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

/// Inventory items in one `inv`, `getdata` or `notfound` at most.
pub const MAX_INV: usize = 1_000;
/// Headers in one `headers` message at most.
pub const MAX_HEADERS: usize = 2_000;
/// Hashes in a block locator at most.
pub const MAX_LOCATOR: usize = 64;
/// Addresses in one `addr` message at most.
pub const MAX_ADDRS: usize = 1_000;
/// Bytes of a peer's self-description at most.
pub const MAX_AGENT_BYTES: usize = 64;

/// Something a peer can announce or ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Inventory {
    /// A block, by hash.
    Block(BlockHash),
    /// A pending transfer, by txid.
    Transfer(Txid),
}

impl Encode for Inventory {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Inventory::Block(hash) => {
                out.push(0);
                hash.encode_to(out);
            }
            Inventory::Transfer(txid) => {
                out.push(1);
                txid.encode_to(out);
            }
        }
    }
}

impl Decode for Inventory {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(reader)? {
            0 => Ok(Inventory::Block(BlockHash::decode(reader)?)),
            1 => Ok(Inventory::Transfer(Txid::decode(reader)?)),
            _ => Err(DecodeError::InvalidValue {
                what: "inventory tag",
            }),
        }
    }
}

/// A peer's listening address, as gossiped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerAddress {
    /// Where it listens.
    pub addr: SocketAddr,
    /// When it was last heard from (unix seconds).
    pub last_seen: u64,
}

impl Encode for PeerAddress {
    fn encode_to(&self, out: &mut Vec<u8>) {
        let ip = match self.addr.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        out.extend_from_slice(&ip.octets());
        self.addr.port().encode_to(out);
        self.last_seen.encode_to(out);
    }
}

impl Decode for PeerAddress {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let ip = Ipv6Addr::from(reader.array::<16>()?);
        let port = u16::decode(reader)?;
        let last_seen = u64::decode(reader)?;
        let ip = ip
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(ip));
        Ok(Self {
            addr: SocketAddr::new(ip, port),
            last_seen,
        })
    }
}

/// The first message on a connection, from both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Protocol version spoken.
    pub version: u32,
    /// Network id; a mismatch ends the connection.
    pub network: NetworkId,
    /// Genesis hash; a mismatch ends the connection.
    pub genesis: BlockHash,
    /// The sender's best height.
    pub best_height: Height,
    /// The sender's best chain work.
    pub best_work: Work,
    /// The port the sender listens on (0: not listening).
    pub listen_port: u16,
    /// Random per node: a connection to oneself sees its own nonce.
    pub nonce: u64,
    /// Free text naming the software.
    pub agent: String,
}

/// A peer message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Handshake, step 1.
    Version(Version),
    /// Handshake, step 2.
    Verack,
    /// Are you there?
    Ping(u64),
    /// Yes.
    Pong(u64),
    /// Ask for known peer addresses.
    GetAddr,
    /// Known peer addresses.
    Addr(Vec<PeerAddress>),
    /// Announcement of blocks or transfers.
    Inv(Vec<Inventory>),
    /// Request for blocks or transfers.
    GetData(Vec<Inventory>),
    /// Requested items the sender does not have.
    NotFound(Vec<Inventory>),
    /// Request for headers after the first locator hash on the receiver's best chain.
    GetHeaders {
        /// Hashes from the sender's tip back to genesis, dense first, then exponentially sparse.
        locator: Vec<BlockHash>,
        /// Stop after this hash (zero: send as many as allowed).
        stop: BlockHash,
    },
    /// Headers in chain order.
    Headers(Vec<Header>),
    /// A block.
    Block(Block),
    /// A pending transfer.
    Transfer(Transfer),
}

impl Message {
    /// A short name, for logs and metrics.
    pub fn command(&self) -> &'static str {
        match self {
            Message::Version(_) => "version",
            Message::Verack => "verack",
            Message::Ping(_) => "ping",
            Message::Pong(_) => "pong",
            Message::GetAddr => "getaddr",
            Message::Addr(_) => "addr",
            Message::Inv(_) => "inv",
            Message::GetData(_) => "getdata",
            Message::NotFound(_) => "notfound",
            Message::GetHeaders { .. } => "getheaders",
            Message::Headers(_) => "headers",
            Message::Block(_) => "block",
            Message::Transfer(_) => "transfer",
        }
    }
}

const INVENTORY_BYTES: usize = 33;
const PEER_ADDRESS_BYTES: usize = 26;

impl Encode for Message {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Message::Version(v) => {
                out.push(0);
                v.version.encode_to(out);
                out.extend_from_slice(&v.network.0);
                v.genesis.encode_to(out);
                v.best_height.encode_to(out);
                out.extend_from_slice(&v.best_work.to_be_bytes());
                v.listen_port.encode_to(out);
                v.nonce.encode_to(out);
                write_bytes(out, v.agent.as_bytes());
            }
            Message::Verack => out.push(1),
            Message::Ping(n) => {
                out.push(2);
                n.encode_to(out);
            }
            Message::Pong(n) => {
                out.push(3);
                n.encode_to(out);
            }
            Message::GetAddr => out.push(4),
            Message::Addr(addrs) => {
                out.push(5);
                write_list(out, addrs);
            }
            Message::Inv(items) => {
                out.push(6);
                write_list(out, items);
            }
            Message::GetData(items) => {
                out.push(7);
                write_list(out, items);
            }
            Message::NotFound(items) => {
                out.push(8);
                write_list(out, items);
            }
            Message::GetHeaders { locator, stop } => {
                out.push(9);
                write_list(out, locator);
                stop.encode_to(out);
            }
            Message::Headers(headers) => {
                out.push(10);
                write_list(out, headers);
            }
            Message::Block(block) => {
                out.push(11);
                block.encode_to(out);
            }
            Message::Transfer(transfer) => {
                out.push(12);
                transfer.encode_to(out);
            }
        }
    }
}

impl Decode for Message {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match u8::decode(reader)? {
            0 => Message::Version(Version {
                version: u32::decode(reader)?,
                network: NetworkId(reader.array()?),
                genesis: BlockHash::decode(reader)?,
                best_height: Height::decode(reader)?,
                best_work: Work::from_be_bytes(reader.array()?),
                listen_port: u16::decode(reader)?,
                nonce: u64::decode(reader)?,
                agent: String::from_utf8(reader.bytes("agent", MAX_AGENT_BYTES)?.to_vec())
                    .map_err(|_| DecodeError::InvalidValue { what: "agent text" })?,
            }),
            1 => Message::Verack,
            2 => Message::Ping(u64::decode(reader)?),
            3 => Message::Pong(u64::decode(reader)?),
            4 => Message::GetAddr,
            5 => Message::Addr(reader.list("addr", MAX_ADDRS, PEER_ADDRESS_BYTES)?),
            6 => Message::Inv(reader.list("inv", MAX_INV, INVENTORY_BYTES)?),
            7 => Message::GetData(reader.list("getdata", MAX_INV, INVENTORY_BYTES)?),
            8 => Message::NotFound(reader.list("notfound", MAX_INV, INVENTORY_BYTES)?),
            9 => Message::GetHeaders {
                locator: reader.list("locator", MAX_LOCATOR, 32)?,
                stop: BlockHash::decode(reader)?,
            },
            10 => {
                Message::Headers(reader.list("headers", MAX_HEADERS, crate::block::HEADER_LEN)?)
            }
            11 => Message::Block(Block::decode(reader)?),
            12 => Message::Transfer(Transfer::decode(reader)?),
            _ => {
                return Err(DecodeError::InvalidValue {
                    what: "message tag",
                });
            }
        })
    }
}
