//! Alarms as OPC UA events: every state change of an alarm (process and model alarms
//! alike: activated, cleared, acknowledged, shelved, …) is an `AlarmConditionType` event
//! notified on the Server object, the site folder and the alarm's asset folder (or its
//! device folder), with ActiveState, AckedState, Severity (from the priority), Message,
//! SourceName (the tag, else the asset), ConditionName (`A<n>`), Retain and Time.
//!
//! What is missing of Alarms & Conditions (async-opcua 0.19 has the event types but no
//! condition instances): no condition nodes in the address space, so no Acknowledge or
//! ConditionRefresh methods (acknowledge in the terminal; a client sees the next state
//! change), no branches, no Comment, ShelvingState or ConfirmedState.

use mimic_drivers::now_ms;
use opcua::core_namespace::events::AlarmConditionType;
use opcua::nodes::Event;
use opcua::server::SubscriptionCache;
use opcua::server::node_manager::memory::{InMemoryNodeManager, InMemoryNodeManagerImpl};
use opcua::types::{ByteString, LocalizedText, NamespaceMap, NodeId, ObjectId, UAString};

use super::space::{asset_node, ms_to_date, ns_of, opaque, site_node};
use crate::alarms::{AlarmEvent, AlarmState, Priority};
use crate::config::Site;

/// OPC UA severity of a priority (1..=1000; Part 9 guidance bands).
pub fn severity(p: Priority) -> u16 {
    match p {
        Priority::Low => 200,
        Priority::Medium => 500,
        Priority::High => 700,
        Priority::Critical => 900,
    }
}

fn two_state(on: bool, true_text: &str, false_text: &str) -> opcua::core_namespace::events::TwoStateVariableType {
    let mut s = opcua::core_namespace::events::TwoStateVariableType {
        id: on,
        true_state: LocalizedText::from(true_text),
        false_state: LocalizedText::from(false_text),
        ..Default::default()
    };
    s.base.value = LocalizedText::from(if on { true_text } else { false_text });
    s
}

/// One alarm event as an AlarmConditionType event.
pub fn event(site: &Site, ns: u16, e: &AlarmEvent, seq: u64) -> (AlarmConditionType, NodeId) {
    let id = ByteString::from(format!("{}-{}-{seq}", e.alarm, e.ts_ms).into_bytes());
    let message = if e.note.is_empty() { format!("{} {:?}", e.alarm, e.action) } else { e.note.clone() };
    let time = ms_to_date(e.ts_ms);
    let mut ev = AlarmConditionType::new_event(
        AlarmConditionType::event_type_id(),
        id,
        LocalizedText::from(message.as_str()),
        &NamespaceMap::new(),
        time,
    );
    let source = e.tag.clone().or_else(|| e.asset.clone()).unwrap_or_else(|| site.name.clone());
    let source_node = match (&e.tag, e.asset.as_ref().and_then(|a| site.assets.iter().position(|x| &x.name == a))) {
        (Some(t), _) if site.tag_index(t).is_some() => super::space::tag_node(ns, t),
        (_, Some(a)) => asset_node(ns, site, a),
        _ => site_node(ns, site),
    };
    let base = &mut ev.base.base.base;
    base.source_node = source_node.clone();
    base.source_name = UAString::from(source.as_str());
    base.severity = severity(e.priority);
    base.receive_time = ms_to_date(now_ms());
    let cond = &mut ev.base.base;
    cond.condition_name = UAString::from(e.alarm.to_string().as_str());
    cond.retain = e.to != AlarmState::Normal;
    cond.enabled_state = two_state(true, "Enabled", "Disabled");
    let acked = !matches!(e.to, AlarmState::UnackActive | AlarmState::UnackRtn);
    ev.base.acked_state = two_state(acked, "Acknowledged", "Unacknowledged");
    ev.active_state = two_state(e.to.is_active(), "Active", "Inactive");
    ev.enabled_state = two_state(true, "Enabled", "Disabled");
    let notifier = match e.asset.as_ref().and_then(|a| site.assets.iter().position(|x| &x.name == a)) {
        Some(a) => asset_node(ns, site, a),
        None => match e.tag.as_ref().and_then(|t| site.tag_index(t)) {
            Some(i) => {
                let t = &site.tags[i];
                opaque(ns, &format!("folder:{}/{}", site.name, site.devices[t.device].name))
            }
            None => site_node(ns, site),
        },
    };
    (ev, notifier)
}

/// Notify subscribers of these alarm events.
pub fn publish<T: InMemoryNodeManagerImpl>(
    manager: &InMemoryNodeManager<T>,
    subscriptions: &SubscriptionCache,
    site: &Site,
    events: &[AlarmEvent],
) {
    let ns = ns_of(manager);
    let server: NodeId = ObjectId::Server.into();
    let root = site_node(ns, site);
    let built: Vec<(AlarmConditionType, NodeId)> =
        events.iter().enumerate().map(|(i, e)| event(site, ns, e, i as u64)).collect();
    let mut items: Vec<(&dyn Event, &NodeId)> = Vec::with_capacity(built.len() * 3);
    for (ev, notifier) in &built {
        items.push((ev, &server));
        items.push((ev, &root));
        if notifier != &root {
            items.push((ev, notifier));
        }
    }
    subscriptions.notify_events(items.into_iter());
}
