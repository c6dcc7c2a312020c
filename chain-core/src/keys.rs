//! secp256k1 keys and ECDSA signatures (via `k256`), in the fixed-size forms the protocol uses:
//! 33-byte compressed public keys and 64-byte compact `(r, s)` signatures.
//!
//! Signing is deterministic (RFC 6979) and always yields low-S; verification rejects high-S, so
//! nobody can change a valid signature into another valid one (and so a txid) without the key.
//! The core has no randomness of its own: callers supply secret key bytes.

use crate::address::Address;
use crate::encode::{Decode, DecodeError, Encode, Reader};
use k256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use k256::ecdsa::{SigningKey, VerifyingKey};
use std::fmt;
use thiserror::Error;

/// Why a key or signature is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Secret key bytes that are zero or not below the group order.
    #[error("invalid secret key")]
    InvalidSecretKey,
    /// Bytes that are not a compressed point on the curve.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// `r` or `s` is zero or not below the group order.
    #[error("malformed signature")]
    MalformedSignature,
    /// `s` is in the upper half of the group order (malleable form).
    #[error("signature is not in low-S form")]
    HighS,
    /// The signature does not verify against the key and message.
    #[error("signature does not match")]
    BadSignature,
}

/// A secret key. Its `Debug` form never shows the key.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A secret key from 32 big-endian bytes (typically from a CSPRNG the caller owns).
    ///
    /// # Errors
    ///
    /// Returns [`KeyError::InvalidSecretKey`] for zero or bytes not below the group order.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, KeyError> {
        SigningKey::from_bytes(&bytes.into())
            .map(Self)
            .map_err(|_| KeyError::InvalidSecretKey)
    }

    /// The 32 secret bytes, for a keystore to encrypt.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_verifying_key(self.0.verifying_key())
    }

    /// Signs a 32-byte message hash; the result is always low-S.
    pub fn sign_hash(&self, hash: &[u8; 32]) -> Signature {
        // RFC 6979 signing of a 32-byte prehash cannot fail for a valid key; the error type exists
        // for hardware signers.
        #[allow(clippy::expect_used)]
        let signature: k256::ecdsa::Signature = self
            .0
            .sign_prehash(hash)
            .expect("software signing of a 32-byte hash cannot fail");
        Signature(signature.normalize_s().to_bytes().into())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(<redacted>)")
    }
}

/// A compressed secp256k1 public key (33 bytes, `0x02`/`0x03` prefix).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PublicKey([u8; 33]);

impl PublicKey {
    fn from_verifying_key(key: &VerifyingKey) -> Self {
        let point = key.to_sec1_point(true);
        let mut bytes = [0u8; 33];
        bytes.copy_from_slice(point.as_bytes());
        Self(bytes)
    }

    /// Wraps 33 bytes without checking that they are a point; [`PublicKey::verify`] checks.
    /// This lets a decoder accept any bytes and leave the (costly) curve check to validation.
    pub fn from_bytes_unchecked(bytes: [u8; 33]) -> Self {
        Self(bytes)
    }

    /// Parses and checks 33 bytes of compressed point.
    ///
    /// # Errors
    ///
    /// Returns [`KeyError::InvalidPublicKey`] for bytes that are not a compressed point on the
    /// curve.
    pub fn from_bytes(bytes: [u8; 33]) -> Result<Self, KeyError> {
        to_verifying_key(&bytes)?;
        Ok(Self(bytes))
    }

    /// The 33 bytes.
    pub fn as_bytes(&self) -> &[u8; 33] {
        &self.0
    }

    /// The address of this key.
    pub fn address(&self) -> Address {
        Address::from_public_key(self)
    }

    /// Verifies a signature over a 32-byte hash, rejecting high-S signatures.
    ///
    /// # Errors
    ///
    /// Returns which check failed: the key, the signature's form, low-S, or the match itself.
    pub fn verify(&self, hash: &[u8; 32], signature: &Signature) -> Result<(), KeyError> {
        let key = to_verifying_key(&self.0)?;
        let sig = k256::ecdsa::Signature::from_slice(&signature.0)
            .map_err(|_| KeyError::MalformedSignature)?;
        if sig.normalize_s() != sig {
            return Err(KeyError::HighS);
        }
        key.verify_prehash(hash, &sig)
            .map_err(|_| KeyError::BadSignature)
    }
}

