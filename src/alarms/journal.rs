//! The alarm journal: every alarm state change, stored for good in the site's store.
//!
//! One [`Record`] per change (raised, returned, acknowledged, shelved, unshelved, shelve
//! expired, out of service, back in service, held back by a flood, released after it) with its time, tag, asset, area, priority,
//! value and user, in the typed redb table [`JOURNAL`] keyed by (time, sequence). The
//! daemon appends the records of a core decision in the same transaction as their audit
//! entries ([`append`]); readers page through it ([`page`]) or walk a period ([`scan`])
//! without ever holding more than a page in memory, whatever the months stored.
//!
//! This module is storage and filtering only: which change happened is the engine's
//! decision, what the figures say is [`super::kpi`]'s.

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableError, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::{AlarmEvent, AlarmState, Place, Priority};

/// (time ms, sequence) → postcard [`Record`]. Write it only through [`append`].
pub const JOURNAL: TableDefinition<(i64, u64), &[u8]> = TableDefinition::new("alarms.journal");
/// `"next"` → the next sequence number.
const META: TableDefinition<&str, u64> = TableDefinition::new("alarms.journal.meta");

/// Most records one page may hold.
pub const MAX_PAGE: usize = 5_000;
/// Most records one page reads: a search that matches little is answered with what it
/// found in them (maybe nothing) and where to go on, so no page holds the store for long.
pub const MAX_SCAN: usize = 20_000;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("alarm journal: {0}")]
    Transaction(#[from] redb::TransactionError),
    #[error("alarm journal: {0}")]
    Table(#[from] redb::TableError),
    #[error("alarm journal: {0}")]
    Storage(#[from] redb::StorageError),
    #[error("alarm journal: a record cannot be encoded: {0}")]
    Encode(postcard::Error),
    #[error("alarm journal: record {ts_ms}/{seq} is unreadable: {source}")]
    Corrupt { ts_ms: i64, seq: u64, source: postcard::Error },
}

pub type Result<T> = std::result::Result<T, JournalError>;

/// What happened to an alarm: the engine's events say it, the journal stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The condition held past its on-delay (or the alarm returned to service with it active).
    Raised,
    /// The condition was gone for its off-delay.
    Returned,
    Acknowledged,
    Shelved,
    /// Unshelved by an operator.
    Unshelved,
    /// The shelve time ran out.
    ShelveExpired,
    OutOfService,
    InService,
    /// Raised while its position is in flood, and held back (not annunciated) by the
    /// site's flood policy.
    FloodHeld,
    /// Released at the end of the flood that held it back (annunciated if still active).
    FloodReleased,
}

impl Change {
    pub const ALL: [Change; 10] = [
        Change::Raised,
        Change::Returned,
        Change::Acknowledged,
        Change::Shelved,
        Change::Unshelved,
        Change::ShelveExpired,
        Change::OutOfService,
        Change::InService,
        Change::FloodHeld,
        Change::FloodReleased,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Change::Raised => "raised",
            Change::Returned => "returned",
            Change::Acknowledged => "acknowledged",
            Change::Shelved => "shelved",
            Change::Unshelved => "unshelved",
            Change::ShelveExpired => "shelve_expired",
            Change::OutOfService => "out_of_service",
            Change::InService => "in_service",
            Change::FloodHeld => "flood_held",
            Change::FloodReleased => "flood_released",
        }
    }

    /// The name as [`Change::name`] writes it (also `acked`, `ack`, `oos`, `suppressed`
    /// for `flood_held`, `released` for `flood_released`).
    pub fn from_name(s: &str) -> Option<Change> {
        let s = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        match s.as_str() {
            "ack" | "acked" => Some(Change::Acknowledged),
            "oos" => Some(Change::OutOfService),
            "suppressed" | "held" => Some(Change::FloodHeld),
            "released" => Some(Change::FloodReleased),
            _ => Change::ALL.into_iter().find(|c| c.name() == s),
        }
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One stored alarm state change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub ts_ms: i64,
    /// Assigned by [`append`].
    pub seq: u64,
    /// Its tag, asset and area (the operator position): stored as three fields in this
    /// order, as before they were one [`Place`].
    pub place: Place,
    /// `HI`, `LOLO`, `MODEL anomaly`, …
    pub kind: String,
    pub priority: Priority,
    pub change: Change,
    /// The annunciation state after the change.
    pub state: AlarmState,
    pub value: Option<f64>,
    pub user: Option<String>,
    pub note: String,
}

impl Record {
    /// What names the alarm across restarts: its tag (or asset) and kind.
    pub fn alarm_name(&self) -> String {
        let mut name = String::new();
        self.alarm_name_into(&mut name);
        name
    }

    /// [`Record::alarm_name`] written into `buf` (cleared first): a walk over many records
    /// keeps one buffer.
    pub fn alarm_name_into(&self, buf: &mut String) {
        buf.clear();
        buf.push_str(self.place.name());
        buf.push(' ');
        buf.push_str(&self.kind);
    }

    /// The operator position, `(none)` without an area.
    pub fn position(&self) -> &str {
        self.place.position()
    }
}

impl From<&AlarmEvent> for Record {
    fn from(e: &AlarmEvent) -> Record {
        Record {
            ts_ms: e.ts_ms,
            seq: 0,
            place: e.place.clone(),
            kind: e.kind.to_string(),
            priority: e.priority,
            change: e.action,
            state: e.to,
            value: e.value.filter(|v| v.is_finite()),
            user: e.user.clone(),
            note: e.note.clone(),
        }
    }
}

/// Stores `records` in `txn` (their sequence numbers assigned here, in order).
pub fn append(txn: &WriteTransaction, records: &[Record]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let mut meta = txn.open_table(META)?;
    let mut next = meta.get("next")?.map_or(1, |v| v.value());
    let mut t = txn.open_table(JOURNAL)?;
    for r in records {
        let stored = Record { seq: next, ..r.clone() };
        let bytes = postcard::to_allocvec(&stored).map_err(JournalError::Encode)?;
        t.insert((r.ts_ms, next), bytes.as_slice())?;
        next += 1;
    }
    meta.insert("next", next)?;
    Ok(())
}

/// Which records a reader wants. Every filter given must match (they combine).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// Exact tag name (case-insensitive).
    pub tag: Option<String>,
    /// Exact asset name (case-insensitive).
    pub asset: Option<String>,
    /// Exact area (case-insensitive).
    pub area: Option<String>,
    pub priority: Option<Priority>,
    pub change: Option<Change>,
    /// Case-insensitive substring of the tag, asset, kind, user or note.
    pub text: Option<String>,
}

