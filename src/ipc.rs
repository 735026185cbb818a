//! The terminal ↔ daemon protocol over the Unix socket.
//!
//! The daemon owns the devices and the store; terminals and scripts only ever speak
//! this protocol. Requests are one JSON object per line, small and bounded
//! ([`MAX_LINE`]); a malformed request is answered with an error and the connection
//! stays up. The daemon greets with a JSON [`Reply::Hello`] line naming its protocol
//! version ([`PROTO`]).
//!
//! Two ways to watch the plant:
//! - [`Request::Subscribe`] (scripts, tests): every changed [`LiveSnapshot`] with the
//!   whole tag table, as JSON lines. It costs O(tags) per frame.
//! - [`Request::View`] (`mimic tui`): the terminal says what it shows ([`ViewSpec`]) and
//!   re-sends it when that changes; the daemon answers with [`ViewUpdate`]s holding only
//!   the visible rows that changed, the site counters and the small data of the screen.
//!   From the first valid view on, everything the daemon sends on that connection is a
//!   binary [`Frame`] (see [`encode_frame`]): postcard, which is 3–4× smaller than JSON
//!   for these rows (measured in `view_frames_are_compact`).

use serde::{Deserialize, Serialize};

/// Longest request line accepted from a client.
pub const MAX_LINE: usize = 64 * 1024;
/// Version of the protocol spoken here (the hello names it; a view names the one it
/// speaks; each binary frame starts with it). 3: the rows are the screens' own types (a
/// request carries its `expires_ms`).
pub const PROTO: u8 = 3;
/// Most rows a view may ask for at once.
pub const MAX_VIEW_ROWS: u32 = 1000;
/// Longest filter of a view, in characters.
pub const MAX_FILTER: usize = 256;
/// Largest binary frame a terminal accepts.
pub const MAX_FRAME: usize = 64 << 20;
/// Socket file name inside the data directory.
pub const SOCKET_NAME: &str = "mimic.sock";

/// Why a request line is refused (sent back on its own connection as the error reply).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    #[error("request too long: more than {MAX_LINE} bytes")]
    TooLong,
    /// Not JSON, or not one known request with exactly its fields (serde's words).
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("malformed request: a request is a JSON object (and its `act` or `view` an object)")]
    NotAnObject,
    #[error("view: protocol {0} is not spoken here (this daemon speaks {PROTO})")]
    Proto(u8),
    #[error(transparent)]
    View(#[from] ViewError),
}

/// A view no terminal asks for, by field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    #[error("view.rows: {0} is more than {MAX_VIEW_ROWS}")]
    Rows(u32),
    #[error("view.filter: longer than {MAX_FILTER} characters")]
    FilterTooLong,
    #[error("view.filter: control characters are not allowed")]
    FilterControl,
    #[error("view.trend_tags: {0} tags, at most 4")]
    TrendTags(usize),
    #[error("view.trend_tags: a name longer than {MAX_FILTER} bytes")]
    TrendTagTooLong,
}

/// A frame a terminal cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("frame of protocol {0}, this terminal speaks {PROTO}")]
    Proto(u8),
    #[error("empty frame")]
    Empty,
}

/// Parses one request line (without its newline). Anything but exactly one known
/// request with exactly its fields, of their types, is refused with a message naming the
/// problem (serde's: the unknown field, the wrong type, the missing field, the position).
pub fn parse_request(line: &[u8]) -> Result<Request, RequestError> {
    if line.len() > MAX_LINE {
        return Err(RequestError::TooLong);
    }
    // serde also reads an internally tagged enum from an array (`["subscribe"]`,
    // `["history","a",0,1]`): only objects are requests.
    let malformed = |e: serde_json::Error| RequestError::Malformed(e.to_string());
    let shape: serde_json::Value = serde_json::from_slice(line).map_err(malformed)?;
    if !shape.is_object() || ["act", "view"].iter().any(|k| shape.get(k).is_some_and(|a| !a.is_object())) {
        return Err(RequestError::NotAnObject);
    }
    // typed from the bytes, not the value: a duplicate field is an error here
    let req: Request = serde_json::from_slice(line).map_err(malformed)?;
    if let Request::View { proto, view } = &req {
        if *proto != PROTO {
            return Err(RequestError::Proto(*proto));
        }
        view.check()?;
    }
    Ok(req)
}

