//! The canonical encoding: every encodable type round-trips, and decoding is strict and total
//! (random bytes, truncations and mutations of valid encodings give an error or, if they decode,
//! exactly the bytes back; never a panic). Seeded, so a failure replays from the seed.

use chain_core::address::Address;
use chain_core::block::{Block, HEADER_LEN, Header};
use chain_core::encode::{Decode, DecodeError, Encode};
use chain_core::hash::{BlockHash, MerkleRoot, Txid};
use chain_core::keys::{PublicKey, Signature};
use chain_core::pow::CompactTarget;
use chain_core::state::{Account, AccountEntry, BlockUndo};
use chain_core::testkit::{address, key, transfer};
use chain_core::tx::{Coinbase, MAX_MEMO_BYTES, MIN_TX_BYTES, Transaction, Transfer};
use chain_core::units::{Amount, Height};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use std::fmt::Debug;

fn config(cases: u32, seed: u64) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        // The seed replays a failure; no regression files in the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- Strategies ---------------------------------------------------------------------------------

fn array<const N: usize>() -> impl Strategy<Value = [u8; N]> {
    vec(any::<u8>(), N).prop_map(|v| v.try_into().expect("N bytes"))
}

fn an_address() -> impl Strategy<Value = Address> {
    array::<20>().prop_map(Address)
}

fn a_public_key() -> impl Strategy<Value = PublicKey> {
    // Any 33 bytes: the encoding does not check the point (verification does).
    array::<33>().prop_map(PublicKey::from_bytes_unchecked)
}

fn a_signature() -> impl Strategy<Value = Signature> {
    array::<64>().prop_map(Signature)
}

fn an_amount() -> impl Strategy<Value = Amount> {
    any::<u64>().prop_map(Amount)
}

fn a_height() -> impl Strategy<Value = Height> {
    any::<u64>().prop_map(Height)
}

fn a_header() -> impl Strategy<Value = Header> {
    (
        any::<u32>(),
        array::<32>(),
        array::<32>(),
        any::<u64>(),
        any::<u32>(),
        any::<u64>(),
    )
        .prop_map(|(version, prev, root, time, bits, nonce)| Header {
            version,
            prev_hash: BlockHash(prev),
            merkle_root: MerkleRoot(root),
            time,
            bits: CompactTarget(bits),
            nonce,
        })
}

fn a_transfer_with_memo(max_memo: usize) -> impl Strategy<Value = Transfer> {
    (
        a_public_key(),
        an_address(),
        an_amount(),
        an_amount(),
        any::<u64>(),
        vec(any::<u8>(), 0..=max_memo),
        a_signature(),
    )
        .prop_map(|(from, to, amount, fee, nonce, memo, signature)| Transfer {
            from,
            to,
            amount,
            fee,
            nonce,
            memo,
            signature,
        })
}

fn a_transfer() -> impl Strategy<Value = Transfer> {
    a_transfer_with_memo(MAX_MEMO_BYTES)
}

fn a_coinbase() -> impl Strategy<Value = Coinbase> {
    (a_height(), an_address(), an_amount()).prop_map(|(height, to, amount)| Coinbase {
        height,
        to,
        amount,
    })
}

fn a_transaction_with_memo(max_memo: usize) -> impl Strategy<Value = Transaction> {
    prop_oneof![
        a_coinbase().prop_map(Transaction::Coinbase),
        a_transfer_with_memo(max_memo).prop_map(Transaction::Transfer),
    ]
}

/// Blocks of up to `max_txs` transactions (any mix, in any order: encoding does not care).
fn a_block(max_txs: usize, max_memo: usize) -> impl Strategy<Value = Block> {
    (
        a_header(),
        vec(a_transaction_with_memo(max_memo), 0..=max_txs),
    )
        .prop_map(|(header, txs)| Block { header, txs })
}

fn an_account() -> impl Strategy<Value = Account> {
    (an_amount(), any::<u64>()).prop_map(|(balance, nonce)| Account { balance, nonce })
}

fn an_account_entry() -> impl Strategy<Value = AccountEntry> {
    (an_address(), an_account()).prop_map(|(address, account)| AccountEntry { address, account })
}

fn a_block_undo() -> impl Strategy<Value = BlockUndo> {
    vec(an_account_entry(), 0..12).prop_map(|accounts| BlockUndo { accounts })
}

// ---- Properties ---------------------------------------------------------------------------------

