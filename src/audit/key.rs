//! The site's ed25519 key: signs audit checkpoints.
//!
//! The secret key lives in `DATA/site.key` (64 hex digits and a newline, mode 0600,
//! created from fresh OS randomness); the public key beside it in `DATA/site.pub`
//! (64 hex digits). A key file readable by group or others is refused.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::AuditError;
use super::entry::{from_hex, to_hex};

/// File name of the secret key in the data directory.
pub const KEY_NAME: &str = "site.key";
/// File name of the public key in the data directory.
pub const PUB_NAME: &str = "site.pub";

/// The site's signing key.
pub struct SiteKey {
    signing: SigningKey,
}

impl std::fmt::Debug for SiteKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SiteKey(public {})", self.public_hex())
    }
}

fn key_err(path: &Path, reason: impl Into<String>) -> AuditError {
    AuditError::Key { path: path.to_path_buf(), reason: reason.into() }
}

/// `site.pub` beside the secret key file `path`.
pub fn public_path(secret: &Path) -> PathBuf {
    secret.with_file_name(PUB_NAME)
}

impl SiteKey {
    /// Loads the secret key from `path` (e.g. `DATA/site.key`), or creates it with fresh
    /// OS randomness (mode 0600, never overwriting) together with `site.pub` beside it.
    /// Refuses a key file readable by group or others, and a `site.pub` that does not
    /// belong to the secret key.
    pub fn load_or_create(path: &Path) -> Result<SiteKey, AuditError> {
        let key = match std::fs::read_to_string(path) {
            Ok(text) => {
                let mode = std::fs::metadata(path).map_err(|e| key_err(path, e.to_string()))?.permissions().mode();
                if mode & 0o077 != 0 {
                    return Err(key_err(path, format!("readable by others (mode {:o}); chmod 600 it", mode & 0o777)));
                }
                let bytes = from_hex::<32>(&text).ok_or_else(|| key_err(path, "not 64 hex digits"))?;
                SiteKey { signing: SigningKey::from_bytes(&bytes) }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(path)?,
            Err(e) => return Err(key_err(path, e.to_string())),
        };
        let pub_path = public_path(path);
        match std::fs::read_to_string(&pub_path) {
            Ok(text) => {
                if from_hex::<32>(&text) != Some(key.verifying_key().to_bytes()) {
                    return Err(key_err(&pub_path, "does not match the secret key in site.key"));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                write_atomically(&pub_path, format!("{}\n", key.public_hex()).as_bytes())
                    .map_err(|e| key_err(&pub_path, e.to_string()))?;
            }
            Err(e) => return Err(key_err(&pub_path, e.to_string())),
        }
        Ok(key)
    }

    /// Writes the new key to a temporary file, syncs it, then links it into place: a
    /// crash at any moment leaves either no `site.key` or a complete one, and an existing
    /// key is never overwritten (the link fails).
    fn create(path: &Path) -> Result<SiteKey, AuditError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| key_err(path, format!("no OS randomness: {e}")))?;
        let tmp = path.with_extension("key.tmp");
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| key_err(&tmp, e.to_string()))?;
        // A leftover of an earlier crash may have looser modes: tighten before writing.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .and_then(|()| f.write_all(format!("{}\n", to_hex(&secret)).as_bytes()))
            .and_then(|()| f.sync_all())
            .map_err(|e| key_err(&tmp, e.to_string()))?;
        drop(f);
        let linked = std::fs::hard_link(&tmp, path).map_err(|e| key_err(path, e.to_string()));
        let _ = std::fs::remove_file(&tmp);
        linked?;
        sync_dir(path);
        Ok(SiteKey { signing: SigningKey::from_bytes(&secret) })
    }

    /// A key from known secret bytes (tests, key ceremonies).
    pub fn from_secret(secret: &[u8; 32]) -> SiteKey {
        SiteKey { signing: SigningKey::from_bytes(secret) }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public key as 64 hex digits (the content of `site.pub`).
    pub fn public_hex(&self) -> String {
        to_hex(self.verifying_key().as_bytes())
    }

    pub(crate) fn sign(&self, msg: &[u8]) -> Signature {
        self.signing.sign(msg)
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over
/// `path`: readers (and a restart after a crash) see the old content or the whole new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    sync_dir(path);
    Ok(())
}

/// Best effort: make a new directory entry beside `path` durable.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
}

/// Reads a public key file (`site.pub`: 64 hex digits).
pub fn load_public(path: &Path) -> Result<VerifyingKey, AuditError> {
    let text = std::fs::read_to_string(path).map_err(|e| key_err(path, e.to_string()))?;
    parse_public(&text).map_err(|r| key_err(path, r))
}

/// A public key from 64 hex digits.
pub fn parse_public(hex: &str) -> Result<VerifyingKey, &'static str> {
    let bytes = from_hex::<32>(hex).ok_or("not 64 hex digits")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "not a valid ed25519 public key")
}