/// The screens a terminal may show (see `mimic_views::Screen`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewScreen {
    Overview,
    #[default]
    Tags,
    Trend,
    Alarms,
    Recommendations,
    Devices,
    Audit,
}

/// Sort of the Tags table; ties go by name (descending reverses the whole order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagSort {
    #[default]
    Name,
    /// Missing values last.
    Value,
    /// Worst first: Bad, Uncertain, Good.
    Quality,
    /// Newest first; never received last.
    Age,
}

/// What a terminal shows: the daemon sends it this and nothing more.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSpec {
    pub screen: ViewScreen,
    /// Case-insensitive substring of a tag's name, asset or description (empty: all).
    pub filter: String,
    pub sort: TagSort,
    pub desc: bool,
    /// First row of the filtered, sorted Tags list wanted, and how many.
    pub first: u64,
    pub rows: u32,
    /// Tags on the trend (main first).
    pub trend_tags: Vec<String>,
    /// The selected alarm (Alarms screen).
    pub alarm: Option<u64>,
}

impl ViewSpec {
    /// Refuses what no terminal asks for, naming the field.
    pub fn check(&self) -> Result<(), ViewError> {
        if self.rows > MAX_VIEW_ROWS {
            return Err(ViewError::Rows(self.rows));
        }
        if self.filter.chars().count() > MAX_FILTER {
            return Err(ViewError::FilterTooLong);
        }
        if self.filter.chars().any(char::is_control) {
            return Err(ViewError::FilterControl);
        }
        if self.trend_tags.len() > 4 {
            return Err(ViewError::TrendTags(self.trend_tags.len()));
        }
        if self.trend_tags.iter().any(|t| t.len() > MAX_FILTER) {
            return Err(ViewError::TrendTagTooLong);
        }
        Ok(())
    }
}

/// What changed for one view since the daemon last sent to it. A part left `None` is
/// unchanged (after a new view, every part is sent).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ViewUpdate {
    pub now_ms: i64,
    pub version: u64,
    /// Where the window lies in the filtered, sorted list.
    pub page: LivePage,
    /// Tag counters of the whole site.
    pub counts: LiveCounts,
    /// Rows in the window now; `rows` replaces the ones that changed, by slot.
    pub len: u32,
    pub rows: Vec<(u32, LiveTag)>,
    pub alarms: Option<(Vec<LiveAlarm>, LiveAlarmSummary)>,
    pub requests: Option<Vec<LiveRequest>>,
    pub audit: Option<Vec<LiveAudit>>,
    pub life: Option<Vec<LiveLife>>,
    pub loops: Option<Vec<LiveLoop>>,
    /// Overview and Devices screens only (empty elsewhere).
    pub devices: Option<Vec<LiveDevice>>,
    /// Overview: every asset; Alarms: those with a diagnosis; elsewhere none.
    pub assets: Option<Vec<LiveAsset>>,
    pub store: Option<LiveStore>,
}

/// Where a view's window lies in its filtered, sorted tag list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivePage {
    pub offset: u64,
    /// Tags matching the filter, and the bad and stale ones among them.
    pub total: u64,
    pub bad: u64,
    pub stale: u64,
}

/// Tag counters of the whole site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveCounts {
    pub tags: u64,
    pub bad: u64,
    pub stale: u64,
}

/// What the daemon sends on a connection once it has a view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Frame {
    Update(Box<ViewUpdate>),
    /// Any other reply, as its JSON line (small, rare: acts, trends, history).
    Reply(String),
}