fn same(want: Option<&String>, have: Option<&String>) -> bool {
    want.is_none_or(|w| have.is_some_and(|h| h.eq_ignore_ascii_case(w)))
}

impl Filter {
    pub fn matches(&self, r: &Record) -> bool {
        same(self.tag.as_ref(), r.place.tag.as_ref())
            && same(self.asset.as_ref(), r.place.asset.as_ref())
            && same(self.area.as_ref(), r.place.area.as_ref())
            && self.priority.is_none_or(|p| p == r.priority)
            && self.change.is_none_or(|c| c == r.change)
            && self.text.as_deref().is_none_or(|t| {
                let t = t.to_lowercase();
                [
                    r.place.tag.as_deref(),
                    r.place.asset.as_deref(),
                    Some(r.kind.as_str()),
                    r.user.as_deref(),
                    Some(&r.note),
                ]
                .into_iter()
                .flatten()
                .any(|s| s.to_lowercase().contains(&t))
            })
    }
}

/// A page's request: records in `[from_ms, to_ms)` matching `filter`, after `after`
/// (the `next` of the previous page), oldest first unless `newest_first`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    pub from_ms: i64,
    pub to_ms: i64,
    #[serde(default)]
    pub filter: Filter,
    #[serde(default)]
    pub after: Option<(i64, u64)>,
    #[serde(default)]
    pub newest_first: bool,
    /// At most this many records (1..=[`MAX_PAGE`]).
    pub limit: u32,
}

