//! The audit trail leaving the store: signed checkpoints exported for removable media
//! and checked back against the store, entries as JSON lines, page by page (what
//! `mimic audit` prints, with the daemon running or stopped).

use std::io::Write;
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use redb::{Database, ReadableDatabase, ReadableTable};

use super::{
    AUDIT, AuditError, CHECKPOINTS, Checkpoint, EXPORT_FORMAT, Entry, Problem, Reason, Result, entries_since, from_hex,
    open_read, to_hex,
};

/// One line of an exported checkpoints file (also how the daemon hands checkpoints to
/// `mimic audit checkpoint`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExportedCheckpoint {
    pub seq: u64,
    pub ts_ms: i64,
    pub hash: String,
    pub signature: String,
}

impl From<&Checkpoint> for ExportedCheckpoint {
    fn from(cp: &Checkpoint) -> Self {
        ExportedCheckpoint { seq: cp.seq, ts_ms: cp.ts_ms, hash: to_hex(&cp.hash), signature: to_hex(&cp.signature) }
    }
}

impl ExportedCheckpoint {
    /// The checkpoint, unless a hex field is malformed (which it names).
    pub fn checkpoint(&self) -> std::result::Result<Checkpoint, &'static str> {
        let hash = from_hex::<32>(&self.hash).ok_or("hash is not 64 hex digits")?;
        let signature = from_hex::<64>(&self.signature).ok_or("signature is not 128 hex digits")?;
        Ok(Checkpoint { seq: self.seq, ts_ms: self.ts_ms, hash, signature })
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ExportHeader {
    format: String,
    version: u32,
    exported_ms: i64,
}

/// Writes every stored checkpoint to `path` (for removable media), atomically (a
/// temporary file beside it, synced, then renamed). Format: JSON lines, a header
/// `{"format":"mimic-audit-checkpoints","version":1,"exported_ms":…}` then one
/// `{"seq":…,"ts_ms":…,"hash":"hex","signature":"hex"}` per checkpoint, by seq.
/// Returns the number of checkpoints written.
pub fn export_checkpoints(db: &Database, path: &Path) -> Result<u64> {
    write_export(path, &stored_checkpoints(db)?)
}

/// Every stored checkpoint, by seq.
pub fn stored_checkpoints(db: &Database) -> Result<Vec<Checkpoint>> {
    let txn = db.begin_read()?;
    let mut out = Vec::new();
    if let Some(cps) = open_read(&txn, CHECKPOINTS)? {
        for item in cps.iter()? {
            let (k, v) = item?;
            let seq = k.value();
            out.push(
                Checkpoint::from_stored(v.value())
                    .map_err(|r| AuditError::CorruptCheckpoint { seq, reason: r.to_string() })?,
            );
        }
    }
    Ok(out)
}

/// Writes `checkpoints` to `path` in the export format of [`export_checkpoints`],
/// atomically. Returns how many were written.
pub fn write_export(path: &Path, checkpoints: &[Checkpoint]) -> Result<u64> {
    let mut out = serde_json::to_vec(&ExportHeader {
        format: EXPORT_FORMAT.into(),
        version: 1,
        exported_ms: crate::time::now_ms(),
    })
    .map_err(std::io::Error::other)?;
    out.push(b'\n');
    for cp in checkpoints {
        serde_json::to_writer(&mut out, &ExportedCheckpoint::from(cp)).map_err(std::io::Error::other)?;
        out.push(b'\n');
    }
    let mut tmp_name = path.file_name().map(|f| f.to_os_string()).unwrap_or_default();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&out)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(checkpoints.len() as u64)
}

/// Reads an exported checkpoints file.
pub fn read_exported(path: &Path) -> Result<Vec<Checkpoint>> {
    let text = std::fs::read_to_string(path)?;
    let err = |line: usize, reason: String| AuditError::Export { path: path.to_path_buf(), line, reason };
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, first)) = lines.next() else {
        return Err(err(1, "empty file".into()));
    };
    let header: ExportHeader = serde_json::from_str(first).map_err(|e| err(1, e.to_string()))?;
    if header.format != EXPORT_FORMAT || header.version != 1 {
        return Err(err(1, format!("not a {EXPORT_FORMAT} version 1 file")));
    }
    let mut out = Vec::new();
    for (i, l) in lines {
        let x: ExportedCheckpoint = serde_json::from_str(l).map_err(|e| err(i + 1, e.to_string()))?;
        out.push(x.checkpoint().map_err(|r| err(i + 1, r.into()))?);
    }
    Ok(out)
}

