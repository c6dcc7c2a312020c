//! Validation that needs no account state: a block on its own ([`check_block`]), a header
//! against its ancestors ([`check_header_in_context`]), and a transfer on its own
//! ([`check_transfer`]). The rules that need state (nonces, balances, the coinbase bound) live in
//! [`crate::state::apply_block`]. Together they are the block validity rules of
//! `docs/PROTOCOL.md`, each reported by its own [`BlockError`] variant.

use crate::block::{Block, HEADER_VERSION, Header};
use crate::error::{BlockError, TxError};
use crate::hash::BlockHash;
use crate::params::{ChainParams, NetworkId};
use crate::sigcache::SignatureCache;
use crate::tx::{MAX_MEMO_BYTES, Transaction, Transfer};
use crate::units::Height;
use std::collections::HashSet;

/// Blocks with at least this many transfers verify signatures on several threads.
const PARALLEL_VERIFY_THRESHOLD: usize = 64;

/// Checks a transfer on its own: amount, memo, overflow, and signature.
///
/// # Errors
///
/// Returns the first rule the transfer breaks.
pub fn check_transfer(transfer: &Transfer, network: NetworkId) -> Result<(), TxError> {
    check_transfer_form(transfer)?;
    check_transfer_signature(transfer, network)
}

/// Checks a transfer's signature for `network`: the costly part of [`check_transfer`].
///
/// # Errors
///
/// [`TxError::Signature`].
pub fn check_transfer_signature(transfer: &Transfer, network: NetworkId) -> Result<(), TxError> {
    transfer
        .from
        .verify(&transfer.signing_hash(network), &transfer.signature)
        .map_err(TxError::Signature)
}

/// Checks a transfer's form (amount, memo, overflow): everything [`check_transfer`] checks but
/// the signature.
///
/// # Errors
///
/// Returns the first rule the transfer breaks.
pub fn check_transfer_form(transfer: &Transfer) -> Result<(), TxError> {
    if transfer.amount.0 == 0 {
        return Err(TxError::ZeroAmount);
    }
    if transfer.memo.len() > MAX_MEMO_BYTES {
        return Err(TxError::MemoTooLong {
            len: transfer.memo.len(),
            max: MAX_MEMO_BYTES,
        });
    }
    transfer.total_cost().ok_or(TxError::AmountOverflow)?;
    Ok(())
}

/// Checks the proof of work of a header: `bits` is a valid target no easier than the network's
/// limit, and the hash meets it.
///
/// # Errors
///
/// [`BlockError::UnsupportedVersion`], [`BlockError::InvalidBits`] or [`BlockError::HighHash`].
pub fn check_header_pow(params: &ChainParams, header: &Header) -> Result<(), BlockError> {
    if header.version != HEADER_VERSION {
        return Err(BlockError::UnsupportedVersion {
            version: header.version,
        });
    }
    let target = header
        .bits
        .to_target()
        .filter(|t| *t <= params.pow_limit_target())
        .ok_or(BlockError::InvalidBits { bits: header.bits })?;
    let hash = header.hash();
    if !target.is_met_by(&hash.0) {
        return Err(BlockError::HighHash { hash });
    }
    Ok(())
}

/// Checks everything about a block that needs neither its ancestors nor account state: size,
/// proof of work, merkle root, the coinbase's place, duplicates, and every transfer's form and
/// signature (on up to `threads` threads).
///
/// # Errors
///
/// Returns the first rule the block breaks, in the order of `docs/PROTOCOL.md`.
pub fn check_block(params: &ChainParams, block: &Block, threads: usize) -> Result<(), BlockError> {
    check_block_form(params, block)?;
    verify_block_signatures(params.network_id, &block.txs, threads, None)
}

