//! The plant as a terminal sees it: the [`LiveSnapshot`] a subscriber receives whole, and
//! the rows a view is sent piecemeal. The rows the screens show as they are (alarms,
//! devices, requests, audit, life, store) are the screens' own plain data types
//! (`mimic_views`), so each shape is written once; the ones here are the wire's own: the
//! compact tag row, the asset with its model figures, a loop's identified model, a
//! what-if answer and a stored sample.

use serde::{Deserialize, Serialize};

/// A what-if on the twin: the KPI's response to a setpoint value the operator tries (the
/// screens' popup data, sent as is).
pub type LiveWhatIf = mimic_views::WhatIfView;

/// A control loop the twin advises on, with the model last identified from the store.
pub type LiveLoop = mimic_views::LoopRow;

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
/// Where an alarm sits (tag, asset, area; empty: none), in live alarms and history rows.
pub type LiveAlarmPlace = mimic_views::AlarmPlace;
pub use mimic_views::{AlarmStateView as LiveAlarmState, Priority as LivePriority, TrendColumn};
/// The alarm system's figures for the Alarms header strip.
pub type LiveAlarmSummary = mimic_views::AlarmSummary;
/// An operator position in alarm flood, for the Alarms banner.
pub type LiveFlood = mimic_views::FloodRow;
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

impl From<&crate::alarms::Place> for LiveAlarmPlace {
    fn from(p: &crate::alarms::Place) -> LiveAlarmPlace {
        let text = |s: &Option<String>| s.clone().unwrap_or_default();
        LiveAlarmPlace { tag: text(&p.tag), asset: text(&p.asset), area: text(&p.area) }
    }
}
