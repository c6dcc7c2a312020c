//! Secret keys encrypted at rest: a key derived from the password with Argon2id (memory-hard, so
//! each guess costs memory as well as time), then ChaCha20-Poly1305 (an AEAD: a wrong password
//! or a changed byte fails authentication instead of yielding a wrong key).
//!
//! The core has no randomness: callers pass the salt and nonce, fresh from a CSPRNG for every
//! encryption. The same module serves the CLI's wallet files and the web's user table.
//!
//! A record is read defensively: its KDF settings are bounded ([`KdfParams::MAX`]) before any
//! work, so a crafted file cannot make an unlock take gigabytes or hours. Records of format 2
//! ([`KEYSTORE_VERSION`]) carry the address of their key, authenticated as associated data: a
//! ciphertext moved to another record, or an address changed beside it, fails like a wrong
//! password, and a decrypted key must pay that address. Format 1 records (no version, no
//! address) still decrypt. The derived key and the plaintext are zeroed once used.

use crate::hash::{from_hex as unhex, to_hex as hex};
use crate::keys::SecretKey;
use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeroize::Zeroizing;

/// The record format [`encrypt`] writes.
pub const KEYSTORE_VERSION: u32 = 2;

/// What format 2 authenticates beside the address, so that no other use of the same key and
/// nonce could produce a valid record.
const ASSOCIATED_DATA_TAG: &[u8] = b"chain keystore v2 address ";

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
    /// The most a record may ask for: 256 MiB, 10 passes, 4 lanes (the default asks 19 MiB and
    /// 2 passes; these leave room for a stronger choice, not for a denial of service).
    pub const MAX: Self = Self {
        memory_kib: 256 * 1024,
        passes: 10,
        lanes: 4,
    };

    /// Whether these settings are within [`KdfParams::MAX`].
    pub fn within_bounds(&self) -> bool {
        self.memory_kib <= Self::MAX.memory_kib
            && self.passes <= Self::MAX.passes
            && self.lanes <= Self::MAX.lanes
    }

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
    /// The record's format: [`KEYSTORE_VERSION`] for new records, 1 for those written before
    /// formats were numbered.
    #[serde(default = "first_version")]
    pub version: u32,
    /// The address of the key (its 20 bytes, hex), authenticated with the ciphertext. Format 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// KDF cost.
    pub kdf: KdfParams,
    /// Argon2 salt (16 random bytes, hex).
    pub salt: String,
    /// AEAD nonce (12 random bytes, hex).
    pub nonce: String,
    /// Encrypted key and tag (hex).
    pub ciphertext: String,
}

fn first_version() -> u32 {
    1
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
    /// The record asks for more KDF work than [`KdfParams::MAX`]: refused before any.
    #[error(
        "the key record asks for {memory_kib} KiB, {passes} passes and {lanes} lanes of key \
         derivation, more than the most allowed; it was not written by this program"
    )]
    KdfOutOfBounds {
        /// Memory asked, KiB.
        memory_kib: u32,
        /// Passes asked.
        passes: u32,
        /// Lanes asked.
        lanes: u32,
    },
}

