//! The crate's errors: one enum, [`Error`](enum@Error), gathering one enum per domain. Every
//! consensus rule has its own variant, so that a test can break exactly one rule and see exactly
//! that error, and a peer can be penalised by what it did wrong.

use crate::address::AddressError;
use crate::encode::DecodeError;
use crate::hash::{BlockHash, Txid};
use crate::keys::KeyError;
use crate::pow::CompactTarget;
use crate::units::{Amount, Height};
use thiserror::Error;

/// Any error of the consensus core.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that are not a canonical encoding.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A block that breaks a consensus rule.
    #[error("invalid block: {0}")]
    Block(#[from] BlockError),
    /// A transfer that breaks a consensus rule on its own.
    #[error("invalid transfer: {0}")]
    Transfer(#[from] TxError),
    /// A transfer the mempool's policy refuses.
    #[error(transparent)]
    Mempool(#[from] MempoolError),
    /// Address text that cannot be used.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// A key or signature that cannot be used.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The storage behind the chain failed or holds something it should not.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a block is invalid. Each variant is one rule of `docs/PROTOCOL.md`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BlockError {
    /// Rule 1: the encoded block is larger than the network allows.
    #[error("block is {size} bytes, the limit is {max}")]
    TooLarge {
        /// Encoded size.
        size: usize,
        /// The network's limit.
        max: usize,
    },
    /// The header version is not one this protocol defines.
    #[error("unsupported header version {version}")]
    UnsupportedVersion {
        /// The version found.
        version: u32,
    },
    /// Rule 2: `bits` is not a valid compact target, or is easier than the network's limit.
    #[error("bits {bits} is not a valid target for this network")]
    InvalidBits {
        /// The bits found.
        bits: CompactTarget,
    },
    /// Rule 2: the block hash does not meet the target its `bits` encode.
    #[error("block hash {hash} does not meet its target")]
    HighHash {
        /// The block's hash.
        hash: BlockHash,
    },
    /// Rule 2: `bits` is not what the retarget rule gives for this height.
    #[error("bits {got} where the retarget rule gives {expected}")]
    BadBits {
        /// What the rule gives.
        expected: CompactTarget,
        /// What the header says.
        got: CompactTarget,
    },
    /// Rule 3: the parent is known to be invalid.
    #[error("parent block {parent} is invalid")]
    InvalidParent {
        /// The parent's hash.
        parent: BlockHash,
    },
    /// Rule 3: the block was already found invalid.
    #[error("block {hash} was already found invalid")]
    KnownInvalid {
        /// The block's hash.
        hash: BlockHash,
    },
    /// Rule 3: the time is not after the median of the previous blocks' times.
    #[error("time {time} is not after the median time {median} of the previous blocks")]
    TimeTooOld {
        /// The header's time.
        time: u64,
        /// The median of the previous blocks' times.
        median: u64,
    },
    /// Rule 3: the time is more than the allowed drift past the local clock.
    #[error("time {time} is later than {max}, the local clock plus the allowed drift")]
    TimeTooNew {
        /// The header's time.
        time: u64,
        /// The latest time accepted now.
        max: u64,
    },
    /// Rule 4: the merkle root in the header is not the root of the block's txids.
    #[error("merkle root does not match the transactions")]
    BadMerkleRoot,
    /// Rule 5: the first transaction is missing or is not a coinbase.
    #[error("the first transaction is not a coinbase")]
    FirstNotCoinbase,
    /// Rule 5: a coinbase somewhere after the first transaction.
    #[error("transaction {index} is a second coinbase")]
    ExtraCoinbase {
        /// Its position.
        index: usize,
    },
    /// Rule 5: the coinbase names another height than the block's.
    #[error("coinbase height {got}, block height {expected}")]
    BadCoinbaseHeight {
        /// The block's height.
        expected: Height,
        /// The coinbase's height.
        got: Height,
    },
    /// Rule 5: the coinbase pays more than the subsidy plus the fees.
    #[error("coinbase pays {got}, at most {max} allowed")]
    CoinbaseTooLarge {
        /// Subsidy plus fees.
        max: Amount,
        /// What it pays.
        got: Amount,
    },
    /// Rule 5: the sum of fees (or of fees and subsidy) overflows.
    #[error("fees overflow")]
    FeeOverflow,
    /// Rule 5: the same transaction twice.
    #[error("duplicate transaction {txid}")]
    DuplicateTx {
        /// The repeated txid.
        txid: Txid,
    },
    /// Rule 5: a transfer that is invalid where it stands.
    #[error("transaction {index}: {source}")]
    InvalidTransfer {
        /// Its position in the block.
        index: usize,
        /// What is wrong with it.
        source: TxError,
    },
}

impl BlockError {
    /// A short, stable name of the rule broken (`high_hash`, `bad_merkle_root`, ...), for
    /// metrics and logs that group refusals.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::UnsupportedVersion { .. } => "unsupported_version",
            Self::InvalidBits { .. } => "invalid_bits",
            Self::HighHash { .. } => "high_hash",
            Self::BadBits { .. } => "bad_bits",
            Self::InvalidParent { .. } => "invalid_parent",
            Self::KnownInvalid { .. } => "known_invalid",
            Self::TimeTooOld { .. } => "time_too_old",
            Self::TimeTooNew { .. } => "time_too_new",
            Self::BadMerkleRoot => "bad_merkle_root",
            Self::FirstNotCoinbase => "first_not_coinbase",
            Self::ExtraCoinbase { .. } => "extra_coinbase",
            Self::BadCoinbaseHeight { .. } => "bad_coinbase_height",
            Self::CoinbaseTooLarge { .. } => "coinbase_too_large",
            Self::FeeOverflow => "fee_overflow",
            Self::DuplicateTx { .. } => "duplicate_tx",
            Self::InvalidTransfer { .. } => "invalid_transfer",
        }
    }
}

