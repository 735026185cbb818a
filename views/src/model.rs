//! Plain data the daemon hands to the views: one [`Snapshot`] per frame and,
//! for the Trend screen, one [`TrendData`]. No behaviour lives here beyond a few
//! derived readings (a loop's model line, a what-if's horizon).
//!
//! The rows a terminal shows as they are (alarms, devices, requests, audit entries,
//! lives, loops, the store, the tag page and counters, a what-if) are serde types: the
//! daemon sends them as they are (`mimic::ipc` names them `Live…`), so each shape is
//! written once.

use serde::{Deserialize, Serialize};

/// Everything the terminal shows, captured at one instant (`now_ms`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Site name shown in the header (untrusted text: sanitized on render).
    pub site: String,
    /// Wall-clock time of the snapshot, Unix epoch milliseconds (UTC).
    pub now_ms: i64,
    /// Whether the terminal ↔ daemon link is up. `false` shows a banner.
    pub connected: bool,
    /// Logged-in user shown in the header.
    pub user: String,
    /// The Tags table's rows: all tags (the views filter and sort them), or, with
    /// [`Snapshot::tag_page`], the window the daemon filtered, sorted and cut for this terminal.
    pub tags: Vec<TagRow>,
    /// `Some`: [`Snapshot::tags`] is a window of the daemon's filtered and sorted list.
    pub tag_page: Option<TagPage>,
    /// Site-wide tag counters (all tags, whatever the filter); `None`: count [`Snapshot::tags`].
    pub tag_counts: Option<TagCounts>,
    pub devices: Vec<DeviceRow>,
    pub assets: Vec<AssetRow>,
    pub store: StoreRow,
    /// Alarm list (ISA-18.2), any order: the Alarms screen sorts it.
    pub alarms: Vec<AlarmRow>,
    /// Alarm-system performance figures for the Alarms header strip.
    pub alarm_summary: AlarmSummary,
    /// Set-point recommendations awaiting or past approval.
    pub recommendations: Vec<RecommendationRow>,
    /// The most recent audit-trail entries, any order (shown newest first).
    pub audit: Vec<AuditRow>,
    /// Each asset's life (commissioning, recent maintenance), any order.
    pub life: Vec<LifeRow>,
    /// The control loops the twin advises on (their setpoints offer a what-if).
    pub loops: Vec<LoopRow>,
}

/// Where [`Snapshot::tags`] lies in the daemon's filtered and sorted tag list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagPage {
    /// List position of `tags[0]`.
    pub offset: usize,
    /// Tags matching the filter.
    pub total: usize,
    /// Bad and stale tags among them.
    pub bad: usize,
    pub stale: usize,
}

/// Tag counters of the whole site.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCounts {
    pub tags: usize,
    pub bad: usize,
    pub stale: usize,
}

/// A control loop: a setpoint, the KPI it moves and the KPI's band, with the model the
/// twin last identified from the store (`mimic::ipc::LiveLoop` is this type).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoopRow {
    pub name: String,
    /// The setpoint tag.
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

impl LoopRow {
    /// The model and what the advisor found, one line (empty: nothing yet), e.g.
    /// `gain 0.920, time constant 3 s, dead time 0 s, R² 0.99; inside its band`.
    pub fn model(&self) -> String {
        let num = |v: Option<f64>, d: usize| v.map_or_else(|| "-".to_string(), |v| format!("{v:.d$}"));
        match self.r2 {
            Some(r2) => format!(
                "gain {}, time constant {} s, dead time {} s, R² {r2:.2}; {}",
                num(self.gain, 3),
                num(self.tau_s, 0),
                num(self.dead_s, 0),
                self.status
            ),
            None => self.status.clone(),
        }
    }
}

/// The predicted effect of a setpoint value the operator tried (a what-if on the twin):
/// the daemon's answer as it is sent (`mimic::ipc::LiveWhatIf` is this type).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WhatIfView {
    pub loop_name: String,
    pub tag: String,
    pub units: String,
    /// The setpoint now and the value tried.
    pub from: f64,
    pub value: f64,
    pub kpi: String,
    pub kpi_units: String,
    pub kpi_now: f64,
    /// The KPI's band.
    pub low: f64,
    pub high: f64,
    /// Predicted KPI, `(seconds from the change, value)`, evenly spaced, and where it settles.
    pub trajectory: Vec<(f64, f64)>,
    pub steady_state: f64,
    /// 0..=1.
    pub confidence: f64,
    /// The model behind it, one line.
    pub model: String,
    /// Why the value cannot be written as is, if it cannot.
    pub note: Option<String>,
}

