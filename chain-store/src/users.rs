//! [`UserStore`]: the web frontend's users, sessions and login attempts, in a SQLite file of its
//! own (`users.sqlite`), apart from the chain database: the chain can always be rebuilt from
//! peers, this file cannot (it holds the users' keys), so it is never deleted with the chain.
//!
//! What is stored, and why none of it gives a secret away:
//! - the password only as an Argon2id PHC string (salted, memory-hard);
//! - the secret key only as a [`chain_core::keystore::EncryptedKey`] (JSON), encrypted under a
//!   key derived from the user's password, so the server cannot spend without the user;
//! - a session token only as its SHA-256: a stolen file gives no working cookie;
//! - usernames are unique whatever their case, width, accents or lookalike letters (a key per
//!   name, [`crate::usernames`]), so `ALİCE` or a Cyrillic `аlice` cannot pose as `alice`;
//!   databases of schema 1 are given their keys when opened (two old names that share one keep
//!   their accounts, the later with its id in its key, and no new name can join them), and
//!   those of schema 2 get them again by the stricter key of schema 3 (`i` and `l` alike).
//!
//! The schema is versioned as the chain store's is (`user_version`, one transaction per
//! migration, its own `application_id` so the two files cannot be swapped). Like
//! [`crate::SqliteStore`], a [`UserStore`] is blocking and meant for a blocking thread
//! (`spawn_blocking` behind a mutex in the web server). Times are unix seconds from the caller.

use crate::error::{Error, corrupt};
use crate::passwords::{HashedPassword, Passwords};
use chain_core::keystore::{EncryptedKey, KdfParams};
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// The `application_id` of a user database ("CHNU").
pub const USERS_APPLICATION_ID: i32 = 0x4348_4e55;

const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The user database's schema version this program writes.
pub const USERS_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

const V1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    address       TEXT NOT NULL,
    secret_key    TEXT NOT NULL,
    created       INTEGER NOT NULL,
    wants_miner   INTEGER NOT NULL DEFAULT 0,
    miner_port    INTEGER
);

CREATE TABLE sessions (
    token_hash BLOB PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires    INTEGER NOT NULL,
    csrf       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_expiry ON sessions (expires);

CREATE TABLE login_attempts (
    username TEXT NOT NULL COLLATE NOCASE,
    time     INTEGER NOT NULL
);
CREATE INDEX login_attempts_by_name ON login_attempts (username, time);
";

/// Each user's name key (`usernames::key`), unique; filled in by `fill_name_keys`. Login
/// attempts are counted by key and client address from now on.
const V2: &str = "
ALTER TABLE users ADD COLUMN name_key TEXT;
DELETE FROM login_attempts;
ALTER TABLE login_attempts ADD COLUMN client TEXT NOT NULL DEFAULT '';
DROP INDEX login_attempts_by_name;
CREATE INDEX login_attempts_by_name ON login_attempts (username, client, time);
";

/// Name keys recomputed: a capital `I` standing for an `l` now shares the `l`'s key
/// (`crate::usernames::key`). Attempts were counted under the old keys.
const V3: &str = "
DROP INDEX users_by_name_key;
DELETE FROM login_attempts;
";

/// Failed logins allowed per username within [`THROTTLE_WINDOW`] before logins are refused.
pub const MAX_FAILED_LOGINS: u32 = 5;

/// The window (seconds) over which failed logins are counted.
pub const THROTTLE_WINDOW: u64 = 300;

pub use crate::usernames::MAX_USERNAME_CHARS;

/// Shortest password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Why a user operation was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum UserError {
    /// Another user has this name (in any case).
    #[error("the username `{0}` is taken")]
    UsernameTaken(String),
    /// The username is empty, too long, has a character that is not allowed or mixes scripts.
    #[error(
        "a username has 1 to {MAX_USERNAME_CHARS} letters or digits of one script (with \
         spaces, `-`, `_` or `.` between), no spaces at its ends and no invisible characters"
    )]
    BadUsername,
    /// The password is too short.
    #[error("a password has at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    /// Unknown username or wrong password (not told apart, so names cannot be probed).
    #[error("wrong username or password")]
    WrongPassword,
    /// Too many failed logins for this name; try again later.
    #[error("too many failed logins; try again in {retry_after} seconds")]
    Throttled {
        /// Seconds until a login is accepted again.
        retry_after: u64,
    },
    /// A stored record does not parse.
    #[error("user database: {0}")]
    Store(#[from] Error),
}

