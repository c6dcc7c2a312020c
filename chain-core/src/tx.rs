//! Transactions: the coinbase that pays a block's miner, and signed transfers between accounts.
//!
//! A transfer is signed over `SHA-256d(SIGNING_TAG || network id || its encoding without the
//! signature)`, so a transfer signed for one network is worthless on any other, and its `nonce`
//! (the sender's count of sent transfers) makes every transfer spendable once. The txid is
//! `SHA-256d` of the full encoding (tag byte included), signature and all; signatures are low-S
//! only, so nobody but the signer can produce another valid encoding of the same transfer.

use crate::address::Address;
use crate::encode::{Decode, DecodeError, Encode, Reader, write_bytes};
use crate::hash::{Txid, sha256d};
use crate::keys::{PublicKey, SecretKey, Signature};
use crate::params::NetworkId;
use crate::units::{Amount, Height};

/// The longest memo a transfer may carry, in bytes.
pub const MAX_MEMO_BYTES: usize = 256;

/// Domain tag of the transfer signing hash.
pub const SIGNING_TAG: &[u8] = b"chain/transfer/v1";

const COINBASE_TAG: u8 = 0;
const TRANSFER_TAG: u8 = 1;

/// Bytes of the smallest transaction encoding (a coinbase), used to bound list lengths.
pub const MIN_TX_BYTES: usize = 1 + 8 + 20 + 8;

/// The first transaction of every block: new coins (and the block's fees) to the miner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coinbase {
    /// The block's height, which makes every coinbase's txid unique.
    pub height: Height,
    /// Who is paid.
    pub to: Address,
    /// How much; at most the subsidy plus the block's fees.
    pub amount: Amount,
}

/// A signed movement of coins from the key holder's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The sender's public key; the sender's account is its address.
    pub from: PublicKey,
    /// The receiver.
    pub to: Address,
    /// Coins moved (must be above zero).
    pub amount: Amount,
    /// Coins paid to the miner.
    pub fee: Amount,
    /// Must equal the sender's count of transfers sent so far.
    pub nonce: u64,
    /// Free text or data, at most [`MAX_MEMO_BYTES`].
    pub memo: Vec<u8>,
    /// ECDSA over [`Transfer::signing_hash`].
    pub signature: Signature,
}

/// The fields of a transfer before it is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedTransfer {
    /// The receiver.
    pub to: Address,
    /// Coins moved.
    pub amount: Amount,
    /// Coins paid to the miner.
    pub fee: Amount,
    /// The sender's next nonce.
    pub nonce: u64,
    /// Free text or data.
    pub memo: Vec<u8>,
}

impl UnsignedTransfer {
    /// Signs the transfer with `key` for the network `network`.
    pub fn sign(self, key: &SecretKey, network: NetworkId) -> Transfer {
        let mut transfer = Transfer {
            from: key.public_key(),
            to: self.to,
            amount: self.amount,
            fee: self.fee,
            nonce: self.nonce,
            memo: self.memo,
            signature: Signature([0u8; 64]),
        };
        transfer.signature = key.sign_hash(&transfer.signing_hash(network));
        transfer
    }
}

impl Transfer {
    /// The sender's address.
    pub fn sender(&self) -> Address {
        self.from.address()
    }

    fn encode_unsigned(&self, out: &mut Vec<u8>) {
        self.from.encode_to(out);
        self.to.encode_to(out);
        self.amount.encode_to(out);
        self.fee.encode_to(out);
        self.nonce.encode_to(out);
        write_bytes(out, &self.memo);
    }

    /// The hash the sender signs: bound to the network, covering every field but the signature.
    pub fn signing_hash(&self, network: NetworkId) -> [u8; 32] {
        let mut unsigned = Vec::with_capacity(96 + self.memo.len());
        self.encode_unsigned(&mut unsigned);
        sha256d(&[SIGNING_TAG, &network.0, &unsigned])
    }

    /// The amount plus the fee: what the sender's balance must cover. `None` on overflow.
    pub fn total_cost(&self) -> Option<Amount> {
        self.amount.checked_add(self.fee)
    }

    fn decode_body(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            from: PublicKey::decode(reader)?,
            to: Address::decode(reader)?,
            amount: Amount::decode(reader)?,
            fee: Amount::decode(reader)?,
            nonce: u64::decode(reader)?,
            memo: reader.bytes("memo", MAX_MEMO_BYTES)?.to_vec(),
            signature: Signature::decode(reader)?,
        })
    }
}

/// Any transaction, as it appears in a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transaction {
    /// New coins to the miner.
    Coinbase(Coinbase),
    /// A signed transfer.
    Transfer(Transfer),
}

impl Transaction {
    /// The transaction id: SHA-256d of the full encoding.
    pub fn txid(&self) -> Txid {
        Txid(sha256d(&[&self.to_bytes()]))
    }

    /// The size of the encoding in bytes.
    pub fn encoded_len(&self) -> usize {
        match self {
            Transaction::Coinbase(_) => MIN_TX_BYTES,
            Transaction::Transfer(t) => t.encoded_len(),
        }
    }

    /// The transfer inside, if this is one.
    pub fn as_transfer(&self) -> Option<&Transfer> {
        match self {
            Transaction::Transfer(t) => Some(t),
            Transaction::Coinbase(_) => None,
        }
    }
}

impl Encode for Transaction {
    fn encode_to(&self, out: &mut Vec<u8>) {
        match self {
            Transaction::Coinbase(c) => {
                out.push(COINBASE_TAG);
                c.height.encode_to(out);
                c.to.encode_to(out);
                c.amount.encode_to(out);
            }
            Transaction::Transfer(t) => t.encode_to(out),
        }
    }
}

impl Decode for Transaction {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(reader)? {
            COINBASE_TAG => Ok(Transaction::Coinbase(Coinbase {
                height: Height::decode(reader)?,
                to: Address::decode(reader)?,
                amount: Amount::decode(reader)?,
            })),
            TRANSFER_TAG => Transfer::decode_body(reader).map(Transaction::Transfer),
            _ => Err(DecodeError::InvalidValue {
                what: "transaction tag",
            }),
        }
    }
}

impl Encode for Transfer {
    /// A transfer on its own (in the mempool, on the wire) is encoded as a tagged transaction,
    /// so that its bytes, and so its txid, are the same as inside a block.
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.push(TRANSFER_TAG);
        self.encode_unsigned(out);
        self.signature.encode_to(out);
    }
}

impl Decode for Transfer {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u8::decode(reader)? {
            TRANSFER_TAG => Transfer::decode_body(reader),
            _ => Err(DecodeError::InvalidValue {
                what: "transfer tag",
            }),
        }
    }
}

impl Transfer {
    /// The txid this transfer has inside a block.
    pub fn txid(&self) -> Txid {
        Txid(sha256d(&[&self.to_bytes()]))
    }

    /// The size of its encoding in bytes (what fee rates are measured against).
    pub fn encoded_len(&self) -> usize {
        Self::len_with_memo(self.memo.len())
    }

    /// The size of the encoding of a transfer whose memo has `memo_bytes` bytes (a wallet's fee
    /// before it signs).
    pub fn len_with_memo(memo_bytes: usize) -> usize {
        1 + 33 + 20 + 8 + 8 + 8 + crate::encode::var_int_len(memo_bytes as u64) + memo_bytes + 64
    }
}
