//! One audit entry, its action kinds and its canonical byte encoding.
//!
//! The canonical encoding is what is hashed and what is stored. It is unambiguous:
//! a version byte, fixed-width big-endian integers, every string length-prefixed
//! (u32 big-endian byte count, then UTF-8), every optional field tagged (0 = absent,
//! 1 = present), in this fixed order:
//!
//! ```text
//! version=1 | seq u64 | ts_ms i64 | user str | full_name opt str | action u8 [+ str for Other]
//!   | meaning opt str | target opt str | detail str | prev_hash [32]
//! ```
//!
//! `hash = SHA-256(canonical)`. The stored record is `canonical || hash`.

use sha2::{Digest, Sha256};

/// Version byte that opens every canonical entry.
pub const ENTRY_VERSION: u8 = 1;

/// The hash of the (absent) entry before entry 1.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// What was done. Stored as a one-byte code; `Other` carries its own name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Attach,
    Detach,
    Approval,
    Rejection,
    WriteRequested,
    WriteOutcome,
    AlarmAck,
    AlarmShelve,
    AlarmUnshelve,
    AlarmOutOfService,
    ConfigLoad,
    UserAdd,
    UserChange,
    UserDisable,
    LoginFailed,
    Lockout,
    ModelRetrain,
    MaintenanceEvent,
    /// The wall clock stepped (back or forward) while the daemon ran.
    ClockStep,
    Other(String),
}

/// Code of `Other`. Codes are part of the stored format: never renumber, only append.
const OTHER_CODE: u8 = 255;

impl Action {
    /// The stored one-byte code.
    pub fn code(&self) -> u8 {
        match self {
            Action::Attach => 1,
            Action::Detach => 2,
            Action::Approval => 3,
            Action::Rejection => 4,
            Action::WriteRequested => 5,
            Action::WriteOutcome => 6,
            Action::AlarmAck => 7,
            Action::AlarmShelve => 8,
            Action::AlarmUnshelve => 9,
            Action::AlarmOutOfService => 10,
            Action::ConfigLoad => 11,
            Action::UserAdd => 12,
            Action::UserChange => 13,
            Action::UserDisable => 14,
            Action::LoginFailed => 15,
            Action::Lockout => 16,
            Action::ModelRetrain => 17,
            Action::MaintenanceEvent => 18,
            Action::ClockStep => 19,
            Action::Other(_) => OTHER_CODE,
        }
    }

    /// The action with this code (`Other` is decoded separately: it carries a name).
    fn from_code(code: u8) -> Option<Action> {
        Some(match code {
            1 => Action::Attach,
            2 => Action::Detach,
            3 => Action::Approval,
            4 => Action::Rejection,
            5 => Action::WriteRequested,
            6 => Action::WriteOutcome,
            7 => Action::AlarmAck,
            8 => Action::AlarmShelve,
            9 => Action::AlarmUnshelve,
            10 => Action::AlarmOutOfService,
            11 => Action::ConfigLoad,
            12 => Action::UserAdd,
            13 => Action::UserChange,
            14 => Action::UserDisable,
            15 => Action::LoginFailed,
            16 => Action::Lockout,
            17 => Action::ModelRetrain,
            18 => Action::MaintenanceEvent,
            19 => Action::ClockStep,
            _ => return None,
        })
    }

    /// snake_case name, as exported (`other:NAME` for `Other`).
    pub fn name(&self) -> String {
        let n = match self {
            Action::Attach => "attach",
            Action::Detach => "detach",
            Action::Approval => "approval",
            Action::Rejection => "rejection",
            Action::WriteRequested => "write_requested",
            Action::WriteOutcome => "write_outcome",
            Action::AlarmAck => "alarm_ack",
            Action::AlarmShelve => "alarm_shelve",
            Action::AlarmUnshelve => "alarm_unshelve",
            Action::AlarmOutOfService => "alarm_out_of_service",
            Action::ConfigLoad => "config_load",
            Action::UserAdd => "user_add",
            Action::UserChange => "user_change",
            Action::UserDisable => "user_disable",
            Action::LoginFailed => "login_failed",
            Action::Lockout => "lockout",
            Action::ModelRetrain => "model_retrain",
            Action::MaintenanceEvent => "maintenance_event",
            Action::ClockStep => "clock_step",
            Action::Other(s) => return format!("other:{s}"),
        };
        n.to_string()
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

/// What one entry says: who acted, what they did, on what, and what it means;
/// [`append`](super::append) adds the chain's part (position, time and hashes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Login name of whoever acted (or `mimic` for its own doing).
    pub user: String,
    /// Printed name of the user at the time of the action.
    pub full_name: Option<String>,
    pub action: Action,
    /// Meaning of a signature, e.g. "approved setpoint change".
    pub meaning: Option<String>,
    /// Tag, asset or alarm id acted on.
    pub target: Option<String>,
    /// Free text or JSON.
    pub detail: String,
}

impl Note {
    /// An entry of `user`'s doing, without a signature's printed name and meaning.
    pub fn by(user: &str, action: Action, target: Option<&str>, detail: &str) -> Note {
        Note {
            user: user.to_string(),
            full_name: None,
            action,
            meaning: None,
            target: target.map(str::to_string),
            detail: detail.to_string(),
        }
    }

