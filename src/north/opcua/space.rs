//! The address space built from the site: `Objects/<site>/<area>/<unit>/<asset>/<tag>`
//! (ISA-95 as in the site file), tags without an asset under `Objects/<site>/<device>`.
//!
//! NodeIds are stable across restarts: a tag is `ns=<mimic ns>;s=<tag name>`; the
//! folders, the tags' properties and the alarms use opaque (ByteString) identifiers
//! made from their path (`folder:<site>/<area>/…`, `prop:<tag>/EURange`), which can
//! never collide with a tag's string identifier. Each tag is a Variable with its
//! DataType (Boolean for bits without scaling, Double for every engineering value),
//! Description, AccessLevel CurrentRead | HistoryRead (+ CurrentWrite when writable),
//! Historizing, and the properties EURange (from `low`/`high`, when both are set) and
//! EngineeringUnits (the site's `units` as display name; unit id -1, no UNECE code).

use std::collections::{BTreeMap, HashMap};

use mimic_drivers::Quality;
use opcua::server::address_space::{AddressSpace, EventNotifier, ObjectBuilder};
use opcua::types::{ByteString, DataValue, DateTime, NodeId, ObjectId, StatusCode, Variant};

use super::history::status_of;
use crate::config::{Address, Site, Tag};
use crate::core::Sample;

/// The NodeId of a tag.
pub fn tag_node(ns: u16, tag: &str) -> NodeId {
    NodeId::new(ns, tag.to_string())
}

/// An opaque NodeId from a path (folders, properties, alarms).
pub fn opaque(ns: u16, path: &str) -> NodeId {
    NodeId::new(ns, ByteString::from(path.as_bytes().to_vec()))
}

/// The site folder's NodeId.
pub fn site_node(ns: u16, site: &Site) -> NodeId {
    opaque(ns, &format!("folder:{}", site.name))
}

/// The folder of an asset (where its tags and alarms live).
pub fn asset_node(ns: u16, site: &Site, asset: usize) -> NodeId {
    let a = &site.assets[asset];
    opaque(ns, &format!("folder:{}/{}/{}/{}", site.name, a.area, a.unit, a.name))
}

/// Is a tag a plain bit (Boolean), rather than an engineering value (Double)?
pub fn is_bool(tag: &Tag) -> bool {
    match &tag.address {
        Address::Modbus(p) => {
            (p.table.is_bits() || p.dtype == mimic_drivers::modbus::DataType::Bool) && p.scale == 1.0 && p.offset == 0.0
        }
        _ => false,
    }
}

/// A tag's value as its DataType.
pub fn variant(tag: &Tag, v: f64) -> Variant {
    if is_bool(tag) { Variant::Boolean(v != 0.0) } else { Variant::Double(v) }
}

/// Where the tags sit: their folders, and the tags of each folder. Tags are not nodes of
/// the address space (see [`super::tags`]): this is all that is kept per tag (4 bytes).
pub struct Layout {
    /// The folder of each asset, by asset index.
    pub assets: Vec<NodeId>,
    /// The folder of each device with tags outside any asset, by device index.
    pub devices: Vec<Option<NodeId>>,
    /// The tags (indices into the site's tags) of each asset or device folder.
    pub children: HashMap<NodeId, Vec<u32>>,
}

impl Layout {
    /// The folder a tag is organised by.
    pub fn parent(&self, tag: &Tag) -> Option<&NodeId> {
        match tag.asset {
            Some(a) => self.assets.get(a),
            None => self.devices.get(tag.device)?.as_ref(),
        }
    }
}

/// Build the site's folders into `space` (namespace `ns`): the site, its areas, units,
/// assets, and the device folders of tags without an asset; the alarm method comes from
/// `events::build`, called after this by the node manager. The tags themselves are
/// answered from the site by [`super::tags`].
pub fn build(space: &mut AddressSpace, ns: u16, site: &Site) -> Layout {
    let root = site_node(ns, site);
    ObjectBuilder::new(&root, site.name.as_str(), site.name.as_str())
        .is_folder()
        .event_notifier(EventNotifier::SUBSCRIBE_TO_EVENTS)
        .organized_by(ObjectId::ObjectsFolder)
        .insert(space);
    let mut folders: BTreeMap<String, NodeId> = BTreeMap::new();
    // alarms are notified on asset and device folders (see `events`)
    let mut folder = |space: &mut AddressSpace, parent: &NodeId, path: String, name: &str, notifier: bool| {
        folders
            .entry(path.clone())
            .or_insert_with(|| {
                let id = opaque(ns, &format!("folder:{path}"));
                let events = if notifier { EventNotifier::SUBSCRIBE_TO_EVENTS } else { EventNotifier::empty() };
                ObjectBuilder::new(&id, name, name)
                    .is_folder()
                    .event_notifier(events)
                    .organized_by(parent.clone())
                    .insert(space);
                id
            })
            .clone()
    };
    let mut layout = Layout {
        assets: Vec::with_capacity(site.assets.len()),
        devices: vec![None; site.devices.len()],
        children: HashMap::new(),
    };
    for a in &site.assets {
        let area = folder(space, &root, format!("{}/{}", site.name, a.area), &a.area, false);
        let unit = folder(space, &area, format!("{}/{}/{}", site.name, a.area, a.unit), &a.unit, false);
        let path = format!("{}/{}/{}/{}", site.name, a.area, a.unit, a.name);
        layout.assets.push(folder(space, &unit, path, &a.name, true));
    }
    for (i, t) in site.tags.iter().enumerate() {
        if t.asset.is_none() && layout.devices[t.device].is_none() {
            let d = &site.devices[t.device].name;
            layout.devices[t.device] = Some(folder(space, &root, format!("{}/{}", site.name, d), d, true));
        }
        if let Some(parent) = layout.parent(t) {
            layout.children.entry(parent.clone()).or_default().push(i as u32);
        }
    }
    for tags in layout.children.values_mut() {
        tags.shrink_to_fit();
    }
    layout
}

/// The newest stored sample of a tag, as the server keeps it (24 bytes a tag).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Live {
    pub ts_ms: i64,
    pub value: f64,
    pub quality: Quality,
}

impl From<&Sample> for Live {
    fn from(s: &Sample) -> Live {
        Live { ts_ms: s.ts_ms, value: s.value, quality: s.quality }
    }
}

/// A tag's Value: its newest sample (SourceTimestamp = the sample's time), or
/// BadWaitingForInitialData before the first.
pub fn data_value(tag: &Tag, s: Option<Live>) -> DataValue {
    let Some(s) = s else {
        return DataValue {
            status: Some(StatusCode::BadWaitingForInitialData),
            server_timestamp: Some(DateTime::now()),
            ..Default::default()
        };
    };
    let value = (!s.value.is_nan()).then(|| variant(tag, s.value));
    DataValue {
        value,
        status: Some(status_of(s.quality)),
        source_timestamp: Some(ms_to_date(s.ts_ms)),
        server_timestamp: Some(DateTime::now()),
        ..Default::default()
    }
}

/// Milliseconds between 1601-01-01 (OPC UA's epoch) and 1970-01-01.
const EPOCH_DIFF_MS: i64 = 11_644_473_600_000;

pub fn ms_to_date(ms: i64) -> DateTime {
    DateTime::from(ms.saturating_add(EPOCH_DIFF_MS).max(0).saturating_mul(10_000))
}

/// Milliseconds since the epoch of an OPC UA time (`None` for the null time).
pub fn date_to_ms(d: &DateTime) -> Option<i64> {
    if d.is_null() { None } else { Some(d.checked_ticks() / 10_000 - EPOCH_DIFF_MS) }
}
