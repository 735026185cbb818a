//! Identity and authorisation: who the users are, what each role may do, and the
//! electronic signatures that approve a write before it may reach a PLC.
//!
//! The users live in `DATA/users.toml` (mode 0600, replaced atomically):
//!
//! ```toml
//! version = 1
//! idle_lock = "15m"        # a terminal idle this long locks
//! max_attempts = 3         # consecutive wrong secrets that lock a user
//!
//! [[user]]
//! name = "alice"           # mimic user name
//! os_account = "alice"     # Unix account that maps to it (default: name)
//! full_name = "Alice Smith" # shown in signatures
//! role = "operator"        # viewer | operator | engineer | admin
//! secret_hash = "$argon2id$v=19$m=19456,t=2,p=1$…"
//! disabled = false
//! failed_attempts = 0
//! locked = false
//! ```
//!
//! Decisions are pure: [`authorize`] is the role × command table, [`may_approve`] applies
//! a tag's [`ApprovalRule`] (two different users for a critical tag), and
//! [`Users::sign`] checks a secret and takes the time as an argument. Nothing here
//! logs; no secret or hash is ever printed, and `User`'s `Debug` hides the hash. The
//! caller persists the users file after [`Users::sign`] (attempt counters change) and
//! audits failures and lockouts from the returned [`AuthError`]. To never lose a change
//! made meanwhile by `mimic user`, sign inside [`Users::modify`], which reloads, applies
//! and saves under a lock: `Users::modify(&path, false, |u| Ok(u.sign(name, secret,
//! meaning, now_ms)))` gives `Ok(Ok(signature))`, `Ok(Err(auth_error))` (counters saved
//! either way) or `Err(file_error)`.

mod auth;
mod diff;
mod file;

use std::fmt;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2};

pub use auth::{ApprovalRule, Approver, AuthError, Command, Role, Signature, UnknownRole, authorize, may_approve};
pub use diff::{ChangeKind, UserChange, changes};
pub use file::{DEFAULT_IDLE_LOCK, DEFAULT_MAX_ATTEMPTS, VERSION};

use crate::config::ConfigErrors;

/// File name of the users file inside the data directory.
pub const USERS_FILE: &str = "users.toml";
/// Shortest secret accepted, in characters.
pub const MIN_SECRET_CHARS: usize = 8;

/// Path of the users file in a data directory.
pub fn users_path(data_dir: &Path) -> PathBuf {
    data_dir.join(USERS_FILE)
}

/// Failures of the users store (file, validation, hashing). Never contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    #[error("{path}: {source}", path = path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("no users file at {path}; add a user first with `mimic user add`", path = path.display())]
    Missing { path: PathBuf },
    #[error("{path} has mode {mode:04o}; it holds secret hashes and must be 0600 (chmod 600 it)", path = path.display())]
    Permissions { path: PathBuf, mode: u32 },
    #[error("{0}")]
    Invalid(ConfigErrors),
    #[error("cannot write the users file: {0}")]
    Render(String),
    #[error("user `{0}` already exists")]
    Duplicate(String),
    #[error("OS account `{account}` already maps to user `{user}`")]
    DuplicateOsAccount { account: String, user: String },
    #[error("no user `{0}`")]
    UnknownUser(String),
    #[error("bad user name `{name}`: {reason}")]
    BadName { name: String, reason: NameProblem },
    #[error("bad full name: {0}")]
    BadFullName(FullNameProblem),
    #[error("the secret is too short: at least {MIN_SECRET_CHARS} characters")]
    SecretTooShort,
    #[error("cannot hash the secret: {0}")]
    Hash(String),
    #[error("no randomness for a salt: {0}")]
    Random(String),
}

/// One user. `Debug` shows everything except the secret hash.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub os_account: String,
    pub full_name: String,
    pub role: Role,
    secret_hash: String,
    pub disabled: bool,
    pub failed_attempts: u32,
    pub locked: bool,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("os_account", &self.os_account)
            .field("full_name", &self.full_name)
            .field("role", &self.role)
            .field("secret_hash", &"<hidden>")
            .field("disabled", &self.disabled)
            .field("failed_attempts", &self.failed_attempts)
            .field("locked", &self.locked)
            .finish()
    }
}

impl User {
    /// May this user sign anything at all right now?
    pub fn active(&self) -> bool {
        !self.disabled && !self.locked
    }
}

/// All users and the file-wide policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Users {
    /// A terminal idle this long locks until its user signs in again.
    pub idle_lock: Duration,
    /// Consecutive wrong secrets that lock a user (at least 1).
    pub max_attempts: u32,
    users: Vec<User>,
}

impl Default for Users {
    fn default() -> Self {
        Users::new()
    }
}

impl Users {
    /// No users, default policy.
    pub fn new() -> Self {
        Users { idle_lock: DEFAULT_IDLE_LOCK, max_attempts: DEFAULT_MAX_ATTEMPTS, users: Vec::new() }
    }

