//! Asset life in the store: commissioning, maintenance events, model versions with their
//! measured accuracy, and the errors of predictions checked after approved changes.
//!
//! Everything lives in the same redb file as the historian and the audit log, so an event
//! and its audit entry commit in ONE write transaction (the writers here take a
//! [`WriteTransaction`]; the caller appends the audit entry to the same one).
//!
//! # Stored layout (values are JSON of the types below, so fields can be added)
//!
//! * `lifecycle.events` ([`EVENTS`]): `(asset, seq)` → [`Event`]; `seq` counts per asset from 1.
//! * `lifecycle.models` ([`MODELS`]): `(asset, kind, version)` → [`ModelVersion`]; versions
//!   count per asset and kind from 1.
//! * `lifecycle.errors` ([`ERRORS`]): `(manipulated tag, controlled tag, seq)` →
//!   [`PredictionError`], one per approved model recommendation whose settling time ended.
//!
//! The module stores and reads; it does not decide who may record (the daemon checks the
//! role) nor what a re-base does to a model ([`rebase`] and [`learn`] do).

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition, TableError, WriteTransaction};
use serde::{Deserialize, Serialize};

/// `(asset, seq)` → JSON [`Event`].
pub const EVENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("lifecycle.events");
/// `(asset, model kind, version)` → JSON [`ModelVersion`].
pub const MODELS: TableDefinition<(&str, &str, u32), &[u8]> = TableDefinition::new("lifecycle.models");
/// `(manipulated, controlled, seq)` → JSON [`PredictionError`].
pub const ERRORS: TableDefinition<(&str, &str, u64), &[u8]> = TableDefinition::new("lifecycle.errors");

/// Longest note of a maintenance event, in characters.
pub const MAX_NOTE: usize = 500;
/// Longest part or tag name of a maintenance event, in characters.
pub const MAX_PART: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("lifecycle transaction: {0}")]
    Transaction(#[from] redb::TransactionError),
    #[error("lifecycle table: {0}")]
    Table(#[from] redb::TableError),
    #[error("lifecycle storage: {0}")]
    Storage(#[from] redb::StorageError),
    #[error("lifecycle commit: {0}")]
    Commit(#[from] redb::CommitError),
    #[error("corrupt lifecycle record {what}: {source}")]
    Corrupt { what: String, source: serde_json::Error },
    #[error("{0}")]
    Invalid(String),
}

type Result<T> = std::result::Result<T, LifecycleError>;

/// What happened to an asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// Put into service (from the site file's `commissioned`), recorded once.
    Commissioned,
    PartReplaced,
    SensorRecalibrated,
    Inspection,
    Other,
}

impl EventKind {
    pub const MAINTENANCE: [EventKind; 4] =
        [EventKind::PartReplaced, EventKind::SensorRecalibrated, EventKind::Inspection, EventKind::Other];

    pub fn name(self) -> &'static str {
        match self {
            EventKind::Commissioned => "commissioned",
            EventKind::PartReplaced => "part-replaced",
            EventKind::SensorRecalibrated => "sensor-recalibrated",
            EventKind::Inspection => "inspection",
            EventKind::Other => "other",
        }
    }

    /// A maintenance kind from its name (`part-replaced`, …); commissioning is not recorded by hand.
    pub fn parse_maintenance(s: &str) -> Result<EventKind> {
        EventKind::MAINTENANCE.into_iter().find(|k| k.name() == s.trim()).ok_or_else(|| {
            LifecycleError::Invalid(format!(
                "unknown maintenance kind `{}` (one of: part-replaced, sensor-recalibrated, inspection, other)",
                s.escape_debug()
            ))
        })
    }

    /// Whether the event starts a new life of the asset's behaviour: a replaced part or a
    /// recalibrated sensor changes what "healthy" looks like and resets wear, so the healthy
    /// baseline and remaining life re-base. An inspection or other note changes neither.
    pub fn rebases(self) -> bool {
        matches!(self, EventKind::Commissioned | EventKind::PartReplaced | EventKind::SensorRecalibrated)
    }
}

/// One event of an asset's life.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub asset: String,
    /// Sequence number within the asset (0 until stored).
    #[serde(default)]
    pub seq: u64,
    /// When it happened, ms since the epoch.
    pub ts_ms: i64,
    pub kind: EventKind,
    /// The part replaced or the tag recalibrated ("" when none).
    pub part: String,
    pub note: String,
    /// Who recorded it (the mimic user, or the OS account).
    pub by: String,
}

