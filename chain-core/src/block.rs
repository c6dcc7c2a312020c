//! Block headers and blocks.
//!
//! The header is a fixed 88 bytes so that a miner hashes its first 64 bytes once (the midstate)
//! and only the second SHA-256 block, where the nonce sits, per try:
//!
//! ```text
//! offset  0  version      u32 LE
//! offset  4  prev_hash    [32]
//! offset 36  merkle_root  [32]
//! offset 68  time         u64 LE (unix seconds)
//! offset 76  bits         u32 LE (compact target)
//! offset 80  nonce        u64 LE
//! ```

use crate::encode::{Decode, DecodeError, Encode, Reader, write_list};
use crate::hash::{BlockHash, MerkleRoot, Txid, sha256d};
use crate::merkle::merkle_root;
use crate::pow::CompactTarget;
use crate::tx::{MIN_TX_BYTES, Transaction};

/// Bytes in an encoded header.
pub const HEADER_LEN: usize = 88;

/// The largest block any network may configure; decoding caps list lengths with it.
pub const MAX_BLOCK_BYTES_LIMIT: usize = 32 * 1024 * 1024;

/// The header version this protocol defines.
pub const HEADER_VERSION: u32 = 1;

/// A block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Header format version ([`HEADER_VERSION`]).
    pub version: u32,
    /// Hash of the parent block (all zero for genesis).
    pub prev_hash: BlockHash,
    /// Merkle root of the block's txids.
    pub merkle_root: MerkleRoot,
    /// Unix time in seconds, as the miner claims it.
    pub time: u64,
    /// The target this block's hash meets, in compact form.
    pub bits: CompactTarget,
    /// Varied by the miner.
    pub nonce: u64,
}

impl Header {
    /// The 88 bytes that are hashed.
    pub fn to_array(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..4].copy_from_slice(&self.version.to_le_bytes());
        out[4..36].copy_from_slice(&self.prev_hash.0);
        out[36..68].copy_from_slice(&self.merkle_root.0);
        out[68..76].copy_from_slice(&self.time.to_le_bytes());
        out[76..80].copy_from_slice(&self.bits.0.to_le_bytes());
        out[80..88].copy_from_slice(&self.nonce.to_le_bytes());
        out
    }

    /// The block hash: SHA-256d of the 88 header bytes.
    pub fn hash(&self) -> BlockHash {
        BlockHash(sha256d(&[&self.to_array()]))
    }
}

impl Encode for Header {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_array());
    }
}

impl Decode for Header {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            version: u32::decode(reader)?,
            prev_hash: BlockHash::decode(reader)?,
            merkle_root: MerkleRoot::decode(reader)?,
            time: u64::decode(reader)?,
            bits: CompactTarget::decode(reader)?,
            nonce: u64::decode(reader)?,
        })
    }
}

/// A header and its transactions (a coinbase first, then transfers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The transactions, in order.
    pub txs: Vec<Transaction>,
}

impl Block {
    /// The block's hash.
    pub fn hash(&self) -> BlockHash {
        self.header.hash()
    }

    /// The txids in block order.
    pub fn txids(&self) -> Vec<Txid> {
        self.txs.iter().map(Transaction::txid).collect()
    }

    /// The merkle root of the transactions as they are (not as the header claims).
    pub fn compute_merkle_root(&self) -> MerkleRoot {
        merkle_root(&self.txids())
    }

    /// The size of the encoding in bytes.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN
            + crate::encode::var_int_len(self.txs.len() as u64)
            + self.txs.iter().map(Transaction::encoded_len).sum::<usize>()
    }
}

impl Encode for Block {
    fn encode_to(&self, out: &mut Vec<u8>) {
        self.header.encode_to(out);
        write_list(out, &self.txs);
    }
}

impl Decode for Block {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = Header::decode(reader)?;
        let txs = reader.list(
            "transactions",
            MAX_BLOCK_BYTES_LIMIT / MIN_TX_BYTES,
            MIN_TX_BYTES,
        )?;
        Ok(Self { header, txs })
    }
}
