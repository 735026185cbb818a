//! The alarm engine: ISA-18.2 style alarm states as pure functions of samples and time.
//!
//! Like [`crate::core`], the engine never reads a clock and never does I/O: every sample
//! and every operator action carries its own timestamp (`ts_ms` / `now_ms`), and every
//! state change comes back as an [`AlarmEvent`] for the daemon to store and audit.
//!
//! * **Conditions** ([`condition`]): `HiHi`/`Hi` (value above the limit, back to normal
//!   only below limit − deadband), `Lo`/`LoLo` (below, back above limit + deadband),
//!   `RateOfChange` (absolute change per second over a window above the limit),
//!   `BadQuality` (quality Bad), and model-raised alarms (`Model { source }`) that a
//!   model raises and clears on a tag or an asset. A condition must hold continuously
//!   for the on-delay before the alarm activates, and be gone for the off-delay before
//!   it returns to normal. A sample without a usable value (or with Bad quality) leaves
//!   a limit or rate condition as it was. A sample older than the last one an alarm saw
//!   is ignored by that alarm.
//! * **States** ([`AlarmState`]): Normal → Unacknowledged-Active → (ack) Acknowledged-Active
//!   → (clears) Normal; or Unacknowledged-Active → (clears) Unacknowledged-RTN → (ack)
//!   Normal, and back to Unacknowledged-Active if the condition returns first.
//! * **Suppression**: a shelved (until an expiry, returned to service by
//!   [`AlarmEngine::tick`]) or out-of-service alarm is taken out of the annunciated
//!   states (its state becomes Normal) but its condition is still tracked; when it
//!   returns to service with its condition active it annunciates again.
//! * **Flood suppression** (EEMUA 191, ISA-18.2): a position is in flood by the site's
//!   [`crate::config::FloodPolicy`] (default: more than 10 activations in 10 minutes, over
//!   when fewer than 5 remain). While it is, an activation of a priority the policy holds
//!   back (default low) is not annunciated: the alarm stays Normal, marked held back
//!   ([`Change::FloodHeld`], counted toward the flood all the same). When the flood
//!   ends every held alarm is released ([`Change::FloodReleased`]) and annunciated
//!   then if its condition is still present.
//! * **Figures** ([`metrics`]): per operator position (the area of the alarm's asset):
//!   activations in the flood window, flood, time in flood; per alarm: chattering, stale,
//!   first-out.

mod condition;
mod engine;
pub mod journal;
pub mod kpi;
mod metrics;
pub mod search;

use std::fmt;

pub use crate::config::alarm_def::{AlarmDef, AlarmKind, NO_AREA, Place, Priority};
pub use engine::AlarmEngine;
pub use journal::Change;
pub use metrics::{BURST_WINDOW_MS, CHATTER_COUNT, CHATTER_WINDOW_MS, FLOOD_LIMIT, FLOOD_WINDOW_MS, STALE_AFTER_MS};

/// Index of an alarm in its engine; stable for the engine's life (model alarms get the
/// next free id when first raised).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlarmId(pub usize);

impl fmt::Display for AlarmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "A{}", self.0)
    }
}

/// The annunciation state of an alarm (ISA-18.2 states A–D).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmState {
    Normal,
    UnackActive,
    AckActive,
    /// Returned to normal before anyone acknowledged it.
    UnackRtn,
}

impl AlarmState {
    pub const ALL: [AlarmState; 4] =
        [AlarmState::Normal, AlarmState::UnackActive, AlarmState::AckActive, AlarmState::UnackRtn];

    pub fn is_active(self) -> bool {
        matches!(self, AlarmState::UnackActive | AlarmState::AckActive)
    }

    pub fn is_unacked(self) -> bool {
        matches!(self, AlarmState::UnackActive | AlarmState::UnackRtn)
    }
}

impl fmt::Display for AlarmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AlarmState::Normal => "normal",
            AlarmState::UnackActive => "active, unacknowledged",
            AlarmState::AckActive => "active, acknowledged",
            AlarmState::UnackRtn => "returned to normal, unacknowledged",
        })
    }
}

