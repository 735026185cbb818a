//! The edge node's pure part: Sparkplug topics, and the payloads mimic publishes
//! (NBIRTH, DBIRTH, DDATA, NDEATH) with their sequence numbers, plus the reading of
//! commands (NCMD, DCMD) and of the primary host's STATE. No I/O, no clock.
//!
//! Mapping: a Sparkplug *device* is a mimic `[[device]]` (its name is the device id);
//! its metrics are the device's tags, named by tag name, with alias `tag index + 16`
//! (aliases 0..16 are the node's: 1 is `Node Control/Rebirth`). Values are Double, or
//! Boolean for `bool` tags. Quality rides in the metric property `Quality` (Int32,
//! OPC style: 192 Good, 64 Uncertain, 0 Bad); a Bad value has `is_null = true` and no
//! value. BIRTH metrics also carry `engUnit`, `engLow`, `engHigh` when the tag has them.

use mimic_drivers::Quality;
use mimic_drivers::modbus::DataType as ModbusType;

use super::payload::{DataType, Metric, MetricValue, Payload, PropertySet, PropertyValueKind};
use crate::config::{Address, MqttConfig, Site};
use crate::core::Sample;

/// Topic namespace of Sparkplug B.
pub const NAMESPACE: &str = "spBv1.0";
pub const REBIRTH: &str = "Node Control/Rebirth";
pub const REBIRTH_ALIAS: u64 = 1;
pub const BD_SEQ: &str = "bdSeq";
/// Alias of tag 0; tag `i` has `ALIAS_BASE + i`.
pub const ALIAS_BASE: u64 = 16;
/// Most metrics in one historical DDATA.
pub const REPLAY_CHUNK: usize = 200;

pub const QUALITY_GOOD: u32 = 192;
pub const QUALITY_UNCERTAIN: u32 = 64;
pub const QUALITY_BAD: u32 = 0;

/// The topics of one edge node.
#[derive(Clone, Debug)]
pub struct Topics {
    group: String,
    node: String,
}

impl Topics {
    pub fn new(cfg: &MqttConfig) -> Topics {
        Topics { group: cfg.group_id.clone(), node: cfg.edge_node_id.clone() }
    }

    fn node_topic(&self, kind: &str) -> String {
        format!("{NAMESPACE}/{}/{kind}/{}", self.group, self.node)
    }

    fn device_topic(&self, kind: &str, device: &str) -> String {
        format!("{NAMESPACE}/{}/{kind}/{}/{device}", self.group, self.node)
    }

    pub fn nbirth(&self) -> String {
        self.node_topic("NBIRTH")
    }
    pub fn ndeath(&self) -> String {
        self.node_topic("NDEATH")
    }
    pub fn ncmd(&self) -> String {
        self.node_topic("NCMD")
    }
    pub fn dbirth(&self, device: &str) -> String {
        self.device_topic("DBIRTH", device)
    }
    pub fn ddata(&self, device: &str) -> String {
        self.device_topic("DDATA", device)
    }
    /// Subscription filter for every device's DCMD.
    pub fn dcmd_filter(&self) -> String {
        self.device_topic("DCMD", "+")
    }
    pub fn state(host: &str) -> String {
        format!("{NAMESPACE}/STATE/{host}")
    }