impl Event {
    /// One line: `2026-11-26T10:00:00.000Z part-replaced bearing by eve: note`.
    pub fn line(&self) -> String {
        let part = if self.part.is_empty() { String::new() } else { format!(" {}", self.part) };
        let note = if self.note.is_empty() { String::new() } else { format!(": {}", self.note) };
        format!("{} {}{part} by {}{note}", crate::time::format_ts(self.ts_ms), self.kind.name(), self.by)
    }
}

/// One version of one of an asset's models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub asset: String,
    /// `anomaly`, `rul`, `prescribe`.
    pub kind: String,
    /// 1, 2, … per asset and kind (0 until stored).
    #[serde(default)]
    pub version: u32,
    pub trained_ms: i64,
    pub by: String,
    /// Measured accuracy, named figures (e.g. `threshold`, `train_alarm_rate`, `rmse`, `r2`).
    pub accuracy: Vec<(String, f64)>,
    /// How it came about (e.g. "refit on the first healthy window after part-replaced").
    pub note: String,
}

impl ModelVersion {
    pub fn accuracy_text(&self) -> String {
        self.accuracy.iter().map(|(k, v)| format!("{k} {v:.4}")).collect::<Vec<_>>().join(", ")
    }
}

/// The predicted and observed effect of one approved model recommendation, once settled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictionError {
    /// The written (manipulated) tag and the KPI (controlled) tag.
    pub manipulated: String,
    pub controlled: String,
    /// The approval request.
    pub request: u64,
    /// When the settling time ended.
    pub ts_ms: i64,
    /// The setpoint before and after the write.
    pub u_from: f64,
    pub u_to: f64,
    /// The KPI when recommended, as predicted at steady state, and as observed.
    pub y_from: f64,
    pub y_predicted: f64,
    pub y_observed: f64,
    #[serde(default)]
    pub seq: u64,
}

impl PredictionError {
    /// Observed minus predicted KPI.
    pub fn error(&self) -> f64 {
        self.y_observed - self.y_predicted
    }

    /// The setpoint move.
    pub fn du(&self) -> f64 {
        self.u_to - self.u_from
    }

    /// Gain the prediction used and gain observed (KPI change per unit of setpoint move);
    /// `None` without a move.
    pub fn gains(&self) -> Option<(f64, f64)> {
        let du = self.du();
        (du.abs() > f64::EPSILON && du.is_finite())
            .then(|| ((self.y_predicted - self.y_from) / du, (self.y_observed - self.y_from) / du))
    }
}

/// An asset's life as stored.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Life {
    pub asset: String,
    pub events: Vec<Event>,
    pub models: Vec<ModelVersion>,
}

impl Life {
    pub fn commissioned_ms(&self) -> Option<i64> {
        self.events.iter().find(|e| e.kind == EventKind::Commissioned).map(|e| e.ts_ms)
    }

    /// Start of the asset's present life: the latest re-basing event (a replaced part, a
    /// recalibrated sensor, else commissioning). RUL features and healthy baselines start here.
    pub fn rebase_at(&self) -> Option<i64> {
        rebase_at(&self.events)
    }

    pub fn last_maintenance(&self) -> Option<&Event> {
        self.events.iter().filter(|e| e.kind != EventKind::Commissioned).max_by_key(|e| (e.ts_ms, e.seq))
    }
}

/// See [`Life::rebase_at`].
pub fn rebase_at(events: &[Event]) -> Option<i64> {
    events.iter().filter(|e| e.kind.rebases()).map(|e| e.ts_ms).max()
}