/// A binary frame: its length (u32, little-endian, the version byte included), the
/// version [`PROTO`], then the frame in postcard.
pub fn encode_frame(frame: &Frame) -> Result<Vec<u8>, String> {
    let mut out = vec![0u8; 5];
    out[4] = PROTO;
    let out = postcard::to_extend(frame, out).map_err(|e| format!("cannot encode a frame: {e}"))?;
    let len = u32::try_from(out.len() - 4).map_err(|_| "frame too long".to_string())?;
    let mut out = out;
    out[..4].copy_from_slice(&len.to_le_bytes());
    Ok(out)
}

/// Reads a frame's body (after its length): the version, then the frame.
pub fn decode_frame(body: &[u8]) -> Result<Frame, FrameError> {
    match body.split_first() {
        Some((&PROTO, rest)) => postcard::from_bytes(rest).map_err(|e| FrameError::Malformed(e.to_string())),
        Some((v, _)) => Err(FrameError::Proto(*v)),
        None => Err(FrameError::Empty),
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "req", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Send the live snapshot now and whenever it changes (at most a few times a second).
    /// (A struct variant, not a unit one: serde lets a unit variant of an internally
    /// tagged enum through with unknown fields, `deny_unknown_fields` or not.)
    Subscribe {},
    /// Show this view (see the module's overview); re-sent whenever it changes.
    View { proto: u8, view: ViewSpec },
    /// Stored samples of one tag in `[from_ms, to_ms)`.
    History { tag: String, from_ms: i64, to_ms: i64 },
    /// Min/max columns of one tag over `[from_ms, to_ms)`, for a trend `columns` wide.
    Trend { tag: String, from_ms: i64, to_ms: i64, columns: usize },
    /// Do something that changes the plant or the alarm system, as the connected user.
    Act { act: Act },
    /// The stored life of the assets (one asset's when given): events, model versions,
    /// prediction errors of approved changes.
    Life { asset: Option<String> },
    /// What if the setpoint `tag` (of a `[[loop]]`) went to `value` now: the KPI's predicted
    /// trajectory and steady state from the loop's model identified on the store. Changes
    /// nothing.
    WhatIf { tag: String, value: f64 },
    /// One page of the alarm journal.
    AlarmHistory { query: crate::alarms::journal::Query },
    /// The alarm-system figures of `[from_ms, to_ms)`.
    AlarmReport { from_ms: i64, to_ms: i64 },
    /// Walk the audit chain and its checkpoints (`mimic audit verify` while the daemon runs).
    AuditVerify {},
    /// Up to `limit` audit entries after seq `after` with `ts_ms >= since_ms`.
    AuditEntries { since_ms: i64, after: u64, limit: u32 },
    /// The stored hashes of these audit entries (at most [`MAX_AUDIT_SEQS`]), to check
    /// exported checkpoints against.
    AuditHashes { seqs: Vec<u64> },
    /// Every signed checkpoint stored.
    AuditCheckpoints {},
}

/// Most entries an [`Request::AuditHashes`] may name.
pub const MAX_AUDIT_SEQS: usize = 2000;

pub use crate::core::{Act, ModelKind};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Reply {
    Hello {
        site: String,
        user: String,
        version: String,
        /// Seconds without a key after which the terminal locks itself (0: never).
        #[serde(default)]
        idle_lock_s: u64,
        /// The protocol version ([`PROTO`]); 0 from a daemon before views.
        #[serde(default)]
        proto: u8,
    },
    Snapshot(Box<LiveSnapshot>),
    History {
        tag: String,
        samples: Vec<HistSample>,
    },
    Trend {
        tag: String,
        /// The tag's asset (empty: none).
        #[serde(default)]
        asset: String,
        units: String,
        from_ms: i64,
        to_ms: i64,
        columns: Vec<TrendColumn>,
    },
    Error {
        message: String,
    },
    /// An act was carried out.
    Done {
        message: String,
    },
    /// The answer to [`Request::Life`].
    Life(Box<crate::lifecycle::Report>),
    /// The answer to [`Request::WhatIf`].
    WhatIf(Box<LiveWhatIf>),
    /// The answer to [`Request::AlarmHistory`].
    AlarmHistory(crate::alarms::journal::Page),
    /// The answer to [`Request::AlarmReport`].
    AlarmReport(Box<crate::alarms::kpi::Report>),
    /// The answer to [`Request::AuditVerify`]: entries verified, checkpoints stored, and
    /// the first bad entry.
    AuditVerified {
        entries: u64,
        checkpoints: u64,
        first_bad: Option<String>,
    },
    /// The answer to [`Request::AuditEntries`] (each as `audit::entry_json`), and the seq to
    /// go on after (none: the end).
    AuditEntries {
        entries: Vec<serde_json::Value>,
        next: Option<u64>,
    },
    /// The answer to [`Request::AuditHashes`]: the last entry's seq, each hash in hex.
    AuditHashes {
        last: u64,
        hashes: Vec<Option<String>>,
    },
    /// The answer to [`Request::AuditCheckpoints`].
    AuditCheckpoints {
        checkpoints: Vec<crate::audit::ExportedCheckpoint>,
    },
}

/// A what-if on the twin: the KPI's response to a setpoint value the operator tries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveWhatIf {
    pub loop_name: String,
    pub tag: String,
    pub units: String,
    /// The setpoint now and the value tried.
    pub from: f64,
    pub value: f64,
    pub kpi: String,
    pub kpi_units: String,
    pub kpi_now: f64,
    /// The KPI's target band.
    pub low: f64,
    pub high: f64,
    /// Predicted KPI, `(seconds from the change, value)`, and where it settles.
    pub trajectory: Vec<(f64, f64)>,
    pub steady_state: f64,
    /// 0..=1.
    pub confidence: f64,
    /// The model behind it (gain, time constant, dead time, fit).
    pub model: String,
    /// Why the value could not be written as is (outside the limits or the largest step).
    pub note: Option<String>,
}

