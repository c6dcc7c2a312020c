//! [`Passwords`]: the Argon2id work of passwords (hashing a new one, checking a login), apart
//! from the user database.
//!
//! Each run costs the store's KDF memory (19 MiB by default) and tens of milliseconds of one
//! core. Kept out of [`crate::UserStore`]'s methods, it runs without holding the database, so
//! a burst of logins does not make every page wait behind it, and a caller (the web server)
//! can bound how many runs happen at once. The database steps around it are
//! [`crate::UserStore::register`] (with a [`HashedPassword`]) and
//! [`crate::UserStore::begin_login`] / [`crate::UserStore::finish_login`].

use crate::error::{Error, corrupt};
use crate::users::{MIN_PASSWORD_CHARS, UserError};
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use chain_core::keystore::KdfParams;

/// A password's Argon2id PHC string (salted). Only [`Passwords::hash`] makes one, so a user is
/// never stored with a password that was not hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashedPassword(pub(crate) String);

/// Hashes and checks passwords at one cost. Cheap to clone; `Send`, for a blocking thread.
#[derive(Debug, Clone)]
pub struct Passwords {
    cost: KdfParams,
    /// A hash of a random password at this cost, checked when a name is unknown so that the
    /// answer takes as long as for a known one.
    dummy: HashedPassword,
}

impl Passwords {
    /// Passwords hashed at `cost`.
    ///
    /// # Errors
    ///
    /// If `cost` is not a valid Argon2 cost or the system has no randomness.
    pub fn new(cost: KdfParams) -> Result<Self, Error> {
        let mut passwords = Self {
            cost,
            dummy: HashedPassword(String::new()),
        };
        passwords.dummy = passwords.hash_any(&crate::users::random_hex::<16>()?)?;
        Ok(passwords)
    }

    fn argon2(&self) -> Result<Argon2<'static>, Error> {
        let cost = self.cost;
        let params = Params::new(cost.memory_kib, cost.passes, cost.lanes, None)
            .map_err(|e| corrupt(format!("password cost: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    fn hash_any(&self, password: &str) -> Result<HashedPassword, Error> {
        let salt = crate::users::random::<16>()?;
        let hash = self
            .argon2()?
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map_err(|e| corrupt(format!("password hash: {e}")))?;
        Ok(HashedPassword(hash.to_string()))
    }

    /// A new user's password, hashed with a fresh random salt.
    ///
    /// # Errors
    ///
    /// [`UserError::WeakPassword`] when shorter than [`MIN_PASSWORD_CHARS`] (checked before
    /// any work), or no randomness.
    pub fn hash(&self, password: &str) -> Result<HashedPassword, UserError> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(UserError::WeakPassword);
        }
        Ok(self.hash_any(password)?)
    }

    /// Whether `password` is the one `hash` was made of; `None` (an unknown user) checks a
    /// random password's hash, so that it takes as long and always fails.
    ///
    /// # Errors
    ///
    /// [`UserError::WrongPassword`], or a stored hash that does not parse.
    pub fn verify(&self, hash: Option<&str>, password: &str) -> Result<(), UserError> {
        let (hash, known) = match hash {
            Some(hash) => (hash, true),
            None => (self.dummy.0.as_str(), false),
        };
        let parsed = argon2::password_hash::phc::PasswordHash::new(hash)
            .map_err(|e| corrupt(format!("stored password hash: {e}")))?;
        let matches = self
            .argon2()?
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        if matches && known {
            Ok(())
        } else {
            Err(UserError::WrongPassword)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_written_by_an_earlier_build_still_verifies() {
        // Made by argon2 0.5 (before the bump to 0.6) at the tests' cost, salt 16 × 7.
        let old = "$argon2id$v=19$m=64,t=1,p=1$BwcHBwcHBwcHBwcHBwcHBw$\
                   bimQ738WSoM4YLjX4hSwVhzaGQZCL2z1+zpeUWKG/Sk";
        let passwords = Passwords::new(KdfParams::insecure_for_tests()).unwrap();
        passwords.verify(Some(old), "password1").unwrap();
        assert!(passwords.verify(Some(old), "password2").is_err());
        let again = passwords
            .argon2()
            .unwrap()
            .hash_password_with_salt(b"password1", &[7u8; 16])
            .unwrap();
        assert_eq!(again.to_string(), old, "hashing is unchanged too");
    }

    #[test]
    fn a_hash_verifies_its_password_only_and_an_unknown_user_never() {
        let passwords = Passwords::new(KdfParams::insecure_for_tests()).unwrap();
        let hash = passwords.hash("password1").unwrap();
        assert_ne!(passwords.hash("password1").unwrap(), hash, "salted");
        passwords.verify(Some(&hash.0), "password1").unwrap();
        assert!(matches!(
            passwords.verify(Some(&hash.0), "password2"),
            Err(UserError::WrongPassword)
        ));
        assert!(matches!(
            passwords.verify(None, "password1"),
            Err(UserError::WrongPassword)
        ));
        assert!(matches!(
            passwords.hash("short"),
            Err(UserError::WeakPassword)
        ));
        assert!(matches!(
            passwords.verify(Some("not a hash"), "password1"),
            Err(UserError::Store(_))
        ));
    }
}