/// Encodes, decodes, compares; and the same bytes with one more byte are refused.
fn round_trips<T: Encode + Decode + PartialEq + Debug>(value: &T) -> Result<(), TestCaseError> {
    let bytes = value.to_bytes();
    let decoded = T::from_bytes(&bytes);
    prop_assert_eq!(decoded.as_ref(), Ok(value));
    let mut longer = bytes;
    longer.push(0);
    prop_assert_eq!(
        T::from_bytes(&longer).err(),
        Some(DecodeError::TrailingBytes { count: 1 })
    );
    Ok(())
}

/// Every proper prefix of a valid encoding is an error.
fn truncations_fail<T: Encode + Decode + Debug>(value: &T) -> Result<(), TestCaseError> {
    let bytes = value.to_bytes();
    for len in 0..bytes.len() {
        prop_assert!(
            T::from_bytes(&bytes[..len]).is_err(),
            "a prefix of {} of {} bytes decoded",
            len,
            bytes.len()
        );
    }
    Ok(())
}

/// Any bytes: an error, or a value whose encoding is exactly those bytes (one encoding per
/// value). Never a panic.
fn canonical_or_error<T: Encode + Decode>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(value) = T::from_bytes(bytes) {
        prop_assert_eq!(value.to_bytes(), bytes);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(128, 0x0e4c_0de1))]

    #[test]
    fn fixed_size_values_round_trip(
        address in an_address(),
        block_hash in array::<32>(),
        txid in array::<32>(),
        root in array::<32>(),
        amount in an_amount(),
        height in a_height(),
        bits in any::<u32>(),
        account in an_account(),
        entry in an_account_entry(),
        public_key in a_public_key(),
        signature in a_signature(),
    ) {
        round_trips(&address)?;
        round_trips(&BlockHash(block_hash))?;
        round_trips(&Txid(txid))?;
        round_trips(&MerkleRoot(root))?;
        round_trips(&amount)?;
        round_trips(&height)?;
        round_trips(&CompactTarget(bits))?;
        round_trips(&account)?;
        round_trips(&entry)?;
        round_trips(&public_key)?;
        round_trips(&signature)?;
        prop_assert_eq!(address.to_bytes().len(), 20);
        prop_assert_eq!(account.to_bytes().len(), 16);
        prop_assert_eq!(entry.to_bytes().len(), 36);
        prop_assert_eq!(public_key.to_bytes().len(), 33);
        prop_assert_eq!(signature.to_bytes().len(), 64);
    }

    #[test]
    fn headers_round_trip_in_88_bytes(header in a_header()) {
        round_trips(&header)?;
        prop_assert_eq!(header.to_bytes().len(), HEADER_LEN);
        prop_assert_eq!(header.to_bytes(), header.to_array().to_vec());
    }

    #[test]
    fn transactions_of_both_kinds_round_trip(
        coinbase in a_coinbase(),
        transfer in a_transfer(),
    ) {
        let coinbase = Transaction::Coinbase(coinbase);
        round_trips(&coinbase)?;
        prop_assert_eq!(coinbase.to_bytes().len(), coinbase.encoded_len());
        prop_assert_eq!(coinbase.encoded_len(), MIN_TX_BYTES);
        round_trips(&transfer)?;
        prop_assert_eq!(transfer.to_bytes().len(), transfer.encoded_len());
        let wrapped = Transaction::Transfer(transfer.clone());
        round_trips(&wrapped)?;
        // A transfer has the same bytes (and so txid) alone and inside a block.
        prop_assert_eq!(wrapped.to_bytes(), transfer.to_bytes());
        prop_assert_eq!(wrapped.txid(), transfer.txid());
        prop_assert_eq!(wrapped.encoded_len(), transfer.encoded_len());
    }

    #[test]
    fn blocks_and_undo_records_round_trip(block in a_block(6, 300), undo in a_block_undo()) {
        // Memos up to 300 bytes: longer than allowed encodes, but must not decode.
        if block.txs.iter().filter_map(Transaction::as_transfer).all(|t| t.memo.len() <= MAX_MEMO_BYTES) {
            round_trips(&block)?;
        } else {
            let is_memo_error = matches!(
                Block::from_bytes(&block.to_bytes()),
                Err(DecodeError::LengthTooLarge { what: "memo", max, .. }) if max == MAX_MEMO_BYTES as u64
            );
            prop_assert!(is_memo_error);
        }
        prop_assert_eq!(block.to_bytes().len(), block.encoded_len());
        round_trips(&undo)?;
        prop_assert_eq!(undo.to_bytes().len(), 1 + 36 * undo.accounts.len());
    }
}