/// A control loop the twin advises on, with the model last identified from the store.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveLoop {
    pub name: String,
    pub manipulated: String,
    pub kpi: String,
    pub low: f64,
    pub high: f64,
    /// The KPI's recent good mean.
    pub kpi_mean: Option<f64>,
    /// Fit of the identified model (R² of its simulation), steady-state gain, time
    /// constant and dead time; `None` when no model could be identified.
    pub r2: Option<f64>,
    pub gain: Option<f64>,
    pub tau_s: Option<f64>,
    pub dead_s: Option<f64>,
    /// Samples (on the KPI's poll period) the model was identified from.
    pub samples: usize,
    /// What the advisor found last (inside its band, a recommendation filed, why not).
    pub status: String,
    pub at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistSample {
    pub ts_ms: i64,
    /// `None` for samples that carry no value (Bad quality).
    pub value: Option<f64>,
    pub quality: TagQuality,
    /// Why the quality is not Good (`comm failure`, `stale`, ...).
    #[serde(default)]
    pub reason: Option<String>,
}

impl HistSample {
    /// The quality as it was always printed: `Good`, `Bad (comm failure)`.
    pub fn quality_text(&self) -> String {
        match &self.reason {
            Some(r) => format!("{} ({r})", self.quality),
            None => self.quality.to_string(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveSnapshot {
    pub site: String,
    pub now_ms: i64,
    pub version: u64,
    pub tags: Vec<LiveTag>,
    pub devices: Vec<LiveDevice>,
    pub assets: Vec<LiveAsset>,
    pub store: LiveStore,
    #[serde(default)]
    pub alarms: Vec<LiveAlarm>,
    #[serde(default)]
    pub alarm_summary: LiveAlarmSummary,
    #[serde(default)]
    pub requests: Vec<LiveRequest>,
    #[serde(default)]
    pub audit: Vec<LiveAudit>,
    /// Each asset's life: commissioning, recent maintenance, re-basing.
    #[serde(default)]
    pub life: Vec<LiveLife>,
    /// The control loops the twin advises on.
    #[serde(default)]
    pub loops: Vec<LiveLoop>,
}

// The rows a terminal shows as they are: the screens' own plain data types (serde, no
// rendering), so each shape is written once and nothing converts them on the way.
/// An alarm as terminals see it: the views' one alarm type.
pub type LiveAlarm = mimic_views::AlarmRow;
pub use mimic_views::{AlarmStateView as LiveAlarmState, Priority as LivePriority, TrendColumn};
/// The alarm system's figures for the Alarms header strip.
pub type LiveAlarmSummary = mimic_views::AlarmSummary;
/// A write request (manual, recommended, Sparkplug, revert) and where it stands.
pub type LiveRequest = mimic_views::RecommendationRow;
/// One entry of the audit trail.
pub type LiveAudit = mimic_views::AuditRow;
/// One asset's life: commissioning, recent maintenance, re-basing.
pub type LiveLife = mimic_views::LifeRow;
pub type LiveLifeEvent = mimic_views::LifeEventRow;
/// A field device's communication state.
pub type LiveDevice = mimic_views::DeviceRow;
/// The historian store's state.
pub type LiveStore = mimic_views::StoreRow;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveTag {
    pub name: String,
    pub asset: String,
    pub description: String,
    pub units: String,
    pub decimals: u8,
    pub value: Option<f64>,
    pub quality: TagQuality,
    /// Reason text when not Good.
    pub reason: Option<String>,
    pub recv_ms: Option<i64>,
    pub stale: bool,
    pub writable: bool,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// Latest values, oldest first (for a sparkline).
    pub recent: Vec<f32>,
}

/// Quality class of a tag's value (its reason travels beside it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TagQuality {
    #[default]
    Good,
    Uncertain,
    Bad,
}

impl TagQuality {
    pub fn of(q: mimic_drivers::Quality) -> TagQuality {
        match q {
            mimic_drivers::Quality::Good => TagQuality::Good,
            mimic_drivers::Quality::Uncertain(_) => TagQuality::Uncertain,
            mimic_drivers::Quality::Bad(_) => TagQuality::Bad,
        }
    }
    /// The quality as a terminal shows it, with why it is not Good.
    pub fn with_reason(q: mimic_drivers::Quality) -> (TagQuality, Option<String>) {
        match q {
            mimic_drivers::Quality::Good => (TagQuality::Good, None),
            mimic_drivers::Quality::Uncertain(r) => (TagQuality::Uncertain, Some(r.to_string())),
            mimic_drivers::Quality::Bad(r) => (TagQuality::Bad, Some(r.to_string())),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            TagQuality::Good => "Good",
            TagQuality::Uncertain => "Uncertain",
            TagQuality::Bad => "Bad",
        }
    }
}

impl std::fmt::Display for TagQuality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveAsset {
    pub area: String,
    pub unit: String,
    pub name: String,
    pub description: String,
    pub tags: usize,
    pub bad_tags: usize,
    pub running: Option<bool>,
    /// The anomaly model's latest score over its threshold (1 = at the threshold).
    #[serde(default)]
    pub anomaly: Option<f64>,
    #[serde(default)]
    pub rul: Option<LiveRul>,
    #[serde(default)]
    pub diagnosis: Option<LiveDiagnosis>,
}

pub use crate::core::{LiveDiagnosis, LiveOnset, LiveRul};

pub use crate::account::user_name;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_unknown_fields_are_refused() {
        let r = Request::Trend { tag: "a".into(), from_ms: 1, to_ms: 2, columns: 80 };
        let s = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Request>(&s).unwrap(), r);
        assert!(
            serde_json::from_str::<Request>(r#"{"req":"history","tag":"a","from_ms":0,"to_ms":1,"evil":1}"#).is_err()
        );
        assert!(serde_json::from_str::<Request>(r#"{"req":"history","tag":"a"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"req":"write"}"#).is_err());
    }

    #[test]
    fn every_unknown_field_wrong_type_or_overlong_line_is_refused_by_name() {
        let refused = |line: &str, says: &str| {
            let e = parse_request(line.as_bytes()).expect_err(line).to_string();
            assert!(e.contains(says), "{line}: {e}");
        };
        // unit-like requests and acts, with and without a stray field
        assert_eq!(parse_request(br#"{"req":"subscribe"}"#), Ok(Request::Subscribe {}));
        assert_eq!(serde_json::to_string(&Request::Subscribe {}).unwrap(), r#"{"req":"subscribe"}"#);
        refused(r#"{"req":"subscribe","evil":1}"#, "unknown field `evil`");
        refused(r#"{"evil":1,"req":"subscribe"}"#, "unknown field `evil`");
        let users = r#"{"req":"act","act":{"act":"users_changed"}}"#;
        assert_eq!(parse_request(users.as_bytes()), Ok(Request::Act { act: Act::UsersChanged {} }));
        refused(r#"{"req":"act","act":{"act":"users_changed","evil":1}}"#, "unknown field `evil`");
        refused(r#"{"req":"act","act":{"act":"ack_alarm","id":1},"evil":1}"#, "unknown field `evil`");
        refused(r#"{"req":"act","act":{"act":"ack_alarm","id":1,"evil":1}}"#, "unknown field `evil`");
        refused(r#"{"req":"trend","tag":"a","from_ms":0,"to_ms":1,"columns":8,"x":null}"#, "unknown field `x`");
        // wrong types, missing fields, duplicates, unknown requests
        refused(r#"{"req":"history","tag":7,"from_ms":0,"to_ms":1}"#, "invalid type: integer `7`");
        refused(r#"{"req":"history","tag":"a","from_ms":"0","to_ms":1}"#, "invalid type: string");
        refused(r#"{"req":"trend","tag":"a","from_ms":0,"to_ms":1,"columns":-1}"#, "invalid value");
        refused(r#"{"req":"act","act":{"act":"ack_alarm","id":1.5}}"#, "invalid type: floating point");
        refused(
            r#"{"req":"act","act":{"act":"shelve_alarm","id":1,"reason":"r","minutes":4294967296}}"#,
            "invalid value",
        );
        refused(r#"{"req":"history","tag":"a","from_ms":0}"#, "missing field `to_ms`");
        refused(r#"{"req":"history","tag":"a","tag":"b","from_ms":0,"to_ms":1}"#, "duplicate field `tag`");
        refused(r#"{"req":"shutdown"}"#, "unknown variant `shutdown`");
        let what_if = parse_request(br#"{"req":"what_if","tag":"sp","value":80.5}"#);
        assert_eq!(what_if, Ok(Request::WhatIf { tag: "sp".into(), value: 80.5 }));
        refused(r#"{"req":"what_if","tag":"sp","value":80,"write":true}"#, "unknown field `write`");
        refused(r#"{"req":"what_if","tag":"sp"}"#, "missing field `value`");
        refused(r#"{"req":"subscribe"} {"req":"subscribe"}"#, "trailing characters");
        refused(r#"{"req":7}"#, "malformed request");
        refused(r#"["subscribe"]"#, "a request is a JSON object");
        refused(r#"["history","a",0,1]"#, "a request is a JSON object");
        refused(r#"{"req":"act","act":["ack_alarm",1]}"#, "a request is a JSON object");
        // one byte over the limit, even if it would parse
        let pad = " ".repeat(MAX_LINE);
        refused(&format!("{{\"req\":\"subscribe\"}}{pad}"), "request too long: more than 65536 bytes");
        assert!(parse_request(format!("{{\"req\":\"subscribe\"}}{}", &pad[..MAX_LINE - 20]).as_bytes()).is_ok());
    }

    #[test]
    fn a_trained_model_act_names_its_kind_and_an_older_client_means_anomaly() {
        let line = r#"{"req":"act","act":{"act":"model_trained","asset":"P-101","kind":"rul"}}"#;
        let rul = Act::ModelTrained { asset: "P-101".into(), kind: ModelKind::Rul };
        assert_eq!(parse_request(line.as_bytes()), Ok(Request::Act { act: rul }));
        let older = r#"{"req":"act","act":{"act":"model_trained","asset":"P-101"}}"#;
        let anomaly = Act::ModelTrained { asset: "P-101".into(), kind: ModelKind::Anomaly };
        assert_eq!(parse_request(older.as_bytes()), Ok(Request::Act { act: anomaly }));
        let e = parse_request(br#"{"req":"act","act":{"act":"model_trained","asset":"P-101","kind":"x"}}"#);
        assert!(e.expect_err("unknown kind").to_string().contains("unknown variant `x`"));
    }

    #[test]
    fn view_frames_are_compact_and_versioned() {
        let row = |k: u32| {
            let tag = LiveTag {
                name: format!("Area01.Unit{k:02}.PT{k:03}.pressure"),
                asset: "P-101".into(),
                description: "Discharge pressure".into(),
                units: "bar".into(),
                decimals: 2,
                value: Some(4.25 + f64::from(k) / 7.0),
                quality: TagQuality::Good,
                reason: None,
                recv_ms: Some(1_765_000_000_000 + i64::from(k)),
                stale: false,
                writable: false,
                low: Some(0.0),
                high: Some(10.0),
                recent: (0..60).map(|i| 4.0 + i as f32 / 7.0).collect(),
            };
            (k, tag)
        };
        let up =
            ViewUpdate { now_ms: 1_765_000_000_000, len: 48, rows: (0..48).map(row).collect(), ..Default::default() };
        let frame = encode_frame(&Frame::Update(Box::new(up.clone()))).expect("encodes");
        let json = serde_json::to_vec(&up).expect("json");
        eprintln!("48 rows: postcard frame {} bytes, JSON {} bytes", frame.len(), json.len());
        assert!(frame.len() * 2 < json.len(), "postcard {} vs JSON {}", frame.len(), json.len());
        assert_eq!(u32::from_le_bytes(frame[..4].try_into().expect("4 bytes")) as usize, frame.len() - 4);
        assert_eq!(decode_frame(&frame[4..]), Ok(Frame::Update(Box::new(up))));
        let mut other = frame[4..].to_vec();
        other[0] = 1;
        assert!(decode_frame(&other).expect_err("version").to_string().contains("frame of protocol 1"));
        assert!(
            decode_frame(&frame[4..frame.len() - 3]).expect_err("truncated").to_string().contains("malformed frame")
        );
        assert!(decode_frame(&[]).is_err());
    }

    #[test]
    fn views_out_of_range_are_refused_by_field() {
        let line = |fields: &str| format!(r#"{{"req":"view","proto":3,"view":{{{fields}}}}}"#);
        let ok = r#""screen":"tags","filter":"","sort":"value","desc":true,"first":10,"rows":40,"trend_tags":[],"alarm":null"#;
        let view = parse_request(line(ok).as_bytes()).expect("a valid view");
        assert!(matches!(view, Request::View { view: ViewSpec { sort: TagSort::Value, first: 10, rows: 40, .. }, .. }));
        let refused = |fields: &str, says: &str| {
            let e = parse_request(line(fields).as_bytes()).expect_err(fields).to_string();
            assert!(e.contains(says), "{fields}: {e}");
        };
        refused(&ok.replace("\"first\":10", "\"first\":-1"), "invalid value: integer `-1`");
        refused(&ok.replace("\"rows\":40", "\"rows\":1001"), "view.rows: 1001 is more than 1000");
        refused(&ok.replace("\"tags\"", "\"nope\""), "unknown variant `nope`");
        refused(&ok.replace("\"filter\":\"\"", &format!("\"filter\":\"{}\"", "é".repeat(257))), "view.filter: longer");
        refused(&ok.replace("\"filter\":\"\"", "\"filter\":\"a\\u001b[2J\""), "control characters");
        refused(&ok.replace("\"trend_tags\":[]", "\"trend_tags\":[\"a\",\"b\",\"c\",\"d\",\"e\"]"), "at most 4");
        refused(&format!("{ok},\"evil\":1"), "unknown field `evil`");
        let e =
            parse_request(line(ok).replace("\"proto\":3", "\"proto\":2").as_bytes()).expect_err("proto").to_string();
        assert!(e.contains("protocol 2 is not spoken here"), "{e}");
    }

    #[test]
    fn root_has_a_name() {
        assert_eq!(user_name(0).as_deref(), Some("root"));
    }
}