impl From<rusqlite::Error> for UserError {
    fn from(error: rusqlite::Error) -> Self {
        Self::Store(Error::Sqlite(error))
    }
}

/// A user as the web shows and uses it (no password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Name as registered.
    pub username: String,
    /// Their address, text form.
    pub address: String,
    /// Their secret key, encrypted under their password.
    pub secret_key: EncryptedKey,
    /// Registration time (unix seconds).
    pub created: u64,
    /// Whether a miner node should run for them.
    pub wants_miner: bool,
    /// Their miner node's peer port, once it has one.
    pub miner_port: Option<u16>,
}

/// A new user's fields.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    /// Name.
    pub username: &'a str,
    /// Password, hashed ([`Passwords::hash`]; the password itself is never stored).
    pub password: &'a HashedPassword,
    /// Address of their key.
    pub address: &'a str,
    /// Their key, already encrypted under `password`.
    pub secret_key: &'a EncryptedKey,
    /// Start a miner for them.
    pub wants_miner: bool,
}

/// A logged-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Its user.
    pub user: User,
    /// The token every form of this session must carry.
    pub csrf: String,
    /// Expiry (unix seconds).
    pub expires: u64,
}

/// A new session's secrets: the cookie value (given to the browser, stored only hashed) and its
/// CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Cookie value.
    pub token: String,
    /// CSRF token.
    pub csrf: String,
}

/// A login begun by [`UserStore::begin_login`]: counted, its user (if the name is known) looked
/// up, its password not yet checked.
#[derive(Debug)]
pub struct LoginAttempt {
    name_key: String,
    client: String,
    found: Option<(User, String)>,
}

impl LoginAttempt {
    /// Checks the password (an Argon2id run, as long for an unknown name as for a known one).
    pub fn check(self, passwords: &Passwords, password: &str) -> CheckedLogin {
        let hash = self.found.as_ref().map(|(_, hash)| hash.as_str());
        let outcome = passwords.verify(hash, password);
        CheckedLogin {
            attempt: self,
            outcome,
        }
    }
}

/// A login whose password was checked, for [`UserStore::finish_login`].
#[derive(Debug)]
pub struct CheckedLogin {
    attempt: LoginAttempt,
    outcome: Result<(), UserError>,
}

/// The user database. See the [module documentation](self).
pub struct UserStore {
    conn: Connection,
    passwords: Passwords,
    path: PathBuf,
}

impl std::fmt::Debug for UserStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Random bytes from the operating system, as hex.
///
/// # Errors
///
/// If the operating system has no randomness to give.
pub fn random_hex<const N: usize>() -> Result<String, Error> {
    Ok(hex(&random::<N>()?))
}

pub(crate) fn random<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| corrupt(format!("no randomness: {e}")))?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

const USER_COLUMNS: &str =
    "id, username, address, secret_key, created, wants_miner, miner_port, password_hash";

fn user_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(User, String)> {
    let key_json: String = row.get(3)?;
    let secret_key = serde_json::from_str(&key_json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, Box::new(e))
    })?;
    let port: Option<i64> = row.get(6)?;
    Ok((
        User {
            id: row.get(0)?,
            username: row.get(1)?,
            address: row.get(2)?,
            secret_key,
            created: row.get::<_, i64>(4)?.try_into().unwrap_or(0),
            wants_miner: row.get(5)?,
            miner_port: port.and_then(|p| u16::try_from(p).ok()),
        },
        row.get(7)?,
    ))
}

