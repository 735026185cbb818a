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

use std::collections::BTreeMap;

use opcua::server::SubscriptionCache;
use opcua::server::address_space::{AccessLevel, AddressSpace, EventNotifier, ObjectBuilder, VariableBuilder};
use opcua::server::node_manager::memory::InMemoryNodeManager;
use opcua::types::{
    ByteString, DataTypeId, DataValue, DateTime, EUInformation, ExtensionObject, LocalizedText, NodeId, ObjectId,
    Range, StatusCode, VariableTypeId, Variant,
};

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

/// Build the site's nodes into `space` (namespace `ns`); the alarm nodes come from
/// `events::build`, called after this by the node manager.
pub fn build(space: &mut AddressSpace, ns: u16, site: &Site) {
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
    let mut asset_ids = Vec::with_capacity(site.assets.len());
    for a in &site.assets {
        let area = folder(space, &root, format!("{}/{}", site.name, a.area), &a.area, false);
        let unit = folder(space, &area, format!("{}/{}/{}", site.name, a.area, a.unit), &a.unit, false);
        let path = format!("{}/{}/{}/{}", site.name, a.area, a.unit, a.name);
        let id = folder(space, &unit, path, &a.name, true);
        asset_ids.push(id);
    }
    for t in &site.tags {
        let parent = match t.asset {
            Some(a) => asset_ids[a].clone(),
            None => {
                let d = &site.devices[t.device].name;
                folder(space, &root, format!("{}/{}", site.name, d), d, true)
            }
        };
        variable(space, ns, t, &parent);
    }
}

fn variable(space: &mut AddressSpace, ns: u16, t: &Tag, parent: &NodeId) {
    let id = tag_node(ns, &t.name);
    let mut access = AccessLevel::CURRENT_READ | AccessLevel::HISTORY_READ;
    if t.writable {
        access |= AccessLevel::CURRENT_WRITE;
    }
    let data_type = if is_bool(t) { DataTypeId::Boolean } else { DataTypeId::Double };
    let initial = DataValue {
        value: None,
        status: Some(StatusCode::BadWaitingForInitialData),
        source_timestamp: None,
        server_timestamp: Some(DateTime::now()),
        ..Default::default()
    };
    let mut b = VariableBuilder::new(&id, t.name.as_str(), t.name.as_str())
        .data_type(data_type)
        .value_rank(-1)
        .access_level(access)
        .user_access_level(access)
        .historizing(true)
        .minimum_sampling_interval(t.poll.as_secs_f64() * 1000.0)
        .has_type_definition(VariableTypeId::AnalogItemType)
        .organized_by(parent.clone());
    if !t.description.is_empty() {
        b = b.description(LocalizedText::from(&*t.description));
    }
    b.insert(space);
    if let Some(opcua::server::address_space::NodeType::Variable(v)) = space.find_mut(&id) {
        v.set_data_value(initial);
    }
    if let (Some(low), Some(high)) = (t.low, t.high) {
        let range = ExtensionObject::from_message(Range { low, high });
        property(space, ns, &id, &t.name, "EURange", DataTypeId::Range, Variant::from(range));
    }
    let eu = EUInformation {
        namespace_uri: "http://www.opcfoundation.org/UA/units/un/cefact".into(),
        unit_id: -1,
        display_name: LocalizedText::from(&*t.units),
        description: LocalizedText::from(&*t.units),
    };
    let eu = Variant::from(ExtensionObject::from_message(eu));
    property(space, ns, &id, &t.name, "EngineeringUnits", DataTypeId::EUInformation, eu);
}

fn property(space: &mut AddressSpace, ns: u16, of: &NodeId, tag: &str, name: &str, dt: DataTypeId, value: Variant) {
    let id = opaque(ns, &format!("prop:{tag}/{name}"));
    VariableBuilder::new(&id, name, name)
        .data_type(dt)
        .value_rank(-1)
        .value(value)
        .access_level(AccessLevel::CURRENT_READ)
        .user_access_level(AccessLevel::CURRENT_READ)
        .has_type_definition(VariableTypeId::PropertyType)
        .property_of(of.clone())
        .insert(space);
}

/// A stored sample as the Value of its variable (SourceTimestamp = the sample's time).
pub fn data_value(tag: &Tag, s: &Sample) -> DataValue {
    let value = (!s.value.is_nan()).then(|| variant(tag, s.value));
    let status = status_of(s.quality);
    DataValue {
        value,
        status: Some(status),
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

/// The namespace index of the site's nodes in `manager`.
pub fn ns_of<T: opcua::server::node_manager::memory::InMemoryNodeManagerImpl>(m: &InMemoryNodeManager<T>) -> u16 {
    m.namespaces().keys().copied().max().unwrap_or(1)
}

/// The NodeId of every tag, by tag index (made once: `update` runs for every batch).
pub fn tag_nodes(ns: u16, site: &Site) -> Vec<NodeId> {
    site.tags.iter().map(|t| tag_node(ns, &t.name)).collect()
}

/// Set the newest samples on their variables (subscriptions are notified); `ids` from
/// [`tag_nodes`].
pub fn update<T: opcua::server::node_manager::memory::InMemoryNodeManagerImpl>(
    manager: &InMemoryNodeManager<T>,
    subscriptions: &SubscriptionCache,
    site: &Site,
    ids: &[NodeId],
    batch: &[Sample],
) {
    // only the newest sample of each tag in the batch matters to a Value
    let mut newest: BTreeMap<usize, &Sample> = BTreeMap::new();
    for s in batch {
        newest.insert(s.tag, s);
    }
    let values = newest.into_iter().filter_map(|(i, s)| Some((ids.get(i)?, None, data_value(site.tags.get(i)?, s))));
    if let Err(e) = manager.set_values(subscriptions, values) {
        tracing::warn!("OPC UA values not updated: {e}");
    }
}
