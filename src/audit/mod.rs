//! Audit trail: a tamper-evident, hash-chained record of every act on the plant
//! (who, when, what, and what it means), in the same redb file as the historian so that
//! an action and its audit entry commit in ONE write transaction.
//!
//! * Each [`Entry`] carries `prev_hash` (the hash of the entry before it) and `hash`
//!   (SHA-256 of its canonical encoding, see [`entry`]); sequence numbers are
//!   contiguous from 1. Changing, deleting or reordering a stored entry breaks the chain.
//! * Every [`CHECKPOINT_EVERY`] entries, and on demand ([`checkpoint`]), a [`Checkpoint`]
//!   `(seq, hash, ts_ms)` is signed with the site's ed25519 key ([`SiteKey`]). Exported to
//!   removable media ([`export_checkpoints`]), checkpoints also reveal a cut-off tail
//!   ([`verify_against_export`]), which the chain alone cannot.
//! * [`verify`] walks the whole chain and every checkpoint and names the first bad entry.
//!
//! The module records and verifies; it does not decide what must be recorded, nor
//! authenticate users. Callers that change the plant must refuse the change when
//! [`append`] fails (fail closed).
//!
//! # Stored layout
//!
//! * `audit.entries` ([`AUDIT`]): seq → canonical entry bytes followed by the 32-byte hash.
//! * `audit.checkpoints` ([`CHECKPOINTS`]): seq → `version=1 | seq u64 | ts_ms i64 |
//!   hash [32] | ed25519 signature [64]` (113 bytes, big-endian integers). The signed
//!   message is `"mimic audit checkpoint v1\0" | seq | ts_ms | hash`.

pub mod entry;
pub mod key;
#[cfg(test)]
mod tests;

use ed25519_dalek::{Signature, VerifyingKey};
use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition, TableError, WriteTransaction,
};

mod export;
pub use entry::{Action, Entry, GENESIS_HASH, Note, from_hex, to_hex};
pub use export::{
    ExportReport, ExportedCheckpoint, check_export, entries_page, entry_hashes, entry_json, export_checkpoints,
    export_jsonl, read_exported, stored_checkpoints, verify_against_export, write_export,
};
pub use key::{KEY_NAME, PUB_NAME, SiteKey, load_public, parse_public};

/// seq → stored entry (canonical bytes + hash). Public for inspection and tamper tests;
/// write it only through [`append`].
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit.entries");
/// seq → stored signed checkpoint. Public for inspection and tamper tests.
pub const CHECKPOINTS: TableDefinition<u64, &[u8]> = TableDefinition::new("audit.checkpoints");

/// A checkpoint is signed automatically after every this many entries.
pub const CHECKPOINT_EVERY: u64 = 100;