impl UserStore {
    /// Opens (or creates) the user database at `path`. Passwords are hashed with
    /// `password_cost` (use [`KdfParams::default`] outside tests).
    ///
    /// # Errors
    ///
    /// [`Error::NotADatabase`], [`Error::ForeignDatabase`] or [`Error::NewerSchema`] when the
    /// file is refused (it is left unchanged), or a SQLite failure.
    pub fn open(path: impl AsRef<Path>, password_cost: KdfParams) -> Result<Self, Error> {
        let path = path.as_ref().to_path_buf();
        // Password hashes and encrypted keys: the owner's alone (its -wal and -shm files take
        // its mode).
        crate::private::prepare_file(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(&path, flags)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let create = check(&conn, &path)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if mode != "wal" && mode != "memory" {
            return Err(corrupt(format!("cannot switch to WAL mode (got {mode})")));
        }
        // Users' keys must survive a power loss: FULL, as the chain store's default.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted rows (old sessions) are overwritten, not left readable in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        migrate(&mut conn, create)?;
        Ok(Self {
            conn,
            passwords: Passwords::new(password_cost)?,
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's password hashing, to run outside the database (and outside its lock).
    pub fn passwords(&self) -> &Passwords {
        &self.passwords
    }

    /// Registers a user and returns it.
    ///
    /// # Errors
    ///
    /// [`UserError::UsernameTaken`] (or a name that looks like it), [`UserError::BadUsername`],
    /// or a database failure.
    pub fn register(&mut self, new: &NewUser<'_>, now: u64) -> Result<User, UserError> {
        let username = crate::usernames::normalise(new.username)?;
        let hash = &new.password.0;
        let key_json = serde_json::to_string(new.secret_key)
            .map_err(|e| corrupt(format!("key record: {e}")))?;
        let inserted = self.conn.execute(
            "INSERT INTO users
                 (username, password_hash, address, secret_key, created, wants_miner, name_key)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                username,
                hash,
                new.address,
                key_json,
                now as i64,
                new.wants_miner,
                crate::usernames::key(&username)
            ],
        );
        match inserted {
            Ok(_) => {}
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                return Err(UserError::UsernameTaken(username));
            }
            Err(e) => return Err(e.into()),
        }
        let id = self.conn.last_insert_rowid();
        self.user(id)?
            .ok_or_else(|| UserError::Store(corrupt("a user just inserted is missing")))
    }

    /// The user with id `id`.
    ///
    /// # Errors
    ///
    /// A database failure.
    pub fn user(&self, id: i64) -> Result<Option<User>, UserError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
                [id],
                user_row,
            )
            .optional()?
            .map(|(user, _)| user))
    }

    /// The user named `username`, or a name that looks like it.
    ///
    /// # Errors
    ///
    /// A database failure.
    pub fn user_by_name(&self, username: &str) -> Result<Option<User>, UserError> {
        Ok(self.find_by_name(username)?.map(|(user, _)| user))
    }

    /// The user named exactly `username`, else the one whose name looks like it, with its
    /// password hash. (Exactly first: of two look-alike names kept from schema 1, the later
    /// one's key carries its id, so only its exact name finds it.)
    fn find_by_name(&self, username: &str) -> Result<Option<(User, String)>, UserError> {
        let exact = self
            .conn
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1 COLLATE BINARY"),
                [username],
                user_row,
            )
            .optional()?;
        if exact.is_some() {
            return Ok(exact);
        }
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE name_key = ?1"),
                [crate::usernames::key(username)],
                user_row,
            )
            .optional()?)
    }

    /// Every user who wants a miner, oldest first.
    ///
    /// # Errors
    ///
    /// A database failure.
    pub fn users_wanting_miners(&self) -> Result<Vec<User>, UserError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE wants_miner ORDER BY id"
        ))?;
        let users = stmt
            .query_map([], user_row)?
            .map(|r| r.map(|(user, _)| user))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(users)
    }

    /// Records whether `user` wants a miner, and its port once known.
    ///
    /// # Errors
    ///
    /// A database failure.
    pub fn set_miner(
        &mut self,
        user: i64,
        wants: bool,
        port: Option<u16>,
    ) -> Result<(), UserError> {
        self.conn.execute(
            "UPDATE users SET wants_miner = ?2, miner_port = coalesce(?3, miner_port) WHERE id = ?1",
            params![user, wants, port],
        )?;
        Ok(())
    }

    /// Starts a login from `client` (its address, as the caller names it): throttled per
    /// username and client (at most [`MAX_FAILED_LOGINS`] failures in [`THROTTLE_WINDOW`]
    /// seconds), so that failures from one address do not lock the name for its owner
    /// elsewhere. The attempt counts as a failure until [`UserStore::finish_login`] records its
    /// success: logins checked at once from one address cannot all slip under the limit, and
    /// one cut short (a crash, a busy server) stays counted. The password is checked between
    /// the two, outside the database ([`LoginAttempt::check`]).
    ///
    /// # Errors
    ///
    /// [`UserError::Throttled`], or a database failure.
    pub fn begin_login(
        &mut self,
        username: &str,
        client: &str,
        now: u64,
    ) -> Result<LoginAttempt, UserError> {
        // Attempts are counted by key: a lookalike spelling is the same name.
        let name_key = crate::usernames::key(username);
        let since = now.saturating_sub(THROTTLE_WINDOW) as i64;
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM login_attempts WHERE time <= ?1", [since])?;
        let (failures, oldest): (u32, Option<i64>) = tx.query_row(
            "SELECT count(*), min(time) FROM login_attempts
             WHERE username = ?1 AND client = ?2 AND time > ?3",
            params![name_key, client, since],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if failures >= MAX_FAILED_LOGINS {
            let oldest = oldest.unwrap_or(now as i64) as u64;
            return Err(UserError::Throttled {
                retry_after: (oldest + THROTTLE_WINDOW).saturating_sub(now).max(1),
            });
        }
        tx.execute(
            "INSERT INTO login_attempts (username, client, time) VALUES (?1, ?2, ?3)",
            params![name_key, client, now as i64],
        )?;
        tx.commit()?;
        Ok(LoginAttempt {
            name_key,
            client: client.to_owned(),
            found: self.find_by_name(username)?,
        })
    }

    /// Ends a login: its user if the password was right (that client's failures for the name
    /// are then forgotten), else the failure stays counted.
    ///
    /// # Errors
    ///
    /// [`UserError::WrongPassword`] (also for an unknown name), or a database failure.
    pub fn finish_login(&mut self, checked: CheckedLogin) -> Result<User, UserError> {
        let CheckedLogin { attempt, outcome } = checked;
        outcome?;
        // `Passwords::verify` fails every check of an unknown name, so a user is here.
        let (user, _) = attempt.found.ok_or(UserError::WrongPassword)?;
        self.conn.execute(
            "DELETE FROM login_attempts WHERE username = ?1 AND client = ?2",
            params![attempt.name_key, attempt.client],
        )?;
        Ok(user)
    }

    /// A whole login in one call, its password checked while `self` is held:
    /// [`UserStore::begin_login`], [`LoginAttempt::check`], [`UserStore::finish_login`].
    ///
    /// # Errors
    ///
    /// As those.
    pub fn login(
        &mut self,
        username: &str,
        password: &str,
        client: &str,
        now: u64,
    ) -> Result<User, UserError> {
        let attempt = self.begin_login(username, client, now)?;
        let checked = attempt.check(&self.passwords, password);
        self.finish_login(checked)
    }

    /// Opens a session for `user` that expires `ttl` seconds from `now`.
    ///
    /// # Errors
    ///
    /// A database failure.
    pub fn create_session(
        &mut self,
        user: i64,
        now: u64,
        ttl: u64,
    ) -> Result<NewSession, UserError> {
        let token = random_hex::<32>()?;
        let csrf = random_hex::<32>()?;
        self.conn
            .execute("DELETE FROM sessions WHERE expires <= ?1", [now as i64])?;
        self.conn.execute(
            "INSERT INTO sessions (token_hash, user_id, expires, csrf) VALUES (?1, ?2, ?3, ?4)",
            params![
                token_hash(&token),
                user,
                now.saturating_add(ttl) as i64,
                csrf
            ],
        )?;
        Ok(NewSession { token, csrf })
    }

    /// The live session of cookie value `token`, if any.
    ///
    /// # Errors
    ///
    /// A database failure.
    pub fn session(&self, token: &str, now: u64) -> Result<Option<Session>, UserError> {
        let found: Option<(i64, i64, String)> = self
            .conn
            .query_row(
                "SELECT user_id, expires, csrf FROM sessions WHERE token_hash = ?1 AND expires > ?2",
                params![token_hash(token), now as i64],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((user, expires, csrf)) = found else {
            return Ok(None);
        };
        Ok(self.user(user)?.map(|user| Session {
            user,
            csrf,
            expires: expires.try_into().unwrap_or(0),
        }))
    }

    /// Ends the session of cookie value `token` (nothing if there is none).
    ///
    /// # Errors
    ///
    /// A database failure.
    pub fn delete_session(&mut self, token: &str) -> Result<(), UserError> {
        self.conn.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            [token_hash(token)],
        )?;
        Ok(())
    }
}