/// Everything [`check_block`] checks except the signatures.
///
/// # Errors
///
/// As [`check_block`].
pub fn check_block_form(params: &ChainParams, block: &Block) -> Result<(), BlockError> {
    let size = block.encoded_len();
    if size > params.max_block_bytes {
        return Err(BlockError::TooLarge {
            size,
            max: params.max_block_bytes,
        });
    }
    check_header_pow(params, &block.header)?;
    let txids = block.txids();
    if crate::merkle::merkle_root(&txids) != block.header.merkle_root {
        return Err(BlockError::BadMerkleRoot);
    }
    if !matches!(block.txs.first(), Some(Transaction::Coinbase(_))) {
        return Err(BlockError::FirstNotCoinbase);
    }
    if let Some(index) = block
        .txs
        .iter()
        .skip(1)
        .position(|tx| matches!(tx, Transaction::Coinbase(_)))
    {
        return Err(BlockError::ExtraCoinbase { index: index + 1 });
    }
    let mut seen = HashSet::with_capacity(txids.len());
    if let Some(txid) = txids.iter().find(|txid| !seen.insert(**txid)) {
        return Err(BlockError::DuplicateTx { txid: *txid });
    }
    for (index, tx) in block.txs.iter().enumerate() {
        if let Transaction::Transfer(transfer) = tx {
            check_transfer_form(transfer)
                .map_err(|source| BlockError::InvalidTransfer { index, source })?;
        }
    }
    Ok(())
}

/// A block that passed [`check_block_form`] for one network: size, proof of work, merkle root,
/// coinbase, duplicates and transfer forms, everything but the signatures. [`WellFormedBlock::check`] is the only way to make one, and
/// [`WellFormedBlock::verify_signatures`] the only way on to a [`VerifiedBlock`]: a node runs
/// both as blocks arrive, on a pool of threads, before its chain thread sees them, and measures
/// the second step alone as signature work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WellFormedBlock {
    block: Block,
    hash: BlockHash,
    network: NetworkId,
}

impl WellFormedBlock {
    /// Checks everything about `block` that needs neither its ancestors, nor account state, nor
    /// signatures (see [`check_block_form`]).
    ///
    /// # Errors
    ///
    /// The block back, with the first rule it breaks.
    pub fn check(params: &ChainParams, block: Block) -> Result<Self, Box<(Block, BlockError)>> {
        match check_block_form(params, &block) {
            Ok(()) => Ok(Self {
                hash: block.hash(),
                block,
                network: params.network_id,
            }),
            Err(error) => Err(Box::new((block, error))),
        }
    }

    /// The block.
    pub fn block(&self) -> &Block {
        &self.block
    }

    /// Verifies every transfer signature, on up to `threads` threads (for blocks of at least 64
    /// transactions), skipping those `cache` holds (see [`verify_block_signatures`]).
    ///
    /// # Errors
    ///
    /// The block back, with the first bad signature's error.
    pub fn verify_signatures(
        self,
        threads: usize,
        cache: Option<&SignatureCache>,
    ) -> Result<VerifiedBlock, Box<(Block, BlockError)>> {
        match verify_block_signatures(self.network, &self.block.txs, threads, cache) {
            Ok(()) => Ok(VerifiedBlock {
                block: self.block,
                hash: self.hash,
                network: self.network,
            }),
            Err(error) => Err(Box::new((self.block, error))),
        }
    }
}

/// A block that passed every check of [`check_block`] (form and transfer signatures) for one
/// network, with its hash. It is made only by [`WellFormedBlock::verify_signatures`]
/// (or [`verify_block`]), so a chain may skip that (costly) work for it without trusting a flag:
/// a node checks blocks as they arrive, off its chain thread and across cores, while the chain
/// thread stores the ones before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedBlock {
    block: Block,
    hash: BlockHash,
    network: NetworkId,
}

impl VerifiedBlock {
    /// The block.
    pub fn block(&self) -> &Block {
        &self.block
    }

    /// Its hash.
    pub fn hash(&self) -> BlockHash {
        self.hash
    }

    /// The network it was checked for.
    pub fn network(&self) -> NetworkId {
        self.network
    }

    /// The block, giving up the proof.
    pub fn into_block(self) -> Block {
        self.block
    }
}

/// Runs every check of [`check_block`] on `block` (signatures on up to `threads` threads) and
/// keeps the proof: [`WellFormedBlock::check`] then [`WellFormedBlock::verify_signatures`].
///
/// # Errors
///
/// The block back, with the first rule it breaks.
pub fn verify_block(
    params: &ChainParams,
    block: Block,
    threads: usize,
) -> Result<VerifiedBlock, Box<(Block, BlockError)>> {
    WellFormedBlock::check(params, block)?.verify_signatures(threads, None)
}

