//! The canonical binary encoding: one format for hashing, signing, storage and the wire.
//!
//! Integers are little-endian and fixed width. Byte strings and lists carry a length prefix in
//! the minimal "compact size" form (one byte below `0xfd`, else a marker byte `0xfd`/`0xfe`/`0xff`
//! followed by a `u16`/`u32`/`u64`). Decoding is strict so that every value has exactly one
//! encoding: a non-minimal length, bytes left over after the value, or a length above the
//! caller's limit is an error, and a length is checked against both the limit and the bytes
//! actually present *before* anything of that size is allocated.
//!
//! JSON is for the API and the CLI only; nothing is ever hashed from JSON.

use thiserror::Error;

/// Why a byte string is not the canonical encoding of a value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error("unexpected end of input: needed {needed} more bytes, {remaining} left")]
    UnexpectedEnd {
        /// Bytes the next field needs.
        needed: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// A compact-size integer that could have been written shorter.
    #[error("non-minimal length prefix")]
    NonMinimalVarInt,
    /// A declared length above the limit for that field.
    #[error("length {len} exceeds the limit of {max} for {what}")]
    LengthTooLarge {
        /// The field whose length is wrong.
        what: &'static str,
        /// The declared length.
        len: u64,
        /// The largest length allowed.
        max: u64,
    },
    /// Bytes were left after a complete value.
    #[error("{count} trailing bytes after the value")]
    TrailingBytes {
        /// How many bytes were left.
        count: usize,
    },
    /// A field holds a value that no valid encoder produces (an unknown tag, an invalid key).
    #[error("invalid {what}")]
    InvalidValue {
        /// What was invalid.
        what: &'static str,
    },
}

/// Writes a value in the canonical encoding.
pub trait Encode {
    /// Appends the encoding of `self` to `out`.
    fn encode_to(&self, out: &mut Vec<u8>);

    /// The encoding of `self` as a new vector.
    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_to(&mut out);
        out
    }
}

/// Reads a value from the canonical encoding.
pub trait Decode: Sized {
    /// Reads one value from the reader, leaving the rest of its input unread.
    ///
    /// # Errors
    ///
    /// Returns a [`DecodeError`] when the bytes are not a canonical encoding of `Self`.
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a value that must fill `bytes` exactly.
    ///
    /// # Errors
    ///
    /// Returns [`DecodeError::TrailingBytes`] when bytes are left after the value, or the error
    /// of [`Decode::decode`].
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        let value = Self::decode(&mut reader)?;
        reader.finish()?;
        Ok(value)
    }
}

/// A cursor over input bytes that never reads past the end.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// Succeeds only when every byte has been read.
    ///
    /// # Errors
    ///
    /// Returns [`DecodeError::TrailingBytes`] when bytes are left.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.bytes.len() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes { count }),
        }
    }

    /// Takes the next `n` bytes.
    ///
    /// # Errors
    ///
    /// Returns [`DecodeError::UnexpectedEnd`] when fewer than `n` bytes are left.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.bytes.len() {
            return Err(DecodeError::UnexpectedEnd {
                needed: n,
                remaining: self.bytes.len(),
            });
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    /// Takes the next `N` bytes as an array.
    ///
    /// # Errors
    ///
    /// Returns [`DecodeError::UnexpectedEnd`] when fewer than `N` bytes are left.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads a minimal compact-size integer.
    ///
    /// # Errors
    ///
    /// Returns [`DecodeError::NonMinimalVarInt`] for a value that has a shorter form.
    pub fn var_int(&mut self) -> Result<u64, DecodeError> {
        let first = self.array::<1>()?[0];
        let (value, min) = match first {
            0xfd => (u64::from(u16::from_le_bytes(self.array()?)), 0xfd),
            0xfe => (u64::from(u32::from_le_bytes(self.array()?)), 0x1_0000),
            0xff => (u64::from_le_bytes(self.array()?), 0x1_0000_0000),
            small => return Ok(u64::from(small)),
        };
        if value < min {
            return Err(DecodeError::NonMinimalVarInt);
        }
        Ok(value)
    }

    /// Reads a length prefix for `count` items of at least `min_item_bytes` each, checking it
    /// against `max` and against the bytes actually left, so that a caller may allocate it.
    ///
    /// # Errors
    ///
    /// Returns [`DecodeError::LengthTooLarge`] above `max`, or [`DecodeError::UnexpectedEnd`]
    /// when the input is too short to hold that many items.
    pub fn length(
        &mut self,
        what: &'static str,
        max: usize,
        min_item_bytes: usize,
    ) -> Result<usize, DecodeError> {
        let len = self.var_int()?;
        if len > max as u64 {
            return Err(DecodeError::LengthTooLarge {
                what,
                len,
                max: max as u64,
            });
        }
        // `len <= max`, which is a usize, so the conversion is exact.
        let len = len as usize;
        let needed = len.saturating_mul(min_item_bytes);
        if needed > self.remaining() {
            return Err(DecodeError::UnexpectedEnd {
                needed,
                remaining: self.remaining(),
            });
        }
        Ok(len)
    }

    /// Reads a length-prefixed byte string of at most `max` bytes.
    ///
    /// # Errors
    ///
    /// As [`Reader::length`].
    pub fn bytes(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.length(what, max, 1)?;
        self.take(len)
    }

    /// Reads a length-prefixed list of at most `max` items, each at least `min_item_bytes`.
    ///
    /// # Errors
    ///
    /// As [`Reader::length`], or the error of an item.
    pub fn list<T: Decode>(
        &mut self,
        what: &'static str,
        max: usize,
        min_item_bytes: usize,
    ) -> Result<Vec<T>, DecodeError> {
        let len = self.length(what, max, min_item_bytes.max(1))?;
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            items.push(T::decode(self)?);
        }
        Ok(items)
    }
}