/// Free text of an event made safe: control characters become spaces, runs of white space
/// one space, trimmed; longer than `max` characters is refused.
pub fn clean_text(what: &str, s: &str, max: usize) -> Result<String> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = if c.is_control() || crate::text::is_unsafe(c) { ' ' } else { c };
        if c.is_whitespace() && out.ends_with(' ') {
            continue;
        }
        out.push(if c.is_whitespace() { ' ' } else { c });
    }
    let out = out.trim().to_string();
    let n = out.chars().count();
    if n > max {
        return Err(LifecycleError::Invalid(format!("the {what} is {n} characters long; at most {max} are allowed")));
    }
    Ok(out)
}

/// A maintenance event checked and cleaned (kind, part, note), ready to store.
pub fn maintenance_event(asset: &str, kind: &str, part: &str, note: &str, by: &str, ts_ms: i64) -> Result<Event> {
    let kind = EventKind::parse_maintenance(kind)?;
    let part = clean_text("part", part, MAX_PART)?;
    let note = clean_text("note", note, MAX_NOTE)?;
    if matches!(kind, EventKind::PartReplaced | EventKind::SensorRecalibrated) && part.is_empty() {
        return Err(LifecycleError::Invalid(format!("a {} event names the part or tag", kind.name())));
    }
    Ok(Event { asset: asset.to_string(), seq: 0, ts_ms, kind, part, note, by: by.to_string() })
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    // the types here serialise infallibly (no maps with non-string keys, no custom impls)
    serde_json::to_vec(v).unwrap_or_default()
}

fn parse<T: for<'a> Deserialize<'a>>(what: impl FnOnce() -> String, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| LifecycleError::Corrupt { what: what(), source })
}

/// Store `event` (its `seq` assigned here) in `txn`. Returns the stored event.
pub fn record_event(txn: &WriteTransaction, event: &Event) -> Result<Event> {
    let mut t = txn.open_table(EVENTS)?;
    let last = t.range((event.asset.as_str(), 0)..=(event.asset.as_str(), u64::MAX))?.next_back().transpose()?;
    let seq = last.map_or(0, |(k, _)| k.value().1) + 1;
    let stored = Event { seq, ..event.clone() };
    t.insert((event.asset.as_str(), seq), json(&stored).as_slice())?;
    Ok(stored)
}

/// Record the commissioning of `asset` at `ts_ms` unless it already has one; commits.
/// Returns whether it was recorded.
pub fn commission(db: &Database, asset: &str, ts_ms: i64) -> Result<bool> {
    if events_of(db, asset)?.iter().any(|e| e.kind == EventKind::Commissioned) {
        return Ok(false);
    }
    let txn = db.begin_write()?;
    let ev = Event {
        asset: asset.into(),
        seq: 0,
        ts_ms,
        kind: EventKind::Commissioned,
        part: String::new(),
        note: "from the site file".into(),
        by: "mimic".into(),
    };
    record_event(&txn, &ev)?;
    txn.commit()?;
    Ok(true)
}

/// Store a model version (its number assigned here) in `txn`.
pub fn record_model(txn: &WriteTransaction, m: &ModelVersion) -> Result<ModelVersion> {
    insert_next(txn, MODELS, (&m.asset, &m.kind), u32::MAX, |version| ModelVersion { version, ..m.clone() })
}

/// Store a prediction error (its `seq` assigned here) in `txn`.
pub fn record_error(txn: &WriteTransaction, e: &PredictionError) -> Result<PredictionError> {
    insert_next(txn, ERRORS, (&e.manipulated, &e.controlled), u64::MAX, |seq| PredictionError { seq, ..e.clone() })
}

/// Stores `make(n)` in `txn` under `(a, b, n)`, `n` one past the last number stored
/// under `(a, b)` (1 for the first; `max` the largest there can be). Returns it.
fn insert_next<N, T: Serialize>(
    txn: &WriteTransaction,
    def: TableDefinition<(&str, &str, N), &[u8]>,
    (a, b): (&str, &str),
    max: N,
    make: impl FnOnce(N) -> T,
) -> Result<T>
where
    N: redb::Key + for<'x> redb::Value<SelfType<'x> = N> + Copy + From<u8> + std::ops::Add<Output = N> + 'static,
{
    let mut t = txn.open_table(def)?;
    let last = t.range((a, b, N::from(0))..=(a, b, max))?.next_back().transpose()?;
    let n = last.map_or(N::from(0), |(key, _)| key.value().2) + N::from(1);
    let stored = make(n);
    t.insert((a, b, n), json(&stored).as_slice())?;
    Ok(stored)
}