/// Why a transfer is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TxError {
    /// It moves nothing.
    #[error("amount must be above zero")]
    ZeroAmount,
    /// Its memo is longer than allowed.
    #[error("memo is {len} bytes, at most {max} allowed")]
    MemoTooLong {
        /// Memo length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Amount plus fee overflows.
    #[error("amount plus fee overflows")]
    AmountOverflow,
    /// The signature, or the key it is checked against, is not acceptable.
    #[error("signature check failed: {0}")]
    Signature(KeyError),
    /// The nonce is not the sender's next.
    #[error("nonce {got}, the sender's next nonce is {expected}")]
    BadNonce {
        /// The sender's next nonce.
        expected: u64,
        /// The transfer's nonce.
        got: u64,
    },
    /// The sender cannot pay amount plus fee.
    #[error("balance {available} cannot pay {needed}")]
    InsufficientBalance {
        /// The sender's balance.
        available: Amount,
        /// Amount plus fee.
        needed: Amount,
    },
    /// The receiver's balance would overflow.
    #[error("receiver balance overflows")]
    BalanceOverflow,
}

/// Why a wallet does not sign a transfer it was asked to send ([`crate::send::prepare_transfer`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SendError {
    /// Nothing to send.
    #[error("the amount must be more than zero")]
    ZeroAmount,
    /// Amount plus fee does not fit a coin amount.
    #[error("the amount plus the fee is too large")]
    TooLarge,
    /// The memo is longer than a transfer may carry.
    #[error("the memo is {len} bytes, at most {max} fit a transfer")]
    MemoTooLong {
        /// Its length.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// A fee the sender most likely did not mean, not confirmed.
    #[error("{0}")]
    Fee(crate::fees::FeeConcern),
    /// The balance, less what pending transfers take, cannot pay.
    #[error(
        "{available} available ({balance} confirmed, {pending_out} pending out), {needed} needed"
    )]
    Insufficient {
        /// Confirmed balance less pending out.
        available: Amount,
        /// Confirmed balance.
        balance: Amount,
        /// What pending transfers take.
        pending_out: Amount,
        /// Amount plus fee.
        needed: Amount,
    },
}

/// Why the mempool refuses a transfer (policy, not consensus).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MempoolError {
    /// The transfer is invalid on its own or against the current state.
    #[error("invalid transfer: {0}")]
    Invalid(TxError),
    /// The pool already holds it.
    #[error("transfer {txid} is already pending")]
    Duplicate {
        /// Its txid.
        txid: Txid,
    },
    /// The fee is below the minimum for its size.
    #[error("fee {got} is below the minimum {min}")]
    FeeTooLow {
        /// The minimum fee for this transfer's size.
        min: Amount,
        /// Its fee.
        got: Amount,
    },
    /// The nonce was already used (a replay of a confirmed transfer).
    #[error("nonce {got} was already used; the sender's next nonce is {expected}")]
    NonceUsed {
        /// The sender's next nonce.
        expected: u64,
        /// The transfer's nonce.
        got: u64,
    },
    /// The nonce is too far ahead of the sender's next one.
    #[error("nonce {got} is too far ahead of the sender's next nonce {expected}")]
    NonceTooFarAhead {
        /// The sender's next nonce.
        expected: u64,
        /// The transfer's nonce.
        got: u64,
    },
    /// The sender has too many pending transfers.
    #[error("the sender already has {limit} pending transfers")]
    TooManyPending {
        /// The limit per sender.
        limit: usize,
    },
    /// A transfer with the same sender and nonce is pending, and this one does not pay enough
    /// more to replace it.
    #[error("replacing a pending transfer needs a fee of at least {min}")]
    ReplacementFeeTooLow {
        /// The lowest fee that would replace it.
        min: Amount,
    },
    /// The balance does not cover this transfer on top of the sender's pending ones.
    #[error("balance {available} cannot pay {needed} (pending transfers included)")]
    InsufficientBalance {
        /// Confirmed balance.
        available: Amount,
        /// Total cost of the pending transfers and this one.
        needed: Amount,
    },
    /// The pool is full of transfers that pay better.
    #[error("the mempool is full and this transfer's fee rate is too low")]
    Full,
}

impl MempoolError {
    /// A short, stable name of the refusal (`fee_too_low`, `nonce_used`, ...): the API's error
    /// code and the metrics' reason label.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(TxError::Signature(_)) => "bad_signature",
            Self::Invalid(TxError::ZeroAmount) => "zero_amount",
            Self::Invalid(_) => "invalid_transfer",
            Self::Duplicate { .. } => "duplicate",
            Self::FeeTooLow { .. } => "fee_too_low",
            Self::NonceUsed { .. } => "nonce_used",
            Self::NonceTooFarAhead { .. } => "nonce_too_far_ahead",
            Self::TooManyPending { .. } => "too_many_pending",
            Self::ReplacementFeeTooLow { .. } => "replacement_fee_too_low",
            Self::InsufficientBalance { .. } => "insufficient_balance",
            Self::Full => "mempool_full",
        }
    }
}

/// A failure of the storage behind the chain.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend (a database) failed.
    #[error("storage failed: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
    /// Stored data is missing or does not decode: the store is damaged or of another network.
    #[error("storage is inconsistent: {0}")]
    Corrupt(String),
}