const CHECKPOINT_VERSION: u8 = 1;
const CHECKPOINT_LEN: usize = 1 + 8 + 8 + 32 + 64;
const CHECKPOINT_DOMAIN: &[u8] = b"mimic audit checkpoint v1\0";
const EXPORT_FORMAT: &str = "mimic-audit-checkpoints";

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit database: {0}")]
    Database(#[from] redb::DatabaseError),
    #[error("audit transaction: {0}")]
    Transaction(#[from] redb::TransactionError),
    #[error("audit table: {0}")]
    Table(#[from] redb::TableError),
    #[error("audit storage: {0}")]
    Storage(#[from] redb::StorageError),
    #[error("audit commit: {0}")]
    Commit(#[from] redb::CommitError),
    #[error("audit file: {0}")]
    Io(#[from] std::io::Error),
    #[error("corrupt audit entry {seq}: {reason}")]
    Corrupt { seq: u64, reason: String },
    #[error("corrupt audit checkpoint at entry {seq}: {reason}")]
    CorruptCheckpoint { seq: u64, reason: String },
    #[error("site key {path}: {reason}")]
    Key { path: std::path::PathBuf, reason: String },
    #[error("audit field `{0}` is longer than 4 GiB")]
    TooLong(&'static str),
    #[error("audit sequence numbers exhausted")]
    SeqExhausted,
    #[error("exported checkpoints {path}, line {line}: {reason}")]
    Export { path: std::path::PathBuf, line: usize, reason: String },
}

type Result<T> = std::result::Result<T, AuditError>;

/// A signed statement "entry `seq` of this site's chain has hash `hash`".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: [u8; 32],
    /// When the checkpoint was signed, ms since the epoch.
    pub ts_ms: i64,
    pub signature: [u8; 64],
}

impl Checkpoint {
    fn message(seq: u64, ts_ms: i64, hash: &[u8; 32]) -> Vec<u8> {
        let mut m = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 48);
        m.extend_from_slice(CHECKPOINT_DOMAIN);
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(&ts_ms.to_be_bytes());
        m.extend_from_slice(hash);
        m
    }

    fn sign(key: &SiteKey, seq: u64, hash: [u8; 32], ts_ms: i64) -> Checkpoint {
        let signature = key.sign(&Self::message(seq, ts_ms, &hash)).to_bytes();
        Checkpoint { seq, hash, ts_ms, signature }
    }

    /// Whether the signature is valid for `public` (strict ed25519 verification).
    pub fn signature_ok(&self, public: &VerifyingKey) -> bool {
        let sig = Signature::from_bytes(&self.signature);
        public.verify_strict(&Self::message(self.seq, self.ts_ms, &self.hash), &sig).is_ok()
    }

    pub fn to_stored(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(CHECKPOINT_LEN);
        b.push(CHECKPOINT_VERSION);
        b.extend_from_slice(&self.seq.to_be_bytes());
        b.extend_from_slice(&self.ts_ms.to_be_bytes());
        b.extend_from_slice(&self.hash);
        b.extend_from_slice(&self.signature);
        b
    }

    pub fn from_stored(b: &[u8]) -> std::result::Result<Checkpoint, &'static str> {
        if b.len() != CHECKPOINT_LEN {
            return Err("wrong length");
        }
        if b[0] != CHECKPOINT_VERSION {
            return Err("unknown checkpoint version");
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&b[1..9]);
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[9..17]);
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&b[17..49]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&b[49..113]);
        Ok(Checkpoint { seq: u64::from_be_bytes(seq), ts_ms: i64::from_be_bytes(ts), hash, signature })
    }
}

fn check_len(field: &'static str, s: &str) -> Result<()> {
    if u32::try_from(s.len()).is_err() { Err(AuditError::TooLong(field)) } else { Ok(()) }
}

/// The last entry of the chain in `table` (checked: decodes, key matches, hash matches).
fn last_entry(table: &impl ReadableTable<u64, &'static [u8]>) -> Result<Option<Entry>> {
    let Some((k, v)) = table.last()? else {
        return Ok(None);
    };
    let seq = k.value();
    let e = Entry::from_stored(v.value()).map_err(|r| AuditError::Corrupt { seq, reason: r.to_string() })?;
    if e.seq != seq {
        return Err(AuditError::Corrupt { seq, reason: format!("holds entry {}", e.seq) });
    }
    if e.compute_hash() != e.hash {
        return Err(AuditError::Corrupt { seq, reason: "hash does not match contents".into() });
    }
    Ok(Some(e))
}

/// Appends an entry INSIDE the caller's write transaction: it reads the last entry of
/// that transaction for `seq` and `prev_hash`, so the caller commits the action and its
/// entry together (or neither, if the transaction is aborted or dropped). Every
/// [`CHECKPOINT_EVERY`] entries it also stores a checkpoint signed with `key`.
///
/// **Fail closed:** if this returns an error, the caller must not carry out the control
/// action it was recording (no PLC write, no approval, no alarm state change) and should
/// abort the transaction. A corrupt last entry is an error here too: nothing is appended
/// to a chain that does not verify at its head.
pub fn append(txn: &WriteTransaction, key: &SiteKey, note: &Note, ts_ms: i64) -> Result<Entry> {
    check_len("user", &note.user)?;
    check_len("full_name", note.full_name.as_deref().unwrap_or(""))?;
    check_len("meaning", note.meaning.as_deref().unwrap_or(""))?;
    check_len("target", note.target.as_deref().unwrap_or(""))?;
    check_len("detail", &note.detail)?;
    if let Action::Other(name) = &note.action {
        check_len("action", name)?;
    }
    let mut table = txn.open_table(AUDIT)?;
    let (seq, prev_hash) = match last_entry(&table)? {
        None => (1, GENESIS_HASH),
        Some(last) => (last.seq.checked_add(1).ok_or(AuditError::SeqExhausted)?, last.hash),
    };
    let mut e = Entry { seq, ts_ms, note: note.clone(), prev_hash, hash: [0; 32] };
    e.hash = e.compute_hash();
    table.insert(seq, e.to_stored().as_slice())?;
    if seq % CHECKPOINT_EVERY == 0 {
        let cp = Checkpoint::sign(key, seq, e.hash, ts_ms);
        txn.open_table(CHECKPOINTS)?.insert(seq, cp.to_stored().as_slice())?;
    }
    Ok(e)
}

/// [`append`] in a transaction of its own, committed (durably) before returning.
/// Fail closed as for [`append`]: an error means nothing was recorded.
pub fn append_commit(db: &Database, key: &SiteKey, note: &Note, ts_ms: i64) -> Result<Entry> {
    let txn = db.begin_write()?;
    let e = append(&txn, key, note, ts_ms)?;
    txn.commit()?;
    Ok(e)
}

/// Signs a checkpoint of the current head of the chain inside `txn` (replacing one
/// already stored at that seq). `None` if the chain is empty.
pub fn checkpoint(txn: &WriteTransaction, key: &SiteKey, ts_ms: i64) -> Result<Option<Checkpoint>> {
    let Some(last) = last_entry(&txn.open_table(AUDIT)?)? else {
        return Ok(None);
    };
    let cp = Checkpoint::sign(key, last.seq, last.hash, ts_ms);
    txn.open_table(CHECKPOINTS)?.insert(cp.seq, cp.to_stored().as_slice())?;
    Ok(Some(cp))
}

/// [`checkpoint`] in a transaction of its own, committed before returning.
pub fn checkpoint_commit(db: &Database, key: &SiteKey, ts_ms: i64) -> Result<Option<Checkpoint>> {
    let txn = db.begin_write()?;
    let cp = checkpoint(&txn, key, ts_ms)?;
    txn.commit()?;
    Ok(cp)
}

/// Why an entry is bad.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Its hash is not the hash of its contents.
    Changed,
    /// The chain skips it.
    Missing,
    /// Its place holds another entry.
    OutOfOrder { found: u64 },
    /// Its `prev_hash` is not the hash of the entry before it.
    BrokenLink,
    /// Its stored bytes do not decode.
    Unreadable(&'static str),
    /// The checkpoint at this entry is not signed by the site key.
    BadCheckpointSignature,
    /// The checkpoint at this entry does not decode.
    UnreadableCheckpoint(&'static str),
    /// The entry differs from the one its signed checkpoint names.
    CheckpointMismatch,
    /// A signed checkpoint names entry `checkpoint`, but the store ends before it
    /// (at `last`, 0 = empty): the tail was cut off.
    Truncated { last: u64, checkpoint: u64 },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Changed => write!(f, "changed: hash does not match contents"),
            Reason::Missing => write!(f, "missing"),
            Reason::OutOfOrder { found } => write!(f, "out of order: its place holds entry {found}"),
            Reason::BrokenLink => write!(f, "broken link: prev_hash does not match the entry before"),
            Reason::Unreadable(r) => write!(f, "unreadable: {r}"),
            Reason::BadCheckpointSignature => write!(f, "bad checkpoint signature"),
            Reason::UnreadableCheckpoint(r) => write!(f, "unreadable checkpoint: {r}"),
            Reason::CheckpointMismatch => write!(f, "changed: does not match its signed checkpoint"),
            Reason::Truncated { last, checkpoint } => write!(
                f,
                "missing: the store ends at entry {last} but a signed checkpoint names entry {checkpoint} \
                 (truncated tail)"
            ),
        }
    }
}