fn derive(
    password: &[u8],
    salt: &[u8],
    kdf: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    if !kdf.within_bounds() {
        return Err(KeystoreError::KdfOutOfBounds {
            memory_kib: kdf.memory_kib,
            passes: kdf.passes,
            lanes: kdf.lanes,
        });
    }
    let params = Params::new(kdf.memory_kib, kdf.passes, kdf.lanes, Some(32))
        .map_err(|_| KeystoreError::Damaged("kdf parameters"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(password, salt, key.as_mut())
        .map_err(|_| KeystoreError::Damaged("kdf input"))?;
    Ok(key)
}

/// The cipher keyed with `derived` (copied into the cipher only, which wipes it when dropped).
fn cipher(derived: &Zeroizing<[u8; 32]>) -> Result<ChaCha20Poly1305, KeystoreError> {
    ChaCha20Poly1305::new_from_slice(derived.as_slice()).map_err(|_| KeystoreError::Damaged("key"))
}

/// The associated data of a format 2 record for `address` (20 bytes).
fn associated_data(address: &[u8]) -> Vec<u8> {
    [ASSOCIATED_DATA_TAG, address].concat()
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
    let cipher = cipher(&derive(password, &salt, kdf)?)?;
    let address = key.public_key().address();
    let plain = Zeroizing::new(key.to_bytes());
    let payload = Payload {
        msg: plain.as_slice(),
        aad: &associated_data(&address.0),
    };
    let ciphertext = cipher
        .encrypt(&Nonce::from(nonce), payload)
        .map_err(|_| KeystoreError::Damaged("encryption"))?;
    Ok(EncryptedKey {
        version: KEYSTORE_VERSION,
        address: Some(hex(&address.0)),
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
    let address = match (record.version, &record.address) {
        (1, _) => None,
        (2, Some(address)) => {
            let bytes = unhex(address).ok_or(KeystoreError::Damaged("address"))?;
            let bytes: [u8; crate::address::ADDRESS_LEN] = bytes
                .try_into()
                .map_err(|_| KeystoreError::Damaged("address length"))?;
            Some(bytes)
        }
        (2, None) => return Err(KeystoreError::Damaged("no address in a format 2 record")),
        _ => return Err(KeystoreError::Damaged("unknown record format")),
    };
    let cipher = cipher(&derive(password, &salt, record.kdf)?)?;
    let nonce = Nonce::try_from(nonce.as_slice()).map_err(|_| KeystoreError::Damaged("nonce"))?;
    let aad = address.map(|a| associated_data(&a)).unwrap_or_default();
    let payload = Payload {
        msg: ciphertext.as_slice(),
        aad: &aad,
    };
    let plain = Zeroizing::new(
        cipher
            .decrypt(&nonce, payload)
            .map_err(|_| KeystoreError::WrongPassword)?,
    );
    let bytes: [u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| KeystoreError::Damaged("key length"))?;
    let key = SecretKey::from_bytes(bytes).map_err(|_| KeystoreError::Damaged("key value"))?;
    if address.is_some_and(|a| a != key.public_key().address().0) {
        return Err(KeystoreError::Damaged(
            "the key does not pay the record's address",
        ));
    }
    Ok(key)
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

    fn record_of(seed: u8) -> (SecretKey, EncryptedKey) {
        let key = SecretKey::from_bytes([seed; 32]).unwrap();
        let kdf = KdfParams::insecure_for_tests();
        let record = encrypt(&key, b"pw", [1u8; 16], [2u8; 12], kdf).unwrap();
        (key, record)
    }

    #[test]
    fn a_record_names_its_address_and_a_swapped_one_fails() {
        let (key, record) = record_of(7);
        assert_eq!(record.version, KEYSTORE_VERSION);
        assert_eq!(
            record.address.as_deref(),
            Some(hex(&key.public_key().address().0).as_str())
        );
        let (_, other) = record_of(8);
        let mut swapped = record.clone();
        swapped.address = other.address.clone();
        assert_eq!(
            decrypt(&swapped, b"pw").err(),
            Some(KeystoreError::WrongPassword)
        );
        let mut moved = other;
        moved.ciphertext = record.ciphertext.clone();
        assert_eq!(
            decrypt(&moved, b"pw").err(),
            Some(KeystoreError::WrongPassword)
        );
        let mut unknown = record;
        unknown.version = 3;
        assert!(matches!(
            decrypt(&unknown, b"pw"),
            Err(KeystoreError::Damaged(_))
        ));
    }

    #[test]
    fn a_record_written_by_an_earlier_build_still_decrypts() {
        // Written with argon2 0.5 and chacha20poly1305 0.10 (before the bump to 0.6 / 0.11):
        // the same bytes must still come out.
        let json = r#"{"version":2,"address":"75452e058dd8181336abfd016c4b67b8544fd96b","kdf":{"memory_kib":64,"passes":1,"lanes":1},"salt":"01010101010101010101010101010101","nonce":"020202020202020202020202","ciphertext":"903cbdf414de3e57c23dd478b00af58d854d4cfbbb251ceb32176e06fae9c8150e97879d5c1f27eaba2a565068266258"}"#;
        let record: EncryptedKey = serde_json::from_str(json).unwrap();
        let key = SecretKey::from_bytes([9u8; 32]).unwrap();
        assert_eq!(
            decrypt(&record, b"correct horse").unwrap().to_bytes(),
            key.to_bytes()
        );
        let again = encrypt(&key, b"correct horse", [1u8; 16], [2u8; 12], record.kdf).unwrap();
        assert_eq!(again, record, "encryption is unchanged too");
    }

    #[test]
    fn a_first_format_record_still_decrypts() {
        // What `encrypt` wrote before formats were numbered: no associated data, no address.
        let key = SecretKey::from_bytes([9u8; 32]).unwrap();
        let kdf = KdfParams::insecure_for_tests();
        let cipher = cipher(&derive(b"pw", &[3u8; 16], kdf).unwrap()).unwrap();
        let ciphertext = cipher
            .encrypt(&Nonce::from([4u8; 12]), key.to_bytes().as_slice())
            .unwrap();
        let json = format!(
            r#"{{"kdf":{{"memory_kib":64,"passes":1,"lanes":1}},"salt":"{}","nonce":"{}","ciphertext":"{}"}}"#,
            hex(&[3u8; 16]),
            hex(&[4u8; 12]),
            hex(&ciphertext)
        );
        let record: EncryptedKey = serde_json::from_str(&json).unwrap();
        assert_eq!(record.version, 1);
        assert_eq!(decrypt(&record, b"pw").unwrap().to_bytes(), key.to_bytes());
    }

    #[test]
    fn kdf_settings_past_the_bounds_are_refused_before_any_work() {
        let (_, mut record) = record_of(7);
        // 4 TiB of memory: were it run, the test would not finish.
        record.kdf.memory_kib = u32::MAX;
        assert!(matches!(
            decrypt(&record, b"pw"),
            Err(KeystoreError::KdfOutOfBounds {
                memory_kib: u32::MAX,
                ..
            })
        ));
        record.kdf = KdfParams {
            passes: 1_000_000,
            ..KdfParams::default()
        };
        assert!(matches!(
            decrypt(&record, b"pw"),
            Err(KeystoreError::KdfOutOfBounds { .. })
        ));
        assert!(KdfParams::default().within_bounds());
    }
}