    /// What an incoming topic is, for this node.
    pub fn parse<'a>(&self, topic: &'a str) -> Option<Inbound<'a>> {
        let mut parts = topic.split('/');
        if parts.next()? != NAMESPACE {
            return None;
        }
        let second = parts.next()?;
        if second == "STATE" {
            let host = parts.next()?;
            return parts.next().is_none().then_some(Inbound::State { host });
        }
        if second != self.group {
            return None;
        }
        let kind = parts.next()?;
        if parts.next()? != self.node {
            return None;
        }
        let device = parts.next();
        if parts.next().is_some() {
            return None;
        }
        match (kind, device) {
            ("NCMD", None) => Some(Inbound::Ncmd),
            ("DCMD", Some(d)) => Some(Inbound::Dcmd { device: d }),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inbound<'a> {
    Ncmd,
    Dcmd { device: &'a str },
    State { host: &'a str },
}

/// Sequence numbers and payload building for one edge node.
pub struct EdgeNode {
    seq: u8,
}

impl Default for EdgeNode {
    fn default() -> Self {
        Self::new()
    }
}

pub fn alias(tag: usize) -> u64 {
    ALIAS_BASE + tag as u64
}

pub fn tag_of_alias(alias: u64) -> Option<usize> {
    alias.checked_sub(ALIAS_BASE).and_then(|a| usize::try_from(a).ok())
}

fn is_bool(site: &Site, tag: usize) -> bool {
    site.tags.get(tag).is_some_and(|t| match &t.address {
        Address::Modbus(p) => p.dtype == ModbusType::Bool,
        Address::Ascii(_) | Address::OpcUa(_) => false,
    })
}

fn quality_code(q: Quality) -> u32 {
    match q {
        Quality::Good => QUALITY_GOOD,
        Quality::Uncertain(_) => QUALITY_UNCERTAIN,
        Quality::Bad(_) => QUALITY_BAD,
    }
}

fn ms(ts: i64) -> u64 {
    u64::try_from(ts).unwrap_or(0)
}

/// The NDEATH payload for session `bd_seq` (registered as the MQTT will): no seq.
pub fn death(bd_seq: u8, now_ms: i64) -> Payload {
    Payload { timestamp: Some(ms(now_ms)), metrics: vec![bd_seq_metric(bd_seq, now_ms)], ..Default::default() }
}

fn bd_seq_metric(bd_seq: u8, now_ms: i64) -> Metric {
    Metric {
        name: Some(BD_SEQ.into()),
        timestamp: Some(ms(now_ms)),
        datatype: Some(DataType::Int64 as u32),
        value: Some(MetricValue::LongValue(u64::from(bd_seq))),
        ..Default::default()
    }
}

impl EdgeNode {
    pub fn new() -> EdgeNode {
        EdgeNode { seq: 0 }
    }

    fn next_seq(&mut self) -> Option<u64> {
        let s = self.seq;
        self.seq = self.seq.wrapping_add(1);
        Some(u64::from(s))
    }

    /// NBIRTH: resets seq to 0. Metrics: bdSeq and Node Control/Rebirth.
    pub fn nbirth(&mut self, bd_seq: u8, now_ms: i64) -> Payload {
        self.seq = 0;
        let rebirth = Metric {
            name: Some(REBIRTH.into()),
            alias: Some(REBIRTH_ALIAS),
            timestamp: Some(ms(now_ms)),
            datatype: Some(DataType::Boolean as u32),
            value: Some(MetricValue::BooleanValue(false)),
            ..Default::default()
        };
        Payload {
            timestamp: Some(ms(now_ms)),
            metrics: vec![bd_seq_metric(bd_seq, now_ms), rebirth],
            seq: self.next_seq(),
            ..Default::default()
        }
    }

    /// DBIRTH of `device`: every tag of it, with its last known sample (or null, Bad).
    pub fn dbirth(&mut self, site: &Site, device: usize, last: &[Option<Sample>], now_ms: i64) -> Payload {
        let metrics = site
            .tags
            .iter()
            .enumerate()
            .filter(|(_, t)| t.device == device)
            .map(|(i, t)| {
                let s = last.get(i).copied().flatten().unwrap_or(Sample {
                    tag: i,
                    ts_ms: now_ms,
                    value: f64::NAN,
                    quality: Quality::Bad(mimic_drivers::Reason::NotYetRead),
                });
                let mut m = metric(site, &s, false);
                m.name = Some(t.name.clone());
                m.datatype = Some(if is_bool(site, i) { DataType::Boolean } else { DataType::Double } as u32);
                let props = m.properties.get_or_insert_with(PropertySet::default);
                if !t.units.is_empty() {
                    props.push("engUnit", DataType::String, PropertyValueKind::StringValue(t.units.to_string()));
                }
                if let Some(lo) = t.low {
                    props.push("engLow", DataType::Double, PropertyValueKind::DoubleValue(lo));
                }
                if let Some(hi) = t.high {
                    props.push("engHigh", DataType::Double, PropertyValueKind::DoubleValue(hi));
                }
                m
            })
            .collect();
        Payload { timestamp: Some(ms(now_ms)), metrics, seq: self.next_seq(), ..Default::default() }
    }

    /// DDATA with one metric per sample (all of one device), by alias.
    pub fn ddata(&mut self, site: &Site, samples: &[Sample], historical: bool, now_ms: i64) -> Payload {
        let metrics = samples.iter().map(|s| metric(site, s, historical)).collect();
        Payload { timestamp: Some(ms(now_ms)), metrics, seq: self.next_seq(), ..Default::default() }
    }
}

/// One sample as a metric: alias, timestamp, value (or null when Bad), Quality.
fn metric(site: &Site, s: &Sample, historical: bool) -> Metric {
    let value = (!s.quality.is_bad() && s.value.is_finite()).then(|| {
        if is_bool(site, s.tag) { MetricValue::BooleanValue(s.value != 0.0) } else { MetricValue::DoubleValue(s.value) }
    });
    let mut props = PropertySet::default();
    props.push("Quality", DataType::Int32, PropertyValueKind::IntValue(quality_code(s.quality)));
    Metric {
        alias: Some(alias(s.tag)),
        timestamp: Some(ms(s.ts_ms)),
        is_historical: historical.then_some(true),
        is_null: value.is_none().then_some(true),
        properties: Some(props),
        value,
        ..Default::default()
    }
}

/// Does this NCMD ask for a rebirth?
pub fn wants_rebirth(p: &Payload) -> bool {
    p.metrics.iter().any(|m| {
        (m.name.as_deref() == Some(REBIRTH) || m.alias == Some(REBIRTH_ALIAS))
            && m.value == Some(MetricValue::BooleanValue(true))
    })
}

/// One write a DCMD asks for, or why it cannot be.
#[derive(Clone, Debug, PartialEq)]
pub struct DcmdWrite {
    pub tag: usize,
    pub value: f64,
    pub metric: String,
}

/// Why a DCMD (or one of its metrics) asks for no write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DcmdError {
    #[error("unknown device {0:?}")]
    UnknownDevice(String),
    #[error("{label:?} is not a metric of device {device:?}")]
    NotAMetric { label: String, device: String },
    #[error("{0:?}: the value is not a finite number")]
    NotFinite(String),
}

/// The writes a DCMD for `device` asks for. Metrics are found by name or alias and
/// must be tags of that device; values must be finite numbers or booleans.
pub fn dcmd_writes(site: &Site, device: &str, p: &Payload) -> Vec<Result<DcmdWrite, DcmdError>> {
    let Some(dev) = site.devices.iter().position(|d| d.name == device) else {
        return vec![Err(DcmdError::UnknownDevice(device.to_string()))];
    };
    p.metrics
        .iter()
        .map(|m| {
            let tag = match (&m.name, m.alias) {
                (Some(n), _) => site.tag_index(n),
                (None, Some(a)) => tag_of_alias(a).filter(|&t| t < site.tags.len()),
                (None, None) => None,
            };
            let label = m.name.clone().unwrap_or_else(|| format!("alias {}", m.alias.unwrap_or_default()));
            let Some(tag) = tag.filter(|&t| site.tags[t].device == dev) else {
                return Err(DcmdError::NotAMetric { label, device: device.to_string() });
            };
            match m.as_f64().filter(|v| v.is_finite()) {
                Some(value) => Ok(DcmdWrite { tag, value, metric: site.tags[tag].name.clone() }),
                None => Err(DcmdError::NotFinite(label)),
            }
        })
        .collect()
}

/// A primary host's STATE message (Sparkplug 3.0: JSON `{"online": bool, "timestamp": ms}`).
pub fn parse_state(bytes: &[u8]) -> Option<(bool, u64)> {
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    Some((v.get("online")?.as_bool()?, v.get("timestamp")?.as_u64()?))
}

#[cfg(test)]
#[path = "node_tests.rs"]
mod tests;