/// Appends a minimal compact-size integer.
pub fn write_var_int(out: &mut Vec<u8>, value: u64) {
    match value {
        0..=0xfc => out.push(value as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(value as u16).to_le_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(value as u32).to_le_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
}

/// The number of bytes [`write_var_int`] writes for `value`.
pub fn var_int_len(value: u64) -> usize {
    match value {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// Appends a length-prefixed byte string.
pub fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_var_int(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a length-prefixed list.
pub fn write_list<T: Encode>(out: &mut Vec<u8>, items: &[T]) {
    write_var_int(out, items.len() as u64);
    for item in items {
        item.encode_to(out);
    }
}

macro_rules! int_codec {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode_to(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
        impl Decode for $t {
            fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(<$t>::from_le_bytes(reader.array()?))
            }
        }
    )*};
}
int_codec!(u8, u16, u32, u64);

impl<const N: usize> Encode for [u8; N] {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
}

impl<const N: usize> Decode for [u8; N] {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.array()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn var_int_boundaries_round_trip_and_have_the_documented_length() {
        for value in [
            0,
            0xfc,
            0xfd,
            0xffff,
            0x1_0000,
            0xffff_ffff,
            0x1_0000_0000,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_var_int(&mut out, value);
            assert_eq!(out.len(), var_int_len(value));
            let mut reader = Reader::new(&out);
            assert_eq!(reader.var_int(), Ok(value));
            assert_eq!(reader.finish(), Ok(()));
        }
    }

    #[test]
    fn non_minimal_var_ints_are_rejected() {
        for bytes in [
            &[0xfd, 0xfc, 0x00][..],
            &[0xfe, 0xff, 0xff, 0x00, 0x00],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0],
        ] {
            assert_eq!(
                Reader::new(bytes).var_int(),
                Err(DecodeError::NonMinimalVarInt)
            );
        }
    }

    #[test]
    fn a_huge_declared_length_fails_before_allocation() {
        let mut bytes = Vec::new();
        write_var_int(&mut bytes, u64::MAX);
        let err = Reader::new(&bytes)
            .list::<u64>("items", usize::MAX, 8)
            .unwrap_err();
        assert!(matches!(err, DecodeError::UnexpectedEnd { .. }), "{err:?}");
        let err = Reader::new(&bytes).bytes("memo", 256).unwrap_err();
        assert!(
            matches!(err, DecodeError::LengthTooLarge { max: 256, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        assert_eq!(
            u32::from_bytes(&[1, 0, 0, 0, 9]),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, rng_seed: proptest::test_runner::RngSeed::Fixed(0xc0de), ..ProptestConfig::default() })]
        #[test]
        fn var_int_round_trips(value: u64) {
            let mut out = Vec::new();
            write_var_int(&mut out, value);
            prop_assert_eq!(Reader::new(&out).var_int(), Ok(value));
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut reader = Reader::new(&bytes);
            let _ = reader.list::<u64>("items", 1000, 8);
        }
    }
}
