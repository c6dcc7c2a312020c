//! Secret keys encrypted at rest: a key derived from the password with Argon2id (memory-hard, so
//! each guess costs memory as well as time), then ChaCha20-Poly1305 (an AEAD: a wrong password
//! or a changed byte fails authentication instead of yielding a wrong key).
//!
//! The core has no randomness: callers pass the salt and nonce, fresh from a CSPRNG for every
//! encryption. The same module serves the CLI's wallet files and the web's user table.

use crate::hash::{from_hex as unhex, to_hex as hex};
use crate::keys::SecretKey;
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Argon2id cost: memory in KiB, passes, lanes. 19 MiB and 2 passes (the OWASP minimum for
/// Argon2id) keep an unlock near a tenth of a second while costing an attacker as much memory
/// per guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory, KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub passes: u32,
    /// Lanes.
    pub lanes: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            passes: 2,
            lanes: 1,
        }
    }
}

impl KdfParams {
    /// Cheap settings for tests only (never for real keys).
    pub fn insecure_for_tests() -> Self {
        Self {
            memory_kib: 64,
            passes: 1,
            lanes: 1,
        }
    }
}

/// A secret key as stored: everything needed to decrypt it with the password, nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedKey {
    /// KDF cost.
    pub kdf: KdfParams,
    /// Argon2 salt (16 random bytes, hex).
    pub salt: String,
    /// AEAD nonce (12 random bytes, hex).
    pub nonce: String,
    /// Encrypted key and tag (hex).
    pub ciphertext: String,
}

/// Why a key cannot be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// The password is wrong, or the stored bytes were changed.
    #[error("wrong password")]
    WrongPassword,
    /// The stored record is not one this code wrote.
    #[error("damaged key record: {0}")]
    Damaged(&'static str),
}

fn derive(password: &[u8], salt: &[u8], kdf: KdfParams) -> Result<[u8; 32], KeystoreError> {
    let params = Params::new(kdf.memory_kib, kdf.passes, kdf.lanes, Some(32))
        .map_err(|_| KeystoreError::Damaged("kdf parameters"))?;
    let mut key = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password, salt, &mut key)
        .map_err(|_| KeystoreError::Damaged("kdf input"))?;
    Ok(key)
}

/// Encrypts `key` under `password` with a fresh `salt` and `nonce` from the caller's CSPRNG.
///
/// # Errors
///
/// Only for unusable `kdf` settings.
pub fn encrypt(
    key: &SecretKey,
    password: &[u8],
    salt: [u8; 16],
    nonce: [u8; 12],
    kdf: KdfParams,
) -> Result<EncryptedKey, KeystoreError> {
    let derived = derive(password, &salt, kdf)?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&derived));
    let ciphertext = cipher
        .encrypt(Nonce::from_slice(&nonce), key.to_bytes().as_slice())
        .map_err(|_| KeystoreError::Damaged("encryption"))?;
    Ok(EncryptedKey {
        kdf,
        salt: hex(&salt),
        nonce: hex(&nonce),
        ciphertext: hex(&ciphertext),
    })
}

/// Decrypts a stored key with `password`.
///
/// # Errors
///
/// [`KeystoreError::WrongPassword`] for a wrong password or tampered record,
/// [`KeystoreError::Damaged`] for a record that is not well formed.
pub fn decrypt(record: &EncryptedKey, password: &[u8]) -> Result<SecretKey, KeystoreError> {
    let salt = unhex(&record.salt).ok_or(KeystoreError::Damaged("salt"))?;
    let nonce = unhex(&record.nonce).ok_or(KeystoreError::Damaged("nonce"))?;
    let ciphertext = unhex(&record.ciphertext).ok_or(KeystoreError::Damaged("ciphertext"))?;
    if nonce.len() != 12 || salt.len() < 8 {
        return Err(KeystoreError::Damaged("salt or nonce length"));
    }
    let derived = derive(password, &salt, record.kdf)?;
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&derived));
    let plain = cipher
        .decrypt(Nonce::from_slice(&nonce), ciphertext.as_slice())
        .map_err(|_| KeystoreError::WrongPassword)?;
    let bytes: [u8; 32] = plain
        .try_into()
        .map_err(|_| KeystoreError::Damaged("key length"))?;
    SecretKey::from_bytes(bytes).map_err(|_| KeystoreError::Damaged("key value"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_round_trips_only_with_its_password() {
        let key = SecretKey::from_bytes([7u8; 32]).unwrap();
        let kdf = KdfParams::insecure_for_tests();
        let record = encrypt(&key, b"correct horse", [1u8; 16], [2u8; 12], kdf).unwrap();
        assert_eq!(
            decrypt(&record, b"correct horse").unwrap().to_bytes(),
            key.to_bytes()
        );
        assert_eq!(
            decrypt(&record, b"wrong").err(),
            Some(KeystoreError::WrongPassword)
        );
        assert!(
            !record.ciphertext.contains(&hex(&key.to_bytes())),
            "no key in clear"
        );
        let mut tampered = record.clone();
        tampered.ciphertext.replace_range(
            0..2,
            if &record.ciphertext[0..2] == "00" {
                "01"
            } else {
                "00"
            },
        );
        assert_eq!(
            decrypt(&tampered, b"correct horse").err(),
            Some(KeystoreError::WrongPassword)
        );
        let mut broken = record;
        broken.nonce = "zz".into();
        assert!(matches!(
            decrypt(&broken, b"correct horse"),
            Err(KeystoreError::Damaged(_))
        ));
    }
}
