//! The site file: devices, tags and the asset hierarchy, validated before anything starts.
//!
//! Loading is one fallible step from text to a [`Site`] (raw serde structs in [`raw`],
//! `[[template]]`/`[[instance]]` expanded into plain tags in [`template`], the outline of the
//! checks in [`validate`], each protocol's devices and tags in [`tcp`], [`serial`],
//! [`opcua`] and [`modbus`], the checks every tag has in [`tag`], and what they all share
//! in [`ctx`]). Every problem is collected, not just the first, and each
//! names the file, line, column and field path, e.g.
//! `site.toml:14:8: tag[2].high: low (50) is above high (20)`. A site that loads is
//! internally consistent: names are unique, references resolve, register spans do not
//! overlap, ranges are ordered, periods are positive.

pub mod alarm_def;
mod alarms;
#[macro_use]
mod ctx;
mod flood;
mod loops;
mod modbus;
mod mqtt;
mod opcua;
mod opcua_server;
mod profile;
mod raw;
mod serial;
mod tag;
mod tcp;
mod template;
#[cfg(test)]
pub(crate) mod testkit;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mimic_drivers::modbus::ModbusPoint;
use mimic_drivers::opcua::{OpcUaConfig, OpcUaPoint};

pub use flood::FloodPolicy;
pub use loops::ControlLoop;
pub use mqtt::MqttConfig;
pub use opcua_server::{OpcUaServerConfig, PKI_DIR as OPCUA_SERVER_PKI};
pub use profile::parse_text as parse_profile;

/// One problem in a site file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    /// Field path such as `tag[3].address`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}: {}", self.file.display(), self.line, self.col, self.path, self.message)
    }
}

/// Every problem found in one site file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    /// The file it was loaded from.
    pub path: PathBuf,
    pub name: String,
    /// Store directory (resolved against the site file's folder).
    pub data_dir: PathBuf,
    pub retention: Option<Duration>,
    /// Re-basing of an asset's healthy baseline after maintenance (`rebase_settle`,
    /// `rebase_window` in `[site]`).
    pub rebase_settle: Duration,
    pub rebase_window: Duration,
    /// How often the daemon signs an audit checkpoint (`None`: never), and where it copies
    /// them (`[site] checkpoint_every`, `checkpoint_dir`).
    pub checkpoint_every: Option<Duration>,
    pub checkpoint_dir: Option<PathBuf>,
    /// Alarm floods per operator position and what is held back in one (`[site.flood]`).
    pub flood: FloodPolicy,
    pub assets: Vec<Asset>,
    pub devices: Vec<Device>,
    pub tags: Vec<Tag>,
    /// The `[[alarm]]`s, in file order.
    pub alarms: Vec<alarm_def::AlarmDef>,
    /// The optional `[mqtt]` section (Sparkplug B edge node).
    pub mqtt: Option<MqttConfig>,
    /// The optional `[opcua_server]` section (OPC UA server).
    pub opcua_server: Option<OpcUaServerConfig>,
    /// The `[[loop]]`s the twin may advise on, in file order.
    pub loops: Vec<ControlLoop>,
    /// Tag name → index in `tags`.
    tag_ix: TagIndex,
}

/// An asset with its place in the ISA-95 hierarchy.
#[derive(Clone, Debug, PartialEq)]
pub struct Asset {
    pub area: String,
    pub unit: String,
    pub name: String,
    pub description: String,
    /// Commissioning date (`commissioned = 2019-04-01`), as ms since the epoch at
    /// midnight UTC of that day.
    pub commissioned_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Device {
    pub name: String,
    pub protocol: Protocol,
    pub poll: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Protocol {
    ModbusTcp {
        endpoint: String,
        unit: u8,
        timeout: Duration,
        max_gap: u16,
        /// Read requests in flight at once on the connection (1: one at a time).
        max_in_flight: u8,
    },
    /// One unit on a serial line; the units naming the same port share one line task.
    ModbusRtu {
        line: mimic_drivers::rtu::LineConfig,
        unit: u8,
        timeout: Duration,
        max_gap: u16,
    },
    /// A line-based ASCII instrument described by a profile; it owns its port.
    Ascii {
        serial: mimic_drivers::serial::SerialSettings,
        profile: std::sync::Arc<mimic_drivers::ascii::Profile>,
        timeout: Duration,
    },
    OpcUa(OpcUaConfig),
}

impl Protocol {
    pub fn name(&self) -> &'static str {
        match self {
            Protocol::ModbusTcp { .. } => "modbus-tcp",
            Protocol::ModbusRtu { .. } => "modbus-rtu",
            Protocol::Ascii { .. } => "ascii",
            Protocol::OpcUa(_) => "opcua",
        }
    }

    pub fn endpoint(&self) -> String {
        match self {
            Protocol::ModbusTcp { endpoint, unit, .. } => format!("{endpoint} unit {unit}"),
            Protocol::ModbusRtu { line, unit, .. } => format!("{} unit {unit}", line.serial),
            Protocol::Ascii { serial, profile, .. } => format!("{serial} ({})", profile.name),
            Protocol::OpcUa(c) => format!("{} ({})", c.endpoint, c.security.name()),
        }
    }
}

/// Where a tag's value lives in its device. The other protocols' points, with a string
/// each, are boxed: a Modbus address (most tags of a big site) is not the size of theirs.
#[derive(Clone, Debug, PartialEq)]
pub enum Address {
    Modbus(ModbusPoint),
    /// A named field of an ASCII instrument's line.
    Ascii(Box<mimic_drivers::ascii::AsciiPoint>),
    OpcUa(Box<OpcUaPoint>),
}

/// One tag of the site. A site may have 100,000 of them: the name is the only string a
/// tag holds alone; its units, description and write rules are shared with the tags
/// that have the same (the instances of a template, tags with the default rules).
#[derive(Clone, Debug, PartialEq)]
pub struct Tag {
    pub name: String,
    /// Index into [`Site::devices`].
    pub device: usize,
    /// Index into [`Site::assets`].
    pub asset: Option<usize>,
    pub address: Address,
    pub units: Arc<str>,
    pub description: Arc<str>,
    pub poll: Duration,
    pub deadband: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub writable: bool,
    pub decimals: u8,
    pub stale_after: Duration,
    /// Write rules (meaningful when `writable`).
    pub write: Arc<WriteRules>,
}

/// What an approved write to a tag must respect, besides its engineering limits.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteRules {
    pub max_step: Option<f64>,
    pub min_interval: Duration,
    /// Two signatures by two different users.
    pub critical: bool,
    pub tolerance: f64,
    pub settle: Duration,
}

