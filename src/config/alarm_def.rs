//! What the site file configures of an alarm: its kind, priority and definition on a tag.
//! Part of the site model (the loader builds them from `[[alarm]]`); the alarm engine
//! (`crate::alarms`) runs them and re-exports them.

use std::fmt;
use std::time::Duration;

/// What an alarm watches.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AlarmKind {
    HiHi,
    Hi,
    Lo,
    LoLo,
    /// Absolute change per second over a window.
    RateOfChange,
    /// The tag's quality is Bad.
    BadQuality,
    /// Raised and cleared by a model, e.g. `"anomaly"`, `"low remaining life"`.
    Model {
        source: String,
    },
}

impl AlarmKind {
    /// Site-file spelling (`hihi`, `hi`, `lo`, `lolo`, `rate`, `bad_quality`).
    pub fn from_name(s: &str) -> Option<AlarmKind> {
        Some(match s {
            "hihi" => AlarmKind::HiHi,
            "hi" => AlarmKind::Hi,
            "lo" => AlarmKind::Lo,
            "lolo" => AlarmKind::LoLo,
            "rate" => AlarmKind::RateOfChange,
            "bad_quality" => AlarmKind::BadQuality,
            _ => return None,
        })
    }

    /// Does this kind compare a value with a `limit`?
    pub fn has_limit(&self) -> bool {
        matches!(self, AlarmKind::HiHi | AlarmKind::Hi | AlarmKind::Lo | AlarmKind::LoLo | AlarmKind::RateOfChange)
    }
}

impl fmt::Display for AlarmKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AlarmKind::HiHi => f.write_str("HIHI"),
            AlarmKind::Hi => f.write_str("HI"),
            AlarmKind::Lo => f.write_str("LO"),
            AlarmKind::LoLo => f.write_str("LOLO"),
            AlarmKind::RateOfChange => f.write_str("RATE"),
            AlarmKind::BadQuality => f.write_str("BAD QUALITY"),
            AlarmKind::Model { source } => write!(f, "MODEL {source}"),
        }
    }
}

/// Alarm priority, lowest first (so `Critical > Low`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Medium,
    High,
    Critical,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Medium, Priority::High, Priority::Critical];

    pub fn from_name(s: &str) -> Option<Priority> {
        Some(match s {
            "low" => Priority::Low,
            "medium" => Priority::Medium,
            "high" => Priority::High,
            "critical" => Priority::Critical,
            _ => return None,
        })
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Critical => "critical",
        })
    }
}

/// Where an alarm sits: its tag (none for an alarm a model raised on an asset), the
/// asset and that asset's area (the operator position), when it has them. The one shape
/// of an alarm's place for its definition, the engine, its events and views, and the
/// journal's records (postcard writes a nested struct as its fields in order, so a record
/// stored when these were three fields of the record reads the same).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    pub tag: Option<String>,
    pub asset: Option<String>,
    pub area: Option<String>,
}

/// The operator position of alarms whose tag or asset has no area.
pub const NO_AREA: &str = "(none)";

impl Place {
    /// A tag's place.
    pub fn of_tag(name: &str, asset: Option<String>, area: Option<String>) -> Place {
        Place { tag: Some(name.to_string()), asset, area }
    }

    /// What names it: the tag, else the asset, else `-`.
    pub fn name(&self) -> &str {
        self.tag.as_deref().or(self.asset.as_deref()).unwrap_or("-")
    }

    /// The operator position: the area, [`NO_AREA`] without one.
    pub fn position(&self) -> &str {
        self.area.as_deref().unwrap_or(NO_AREA)
    }
}

/// One configured alarm on a tag (model alarms are not configured; they are raised).
#[derive(Clone, Debug, PartialEq)]
pub struct AlarmDef {
    /// Index of the tag in the site.
    pub tag: usize,
    /// The tag's name, its asset and that asset's area, when it has one.
    pub place: Place,
    /// Not `Model`.
    pub kind: AlarmKind,
    pub priority: Priority,
    /// For limit kinds the limit in engineering units; for rate, units per second.
    pub limit: Option<f64>,
    pub deadband: f64,
    pub on_delay: Duration,
    pub off_delay: Duration,
    /// Rate alarms: the window the change is measured over.
    pub window: Duration,
    pub message: Option<String>,
}

impl AlarmDef {
    /// A definition with no deadband, no delays and a 10 s window.
    pub fn new(tag: usize, tag_name: &str, kind: AlarmKind, priority: Priority, limit: Option<f64>) -> AlarmDef {
        AlarmDef {
            tag,
            place: Place::of_tag(tag_name, None, None),
            kind,
            priority,
            limit,
            deadband: 0.0,
            on_delay: Duration::ZERO,
            off_delay: Duration::ZERO,
            window: Duration::from_secs(10),
            message: None,
        }
    }

    /// The tag's name.
    pub fn tag_name(&self) -> &str {
        self.place.name()
    }
}
