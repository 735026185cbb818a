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
//!
//! Where things are: requests, replies and their parsing here; the view frames in
//! [`view`]; the plant's rows in [`live`]. A row a screen shows as it is (an alarm, a
//! device, a request, an audit entry, an asset's life, a loop, a what-if, the screen and
//! sort of a view) is the screens' own plain data type (`mimic_views`, serde, no
//! rendering), named here for the wire: its shape is written once and nothing converts it
//! on the way. The rows the wire keeps its own (the compact tag row, the asset with its
//! model figures) are converted for the screens in `tui::convert`.

use serde::{Deserialize, Serialize};

pub mod live;
pub mod view;

pub use live::*;
pub use view::*;

/// Longest request line accepted from a client.
pub const MAX_LINE: usize = 64 * 1024;
/// Version of the protocol spoken here (the hello names it; a view names the one it
/// speaks; each binary frame starts with it). 3: the rows are the screens' own types (a
/// request carries its `expires_ms`). 4: alarms held back by a flood, and the positions
/// in flood. 5: an alarm's tag, asset and area travel as one `place` (live alarms, journal
/// records).
pub const PROTO: u8 = 5;
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
    /// The alarms active at `at_ms` by the journal (`alarms::journal::active_at`), answered
    /// as one [`Reply::AlarmHistory`] page.
    AlarmsActive { at_ms: i64 },
    /// Each device's down time and data quality over `[from_ms, to_ms)` (at most
    /// [`MAX_DEVICE_SUMMARY_DAYS`] days), computed where the store is.
    DeviceSummary { from_ms: i64, to_ms: i64 },
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

/// Longest period a [`Request::DeviceSummary`] may cover.
pub const MAX_DEVICE_SUMMARY_DAYS: i64 = 31;

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
    /// The answer to [`Request::DeviceSummary`]: the site's devices in file order.
    DeviceSummary {
        devices: Vec<crate::historian::devices::DeviceSummary>,
    },
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
    fn root_has_a_name() {
        assert_eq!(user_name(0).as_deref(), Some("root"));
    }
}
