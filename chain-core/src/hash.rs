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
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Parses exactly `N` bytes of hex (either case).
pub fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = (nibble(text[2 * i])? << 4) | nibble(text[2 * i + 1])?;
    }
    Some(out)
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
}