    /// Load and validate a users file. A missing file is [`UsersError::Missing`]; a file
    /// readable or writable by group or others is refused.
    pub fn load(path: &Path) -> Result<Users, UsersError> {
        if !path.exists() {
            return Err(UsersError::Missing { path: path.to_path_buf() });
        }
        let text = file::read(path)?;
        Users::parse(path, &text)
    }

    /// Like [`Users::load`], but a missing file is an empty set of users.
    pub fn load_or_new(path: &Path) -> Result<Users, UsersError> {
        match Users::load(path) {
            Err(UsersError::Missing { .. }) => Ok(Users::new()),
            other => other,
        }
    }

    /// Parse users-file text; `path` only names the file in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Users, UsersError> {
        file::parse(path, text)
    }

    /// The file text [`Users::save`] writes.
    pub fn to_toml(&self) -> Result<String, UsersError> {
        file::render(self)
    }

    /// Write atomically (temp file, fsync, rename, fsync of the folder), mode 0600.
    pub fn save(&self, path: &Path) -> Result<(), UsersError> {
        file::write_atomic(path, &self.to_toml()?)
    }

    /// Load (or start empty when `create`), apply `f`, and save if it succeeded — all
    /// under an exclusive lock on `PATH.lock`, so the CLI and the daemon never lose each
    /// other's changes.
    pub fn modify<T>(
        path: &Path,
        create: bool,
        f: impl FnOnce(&mut Users) -> Result<T, UsersError>,
    ) -> Result<T, UsersError> {
        let _lock = FileLock::acquire(path)?;
        let mut users = if create { Users::load_or_new(path)? } else { Users::load(path)? };
        let out = f(&mut users)?;
        users.save(path)?;
        Ok(out)
    }

    pub fn users(&self) -> &[User] {
        &self.users
    }

    pub fn get(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// The user an OS account (a socket peer's account name) maps to.
    pub fn by_os_account(&self, account: &str) -> Option<&User> {
        self.users.iter().find(|u| u.os_account == account)
    }

    fn get_mut(&mut self, name: &str) -> Result<&mut User, UsersError> {
        self.users.iter_mut().find(|u| u.name == name).ok_or_else(|| UsersError::UnknownUser(name.to_string()))
    }

    /// Add a user; `os_account` defaults to `name`.
    pub fn add(
        &mut self,
        name: &str,
        full_name: &str,
        role: Role,
        os_account: Option<&str>,
        secret: &str,
    ) -> Result<&User, UsersError> {
        check_name(name).map_err(|reason| UsersError::BadName { name: name.to_string(), reason })?;
        let os_account = os_account.unwrap_or(name);
        check_name(os_account).map_err(|reason| UsersError::BadName { name: os_account.to_string(), reason })?;
        check_full_name(full_name).map_err(UsersError::BadFullName)?;
        if self.get(name).is_some() {
            return Err(UsersError::Duplicate(name.to_string()));
        }
        if let Some(other) = self.by_os_account(os_account) {
            return Err(UsersError::DuplicateOsAccount { account: os_account.to_string(), user: other.name.clone() });
        }
        let secret_hash = hash_secret(secret)?;
        self.users.push(User {
            name: name.to_string(),
            os_account: os_account.to_string(),
            full_name: full_name.trim().to_string(),
            role,
            secret_hash,
            disabled: false,
            failed_attempts: 0,
            locked: false,
        });
        let last = self.users.len() - 1;
        Ok(&self.users[last])
    }

    /// Replace a user's secret. Clears the failed-attempt count; a locked user stays
    /// locked until [`Users::unlock`].
    pub fn set_secret(&mut self, name: &str, secret: &str) -> Result<(), UsersError> {
        let hash = hash_secret(secret)?;
        let u = self.get_mut(name)?;
        u.secret_hash = hash;
        u.failed_attempts = 0;
        Ok(())
    }

    pub fn disable(&mut self, name: &str) -> Result<(), UsersError> {
        self.get_mut(name)?.disabled = true;
        Ok(())
    }

    pub fn enable(&mut self, name: &str) -> Result<(), UsersError> {
        self.get_mut(name)?.disabled = false;
        Ok(())
    }

    /// Clear a lockout and the failed-attempt count.
    pub fn unlock(&mut self, name: &str) -> Result<(), UsersError> {
        let u = self.get_mut(name)?;
        u.locked = false;
        u.failed_attempts = 0;
        Ok(())
    }

    /// Check `secret` and, if right, return the electronic signature of `user` meaning
    /// `meaning` at `now_ms`. A wrong secret counts a failed attempt; the
    /// `max_attempts`-th in a row locks the user ([`AuthError::LockedOut`]); a locked or
    /// disabled user is refused before the secret is looked at. A success resets the
    /// count. Persist the users afterwards either way.
    pub fn sign(&mut self, user: &str, secret: &str, meaning: &str, now_ms: i64) -> Result<Signature, AuthError> {
        let max = self.max_attempts.max(1);
        let u = self.users.iter_mut().find(|u| u.name == user).ok_or_else(|| AuthError::UnknownUser(user.into()))?;
        if u.disabled {
            return Err(AuthError::Disabled(u.name.clone()));
        }
        if u.locked {
            return Err(AuthError::Locked(u.name.clone()));
        }
        let meaning = meaning.trim();
        if meaning.is_empty() {
            return Err(AuthError::NoMeaning);
        }
        if verify_secret(secret, &u.secret_hash).map_err(|()| AuthError::BadHash(u.name.clone()))? {
            u.failed_attempts = 0;
            return Ok(Signature {
                user: u.name.clone(),
                full_name: u.full_name.clone(),
                ts_ms: now_ms,
                meaning: meaning.to_string(),
            });
        }
        u.failed_attempts = u.failed_attempts.saturating_add(1);
        if u.failed_attempts >= max {
            u.locked = true;
            Err(AuthError::LockedOut { user: u.name.clone(), attempts: u.failed_attempts })
        } else {
            Err(AuthError::WrongSecret { user: u.name.clone(), attempts_left: max - u.failed_attempts })
        }
    }
}

