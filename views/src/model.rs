//! Plain data the daemon hands to the views: one [`Snapshot`] per frame and,
//! for the Trend screen, one [`TrendData`]. No behaviour lives here.

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
    pub tags: Vec<TagRow>,
    pub devices: Vec<DeviceRow>,
    pub assets: Vec<AssetRow>,
    pub store: StoreRow,
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
#[derive(Debug, Clone, Default, PartialEq)]
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
}

/// Historian store status.
#[derive(Debug, Clone, Default, PartialEq)]
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
    pub units: String,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Time buckets, oldest first; `count == 0` means no samples in the bucket.
    pub columns: Vec<TrendColumn>,
}

/// Aggregate of the samples in `[start_ms, end_ms)`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrendColumn {
    pub start_ms: i64,
    pub end_ms: i64,
    pub min: f64,
    pub max: f64,
    pub last: f64,
    pub count: u64,
}
