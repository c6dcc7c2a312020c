//! Addresses: 20 bytes derived from a public key, written as checksummed bech32m text.
//!
//! `address = SHA-256(compressed public key, 33 bytes)[0..20]`. The text form is bech32m with a
//! human-readable prefix per network (`dev1…`, `reg1…`), so a mistyped or truncated address and
//! an address of another network are both caught before any coin moves.

use crate::encode::{Decode, DecodeError, Encode, Reader};
use crate::hash::sha256;
use crate::keys::PublicKey;
use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32m, Hrp};
use std::fmt;
use thiserror::Error;

/// Bytes in an address.
pub const ADDRESS_LEN: usize = 20;

/// The 20-byte identity of an account.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Address(pub [u8; ADDRESS_LEN]);

/// Why a text is not an address of the expected network.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AddressError {
    /// Not bech32m text, or its checksum does not match: most likely a typo.
    #[error("not a valid address (checksum or characters wrong; check for a typo)")]
    BadChecksum,
    /// A well-formed address of another network.
    #[error("address is for network prefix `{got}`, expected `{expected}`")]
    WrongNetwork {
        /// The prefix this node's network uses.
        expected: String,
        /// The prefix the text carries.
        got: String,
    },
    /// A checksummed text whose payload is not 20 bytes.
    #[error("address payload has the wrong length")]
    WrongLength,
}

impl Address {
    /// The address of a public key.
    pub fn from_public_key(key: &PublicKey) -> Self {
        let digest = sha256(&[key.as_bytes()]);
        let mut bytes = [0u8; ADDRESS_LEN];
        bytes.copy_from_slice(&digest[..ADDRESS_LEN]);
        Self(bytes)
    }

    /// The bech32m text of this address under the network prefix `hrp`.
    ///
    /// # Panics
    ///
    /// Panics if `hrp` is not a valid bech32 prefix; prefixes come from [`crate::params`]
    /// constants, which the tests check.
    pub fn to_text(&self, hrp: &str) -> String {
        #[allow(clippy::expect_used)]
        let hrp = Hrp::parse(hrp).expect("network prefixes are valid bech32 prefixes");
        #[allow(clippy::expect_used)]
        bech32::encode::<Bech32m>(hrp, &self.0).expect("20 bytes fit in any bech32m string")
    }

    /// Parses bech32m text, requiring the network prefix `hrp`.
    ///
    /// # Errors
    ///
    /// Returns an [`AddressError`] saying whether the text has a typo, belongs to another network
    /// or carries a payload of the wrong size.
    pub fn parse(text: &str, hrp: &str) -> Result<Self, AddressError> {
        let checked =
            CheckedHrpstring::new::<Bech32m>(text.trim()).map_err(|_| AddressError::BadChecksum)?;
        let got = checked.hrp().to_lowercase();
        if got != hrp {
            return Err(AddressError::WrongNetwork {
                expected: hrp.to_owned(),
                got,
            });
        }
        // 20 bytes are exactly 32 five-bit characters, so no padding bits can hide data.
        if checked.data_part_ascii_no_checksum().len() != 32 {
            return Err(AddressError::WrongLength);
        }
        let bytes: Vec<u8> = checked.byte_iter().collect();
        let bytes: [u8; ADDRESS_LEN] = bytes.try_into().map_err(|_| AddressError::WrongLength)?;
        Ok(Self(bytes))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address(")?;
        crate::hash::write_hex(f, &self.0)?;
        write!(f, ")")
    }
}

impl fmt::Display for Address {
    /// Hex of the 20 bytes; use [`Address::to_text`] for what people read.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::hash::write_hex(f, &self.0)
    }
}

impl Encode for Address {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for Address {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(reader.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;

    fn sample() -> Address {
        SecretKey::from_bytes([7u8; 32])
            .unwrap()
            .public_key()
            .address()
    }

    #[test]
    fn text_round_trips_and_names_its_network() {
        let address = sample();
        let text = address.to_text("dev");
        assert!(text.starts_with("dev1"));
        assert_eq!(Address::parse(&text, "dev"), Ok(address));
        assert_eq!(Address::parse(&text.to_uppercase(), "dev"), Ok(address));
    }

    #[test]
    fn every_single_character_typo_is_caught() {
        let text = sample().to_text("dev");
        let charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
        for (i, original) in text.char_indices().skip(4) {
            for replacement in charset.chars().filter(|&c| c != original) {
                let mut typo = text.clone();
                typo.replace_range(i..i + 1, &replacement.to_string());
                assert_eq!(
                    Address::parse(&typo, "dev"),
                    Err(AddressError::BadChecksum),
                    "{typo}"
                );
            }
        }
    }

    #[test]
    fn other_networks_and_lengths_are_refused() {
        let address = sample();
        assert!(matches!(
            Address::parse(&address.to_text("reg"), "dev"),
            Err(AddressError::WrongNetwork { .. })
        ));
        let short = bech32::encode::<Bech32m>(Hrp::parse("dev").unwrap(), &[1u8; 19]).unwrap();
        assert_eq!(
            Address::parse(&short, "dev"),
            Err(AddressError::WrongLength)
        );
        let bech32_not_m =
            bech32::encode::<bech32::Bech32>(Hrp::parse("dev").unwrap(), &address.0).unwrap();
        assert_eq!(
            Address::parse(&bech32_not_m, "dev"),
            Err(AddressError::BadChecksum)
        );
        assert_eq!(Address::parse("", "dev"), Err(AddressError::BadChecksum));
        assert_eq!(
            Address::parse("dev1'; DROP TABLE accounts;--", "dev"),
            Err(AddressError::BadChecksum)
        );
    }
}