/// The first bad entry found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub seq: u64,
    pub reason: Reason,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entry {}: {}", self.seq, self.reason)
    }
}

/// Result of [`verify`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries verified good, from 1 (all of them when `first_bad` is `None`).
    pub entries: u64,
    /// Checkpoints stored.
    pub checkpoints: u64,
    /// seq and hash of the last good entry.
    pub head: Option<(u64, [u8; 32])>,
    pub first_bad: Option<Problem>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.first_bad.is_none()
    }
}

fn open_read(
    txn: &redb::ReadTransaction,
    def: TableDefinition<u64, &'static [u8]>,
) -> Result<Option<redb::ReadOnlyTable<u64, &'static [u8]>>> {
    match txn.open_table(def) {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Walks the whole chain: every entry decodes, sits under its own seq, seqs are
/// contiguous from 1, every hash matches its contents and links to the entry before;
/// then every checkpoint: decodes, is signed by `public`, and names an entry that is
/// there with that hash. Reports the first bad entry; errors are for I/O only.
pub fn verify(db: &Database, public: &VerifyingKey) -> Result<VerifyReport> {
    let txn = db.begin_read()?;
    let mut rep = VerifyReport::default();
    let entries = open_read(&txn, AUDIT)?;
    let mut prev = GENESIS_HASH;
    let mut expected = 1u64;
    if let Some(table) = &entries {
        for item in table.iter()? {
            let (k, v) = item?;
            let seq = k.value();
            let bad = |reason| Some(Problem { seq, reason });
            if seq != expected {
                rep.first_bad = Some(Problem { seq: expected, reason: Reason::Missing });
                break;
            }
            let e = match Entry::from_stored(v.value()) {
                Ok(e) => e,
                Err(r) => {
                    rep.first_bad = bad(Reason::Unreadable(r));
                    break;
                }
            };
            if e.compute_hash() != e.hash {
                rep.first_bad = bad(Reason::Changed);
                break;
            }
            if e.seq != seq {
                rep.first_bad = bad(Reason::OutOfOrder { found: e.seq });
                break;
            }
            if e.prev_hash != prev {
                rep.first_bad = bad(Reason::BrokenLink);
                break;
            }
            prev = e.hash;
            rep.entries += 1;
            rep.head = Some((seq, e.hash));
            expected = expected.saturating_add(1);
        }
    }
    let Some(cps) = open_read(&txn, CHECKPOINTS)? else {
        return Ok(rep);
    };
    rep.checkpoints = cps.len()?;
    if rep.first_bad.is_some() {
        return Ok(rep);
    }
    for item in cps.iter()? {
        let (k, v) = item?;
        let seq = k.value();
        let stored_hash = match &entries {
            Some(t) => t.get(seq)?.and_then(|v| Entry::from_stored(v.value()).ok()).map(|e| e.hash),
            None => None,
        };
        if let Some(problem) = check_checkpoint(seq, v.value(), public, stored_hash, rep.entries) {
            rep.first_bad = Some(problem);
            break;
        }
    }
    Ok(rep)
}

/// The problem with the stored checkpoint at `seq`, if any. `entry_hash`: hash of the
/// stored entry at `seq`; `last`: last seq of the (verified) chain.
fn check_checkpoint(
    seq: u64,
    bytes: &[u8],
    public: &VerifyingKey,
    entry_hash: Option<[u8; 32]>,
    last: u64,
) -> Option<Problem> {
    let reason = match Checkpoint::from_stored(bytes) {
        Err(r) => Reason::UnreadableCheckpoint(r),
        Ok(cp) if cp.seq != seq => Reason::UnreadableCheckpoint("stored under another seq"),
        Ok(cp) if !cp.signature_ok(public) => Reason::BadCheckpointSignature,
        Ok(_) if seq > last => {
            return Some(Problem { seq: last + 1, reason: Reason::Truncated { last, checkpoint: seq } });
        }
        Ok(cp) if entry_hash != Some(cp.hash) => Reason::CheckpointMismatch,
        Ok(_) => return None,
    };
    Some(Problem { seq, reason })
}

/// Every entry with `ts_ms >= since_ms`, in seq order. A corrupt entry is an error
/// naming its seq.
pub fn entries_since(db: &Database, since_ms: i64) -> Result<Vec<Entry>> {
    let txn = db.begin_read()?;
    let mut out = Vec::new();
    let Some(table) = open_read(&txn, AUDIT)? else {
        return Ok(out);
    };
    for item in table.iter()? {
        let (k, v) = item?;
        let seq = k.value();
        let e = Entry::from_stored(v.value()).map_err(|r| AuditError::Corrupt { seq, reason: r.to_string() })?;
        if e.ts_ms >= since_ms {
            out.push(e);
        }
    }
    Ok(out)
}

/// The newest `n` entries, oldest first (reads only those, from the end of the chain).
pub fn newest(db: &Database, n: usize) -> Result<Vec<Entry>> {
    let txn = db.begin_read()?;
    let mut out = Vec::with_capacity(n);
    let Some(table) = open_read(&txn, AUDIT)? else {
        return Ok(out);
    };
    for item in table.iter()?.rev().take(n) {
        let (k, v) = item?;
        let seq = k.value();
        out.push(Entry::from_stored(v.value()).map_err(|r| AuditError::Corrupt { seq, reason: r.to_string() })?);
    }
    out.reverse();
    Ok(out)
}
