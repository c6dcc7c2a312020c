//! SHA-256 and SHA-256d, and a distinct newtype for every kind of hash.
//!
//! Hashes print as lower-case hex in digest byte order. A block hash compared with a target is
//! read as a big-endian number, so a block with a small hash prints with leading zeros.

use crate::encode::{Decode, DecodeError, Encode, Reader};
use sha2::{Digest, Sha256};

/// SHA-256 of the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// SHA-256 applied twice to the concatenation of `parts`.
pub fn sha256d(parts: &[&[u8]]) -> [u8; 32] {
    sha256(&[&sha256(parts)])
}

/// Writes `bytes` as lower-case hex.
pub(crate) fn write_hex(f: &mut std::fmt::Formatter<'_>, bytes: &[u8]) -> std::fmt::Result {
    for byte in bytes {
        write!(f, "{byte:02x}")?;
    }
    Ok(())
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes from hex of any even length (either case); `None` for anything else.
///
/// Only hex digits are accepted, so one byte string has one text up to case. (This once used
/// `u8::from_str_radix` per pair of characters, which also takes a leading `+`: `"+4"` read as
/// `0x04`. The fuzz target `api_transfer_body` found it.)
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.chunks_exact(2)
        .map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect()
}

/// Parses exactly `N` bytes of hex (either case).
pub fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

/// The value of one hex digit.
fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Why a text is not a hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected 64 hex digits")]
pub struct ParseHashError;

macro_rules! hash_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The all-zero hash (the parent of the genesis block).
            pub const ZERO: Self = Self([0u8; 32]);

            /// The hash's 32 bytes in digest order.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write_hex(f, &self.0)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                write_hex(f, &self.0)?;
                write!(f, ")")
            }
        }

        impl std::str::FromStr for $name {
            type Err = ParseHashError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                parse_hex(text).map(Self).ok_or(ParseHashError)
            }
        }

        impl Encode for $name {
            fn encode_to(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.0);
            }
        }

        impl Decode for $name {
            fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(Self(reader.array()?))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hash_newtype!(
    /// SHA-256d of a block's 88-byte header.
    BlockHash
);
hash_newtype!(
    /// SHA-256d of a transaction's full encoding.
    Txid
);
hash_newtype!(
    /// The root of the merkle tree over a block's txids.
    MerkleRoot
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256d_of_empty_input_matches_the_known_value() {
        assert_eq!(
            hex::encode(sha256d(&[])),
            "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"
        );
    }

    #[test]
    fn hashes_print_and_parse_as_hex() {
        let hash = BlockHash(sha256(&[b"abc"]));
        assert_eq!(
            hash.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hash.to_string().parse::<BlockHash>(), Ok(hash));
        assert_eq!(
            hash.to_string().to_uppercase().parse::<BlockHash>(),
            Ok(hash)
        );
        assert!("zz".parse::<BlockHash>().is_err());
        assert!(format!("{hash}0").parse::<BlockHash>().is_err());
    }

    #[test]
    fn hex_of_any_length_round_trips_in_either_case() {
        let bytes = [0x00, 0x4f, 0xa0, 0xff];
        assert_eq!(from_hex(&to_hex(&bytes)), Some(bytes.to_vec()));
        assert_eq!(from_hex("004FA0FF"), Some(bytes.to_vec()));
        assert_eq!(from_hex(""), Some(Vec::new()));
        for bad in ["0", "0g", "g0", " 00", "0 0", "-1", "é0"] {
            assert_eq!(from_hex(bad), None, "{bad:?}");
        }
    }

    /// The `transfer` text of a `POST /transfers` body that the fuzz target `api_transfer_body`
    /// found: a `+` in place of a hex digit was read as a sign by `u8::from_str_radix`, so
    /// `"+4"` decoded as `0x04` and a non-hex text was accepted as this transfer.
    #[test]
    fn fuzz_regression_hex_plus_sign() {
        let text = "0103AF3E0FD756344C184E55DC387B48D6BA2A8DA2FB6FA6617436F8FB8386FDCFCBD6988735EA\
                    500E+45FDA6DC1C5FB23CAAD45135790D0030000000000E803000000000000010000000000000\
                    00B72656E742C206D61726368E9B86E63CF6A6E12526D64CC4073D537385E756A10D407919D82\
                    99C6450D789B5B129769D733858933E80DAF52323C420891EA5D71284AA9CC1CF590FCA5C351";
        assert_eq!(from_hex(text), None);
        assert_eq!(from_hex("+4"), None);
        assert!(from_hex(&text.replace('+', "0")).is_some());
        assert_eq!(parse_hex::<1>("+4"), None);
    }
}