/// The point of a compressed key (tag 0x02 or 0x03). `k256` also parses SEC1's 33-byte "compact"
/// form (tag 0x05, the x coordinate of an even-y point), which would give every even-y key a
/// second encoding, hence a second address, that other secp256k1 libraries refuse.
fn to_verifying_key(bytes: &[u8; 33]) -> Result<VerifyingKey, KeyError> {
    if !matches!(bytes[0], 0x02 | 0x03) {
        return Err(KeyError::InvalidPublicKey);
    }
    VerifyingKey::from_sec1_bytes(bytes).map_err(|_| KeyError::InvalidPublicKey)
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey(")?;
        crate::hash::write_hex(f, &self.0)?;
        write!(f, ")")
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::hash::write_hex(f, &self.0)
    }
}

impl Encode for PublicKey {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for PublicKey {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(reader.array()?))
    }
}

/// A 64-byte compact ECDSA signature: `r` then `s`, each 32 bytes big-endian.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// The same signature with `s` replaced by `n - s` (its high-S twin), for tests of
    /// malleability; `None` if the bytes are not a signature.
    pub fn malleated(&self) -> Option<Self> {
        let sig = k256::ecdsa::Signature::from_slice(&self.0).ok()?;
        let (r, s) = sig.split_scalars();
        let flipped = k256::ecdsa::Signature::from_scalars(r, -s).ok()?;
        Some(Self(flipped.to_bytes().into()))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature(")?;
        crate::hash::write_hex(f, &self.0)?;
        write!(f, ")")
    }
}

impl Encode for Signature {
    fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

impl Decode for Signature {
    fn decode(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(reader.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_for_their_key_and_message() {
        let key = SecretKey::from_bytes([1u8; 32]).unwrap();
        let other = SecretKey::from_bytes([2u8; 32]).unwrap();
        let hash = [9u8; 32];
        let signature = key.sign_hash(&hash);
        assert_eq!(key.public_key().verify(&hash, &signature), Ok(()));
        assert_eq!(
            other.public_key().verify(&hash, &signature),
            Err(KeyError::BadSignature)
        );
        assert_eq!(
            key.public_key().verify(&[8u8; 32], &signature),
            Err(KeyError::BadSignature)
        );
        assert_eq!(signature, key.sign_hash(&hash), "signing is deterministic");
    }

    #[test]
    fn high_s_twins_are_rejected() {
        let key = SecretKey::from_bytes([3u8; 32]).unwrap();
        let hash = [5u8; 32];
        let twin = key.sign_hash(&hash).malleated().unwrap();
        assert_eq!(key.public_key().verify(&hash, &twin), Err(KeyError::HighS));
    }

    #[test]
    fn invalid_keys_and_signatures_are_errors_not_panics() {
        assert_eq!(
            SecretKey::from_bytes([0u8; 32]).err(),
            Some(KeyError::InvalidSecretKey)
        );
        assert_eq!(
            SecretKey::from_bytes([0xff; 32]).err(),
            Some(KeyError::InvalidSecretKey)
        );
        let bogus = PublicKey::from_bytes_unchecked([0x02; 33]);
        let key = SecretKey::from_bytes([1u8; 32]).unwrap();
        let signature = key.sign_hash(&[0u8; 32]);
        assert!(PublicKey::from_bytes([0x05; 33]).is_err());
        assert!(bogus.verify(&[0u8; 32], &signature).is_err());
        assert_eq!(
            key.public_key().verify(&[0u8; 32], &Signature([0u8; 64])),
            Err(KeyError::MalformedSignature)
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = SecretKey::from_bytes([0x42; 32]).unwrap();
        assert!(!format!("{key:?}").contains("42"));
    }
}