/// One state change, for the daemon to store and audit. `from` always equals the `to`
/// of the previous event of the same alarm (the first event starts from Normal).
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmEvent {
    pub ts_ms: i64,
    pub alarm: AlarmId,
    pub place: Place,
    pub kind: AlarmKind,
    pub priority: Priority,
    /// What happened (the journal stores it as is).
    pub action: Change,
    pub from: AlarmState,
    pub to: AlarmState,
    /// The tag's last value, when there is one.
    pub value: Option<f64>,
    /// Who did it, for operator actions.
    pub user: Option<String>,
    /// Free text: the alarm message, a shelve reason, …
    pub note: String,
}

/// What a model alarm is raised on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ModelTarget {
    /// A tag, by its index in the site.
    Tag(usize),
    /// An asset, by name.
    Asset(String),
}

/// One alarm as the terminal shows it: plain data.
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmView {
    pub id: AlarmId,
    pub place: Place,
    /// Index of the tag in the site (e.g. to open its trend).
    pub tag_index: Option<usize>,
    pub kind: AlarmKind,
    pub priority: Priority,
    pub state: AlarmState,
    /// Is the condition present now (also while shelved or out of service)?
    pub condition: bool,
    pub message: String,
    pub value: Option<f64>,
    pub limit: Option<f64>,
    pub active_since: Option<i64>,
    /// Who acknowledged the current activation, and when.
    pub acked_by: Option<(String, i64)>,
    pub shelved_until: Option<i64>,
    pub shelved_by: Option<String>,
    pub shelve_reason: Option<String>,
    pub out_of_service: bool,
    pub out_of_service_reason: Option<String>,
    /// Held back by a flood at its position: not annunciated until the flood ends.
    pub flood_held: bool,
    pub first_out: bool,
    pub chattering: bool,
    pub stale: bool,
}

/// Alarm-rate figures of one operator position (an area; `"(none)"` for tags without one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PositionRate {
    pub position: String,
    pub activations_10min: usize,
    pub in_flood: bool,
    /// Total time this position has spent in flood, including a flood in progress.
    pub time_in_flood_ms: i64,
    /// How many floods have started.
    pub floods: u32,
    /// When the flood in progress started.
    pub flood_since: Option<i64>,
    /// Alarms the flood in progress holds back.
    pub held_back: usize,
}

/// The alarm system at a glance.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AlarmSummary {
    /// Some operator position is in flood.
    pub flood: bool,
    pub activations_10min: usize,
    /// Sum over positions.
    pub time_in_flood_ms: i64,
    pub positions: Vec<PositionRate>,
    /// Annunciated (not Normal) alarms by priority, indexed like [`Priority::ALL`].
    pub by_priority: [usize; 4],
    /// All alarms by state, indexed like [`AlarmState::ALL`].
    pub by_state: [usize; 4],
    pub unacked: usize,
    pub shelved: usize,
    pub out_of_service: usize,
    /// Held back by floods.
    pub held_back: usize,
    pub chattering: usize,
    pub stale: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AlarmError {
    #[error("no alarm {0}")]
    UnknownAlarm(AlarmId),
    #[error("no tag with index {0}")]
    UnknownTag(usize),
    #[error("no asset `{0}`")]
    UnknownAsset(String),
    #[error("alarm {0} is normal: nothing to acknowledge")]
    NotActive(AlarmId),
    #[error("alarm {0} is already acknowledged")]
    AlreadyAcknowledged(AlarmId),
    #[error("a user name is required")]
    NoUser,
    #[error("a reason is required")]
    NoReason,
    #[error("shelve expiry {until_ms} is not after now ({now_ms})")]
    ShelveExpiry { until_ms: i64, now_ms: i64 },
    #[error("alarm {0} is not shelved")]
    NotShelved(AlarmId),
    #[error("alarm {0} is out of service")]
    OutOfService(AlarmId),
    #[error("alarm {0} is already {1}")]
    AlreadyInThatService(AlarmId, &'static str),
    #[error("a model source name is required")]
    NoSource,
}

#[cfg(test)]
mod tests;

#[cfg(test)]
#[path = "flood_tests.rs"]
mod flood_tests;