/// An exclusive lock (`flock` on Unix, through std's `File::lock`) on `PATH.lock`,
/// released on drop.
struct FileLock(std::fs::File);

impl FileLock {
    fn acquire(path: &Path) -> Result<FileLock, UsersError> {
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let io = |source| UsersError::Io { path: lock_path.clone(), source };
        let f = OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(&lock_path);
        let f = f.map_err(io)?;
        f.lock().map_err(io)?;
        Ok(FileLock(f))
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Closing the file would release it too; an error here leaves nothing to undo.
        let _ = self.0.unlock();
    }
}

/// A mimic user name or OS account: 1–32 of `A-Z a-z 0-9 . _ -`, starting with a
/// letter, digit or underscore.
pub(crate) fn check_name(name: &str) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    if name.chars().count() > 32 {
        return Err(NameProblem::TooLong);
    }
    if name.starts_with(['-', '.']) {
        return Err(NameProblem::LeadingDashOrDot);
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err(NameProblem::BadCharacter);
    }
    Ok(())
}

/// Why a user name or OS account is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameProblem {
    #[error("must not be empty")]
    Empty,
    #[error("at most 32 characters")]
    TooLong,
    #[error("must not start with `-` or `.`")]
    LeadingDashOrDot,
    #[error("only letters, digits, `.`, `_` and `-`")]
    BadCharacter,
}

pub(crate) fn check_full_name(full_name: &str) -> Result<(), FullNameProblem> {
    let t = full_name.trim();
    if t.is_empty() {
        return Err(FullNameProblem::Empty);
    }
    if t.chars().count() > 128 {
        return Err(FullNameProblem::TooLong);
    }
    if t.chars().any(char::is_control) {
        return Err(FullNameProblem::ControlCharacter);
    }
    Ok(())
}

/// Why a full name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FullNameProblem {
    #[error("must not be empty (it is shown in signatures)")]
    Empty,
    #[error("at most 128 characters")]
    TooLong,
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// Is `phc` an argon2id PHC string? The message never repeats the string.
pub(crate) fn parse_phc(phc: &str) -> Result<PasswordHash<'_>, PhcProblem> {
    let h = PasswordHash::new(phc).map_err(PhcProblem::NotPhc)?;
    if h.algorithm != Algorithm::Argon2id.ident() {
        return Err(PhcProblem::Algorithm(h.algorithm.to_string()));
    }
    if h.hash.is_none() {
        return Err(PhcProblem::NoHash);
    }
    Ok(h)
}

/// Why a stored secret hash is refused (never repeating the hash).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhcProblem {
    #[error("not a PHC hash string ({0})")]
    NotPhc(argon2::password_hash::Error),
    #[error("algorithm `{0}`; expected argon2id")]
    Algorithm(String),
    #[error("PHC string without a hash")]
    NoHash,
}

fn hash_secret(secret: &str) -> Result<String, UsersError> {
    if secret.chars().count() < MIN_SECRET_CHARS {
        return Err(UsersError::SecretTooShort);
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| UsersError::Random(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| UsersError::Hash(e.to_string()))?;
    let hash =
        Argon2::default().hash_password(secret.as_bytes(), &salt).map_err(|e| UsersError::Hash(e.to_string()))?;
    Ok(hash.to_string())
}

/// `Ok(true)` right, `Ok(false)` wrong, `Err` when the stored hash is unusable.
fn verify_secret(secret: &str, phc: &str) -> Result<bool, ()> {
    let parsed = parse_phc(phc).map_err(|_| ())?;
    match Argon2::default().verify_password(secret.as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(_) => Err(()),
    }
}

#[cfg(test)]
mod tests;
