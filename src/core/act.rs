//! The acts a user may ask of the twin, as the core receives them (inside
//! [`super::Msg::Act`], with the actor's identity). The terminal protocol (`crate::ipc`)
//! carries them as they are: their serde form is the wire form.

use serde::{Deserialize, Serialize};

/// The models `mimic train` fits for an asset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// `DATA/models/<asset>.anomaly.json`.
    #[default]
    Anomaly,
    /// `DATA/models/<asset>.rul.json`.
    Rul,
}

/// Acts a terminal may ask for. The daemon checks who asks (the socket's peer
/// credentials) and whether their role allows it; the views are never the only guard.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "act", rename_all = "snake_case", deny_unknown_fields)]
pub enum Act {
    AckAlarm {
        id: u64,
    },
    AckAlarms {
        ids: Vec<u64>,
    },
    ShelveAlarm {
        id: u64,
        reason: String,
        minutes: u32,
    },
    UnshelveAlarm {
        id: u64,
    },
    SetOutOfService {
        id: u64,
        on: bool,
        reason: String,
    },
    /// An engineer's manual setpoint entry: becomes a pending request.
    RequestWrite {
        tag: String,
        value: f64,
    },
    /// An electronic signature on a pending request: the signer re-enters their secret.
    Approve {
        id: u64,
        secret: String,
    },
    Reject {
        id: u64,
        reason: String,
    },
    /// `mimic user` changed the users file: audit the changes, attributed to the
    /// account asking (the daemon finds the changes itself, by comparing the file).
    /// A struct variant so that unknown fields are refused (see `ipc::Request::Subscribe`).
    UsersChanged {},
    /// A model's recommendation (`mimic recommend --request`): a write request like any
    /// other, carrying its predicted effect, which is checked after the write settles.
    Recommend {
        tag: String,
        value: f64,
        /// The KPI the change acts on, its value now and its predicted steady state.
        kpi: String,
        kpi_now: f64,
        kpi_expect: f64,
        tolerance: f64,
        /// One line for the operator: where the KPI goes, and when.
        effect: String,
        /// 0..=1.
        confidence: f64,
    },
    /// `mimic train` saved a new model of this asset: load it and audit the retraining,
    /// recording the new version with its figures in the asset's life.
    ModelTrained {
        asset: String,
        /// Which model (an anomaly model when not given).
        #[serde(default)]
        kind: ModelKind,
    },
    /// Unlock an idle-locked terminal: the user re-enters their secret (checked like a
    /// signature: wrong secrets count towards the lock-out).
    Unlock {
        secret: String,
    },
    /// The one-key revert of a written request whose effect was off: becomes a new
    /// pending request for the previous value.
    Revert {
        id: u64,
    },
    /// A crew records maintenance on an asset (`part-replaced`, `sensor-recalibrated`,
    /// `inspection`, `other`), now or at `at_ms` in the past.
    RecordMaintenance {
        asset: String,
        kind: String,
        #[serde(default)]
        part: String,
        #[serde(default)]
        note: String,
        #[serde(default)]
        at_ms: Option<i64>,
    },
    /// Sign a checkpoint of the audit chain's head now (`mimic audit checkpoint` while the
    /// daemon runs). A struct variant so that unknown fields are refused.
    Checkpoint {},
}

impl std::fmt::Debug for Act {
    /// Never prints a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Act::Approve { id, .. } => write!(f, "Approve {{ id: {id}, secret: <redacted> }}"),
            Act::AckAlarm { id } => write!(f, "AckAlarm {{ id: {id} }}"),
            Act::AckAlarms { ids } => write!(f, "AckAlarms {{ ids: {ids:?} }}"),
            Act::ShelveAlarm { id, reason, minutes } => {
                write!(f, "ShelveAlarm {{ id: {id}, reason: {reason:?}, minutes: {minutes} }}")
            }
            Act::UnshelveAlarm { id } => write!(f, "UnshelveAlarm {{ id: {id} }}"),
            Act::SetOutOfService { id, on, reason } => {
                write!(f, "SetOutOfService {{ id: {id}, on: {on}, reason: {reason:?} }}")
            }
            Act::RequestWrite { tag, value } => write!(f, "RequestWrite {{ tag: {tag:?}, value: {value} }}"),
            Act::Reject { id, reason } => write!(f, "Reject {{ id: {id}, reason: {reason:?} }}"),
            Act::Revert { id } => write!(f, "Revert {{ id: {id} }}"),
            Act::Unlock { .. } => write!(f, "Unlock {{ secret: <redacted> }}"),
            Act::UsersChanged {} => write!(f, "UsersChanged"),
            Act::Recommend { tag, value, kpi, .. } => {
                write!(f, "Recommend {{ tag: {tag:?}, value: {value}, kpi: {kpi:?} }}")
            }
            Act::ModelTrained { asset, kind } => write!(f, "ModelTrained {{ asset: {asset:?}, kind: {kind:?} }}"),
            Act::RecordMaintenance { asset, kind, part, .. } => {
                write!(f, "RecordMaintenance {{ asset: {asset:?}, kind: {kind:?}, part: {part:?} }}")
            }
            Act::Checkpoint {} => f.write_str("Checkpoint"),
        }
    }
}