/// One asset's life: commissioning, recent maintenance events, baseline re-basing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LifeRow {
    /// Asset name (the last element of [`AssetRow::path`]).
    pub asset: String,
    pub commissioned_ms: Option<i64>,
    /// Where the asset's present life starts (its latest replaced part or recalibration).
    pub rebase_at_ms: Option<i64>,
    /// Re-basing of the healthy baseline in progress, e.g. `baseline learning 12/60`; empty when none.
    pub baseline: String,
    /// Recent events, any order.
    pub events: Vec<LifeEventRow>,
}

impl WhatIfView {
    /// How far ahead the trajectory goes, in seconds.
    pub fn horizon_s(&self) -> f64 {
        self.trajectory.last().map_or(0.0, |p| p.0)
    }
}

impl LifeRow {
    /// The latest maintenance event (commissioning left out).
    pub fn last_maintenance(&self) -> Option<&LifeEventRow> {
        self.events.iter().filter(|e| e.kind != "commissioned").max_by_key(|e| e.ts_ms)
    }
}

/// One event of an asset's life.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LifeEventRow {
    pub ts_ms: i64,
    /// `commissioned`, `part-replaced`, `sensor-recalibrated`, `inspection`, `other`.
    pub kind: String,
    /// The part replaced or the tag recalibrated (untrusted text).
    pub part: String,
    pub note: String,
    pub by: String,
}

impl LifeEventRow {
    /// Short label for a trend mark or a narrow column: `part bearing`, `recal PT-1`, `insp`.
    pub fn short(&self) -> String {
        let k = match self.kind.as_str() {
            "part-replaced" => "part",
            "sensor-recalibrated" => "recal",
            "inspection" => "insp",
            "commissioned" => "comm",
            _ => "maint",
        };
        if self.part.is_empty() { k.to_string() } else { format!("{k} {}", self.part) }
    }
}

/// One process tag (a point read from a device).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagRow {
    pub name: String,
    pub asset: String,
    pub description: String,
    pub value: Option<f64>,
    /// Decimals to show (capped at 9 on render).
    pub decimals: u8,
    pub units: String,
    pub quality: QualityView,
    /// Receive time of the last value, Unix epoch ms.
    pub ts_ms: Option<i64>,
    pub stale: bool,
    pub writable: bool,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// Last N values, oldest first, for a sparkline.
    pub recent: Vec<f64>,
}

/// Quality of a tag value; the string is a short reason, e.g. "timeout".
#[derive(Debug, Clone, Default, PartialEq)]
pub enum QualityView {
    #[default]
    Good,
    Uncertain(String),
    Bad(String),
}

/// Communication state of one field device.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceRow {
    pub name: String,
    pub protocol: String,
    pub endpoint: String,
    pub connected: bool,
    pub last_poll_ms: Option<i64>,
    pub latency_ms: Option<f64>,
    pub polls: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub exceptions: u64,
    /// Damaged answers or lines (serial drivers): CRC errors, garbage, truncation.
    #[serde(default)]
    pub garbled: u64,
    pub reconnects: u64,
    pub last_error: Option<String>,
    pub tags: usize,
    pub bad_tags: usize,
}

/// One asset of the ISA-95 hierarchy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssetRow {
    /// `[area, unit, asset]`; shorter paths are allowed.
    pub path: Vec<String>,
    pub description: String,
    pub tags: usize,
    pub bad_tags: usize,
    pub running: Option<bool>,
    /// Alarms of the asset per priority, indexed by [`Priority::index`]
    /// (`[low, medium, high, critical]`).
    pub alarms_by_priority: [usize; 4],
    /// Anomaly score of the asset model, 0 (normal) ..= 1 (anomalous).
    pub health: Option<f64>,
    /// Predicted remaining useful life in days.
    pub rul_days: Option<f64>,
    /// Remaining useful life with its interval (shown instead of `rul_days` when set).
    pub rul: Option<RulView>,
}

/// A remaining useful life with its interval, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RulView {
    pub seconds: f64,
    pub low: f64,
    pub high: f64,
    /// At the model's cap: the end of life is not visible yet (shown as `≥`).
    pub capped: bool,
    /// The interval's nominal level (0..1; 0: not stated).
    pub level: f64,
}