impl Site {
    /// Read and validate a site file.
    pub fn load(path: &Path) -> Result<Site, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                col: 0,
                path: "(file)".into(),
                message: format!("cannot read: {e}"),
            }])
        })?;
        Site::parse(path, &text)
    }

    /// Validate site-file text; `path` names it in errors and anchors `data_dir`.
    pub fn parse(path: &Path, text: &str) -> Result<Site, ConfigErrors> {
        validate::parse(path, text)
    }

    pub fn tag_index(&self, name: &str) -> Option<usize> {
        self.tag_ix.find(&self.tags, name)
    }
}

/// The tags' indices in the order of their names: a look-up is a binary search over the
/// tags' own names (about 17 comparisons at 100,000 tags), and the index costs 4 bytes a
/// tag where a map from name to index held a second copy of every name (about 70 bytes).
#[derive(Clone, Debug, Default, PartialEq)]
struct TagIndex(Vec<u32>);

impl TagIndex {
    fn new(tags: &[Tag]) -> TagIndex {
        let mut ix: Vec<u32> = (0..tags.len()).map(|i| i as u32).collect();
        // Stable: of a repeated name the first tag comes first, and is the one found.
        ix.sort_by(|&a, &b| tags[a as usize].name.cmp(&tags[b as usize].name));
        TagIndex(ix)
    }

    fn find(&self, tags: &[Tag], name: &str) -> Option<usize> {
        let name_of = |k: u32| tags.get(k as usize).map_or("", |t| t.name.as_str());
        let at = self.0.partition_point(|&k| name_of(k) < name);
        self.0.get(at).map(|&k| k as usize).filter(|&k| tags.get(k).is_some_and(|t| t.name == name))
    }
}

pub use crate::time::parse_duration;

#[cfg(test)]
mod asset_life_tests {
    use std::path::Path;

    use super::Site;

    fn parse(asset_extra: &str, site_extra: &str) -> Result<Site, String> {
        let text = format!(
            "[site]\nname = \"t\"\n{site_extra}\n\n[[asset]]\narea = \"a\"\nunit = \"u\"\nname = \"P-1\"\n{asset_extra}\n"
        );
        Site::parse(Path::new("/sites/t.toml"), &text).map_err(|e| e.to_string())
    }

    #[test]
    fn commissioning_dates_bare_or_quoted_and_rebase_settings() {
        let s = parse("commissioned = 2019-04-01", "").expect("valid");
        assert_eq!(s.assets[0].commissioned_ms, Some(1_554_076_800_000));
        let s =
            parse("commissioned = \"2019-04-01\"", "rebase_settle = \"5m\"\nrebase_window = \"1h\"").expect("valid");
        assert_eq!(s.assets[0].commissioned_ms, Some(1_554_076_800_000));
        assert_eq!((s.rebase_settle.as_secs(), s.rebase_window.as_secs()), (300, 3600));
        let s = parse("", "").expect("valid");
        assert_eq!(
            (s.assets[0].commissioned_ms, s.rebase_settle.as_secs(), s.rebase_window.as_secs()),
            (None, 900, 1800)
        );
    }

    #[test]
    fn a_bad_date_names_the_file_line_and_field() {
        for (bad, why) in [
            ("commissioned = \"2019-02-30\"", "must be a date like 2019-04-01"),
            ("commissioned = \"yesterday\"", "must be a date like 2019-04-01"),
            ("commissioned = 2019-04-01T10:00:00Z", "without a time of day"),
            ("commissioned = 12", "a TOML integer is not a date"),
        ] {
            let e = parse(bad, "").expect_err(bad);
            assert!(
                e.contains("/sites/t.toml:9:") && e.contains("asset[0].commissioned") && e.contains(why),
                "{bad}: {e}"
            );
        }
        let e = parse("commisioned = 2019-04-01", "").expect_err("typo");
        assert!(e.contains("commisioned"), "unknown fields are refused: {e}");
        let e = parse("", "rebase_settle = \"soon\"").expect_err("bad duration");
        assert!(e.contains("site.rebase_settle"), "{e}");
    }
}