/// Whether the file needs creating; refuses, without writing, a file that is not ours or newer.
fn check(conn: &Connection, path: &Path) -> Result<bool, Error> {
    let read = || -> rusqlite::Result<(i32, i64, i64)> {
        Ok((
            conn.query_row("PRAGMA application_id", [], |r| r.get(0))?,
            conn.query_row("PRAGMA user_version", [], |r| r.get(0))?,
            conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?,
        ))
    };
    let (application_id, version, tables) =
        read().map_err(|source| match source.sqlite_error_code() {
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => Error::NotADatabase {
                path: path.to_path_buf(),
                source,
            },
            _ => Error::Sqlite(source),
        })?;
    if application_id == 0 && version == 0 && tables == 0 {
        return Ok(true);
    }
    if application_id != USERS_APPLICATION_ID {
        return Err(Error::ForeignDatabase {
            path: path.to_path_buf(),
            application_id,
        });
    }
    let version =
        u32::try_from(version).map_err(|_| corrupt(format!("schema version {version}")))?;
    if version > USERS_SCHEMA_VERSION {
        return Err(Error::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            supported: USERS_SCHEMA_VERSION,
        });
    }
    Ok(false)
}

fn migrate(conn: &mut Connection, create: bool) -> Result<(), Error> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (from, script) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let to = from as u32 + 1;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute_batch(script)?;
        if to == 2 || to == 3 {
            fill_name_keys(&tx)?;
        }
        if create && from == 0 {
            tx.pragma_update(None, "application_id", USERS_APPLICATION_ID)?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?1)",
            [to.to_string()],
        )?;
        tx.pragma_update(None, "user_version", to)?;
        tx.commit()?;
    }
    Ok(())
}