    /// An entry of mimic's own doing (a site loaded, a clock step, a refit).
    pub fn system(action: Action, target: Option<String>, detail: String) -> Note {
        Note { user: "mimic".into(), full_name: None, action, meaning: None, target, detail }
    }
}

/// One record of the audit trail: who, when, what, and what it means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Position in the chain, contiguous from 1.
    pub seq: u64,
    /// Wall-clock time of the action, ms since the Unix epoch (UTC).
    pub ts_ms: i64,
    /// Who did what.
    pub note: Note,
    /// `hash` of entry `seq - 1` ([`GENESIS_HASH`] for entry 1).
    pub prev_hash: [u8; 32],
    /// SHA-256 of the canonical encoding of every other field.
    pub hash: [u8; 32],
}

impl Entry {
    /// Canonical encoding of every field except `hash`.
    pub fn canonical(&self) -> Vec<u8> {
        let n = &self.note;
        let mut b = Vec::with_capacity(96 + n.user.len() + n.detail.len());
        b.push(ENTRY_VERSION);
        b.extend_from_slice(&self.seq.to_be_bytes());
        b.extend_from_slice(&self.ts_ms.to_be_bytes());
        put_str(&mut b, &n.user);
        put_opt(&mut b, n.full_name.as_deref());
        b.push(n.action.code());
        if let Action::Other(name) = &n.action {
            put_str(&mut b, name);
        }
        put_opt(&mut b, n.meaning.as_deref());
        put_opt(&mut b, n.target.as_deref());
        put_str(&mut b, &n.detail);
        b.extend_from_slice(&self.prev_hash);
        b
    }

    /// SHA-256 of [`Entry::canonical`]: what `hash` must be.
    pub fn compute_hash(&self) -> [u8; 32] {
        Sha256::digest(self.canonical()).into()
    }

    /// The stored record: canonical bytes followed by the 32-byte hash.
    pub fn to_stored(&self) -> Vec<u8> {
        let mut b = self.canonical();
        b.extend_from_slice(&self.hash);
        b
    }

    /// Parses a stored record. Does not check the hash (see [`Entry::compute_hash`]).
    pub fn from_stored(bytes: &[u8]) -> Result<Entry, &'static str> {
        let mut r = Reader(bytes);
        if r.u8()? != ENTRY_VERSION {
            return Err("unknown entry version");
        }
        let seq = u64::from_be_bytes(r.array()?);
        let ts_ms = i64::from_be_bytes(r.array()?);
        let user = r.string()?;
        let full_name = r.opt()?;
        let code = r.u8()?;
        let action = if code == OTHER_CODE {
            Action::Other(r.string()?)
        } else {
            Action::from_code(code).ok_or("unknown action code")?
        };
        let meaning = r.opt()?;
        let target = r.opt()?;
        let detail = r.string()?;
        let prev_hash = r.array()?;
        let hash = r.array()?;
        if !r.0.is_empty() {
            return Err("trailing bytes after the entry");
        }
        let note = Note { user, full_name, action, meaning, target, detail };
        Ok(Entry { seq, ts_ms, note, prev_hash, hash })
    }
}

fn put_str(b: &mut Vec<u8>, s: &str) {
    // Strings longer than 4 GiB cannot be built by `append` (checked there).
    b.extend_from_slice(&(s.len() as u32).to_be_bytes());
    b.extend_from_slice(s.as_bytes());
}

fn put_opt(b: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => b.push(0),
        Some(s) => {
            b.push(1);
            put_str(b, s);
        }
    }
}

/// Cursor over stored bytes; every read is bounds-checked.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], &'static str> {
        if self.0.len() < n {
            return Err("entry is cut short");
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn string(&mut self) -> Result<String, &'static str> {
        let len = u32::from_be_bytes(self.array()?) as usize;
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| "text is not UTF-8")
    }

    fn opt(&mut self) -> Result<Option<String>, &'static str> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(self.string()?)),
            _ => Err("bad optional-field tag"),
        }
    }
}

/// Lower-case hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// Exactly `N` bytes from hex (either case, surrounding whitespace ignored).
pub fn from_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.trim().as_bytes();
    if s.len() != 2 * N {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (nibble(s[2 * i])? << 4) | nibble(s[2 * i + 1])?;
    }
    Some(out)
}