/// Verifies the signatures of every transfer in `txs` for `network`, on up to `threads` threads
/// when there are enough of them, reporting the failure with the lowest index.
///
/// A transfer that `cache` holds (one whose signature verified when it entered the mempool) is
/// taken out of it and not verified again; the cache counts what was verified and skipped. A
/// cache of another network is not consulted.
///
/// # Errors
///
/// [`BlockError::InvalidTransfer`] with [`TxError::Signature`] for the first bad signature.
pub fn verify_block_signatures(
    network: NetworkId,
    txs: &[Transaction],
    threads: usize,
    cache: Option<&SignatureCache>,
) -> Result<(), BlockError> {
    let cache = cache.filter(|cache| cache.network() == network);
    // An empty cache (a node syncing, with nothing in its mempool) costs no txid hashing.
    let look_up = cache.is_some_and(|cache| !cache.is_empty());
    let verify_range = |offset: usize, chunk: &[Transaction]| -> Result<(), BlockError> {
        let (mut verified, mut skipped) = (0, 0);
        let result = chunk.iter().enumerate().try_for_each(|(i, tx)| {
            let Transaction::Transfer(t) = tx else {
                return Ok(());
            };
            if look_up && cache.is_some_and(|cache| cache.take(&t.txid())) {
                skipped += 1;
                return Ok(());
            }
            verified += 1;
            check_transfer_signature(t, network).map_err(|source| BlockError::InvalidTransfer {
                index: offset + i,
                source,
            })
        });
        if let Some(cache) = cache {
            cache.note_verified(verified);
            cache.note_skipped(skipped);
        }
        result
    };
    let threads = threads.max(1);
    if threads == 1 || txs.len() < PARALLEL_VERIFY_THRESHOLD {
        return verify_range(0, txs);
    }
    let chunk_len = txs.len().div_ceil(threads);
    let results: Vec<Result<(), BlockError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = txs
            .chunks(chunk_len)
            .enumerate()
            .map(|(n, chunk)| scope.spawn(move || verify_range(n * chunk_len, chunk)))
            .collect();
        handles
            .into_iter()
            .map(|handle| match handle.join() {
                Ok(result) => result,
                // Verification does not panic on any input (k256 returns errors); if a thread
                // died anyway, carry its panic to the caller rather than accept the block.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    results.into_iter().collect()
}

/// The median of the times of up to `params.median_time_span` headers ending at the parent
/// (`ancestors` oldest first).
pub fn median_time_past(params: &ChainParams, ancestors: &[Header]) -> u64 {
    let span = params.median_time_span.min(ancestors.len());
    let mut times: Vec<u64> = ancestors[ancestors.len() - span..]
        .iter()
        .map(|h| h.time)
        .collect();
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or(0)
}

/// Checks a header against its chain: `bits` is what the retarget rule gives, the time is after
/// the median time past and not too far past the local clock `now`, and the coinbase names the
/// right height. `ancestors` are the headers before it, oldest first, ending at the parent, at
/// least as many as [`crate::difficulty::ancestors_needed`] and the median span need.
///
/// # Errors
///
/// [`BlockError::BadBits`], [`BlockError::TimeTooOld`], [`BlockError::TimeTooNew`].
pub fn check_header_in_context(
    params: &ChainParams,
    header: &Header,
    height: Height,
    ancestors: &[Header],
    now: u64,
) -> Result<(), BlockError> {
    let expected = crate::difficulty::next_bits(params, height, ancestors);
    if header.bits != expected {
        return Err(BlockError::BadBits {
            expected,
            got: header.bits,
        });
    }
    let median = median_time_past(params, ancestors);
    if header.time <= median {
        return Err(BlockError::TimeTooOld {
            time: header.time,
            median,
        });
    }
    let max = now.saturating_add(params.max_future_block_time);
    if header.time > max {
        return Err(BlockError::TimeTooNew {
            time: header.time,
            max,
        });
    }
    Ok(())
}

/// Checks that the coinbase names the block's height.
///
/// # Errors
///
/// [`BlockError::BadCoinbaseHeight`], or [`BlockError::FirstNotCoinbase`].
pub fn check_coinbase_height(block: &Block, height: Height) -> Result<(), BlockError> {
    match block.txs.first() {
        Some(Transaction::Coinbase(c)) if c.height == height => Ok(()),
        Some(Transaction::Coinbase(c)) => Err(BlockError::BadCoinbaseHeight {
            expected: height,
            got: c.height,
        }),
        _ => Err(BlockError::FirstNotCoinbase),
    }
}