/// What the diagnosis found about an alarm's asset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiagnosisView {
    /// The likely cause, when a fault signature matched (untrusted text).
    pub cause: Option<String>,
    /// Signals that left their normal band, earliest first, with the onset in seconds
    /// relative to the alarm (negative: before it).
    pub moved: Vec<(String, f64)>,
    /// Contributions to the anomaly score, largest first (signal, share 0..=1).
    pub contributions: Vec<(String, f64)>,
    /// Why there is no ranking, when there is none.
    pub note: Option<String>,
}

/// Historian store status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreRow {
    pub samples: u64,
    pub bytes: u64,
    pub last_commit_ms: Option<i64>,
    pub error: Option<String>,
}

/// Pre-aggregated history of one tag for the Trend screen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrendData {
    pub tag: String,
    /// The tag's asset (its life events are marked on the plot); empty: none or unknown.
    pub asset: String,
    pub units: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Time buckets, oldest first; `count == 0` means no samples in the bucket.
    pub columns: Vec<TrendColumn>,
    /// More tags drawn on the same time axis (same span, same column count
    /// as `columns`); at most 3 are shown (4 series in all). Default empty.
    pub extra: Vec<TrendSeries>,
}

/// History of one more tag on a multi-tag trend (see [`TrendData::extra`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrendSeries {
    /// Tag name (untrusted text: sanitized on render).
    pub tag: String,
    pub units: String,
    /// Time buckets over the same span and count as the main series.
    pub columns: Vec<TrendColumn>,
}

/// Aggregate of the samples in `[start_ms, end_ms)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrendColumn {
    pub start_ms: i64,
    pub end_ms: i64,
    pub min: f64,
    pub max: f64,
    pub last: f64,
    pub count: u64,
}

/// Alarm priority (ISA-18.2), lowest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    #[default]
    Low,
    Medium,
    High,
    Critical,
}

impl Priority {
    /// All priorities, lowest first (the order of `by_priority` arrays).
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Medium, Priority::High, Priority::Critical];

    /// Fixed-width-friendly text: `LOW`, `MED`, `HIGH`, `CRIT`.
    pub fn label(self) -> &'static str {
        match self {
            Priority::Low => "LOW",
            Priority::Medium => "MED",
            Priority::High => "HIGH",
            Priority::Critical => "CRIT",
        }
    }

    /// Index into `[low, medium, high, critical]` arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Alarm state (ISA-18.2 state model, without the suppressed states which
/// are flags of [`AlarmRow`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmStateView {
    /// Active and not acknowledged.
    UnackActive,
    /// Active and acknowledged.
    AckActive,
    /// Returned to normal but not yet acknowledged.
    UnackRtn,
    /// Normal (shown only in the Shelved / Flood / Out-of-service / All views).
    #[default]
    Normal,
}

impl std::fmt::Display for AlarmStateView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl AlarmStateView {
    /// The wire name: `unack_active`, `ack_active`, `unack_rtn`, `normal`.
    pub fn name(self) -> &'static str {
        match self {
            AlarmStateView::UnackActive => "unack_active",
            AlarmStateView::AckActive => "ack_active",
            AlarmStateView::UnackRtn => "unack_rtn",
            AlarmStateView::Normal => "normal",
        }
    }

    /// Active (acknowledged or not).
    pub fn active(self) -> bool {
        matches!(self, AlarmStateView::UnackActive | AlarmStateView::AckActive)
    }

    /// `true` for the states that still need an acknowledgement.
    pub fn unacked(self) -> bool {
        matches!(self, AlarmStateView::UnackActive | AlarmStateView::UnackRtn)
    }

    /// State text: `UNACK`, `ACK`, `RTN`, `NORM`.
    pub fn label(self) -> &'static str {
        match self {
            AlarmStateView::UnackActive => "UNACK",
            AlarmStateView::AckActive => "ACK",
            AlarmStateView::UnackRtn => "RTN",
            AlarmStateView::Normal => "NORM",
        }
    }

    /// Steady (never blinking) marker: `▲` unacked active, `△` unacked
    /// returned, `■` acked active, blank when normal.
    pub fn marker(self) -> &'static str {
        match self {
            AlarmStateView::UnackActive => "▲",
            AlarmStateView::UnackRtn => "△",
            AlarmStateView::AckActive => "■",
            AlarmStateView::Normal => " ",
        }
    }
}

/// Where an alarm sits: its tag (empty for an alarm raised on an asset), its asset and
/// the asset's area (the operator position), each empty when it has none. The live list's
/// and the History pane's alarms both carry it (`mimic::ipc::LiveAlarmPlace` is this type).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmPlace {
    pub tag: String,
    pub asset: String,
    pub area: String,
}