/// Opens a table for reading; a table never written yet reads as empty (`None`).
macro_rules! read_table {
    ($db:expr, $def:expr) => {{
        let txn = $db.begin_read()?;
        match txn.open_table($def) {
            Ok(t) => Some(t),
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(e.into()),
        }
    }};
}

/// Events of one asset, oldest first.
pub fn events_of(db: &Database, asset: &str) -> Result<Vec<Event>> {
    let Some(t) = read_table!(db, EVENTS) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for item in t.range((asset, 0)..=(asset, u64::MAX))? {
        let (k, v) = item?;
        out.push(parse(|| format!("event {asset}/{}", k.value().1), v.value())?);
    }
    out.sort_by_key(|e: &Event| (e.ts_ms, e.seq));
    Ok(out)
}

/// The life of `asset` in `lives`, made empty on its first mention.
fn life_of<'a>(lives: &'a mut BTreeMap<String, Life>, asset: &str) -> &'a mut Life {
    lives.entry(asset.to_string()).or_insert_with(|| Life { asset: asset.into(), ..Default::default() })
}

/// Every asset's life (events and model versions), by asset name.
pub fn all_lives(db: &Database) -> Result<Vec<Life>> {
    let mut lives = BTreeMap::new();
    if let Some(t) = read_table!(db, EVENTS) {
        for item in t.iter()? {
            let (k, v) = item?;
            let (asset, seq) = k.value();
            life_of(&mut lives, asset).events.push(parse(|| format!("event {asset}/{seq}"), v.value())?);
        }
    }
    if let Some(t) = read_table!(db, MODELS) {
        for item in t.iter()? {
            let (k, v) = item?;
            let (asset, kind, version) = k.value();
            let m = parse(|| format!("model {asset}/{kind}/{version}"), v.value())?;
            life_of(&mut lives, asset).models.push(m);
        }
    }
    let mut out: Vec<Life> = lives.into_values().collect();
    for l in &mut out {
        l.events.sort_by_key(|e| (e.ts_ms, e.seq));
    }
    Ok(out)
}

/// Prediction errors, oldest first per pair; only `pair`'s when given.
pub fn errors(db: &Database, pair: Option<(&str, &str)>) -> Result<Vec<PredictionError>> {
    let Some(t) = read_table!(db, ERRORS) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    let mut push = |k: redb::AccessGuard<'_, (&str, &str, u64)>, v: redb::AccessGuard<'_, &[u8]>| -> Result<()> {
        let (m, c, s) = k.value();
        out.push(parse(|| format!("prediction error {m}->{c}/{s}"), v.value())?);
        Ok(())
    };
    match pair {
        Some((m, c)) => {
            for item in t.range((m, c, 0)..=(m, c, u64::MAX))? {
                let (k, v) = item?;
                push(k, v)?;
            }
        }
        None => {
            for item in t.iter()? {
                let (k, v) = item?;
                push(k, v)?;
            }
        }
    }
    Ok(out)
}

/// Everything `mimic maintenance list` shows (also the daemon's answer over the socket).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub lives: Vec<Life>,
    pub errors: Vec<PredictionError>,
}

/// The report from the store, narrowed to one asset when given (the prediction errors of
/// pairs whose manipulated tag belongs to it; all of them without an asset).
pub fn report(db: &Database, asset: Option<&str>, asset_tags: &[String]) -> Result<Report> {
    let mut lives = all_lives(db)?;
    let mut errs = errors(db, None)?;
    if let Some(a) = asset {
        lives.retain(|l| l.asset == a);
        errs.retain(|e| asset_tags.contains(&e.manipulated) || asset_tags.contains(&e.controlled));
    }
    Ok(Report { lives, errors: errs })
}
