//! The users file on disk: strict TOML in, spanned problems out; written atomically with
//! mode 0600 (temp file in the same folder, fsync, rename, fsync of the folder).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::ops::Range;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_spanned::Spanned;

use super::{Role, User, Users, UsersError, check_full_name, check_name, parse_phc};
use crate::config::{ConfigError, ConfigErrors, parse_duration};

/// The format version written in the file's header.
pub const VERSION: u32 = 1;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: Spanned<u32>,
    /// A terminal idle this long locks until its user re-enters the secret (default "15m").
    idle_lock: Option<Spanned<String>>,
    /// Consecutive wrong secrets that lock a user (default 3).
    max_attempts: Option<Spanned<u32>>,
    #[serde(default)]
    user: Vec<RawUser>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    name: Spanned<String>,
    os_account: Option<Spanned<String>>,
    full_name: Spanned<String>,
    role: Role,
    secret_hash: Spanned<String>,
    #[serde(default)]
    disabled: bool,
    #[serde(default)]
    failed_attempts: u32,
    #[serde(default)]
    locked: bool,
}

#[derive(Serialize)]
struct OutFile<'a> {
    version: u32,
    idle_lock: String,
    max_attempts: u32,
    user: Vec<OutUser<'a>>,
}

#[derive(Serialize)]
struct OutUser<'a> {
    name: &'a str,
    os_account: &'a str,
    full_name: &'a str,
    role: Role,
    secret_hash: &'a str,
    disabled: bool,
    failed_attempts: u32,
    locked: bool,
}

struct Ctx<'a> {
    file: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Ctx<'_> {
    fn err(&mut self, span: Range<usize>, path: impl Into<String>, message: impl Into<String>) {
        let offset = span.start.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(1, |l| l.chars().count() + 1);
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            line,
            col,
            path: path.into(),
            message: message.into(),
        });
    }
}

pub(super) fn parse(file: &Path, text: &str) -> Result<Users, UsersError> {
    let mut cx = Ctx { file, text, errors: Vec::new() };
    let raw: RawFile = match toml::Deserializer::parse(text) {
        Err(e) => {
            cx.err(e.span().unwrap_or(0..0), "(syntax)", e.message().trim());
            return Err(UsersError::Invalid(ConfigErrors(cx.errors)));
        }
        Ok(de) => match serde_path_to_error::deserialize(de) {
            Ok(raw) => raw,
            Err(e) => {
                let path = e.path().to_string();
                let path = if path == "." { "(top)".to_string() } else { path };
                let inner = e.into_inner();
                cx.err(inner.span().unwrap_or(0..0), path, inner.message().trim());
                return Err(UsersError::Invalid(ConfigErrors(cx.errors)));
            }
        },
    };
    let users = build(&mut cx, raw);
    if cx.errors.is_empty() { Ok(users) } else { Err(UsersError::Invalid(ConfigErrors(cx.errors))) }
}

fn build(cx: &mut Ctx<'_>, raw: RawFile) -> Users {
    if *raw.version.get_ref() != VERSION {
        cx.err(
            raw.version.span(),
            "version",
            format!("unsupported version {}; expected {VERSION}", raw.version.get_ref()),
        );
    }
    let mut users = Users::new();
    if let Some(v) = &raw.idle_lock {
        match parse_duration(v.get_ref()) {
            Ok(d) if d.is_zero() => cx.err(v.span(), "idle_lock", "must be greater than zero"),
            Ok(d) => users.idle_lock = d,
            Err(m) => cx.err(v.span(), "idle_lock", m.to_string()),
        }
    }
    if let Some(v) = &raw.max_attempts {
        if *v.get_ref() == 0 {
            cx.err(v.span(), "max_attempts", "must be at least 1");
        } else {
            users.max_attempts = *v.get_ref();
        }
    }
    for (i, u) in raw.user.into_iter().enumerate() {
        let name = u.name.get_ref().clone();
        if let Err(m) = check_name(&name) {
            cx.err(u.name.span(), format!("user[{i}].name"), m.to_string());
        }
        let (os_account, os_span) = match &u.os_account {
            Some(a) => (a.get_ref().clone(), a.span()),
            None => (name.clone(), u.name.span()),
        };
        if let Err(m) = check_name(&os_account) {
            cx.err(os_span.clone(), format!("user[{i}].os_account"), m.to_string());
        }
        if let Err(m) = check_full_name(u.full_name.get_ref()) {
            cx.err(u.full_name.span(), format!("user[{i}].full_name"), m.to_string());
        }
        // Never echo the hash itself in a message.
        if let Err(m) = parse_phc(u.secret_hash.get_ref()) {
            cx.err(u.secret_hash.span(), format!("user[{i}].secret_hash"), m.to_string());
        }
        if let Some(first) = users.users.iter().position(|x| x.name == name) {
            cx.err(
                u.name.span(),
                format!("user[{i}].name"),
                format!("duplicate user `{name}` (first is user[{first}])"),
            );
        }
        if let Some(other) = users.users.iter().find(|x| x.os_account == os_account) {
            cx.err(
                os_span,
                format!("user[{i}].os_account"),
                format!("OS account `{os_account}` already maps to user `{}`", other.name),
            );
        }
        users.users.push(User {
            name,
            os_account,
            full_name: u.full_name.get_ref().trim().to_string(),
            role: u.role,
            secret_hash: u.secret_hash.into_inner(),
            disabled: u.disabled,
            failed_attempts: u.failed_attempts,
            locked: u.locked,
        });
    }
    users
}

pub(super) fn render(users: &Users) -> Result<String, UsersError> {
    let out = OutFile {
        version: VERSION,
        idle_lock: crate::time::format_duration(users.idle_lock),
        max_attempts: users.max_attempts,
        user: users
            .users
            .iter()
            .map(|u| OutUser {
                name: &u.name,
                os_account: &u.os_account,
                full_name: &u.full_name,
                role: u.role,
                secret_hash: &u.secret_hash,
                disabled: u.disabled,
                failed_attempts: u.failed_attempts,
                locked: u.locked,
            })
            .collect(),
    };
    let body = toml::to_string(&out).map_err(|e| UsersError::Render(e.to_string()))?;
    Ok(format!(
        "# mimic users: written by `mimic user` and the daemon; keep mode 0600.\n\
         # secret_hash is an argon2id PHC string; a secret is never stored.\n{body}"
    ))
}

/// Read the file, refusing one that others than its owner may read or write.
pub(super) fn read(path: &Path) -> Result<String, UsersError> {
    let io = |source| UsersError::Io { path: path.to_path_buf(), source };
    let meta = fs::metadata(path).map_err(io)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(UsersError::Permissions { path: path.to_path_buf(), mode });
    }
    fs::read_to_string(path).map_err(io)
}

/// Replace `path` with `text` atomically, mode 0600.
pub(super) fn write_atomic(path: &Path, text: &str) -> Result<(), UsersError> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| UsersError::Io { path: p, source }
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "users.toml".into());
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f =
            OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp).map_err(io(&tmp))?;
        // `mode` applies only on creation; a stale temp file may have other bits.
        f.set_permissions(fs::Permissions::from_mode(0o600)).map_err(io(&tmp))?;
        f.write_all(text.as_bytes()).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io(path))?;
        File::open(&dir).and_then(|d| d.sync_all()).map_err(io(&dir))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Default idle lock of a terminal.
pub const DEFAULT_IDLE_LOCK: Duration = Duration::from_secs(15 * 60);
/// Default consecutive wrong secrets before a user locks.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
