//! The wallet file: named keys, each encrypted with its own password-derived key (Argon2id,
//! then ChaCha20-Poly1305; see `chain_core::keystore`). Only addresses are readable without the
//! password. The file is written whole to a temporary name and renamed, so a crash leaves either
//! the old or the new wallet, never half of one.

use crate::error::CliError;
use chain_core::address::Address;
use chain_core::keys::SecretKey;
use chain_core::keystore::{self, EncryptedKey, KdfParams, KeystoreError};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One key of the wallet.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Its name.
    pub name: String,
    /// Its address, text form.
    pub address: String,
    /// Its network's name.
    pub network: String,
    /// The secret key, encrypted.
    pub key: EncryptedKey,
}

/// A wallet file.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct Wallet {
    /// Format version.
    pub version: u32,
    /// Keys, in creation order.
    pub entries: Vec<Entry>,
    #[serde(skip)]
    path: PathBuf,
}

/// Random bytes from the operating system.
pub fn random<const N: usize>() -> Result<[u8; N], CliError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| CliError::Other(format!("no randomness: {e}")))?;
    Ok(bytes)
}

impl Wallet {
    /// Opens the wallet at `path`, or an empty one if there is no file yet.
    ///
    /// # Errors
    ///
    /// If the file exists but cannot be read or parsed.
    pub fn open(path: &Path) -> Result<Self, CliError> {
        let mut wallet = match std::fs::read_to_string(path) {
            Ok(text) => {
                chain_store::private::warn_if_loose(path);
                serde_json::from_str::<Wallet>(&text).map_err(|e| {
                    CliError::Other(format!("wallet file {} is damaged: {e}", path.display()))
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Wallet {
                version: 1,
                ..Wallet::default()
            },
            Err(e) => return Err(e.into()),
        };
        wallet.path = path.to_path_buf();
        Ok(wallet)
    }

    fn save(&self) -> Result<(), CliError> {
        if let Some(dir) = self.path.parent() {
            chain_store::private::create_dir(dir)?;
        }
        let text =
            serde_json::to_string_pretty(self).map_err(|e| CliError::Other(e.to_string()))?;
        let temporary = self.path.with_extension("json.tmp");
        // A temporary left by a crash is stale; the new one is the owner's alone from its first
        // byte, and on disk before it replaces the wallet.
        match std::fs::remove_file(&temporary) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        let mut file = chain_store::private::create_file(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, &self.path)?;
        Ok(())
    }

    /// Creates a key named `name` for `network`, encrypted with `password`.
    ///
    /// # Errors
    ///
    /// If the name is taken, or the file cannot be written.
    pub fn create(
        &mut self,
        name: &str,
        network: &chain_core::params::ChainParams,
        password: &[u8],
        kdf: KdfParams,
    ) -> Result<Entry, CliError> {
        if self.entries.iter().any(|e| e.name == name) {
            return Err(CliError::Usage(format!(
                "the wallet already has a key named `{name}`"
            )));
        }
        let key = loop {
            if let Ok(key) = SecretKey::from_bytes(random()?) {
                break key;
            }
        };
        let record = keystore::encrypt(&key, password, random()?, random()?, kdf)
            .map_err(|e| CliError::Other(e.to_string()))?;
        let entry = Entry {
            name: name.to_string(),
            address: key.public_key().address().to_text(network.address_prefix),
            network: network.name.to_string(),
            key: record,
        };
        self.entries.push(entry.clone());
        self.save()?;
        Ok(entry)
    }

    /// The entry named `name`, or the first one when `None`.
    ///
    /// # Errors
    ///
    /// [`CliError::NotFound`] if there is none.
    pub fn entry(&self, name: Option<&str>) -> Result<&Entry, CliError> {
        match name {
            Some(name) => self.entries.iter().find(|e| e.name == name),
            None => self.entries.first(),
        }
        .ok_or_else(|| match name {
            Some(name) => {
                CliError::NotFound(format!("no key named `{name}` in {}", self.path.display()))
            }
            None => CliError::NotFound(format!(
                "the wallet {} has no keys yet (chain wallet new)",
                self.path.display()
            )),
        })
    }

    /// Decrypts an entry's key.
    ///
    /// # Errors
    ///
    /// [`CliError::WrongPassword`].
    pub fn unlock(entry: &Entry, password: &[u8]) -> Result<SecretKey, CliError> {
        keystore::decrypt(&entry.key, password).map_err(|e| match e {
            KeystoreError::WrongPassword => CliError::WrongPassword,
            other => CliError::Other(other.to_string()),
        })
    }

    /// An entry's address.
    ///
    /// # Errors
    ///
    /// If the stored text does not parse (a damaged file).
    pub fn address(entry: &Entry, prefix: &str) -> Result<Address, CliError> {
        Address::parse(&entry.address, prefix).map_err(|e| CliError::BadAddress(e.to_string()))
    }
}