/// Result of [`verify_against_export`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Checkpoints in the exported file.
    pub checkpoints: u64,
    pub first_bad: Option<Problem>,
}

/// Checks the store against checkpoints exported earlier ([`export_checkpoints`]): each
/// must be signed by `public` and name an entry the store still has, with the same
/// hash. Detects a cut-off tail (an exported checkpoint beyond the store's last entry)
/// and a rewritten history. Run [`verify`] too: this does not walk the chain.
pub fn verify_against_export(db: &Database, public: &VerifyingKey, exported: &Path) -> Result<ExportReport> {
    let cps = read_exported(exported)?;
    let seqs: Vec<u64> = cps.iter().map(|c| c.seq).collect();
    let (last, hashes) = entry_hashes(db, &seqs)?;
    Ok(check_export(&cps, public, last, &hashes))
}

/// The last entry's seq, and the hash of each entry asked for (none: not there or corrupt).
pub fn entry_hashes(db: &Database, seqs: &[u64]) -> Result<(u64, Vec<Option<[u8; 32]>>)> {
    let txn = db.begin_read()?;
    let Some(t) = open_read(&txn, AUDIT)? else { return Ok((0, vec![None; seqs.len()])) };
    let last = t.last()?.map_or(0, |(k, _)| k.value());
    let mut out = Vec::with_capacity(seqs.len());
    for &seq in seqs {
        out.push(t.get(seq)?.and_then(|v| Entry::from_stored(v.value()).ok()).map(|e| e.hash));
    }
    Ok((last, out))
}

/// [`verify_against_export`]'s judgement, on the exported checkpoints, the store's last
/// entry and the store's hashes of the entries they name (in the same order).
pub fn check_export(cps: &[Checkpoint], public: &VerifyingKey, last: u64, hashes: &[Option<[u8; 32]>]) -> ExportReport {
    let mut rep = ExportReport { checkpoints: cps.len() as u64, first_bad: None };
    for (cp, entry_hash) in cps.iter().zip(hashes) {
        let problem = if !cp.signature_ok(public) {
            Some(Problem { seq: cp.seq, reason: Reason::BadCheckpointSignature })
        } else if cp.seq > last {
            Some(Problem { seq: last + 1, reason: Reason::Truncated { last, checkpoint: cp.seq } })
        } else if *entry_hash != Some(cp.hash) {
            Some(Problem { seq: cp.seq, reason: Reason::CheckpointMismatch })
        } else {
            None
        };
        if problem.is_some() {
            rep.first_bad = problem;
            break;
        }
    }
    rep
}

/// Up to `limit` entries after seq `after` with `ts_ms >= since_ms`, in seq order, and
/// the seq to go on after (none: the end of the chain).
pub fn entries_page(db: &Database, since_ms: i64, after: u64, limit: usize) -> Result<(Vec<Entry>, Option<u64>)> {
    let txn = db.begin_read()?;
    let mut out = Vec::new();
    let Some(table) = open_read(&txn, AUDIT)? else {
        return Ok((out, None));
    };
    for item in table.range(after.saturating_add(1)..)? {
        let (k, v) = item?;
        let seq = k.value();
        let e = Entry::from_stored(v.value()).map_err(|r| AuditError::Corrupt { seq, reason: r.to_string() })?;
        if e.ts_ms >= since_ms {
            out.push(e);
            if out.len() >= limit.max(1) {
                return Ok((out, Some(seq)));
            }
        }
    }
    Ok((out, None))
}

/// One entry as a JSON object (hashes as hex, `time` as RFC 3339 UTC).
pub fn entry_json(e: &Entry) -> serde_json::Value {
    let time = jiff::Timestamp::from_millisecond(e.ts_ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default();
    serde_json::json!({
        "seq": e.seq,
        "ts_ms": e.ts_ms,
        "time": time,
        "user": e.note.user,
        "full_name": e.note.full_name,
        "action": e.note.action.name(),
        "meaning": e.note.meaning,
        "target": e.note.target,
        "detail": e.note.detail,
        "prev_hash": to_hex(&e.prev_hash),
        "hash": to_hex(&e.hash),
    })
}

/// Writes every entry with `ts_ms >= since_ms` to `w`, one JSON object per line
/// ([`entry_json`]). Returns the number written.
pub fn export_jsonl(db: &Database, since_ms: i64, mut w: impl Write) -> Result<u64> {
    let entries = entries_since(db, since_ms)?;
    for e in &entries {
        serde_json::to_writer(&mut w, &entry_json(e)).map_err(std::io::Error::other)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(entries.len() as u64)
}