/// Gives every user its name key (schema 2), then makes keys unique. Two existing names that
/// share a key both keep their accounts: the later one's key gets its id (it is found by its
/// exact name, `UserStore::find_by_name`), and no new name can take either.
fn fill_name_keys(tx: &rusqlite::Transaction<'_>) -> Result<(), Error> {
    let users: Vec<(i64, String)> = {
        let mut select = tx.prepare("SELECT id, username FROM users ORDER BY id")?;
        let rows = select.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut taken = std::collections::HashSet::new();
    for (id, username) in users {
        let mut key = crate::usernames::key(&username);
        if !taken.insert(key.clone()) {
            key = format!("{key}#{id}");
        }
        tx.execute(
            "UPDATE users SET name_key = ?1 WHERE id = ?2",
            params![key, id],
        )?;
    }
    tx.execute_batch("CREATE UNIQUE INDEX users_by_name_key ON users (name_key);")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_core::keys::SecretKey;
    use chain_core::keystore;

    fn key_record(key: &SecretKey, password: &str) -> EncryptedKey {
        keystore::encrypt(
            key,
            password.as_bytes(),
            random().unwrap(),
            random().unwrap(),
            KdfParams::insecure_for_tests(),
        )
        .unwrap()
    }

    fn open(dir: &Path) -> UserStore {
        UserStore::open(dir.join("users.sqlite"), KdfParams::insecure_for_tests()).unwrap()
    }

    fn register(store: &mut UserStore, name: &str, password: &str) -> Result<User, UserError> {
        let key = SecretKey::from_bytes([9u8; 32]).unwrap();
        let record = key_record(&key, password);
        let hash = store.passwords().hash(password)?;
        store.register(
            &NewUser {
                username: name,
                password: &hash,
                address: "addr",
                secret_key: &record,
                wants_miner: false,
            },
            1_000,
        )
    }

    #[cfg(unix)]
    #[test]
    fn the_user_database_and_its_journal_are_the_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        register(&mut store, "alice", "password1").unwrap();
        let path = store.path().to_path_buf();
        let wal = path.with_extension("sqlite-wal");
        for file in [&path, &wal] {
            let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
    }

    #[test]
    fn a_username_is_unique_in_any_case() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        register(&mut store, "Alice", "password1").unwrap();
        assert!(matches!(
            register(&mut store, "aLICE", "password2"),
            Err(UserError::UsernameTaken(_))
        ));
        assert!(matches!(
            register(&mut store, " bob", "password2"),
            Err(UserError::BadUsername)
        ));
        assert!(matches!(
            register(&mut store, "bob", "short"),
            Err(UserError::WeakPassword)
        ));
        assert_eq!(
            store.user_by_name("ALICE").unwrap().unwrap().username,
            "Alice"
        );
    }

    #[test]
    fn lookalike_names_are_one_account_and_invisible_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        register(&mut store, "alice", "password1").unwrap();
        // Turkish capital dotted I, a full-width A, all Cyrillic (a, palochka, i, es, ie).
        let cyrillic = "\u{430}\u{4cf}\u{456}\u{441}\u{435}";
        for lookalike in ["ALİCE", "\u{ff21}lice", cyrillic] {
            assert!(
                matches!(
                    register(&mut store, lookalike, "password2"),
                    Err(UserError::UsernameTaken(_))
                ),
                "{lookalike:?}"
            );
        }
        for invisible in ["alice\u{200b}", "\u{202e}ecila", "\u{430}lice"] {
            assert!(matches!(
                register(&mut store, invisible, "password2"),
                Err(UserError::BadUsername)
            ));
        }
        // Full-width letters are stored as the letters they are.
        let bob = register(&mut store, "\u{ff22}ob", "password2").unwrap();
        assert_eq!(bob.username, "Bob");
        assert_eq!(
            store
                .login("ＢＯＢ", "password2", "10.0.0.1", 1_000)
                .unwrap()
                .id,
            bob.id
        );
    }

    /// A user database at `path` as schema `version` left it (no users yet), and a key record
    /// to give them.
    fn old_database(path: &Path, version: usize) -> (Connection, String) {
        let conn = Connection::open(path).unwrap();
        for script in &MIGRATIONS[..version] {
            conn.execute_batch(script).unwrap();
        }
        conn.pragma_update(None, "application_id", USERS_APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
        let key = SecretKey::from_bytes([9u8; 32]).unwrap();
        let record = serde_json::to_string(&key_record(&key, "password1")).unwrap();
        (conn, record)
    }

    #[test]
    fn a_first_schema_database_gets_name_keys_and_keeps_lookalike_accounts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.sqlite");
        {
            let (conn, record) = old_database(&path, 1);
            for name in ["alice", "ALİCE"] {
                conn.execute(
                    "INSERT INTO users (username, password_hash, address, secret_key, created)
                     VALUES (?1, 'x', 'addr', ?2, 1)",
                    [name, &record],
                )
                .unwrap();
            }
        }
        let mut store = UserStore::open(&path, KdfParams::insecure_for_tests()).unwrap();
        assert_eq!(store.user(1).unwrap().unwrap().username, "alice");
        assert_eq!(store.user(2).unwrap().unwrap().username, "ALİCE");
        assert_eq!(store.user_by_name("Alice").unwrap().unwrap().id, 1);
        assert_eq!(
            store.user_by_name("ALİCE").unwrap().unwrap().id,
            2,
            "the later look-alike is found by its exact name"
        );
        assert!(matches!(
            register(&mut store, "aLiCe", "password1"),
            Err(UserError::UsernameTaken(_))
        ));
    }

    #[test]
    fn a_second_schema_database_gets_the_keys_that_catch_a_capital_i_for_an_l() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users.sqlite");
        {
            // Schema 2's keys: `aIice` was not `alice`'s lookalike yet.
            let (conn, record) = old_database(&path, 2);
            for (name, old_key) in [("alice", "alice"), ("aIice", "aiice"), ("bob", "bob")] {
                conn.execute(
                    "INSERT INTO users (username, password_hash, address, secret_key, created,
                                        name_key)
                     VALUES (?1, 'x', 'addr', ?2, 1, ?3)",
                    [name, &record, old_key],
                )
                .unwrap();
            }
            conn.execute_batch("CREATE UNIQUE INDEX users_by_name_key ON users (name_key);")
                .unwrap();
        }
        let mut store = UserStore::open(&path, KdfParams::insecure_for_tests()).unwrap();
        assert_eq!(store.user_by_name("alice").unwrap().unwrap().id, 1);
        assert_eq!(store.user_by_name("aIice").unwrap().unwrap().id, 2);
        assert_eq!(store.user_by_name("BOB").unwrap().unwrap().id, 3);
        for lookalike in ["ailce", "AIICE", "a1ice"] {
            assert!(
                matches!(
                    register(&mut store, lookalike, "password1"),
                    Err(UserError::UsernameTaken(_))
                ),
                "{lookalike}"
            );
        }
    }

    #[test]
    fn a_wrong_password_is_refused_and_logins_are_throttled() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let user = register(&mut store, "carol", "right password").unwrap();
        assert!(matches!(
            store.login("carol", "wrong password", "10.0.0.1", 2_000),
            Err(UserError::WrongPassword)
        ));
        assert!(matches!(
            store.login("nobody", "wrong password", "10.0.0.1", 2_000),
            Err(UserError::WrongPassword)
        ));
        assert_eq!(
            store
                .login("carol", "right password", "10.0.0.1", 2_000)
                .unwrap()
                .id,
            user.id
        );
        for _ in 0..MAX_FAILED_LOGINS {
            assert!(matches!(
                store.login("CAROL", "guess", "10.0.0.1", 2_001),
                Err(UserError::WrongPassword)
            ));
        }
        assert!(matches!(
            store.login("carol", "right password", "10.0.0.1", 2_002),
            Err(UserError::Throttled { retry_after: 299 })
        ));
        // The name is locked for the address that failed only: its owner elsewhere logs in.
        assert_eq!(
            store
                .login("carol", "right password", "10.0.0.2", 2_002)
                .unwrap()
                .id,
            user.id
        );
        assert_eq!(
            store
                .login(
                    "carol",
                    "right password",
                    "10.0.0.1",
                    2_001 + THROTTLE_WINDOW
                )
                .unwrap()
                .id,
            user.id
        );
    }

    #[test]
    fn logins_checked_at_once_count_as_failures_until_they_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let user = register(&mut store, "grace", "right password").unwrap();
        let begun: Vec<_> = (0..MAX_FAILED_LOGINS)
            .map(|_| store.begin_login("grace", "10.0.0.1", 3_000).unwrap())
            .collect();
        assert!(matches!(
            store.begin_login("grace", "10.0.0.1", 3_000),
            Err(UserError::Throttled { .. })
        ));
        // One of them succeeds: that client's count for the name starts again.
        let mut begun = begun.into_iter();
        let first = begun.next().unwrap();
        let passwords = store.passwords().clone();
        let logged_in = store
            .finish_login(first.check(&passwords, "right password"))
            .unwrap();
        assert_eq!(logged_in.id, user.id);
        store.begin_login("grace", "10.0.0.1", 3_000).unwrap();
        // Another address was never limited.
        store.begin_login("grace", "10.0.0.2", 3_000).unwrap();
    }

    #[test]
    fn sessions_are_found_by_token_until_they_expire() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let user = register(&mut store, "dave", "password1").unwrap();
        let session = store.create_session(user.id, 100, 60).unwrap();
        let found = store.session(&session.token, 159).unwrap().unwrap();
        assert_eq!(found.user.id, user.id);
        assert_eq!(found.csrf, session.csrf);
        assert!(store.session(&session.token, 160).unwrap().is_none());
        assert!(store.session("forged", 120).unwrap().is_none());
        store.delete_session(&session.token).unwrap();
        assert!(store.session(&session.token, 120).unwrap().is_none());
    }

    #[test]
    fn miner_settings_are_kept_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let user = register(&mut store, "erin", "password1").unwrap();
        store.set_miner(user.id, true, Some(4242)).unwrap();
        drop(store);
        let store = open(dir.path());
        let wanting = store.users_wanting_miners().unwrap();
        assert_eq!(wanting.len(), 1);
        assert_eq!(wanting[0].miner_port, Some(4242));
        assert_eq!(wanting[0].secret_key, user.secret_key);
    }

    #[test]
    fn the_file_holds_neither_passwords_nor_keys_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let password = "correct horse battery staple";
        let key = SecretKey::from_bytes([0x5a; 32]).unwrap();
        let record = key_record(&key, password);
        let hash = store.passwords().hash(password).unwrap();
        let user = store
            .register(
                &NewUser {
                    username: "frank",
                    password: &hash,
                    address: "addr",
                    secret_key: &record,
                    wants_miner: true,
                },
                1,
            )
            .unwrap();
        let session = store.create_session(user.id, 1, 100).unwrap();
        store.login("frank", password, "10.0.0.1", 2).unwrap();
        drop(store);
        let mut bytes = std::fs::read(dir.path().join("users.sqlite")).unwrap();
        if let Ok(wal) = std::fs::read(dir.path().join("users.sqlite-wal")) {
            bytes.extend(wal);
        }
        let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        assert!(contains(b"frank"), "the test reads the right file");
        assert!(!contains(password.as_bytes()), "password in clear");
        assert!(!contains(&key.to_bytes()), "secret key bytes in clear");
        assert!(
            !contains(hex(&key.to_bytes()).as_bytes()),
            "secret key hex in clear"
        );
        assert!(
            !contains(session.token.as_bytes()),
            "session token in clear"
        );
    }

    #[test]
    fn a_chain_database_is_not_taken_for_a_user_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chain.sqlite");
        drop(crate::SqliteStore::open(&path, &chain_core::params::ChainParams::regtest()).unwrap());
        assert!(matches!(
            UserStore::open(&path, KdfParams::insecure_for_tests()),
            Err(Error::ForeignDatabase { .. })
        ));
    }
}