impl AlarmPlace {
    /// What names the alarm: its tag, else its asset, else `-`.
    pub fn name(&self) -> &str {
        match (self.tag.as_str(), self.asset.as_str()) {
            ("", "") => "-",
            ("", asset) => asset,
            (tag, _) => tag,
        }
    }

    /// The operator position: the area, `(none)` without one.
    pub fn position(&self) -> &str {
        if self.area.is_empty() { "(none)" } else { &self.area }
    }
}

/// One alarm of the alarm list: the one shape of an alarm outside the alarm engine
/// (the daemon sends it as is; `mimic::ipc::LiveAlarm` is this type).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmRow {
    pub id: u64,
    pub place: AlarmPlace,
    /// `HIHI`, `HI`, `LO`, `LOLO`, `ROC`, `BAD`, `MODEL anomaly`, …
    pub kind: String,
    pub priority: Priority,
    pub state: AlarmStateView,
    pub message: String,
    pub value: Option<f64>,
    pub limit: Option<f64>,
    pub units: String,
    /// When the alarm last became active, Unix epoch ms.
    pub active_since_ms: Option<i64>,
    pub acked_by: Option<String>,
    /// Shelved until this time (Unix epoch ms); `Some` means shelved.
    pub shelved_until_ms: Option<i64>,
    pub shelve_reason: Option<String>,
    pub out_of_service: bool,
    /// Held back by an alarm flood at its position: not annunciated until it ends.
    #[serde(default)]
    pub flood_held: bool,
    /// First alarm of a cascade (first-out).
    pub first_out: bool,
    pub chattering: bool,
    pub stale: bool,
    /// The diagnosis of this alarm's asset, when one was made for it (the terminal
    /// adds it from the asset's latest diagnosis).
    #[serde(default)]
    pub diagnosis: Option<DiagnosisView>,
}

impl AlarmRow {
    /// Shelved (suppressed by an operator for a while).
    pub fn shelved(&self) -> bool {
        self.shelved_until_ms.is_some()
    }
    /// Neither shelved, out of service nor held back by a flood: it counts in the
    /// header and the Active view.
    pub fn annunciated(&self) -> bool {
        !self.shelved() && !self.out_of_service && !self.flood_held
    }
}

/// Alarm-system performance figures (ISA-18.2 / EEMUA 191 KPIs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlarmSummary {
    /// Alarm flood in progress (more than 10 activations in 10 min per position).
    pub flood: bool,
    /// Activations in the last 10 minutes, whole site.
    pub activations_10min: u32,
    /// Activations in the last 10 minutes per operator position.
    pub per_position: Vec<(String, u32)>,
    /// Time spent in flood over the reporting period, ms.
    pub time_in_flood_ms: i64,
    pub unacked: usize,
    pub active: usize,
    pub shelved: usize,
    /// Active alarms per priority, `[low, medium, high, critical]`.
    pub by_priority: [usize; 4],
    /// The positions in flood now.
    #[serde(default)]
    pub floods: Vec<FloodRow>,
    /// Alarms held back by floods.
    #[serde(default)]
    pub held_back: usize,
}

/// An operator position in alarm flood: since when, and how many alarms it holds back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloodRow {
    pub position: String,
    pub since_ms: i64,
    pub held_back: usize,
}

/// One set-point recommendation of the advisory models.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecommendationRow {
    pub id: u64,
    pub asset: String,
    pub title: String,
    /// Tag whose value would be written.
    pub tag: String,
    pub current: Option<f64>,
    pub proposed: f64,
    pub units: String,
    pub predicted_effect: String,
    /// Model confidence, 0 ..= 1.
    pub confidence: f64,
    pub created_ms: i64,
    #[serde(default)]
    pub expires_ms: Option<i64>,
    /// `pending`, `approved`, `rejected`, `expired`, `written`, `confirmed`, `mismatch`.
    pub status: String,
    pub needs_second_approver: bool,
    /// Signatures so far: signer full name with time and meaning, one per entry.
    pub approvals: Vec<String>,
    /// Written, but its effect was off: `r` offers a revert to `previous`.
    #[serde(default)]
    pub revertable: bool,
    /// The tag's value before the write.
    #[serde(default)]
    pub previous: Option<f64>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditRow {
    pub seq: u64,
    pub ts_ms: i64,
    pub user: String,
    pub action: String,
    pub target: String,
    /// Meaning of a signature (e.g. "approved"), empty if none.
    pub meaning: String,
    pub detail: String,
}