proptest! {
    #![proptest_config(config(48, 0x7e0c_a7ed))]

    #[test]
    fn every_truncation_is_an_error(
        block in a_block(3, 40),
        tx in a_transaction_with_memo(MAX_MEMO_BYTES),
        transfer in a_transfer(),
        header in a_header(),
        undo in a_block_undo(),
    ) {
        truncations_fail(&block)?;
        truncations_fail(&tx)?;
        truncations_fail(&transfer)?;
        truncations_fail(&header)?;
        truncations_fail(&undo)?;
    }
}

proptest! {
    #![proptest_config(config(256, 0x00ba_d0b5))]

    #[test]
    fn random_bytes_never_panic_and_decode_only_canonically(
        bytes in vec(any::<u8>(), 0..400),
    ) {
        canonical_or_error::<Block>(&bytes)?;
        canonical_or_error::<Transaction>(&bytes)?;
        canonical_or_error::<Transfer>(&bytes)?;
        canonical_or_error::<Header>(&bytes)?;
        canonical_or_error::<BlockUndo>(&bytes)?;
        if bytes.len() != HEADER_LEN {
            prop_assert!(Header::from_bytes(&bytes).is_err());
        }
    }

    /// Random bytes rarely get past the first length; bytes that are nearly valid go deeper.
    #[test]
    fn mutated_encodings_never_panic_and_decode_only_canonically(
        block in a_block(3, 40),
        undo in a_block_undo(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..4),
    ) {
        for mut bytes in [block.to_bytes(), undo.to_bytes()] {
            for (at, value, kind) in &edits {
                if bytes.is_empty() {
                    break;
                }
                let at = at.index(bytes.len());
                match kind {
                    0 => bytes[at] = *value,
                    1 => bytes.insert(at, *value),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            canonical_or_error::<Block>(&bytes)?;
            canonical_or_error::<BlockUndo>(&bytes)?;
            canonical_or_error::<Transaction>(&bytes)?;
            canonical_or_error::<Transfer>(&bytes)?;
        }
    }
}

// ---- Strictness, by example -----------------------------------------------------------------------

/// A block with a coinbase and one transfer whose memo is `memo` bytes long.
fn block_with_memo(memo: usize) -> Block {
    let mut t = transfer(
        &key(1),
        address(2),
        5,
        1_000,
        0,
        chain_core::params::ChainParams::regtest().network_id,
    );
    t.memo = vec![b'm'; memo];
    let mut block = chain_core::params::ChainParams::regtest().genesis_block();
    block.txs.push(Transaction::Transfer(t));
    block
}

/// Where the transfer's memo length sits in [`block_with_memo`]'s encoding: after the header,
/// the transaction count, the coinbase, and the transfer's tag, key, receiver, amount, fee and
/// nonce.
const MEMO_LEN_AT: usize = HEADER_LEN + 1 + MIN_TX_BYTES + 1 + 33 + 20 + 8 + 8 + 8;
const TX_COUNT_AT: usize = HEADER_LEN;

fn splice(bytes: &[u8], at: usize, old_len: usize, new: &[u8]) -> Vec<u8> {
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(new);
    out.extend_from_slice(&bytes[at + old_len..]);
    out
}

#[test]
fn a_non_minimal_length_inside_a_block_is_an_error() {
    let block = block_with_memo(5);
    let bytes = block.to_bytes();
    assert_eq!(bytes[TX_COUNT_AT], 2);
    assert_eq!(bytes[MEMO_LEN_AT], 5);
    assert_eq!(Block::from_bytes(&bytes), Ok(block));
    let long_forms: [&[u8]; 3] = [
        &[0xfd, 0x00, 0x00],
        &[0xfe, 0x00, 0x00, 0x00, 0x00],
        &[0xff, 0, 0, 0, 0, 0, 0, 0, 0],
    ];
    for (at, value) in [(TX_COUNT_AT, 2u8), (MEMO_LEN_AT, 5u8)] {
        for form in long_forms {
            let mut form = form.to_vec();
            form[1] = value;
            let spliced = splice(&bytes, at, 1, &form);
            assert_eq!(
                Block::from_bytes(&spliced),
                Err(DecodeError::NonMinimalVarInt),
                "{form:02x?} at {at}"
            );
        }
    }
    // A 253-byte memo needs the three-byte form; its one-byte form does not exist.
    let block = block_with_memo(253);
    let bytes = block.to_bytes();
    assert_eq!(bytes[MEMO_LEN_AT..MEMO_LEN_AT + 3], [0xfd, 253, 0]);
    assert_eq!(Block::from_bytes(&bytes), Ok(block));
}

#[test]
fn trailing_bytes_are_an_error() {
    let block = block_with_memo(0);
    let t = block.txs[1].as_transfer().unwrap().clone();
    for extra in [&[0u8][..], &[1, 2, 3]] {
        let count = extra.len();
        let mut bytes = block.to_bytes();
        bytes.extend_from_slice(extra);
        assert_eq!(
            Block::from_bytes(&bytes),
            Err(DecodeError::TrailingBytes { count })
        );
        let mut bytes = t.to_bytes();
        bytes.extend_from_slice(extra);
        assert_eq!(
            Transfer::from_bytes(&bytes),
            Err(DecodeError::TrailingBytes { count })
        );
    }
}

#[test]
fn a_memo_longer_than_256_bytes_is_a_decode_error() {
    let too_long = block_with_memo(MAX_MEMO_BYTES + 1);
    let expected = Some(DecodeError::LengthTooLarge {
        what: "memo",
        len: MAX_MEMO_BYTES as u64 + 1,
        max: MAX_MEMO_BYTES as u64,
    });
    assert_eq!(Block::from_bytes(&too_long.to_bytes()).err(), expected);
    let t = too_long.txs[1].as_transfer().unwrap();
    assert_eq!(Transfer::from_bytes(&t.to_bytes()).err(), expected);
    assert_eq!(Transaction::from_bytes(&t.to_bytes()).err(), expected);
    let longest = block_with_memo(MAX_MEMO_BYTES);
    assert_eq!(Block::from_bytes(&longest.to_bytes()), Ok(longest));
}

#[test]
fn unknown_tags_are_errors() {
    let block = block_with_memo(0);
    let transfer_at = TX_COUNT_AT + 1 + MIN_TX_BYTES;
    let mut bytes = block.to_bytes();
    bytes[transfer_at] = 2;
    assert_eq!(
        Block::from_bytes(&bytes),
        Err(DecodeError::InvalidValue {
            what: "transaction tag"
        })
    );
    // A coinbase is not a transfer on its own.
    let coinbase = block.txs[0].to_bytes();
    assert_eq!(
        Transfer::from_bytes(&coinbase),
        Err(DecodeError::InvalidValue {
            what: "transfer tag"
        })
    );
}

#[test]
fn a_huge_transaction_count_fails_before_allocation() {
    let header = block_with_memo(0).header.to_bytes();
    let limit = (chain_core::block::MAX_BLOCK_BYTES_LIMIT / MIN_TX_BYTES) as u64;
    // Above the limit: refused outright.
    let mut bytes = header.clone();
    bytes.push(0xff);
    bytes.extend_from_slice(&u64::MAX.to_le_bytes());
    assert_eq!(
        Block::from_bytes(&bytes),
        Err(DecodeError::LengthTooLarge {
            what: "transactions",
            len: u64::MAX,
            max: limit
        })
    );
    // Within the limit but more than the bytes present could hold.
    let mut bytes = header;
    bytes.push(0xfe);
    bytes.extend_from_slice(&(limit as u32).to_le_bytes());
    bytes.extend_from_slice(&[0; 100]);
    assert_eq!(
        Block::from_bytes(&bytes),
        Err(DecodeError::UnexpectedEnd {
            needed: limit as usize * MIN_TX_BYTES,
            remaining: 100
        })
    );
}

#[test]
fn the_header_layout_is_fixed() {
    let header = Header {
        version: 0x0403_0201,
        prev_hash: BlockHash([0xaa; 32]),
        merkle_root: MerkleRoot([0xbb; 32]),
        time: 0x0c0b_0a09_0807_0605,
        bits: CompactTarget(0x207f_ffff),
        nonce: 0x1413_1211_100f_0e0d,
    };
    let mut expected = vec![1, 2, 3, 4];
    expected.extend([0xaa; 32]);
    expected.extend([0xbb; 32]);
    expected.extend([5, 6, 7, 8, 9, 10, 11, 12]);
    expected.extend([0xff, 0xff, 0x7f, 0x20]);
    expected.extend([13, 14, 15, 16, 17, 18, 19, 20]);
    assert_eq!(header.to_bytes(), expected);
    assert_eq!(Header::from_bytes(&expected), Ok(header));
}