/// One page: the records, and where the next one starts (none: this was the last).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub records: Vec<Record>,
    pub next: Option<(i64, u64)>,
}

fn decode(k: (i64, u64), v: &[u8]) -> Result<Record> {
    postcard::from_bytes(v).map_err(|source| JournalError::Corrupt { ts_ms: k.0, seq: k.1, source })
}

/// One page of the journal. Reads only as far as the page fills (records not matching
/// the filter are skipped as they are read, never gathered), and at most [`MAX_SCAN`]
/// records: a page may hold fewer than its limit, even none, and still have a `next`.
/// A page that ends on the range's last record has no `next`.
pub fn page(db: &Database, q: &Query) -> Result<Page> {
    let limit = (q.limit as usize).clamp(1, MAX_PAGE);
    let mut out = Page::default();
    if q.from_ms >= q.to_ms {
        return Ok(out);
    }
    let txn = db.begin_read()?;
    let t = match txn.open_table(JOURNAL) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(out),
        Err(e) => return Err(e.into()),
    };
    let (lo, hi) = ((q.from_ms, 0u64), (q.to_ms, 0u64));
    let range = match (q.after, q.newest_first) {
        (Some(a), false) => t.range((std::ops::Bound::Excluded(a.max(lo)), std::ops::Bound::Excluded(hi)))?,
        (Some(a), true) => t.range((std::ops::Bound::Included(lo), std::ops::Bound::Excluded(a.min(hi))))?,
        (None, _) => t.range(lo..hi)?,
    };
    let mut rows: Box<dyn Iterator<Item = _>> = if q.newest_first { Box::new(range.rev()) } else { Box::new(range) };
    let mut last = None;
    let mut full = false;
    let mut read = 0;
    for item in rows.by_ref() {
        let (k, v) = item?;
        let key = k.value();
        last = Some(key);
        read += 1;
        let r = decode(key, v.value())?;
        if q.filter.matches(&r) {
            out.records.push(r);
        }
        if out.records.len() >= limit || read >= MAX_SCAN {
            full = true;
            break;
        }
    }
    // a page that stopped on the last record of the range offers no next, empty, page
    out.next = if full && rows.next().is_some() { last } else { None };
    Ok(out)
}

/// Calls `f` with every record in `[from_ms, to_ms)` matching `filter`, oldest first,
/// one at a time.
pub fn scan(db: &Database, from_ms: i64, to_ms: i64, filter: &Filter, mut f: impl FnMut(Record)) -> Result<u64> {
    if from_ms >= to_ms {
        return Ok(0);
    }
    let txn = db.begin_read()?;
    let t = match txn.open_table(JOURNAL) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut n = 0;
    for item in t.range((from_ms, 0u64)..(to_ms, 0u64))? {
        let (k, v) = item?;
        let r = decode(k.value(), v.value())?;
        if filter.matches(&r) {
            n += 1;
            f(r);
        }
    }
    Ok(n)
}

/// Alarms active at `at_ms` by the journal (raised and not yet returned or taken out of
/// service), each with when it was raised: what a report over a period starting at
/// `at_ms` inherits. Walks back at most `lookback_ms`.
pub fn active_at(db: &Database, at_ms: i64, lookback_ms: i64) -> Result<Vec<Record>> {
    let mut open: std::collections::BTreeMap<String, Record> = Default::default();
    scan(db, at_ms.saturating_sub(lookback_ms), at_ms, &Filter::default(), |r| match r.change {
        Change::Raised => {
            open.insert(r.alarm_name(), r);
        }
        Change::FloodReleased if r.state.is_active() => {
            open.insert(r.alarm_name(), r);
        }
        Change::Returned | Change::OutOfService | Change::Shelved | Change::FloodHeld => {
            open.remove(&r.alarm_name());
        }
        Change::Acknowledged if r.state == AlarmState::Normal => {
            open.remove(&r.alarm_name());
        }
        _ => {}
    })?;
    Ok(open.into_values().collect())
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
