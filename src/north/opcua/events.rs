//! Alarms as OPC UA events: every state change of an alarm (process and model alarms
//! alike: activated, cleared, acknowledged, shelved, …) is an `AlarmConditionType` event
//! notified on the Server object and the alarm's asset folder (or its device folder; the
//! site folder for an alarm of neither), with ActiveState, AckedState, Severity (from the
//! priority), Message, SourceName (the tag, else the asset), ConditionName (`A<n>`),
//! Retain and Time.
//!
//! Acknowledge: the site folder has a method `Acknowledge(EventId, Comment)` (the
//! arguments of AcknowledgeableConditionType's): the EventId of an alarm event names the
//! alarm, and the acknowledgement goes to the core as the session's user's act, with the
//! same authorisation and audit as the terminal's.
//!
//! What is missing of Alarms & Conditions (async-opcua 0.19 has the event types but no
//! condition instances, and a Call is routed by its method's namespace, so the standard
//! methods of namespace 0 never reach this node manager): no condition nodes in the
//! address space, so no ConditionId, no standard Acknowledge (i=9111) or ConditionRefresh
//! (i=3875) calls (a client sees the next state change), no branches, no Comment kept,
//! no ShelvingState or ConfirmedState.

use mimic_drivers::now_ms;
use opcua::core_namespace::events::AlarmConditionType;
use opcua::nodes::Event;
use opcua::server::SubscriptionCache;
use opcua::server::address_space::{AddressSpace, MethodBuilder};
use opcua::server::authenticator::UserToken;
use opcua::types::{
    Argument, ByteString, DataTypeId, LocalizedText, NamespaceMap, NodeId, StatusCode, UAString, Variant,
};

use super::Request;
use super::auth::{Asked, MimicAuth};
use super::space::{asset_node, ms_to_date, opaque, site_node};
use crate::alarms::{AlarmError, AlarmEvent, AlarmState, Priority};
use crate::config::Site;
use crate::core::{Act, Refusal};
use crate::users::Role;

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
    let message = if e.note.is_empty() {
        match &e.user {
            Some(u) => format!("{} {} by {u}", e.alarm, e.action),
            None => format!("{} {}", e.alarm, e.action),
        }
    } else {
        e.note.clone()
    };
    let time = ms_to_date(e.ts_ms);
    let mut ev = AlarmConditionType::new_event(
        AlarmConditionType::event_type_id(),
        id,
        LocalizedText::from(message.as_str()),
        &NamespaceMap::new(),
        time,
    );
    let place = &e.place;
    let source = place.tag.clone().or_else(|| place.asset.clone()).unwrap_or_else(|| site.name.clone());
    let source_node =
        match (&place.tag, place.asset.as_ref().and_then(|a| site.assets.iter().position(|x| &x.name == a))) {
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
    let notifier = match place.asset.as_ref().and_then(|a| site.assets.iter().position(|x| &x.name == a)) {
        Some(a) => asset_node(ns, site, a),
        None => match place.tag.as_ref().and_then(|t| site.tag_index(t)) {
            Some(i) => {
                let t = &site.tags[i];
                opaque(ns, &format!("folder:{}/{}", site.name, site.devices[t.device].name))
            }
            None => site_node(ns, site),
        },
    };
    (ev, notifier)
}

/// Notify subscribers of these alarm events: on the alarm's notifier (asset or device
/// folder, else the site folder), which async-opcua passes on to the Server object's
/// subscribers too.
pub fn publish(ns: u16, subscriptions: &SubscriptionCache, site: &Site, events: &[AlarmEvent]) {
    let built: Vec<(AlarmConditionType, NodeId)> =
        events.iter().enumerate().map(|(i, e)| event(site, ns, e, i as u64)).collect();
    subscriptions.notify_events(built.iter().map(|(ev, notifier)| (ev as &dyn Event, notifier)));
}

/// The NodeId of the site folder's Acknowledge method.
pub fn ack_method(ns: u16) -> NodeId {
    opaque(ns, "method:Acknowledge")
}

fn argument(name: &str, data_type: DataTypeId, description: &str) -> Argument {
    Argument {
        name: name.into(),
        data_type: data_type.into(),
        value_rank: -1,
        array_dimensions: None,
        description: LocalizedText::from(description),
    }
}

/// The Acknowledge method on the site folder.
pub fn build(space: &mut AddressSpace, ns: u16, site: &Site) {
    let id = ack_method(ns);
    let args = [
        argument("EventId", DataTypeId::ByteString, "The EventId of an event of the alarm to acknowledge"),
        argument("Comment", DataTypeId::LocalizedText, "Not kept"),
    ];
    MethodBuilder::new(&id, "Acknowledge", "Acknowledge")
        .description(LocalizedText::from("Acknowledge the alarm of an event, as the session's user"))
        .component_of(site_node(ns, site))
        .executable(true)
        .user_executable(true)
        .input_args(space, &opaque(ns, "method:Acknowledge/InputArguments"), &args)
        .insert(space);
}

/// The alarm number an EventId names (`A<n>-<ms>-<seq>`).
pub fn alarm_of_event(id: &[u8]) -> Option<u64> {
    std::str::from_utf8(id).ok()?.split('-').next()?.strip_prefix('A')?.parse().ok()
}

/// Acknowledge the alarm of the EventId in `args`, as the session's user, through the
/// core (authorised and audited there like a terminal's acknowledgement).
pub async fn acknowledge(auth: &MimicAuth, token: &UserToken, args: &[Variant]) -> StatusCode {
    let Some(Variant::ByteString(event)) = args.first() else {
        return StatusCode::BadInvalidArgument;
    };
    let Some(id) = event.value.as_deref().and_then(alarm_of_event) else {
        return StatusCode::BadEventIdUnknown;
    };
    let user = MimicAuth::user(token);
    let viewer = auth.role(token) < Role::Operator;
    match auth.ask(|reply| Request::Act { user, act: Act::AckAlarm { id }, reply }).await {
        Ok(_) => StatusCode::Good,
        Err(_) if viewer => StatusCode::BadUserAccessDenied,
        Err(Asked::Refused(r)) => {
            tracing::info!("OPC UA acknowledge of A{id} refused: {r}");
            refusal_status(&r)
        }
        Err(e @ Asked::Stopping) => {
            tracing::info!("OPC UA acknowledge of A{id} not done: {e}");
            StatusCode::BadInvalidState
        }
    }
}

/// The status of an acknowledgement the core refused.
fn refusal_status(why: &Refusal) -> StatusCode {
    match why {
        Refusal::Alarm(AlarmError::AlreadyAcknowledged(_) | AlarmError::NotActive(_)) => {
            StatusCode::BadConditionBranchAlreadyAcked
        }
        Refusal::Alarm(AlarmError::UnknownAlarm(_)) => StatusCode::BadEventIdUnknown,
        Refusal::Role { .. } => StatusCode::BadUserAccessDenied,
        _ => StatusCode::BadInvalidState,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_id_names_its_alarm() {
        assert_eq!(alarm_of_event(b"A12-1765000000000-0"), Some(12));
        for bad in [&b"12-1-0"[..], b"", b"A-1", b"Ax-1-0", &[0xff, 0x41]] {
            assert_eq!(alarm_of_event(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn refusals_of_the_alarm_engine_have_their_status() {
        use crate::alarms::AlarmId;
        let a = AlarmId(3);
        for (e, want) in [
            (AlarmError::AlreadyAcknowledged(a), StatusCode::BadConditionBranchAlreadyAcked),
            (AlarmError::NotActive(a), StatusCode::BadConditionBranchAlreadyAcked),
            (AlarmError::UnknownAlarm(a), StatusCode::BadEventIdUnknown),
            (AlarmError::NoUser, StatusCode::BadInvalidState),
        ] {
            assert_eq!(refusal_status(&Refusal::from(e.clone())), want, "{e}");
        }
        let role = Refusal::Role { who: "vic".into(), role: Role::Viewer, cmd: crate::users::Command::AckAlarm };
        assert_eq!(refusal_status(&role), StatusCode::BadUserAccessDenied);
        assert_eq!(refusal_status(&Refusal::NotAnAlarmAct), StatusCode::BadInvalidState);
    }

    #[test]
    fn an_alarm_event_carries_its_states_on_its_asset() {
        use crate::alarms::{AlarmId, AlarmKind, Change, Place};
        let site = crate::config::testkit::site(crate::config::testkit::PUMP);
        let raised = AlarmEvent {
            ts_ms: 1_000,
            alarm: AlarmId(4),
            place: Place::of_tag("speed", Some("P-1".into()), Some("a".into())),
            kind: AlarmKind::Hi,
            priority: Priority::High,
            action: Change::Raised,
            from: AlarmState::Normal,
            to: AlarmState::UnackActive,
            value: Some(95.0),
            user: None,
            note: "Speed high".into(),
        };
        let (ev, notifier) = event(&site, 2, &raised, 0);
        assert_eq!(notifier, asset_node(2, &site, 0), "notified on the asset folder");
        let base = &ev.base.base.base;
        assert_eq!((base.severity, base.source_name.as_ref()), (700, "speed"));
        assert_eq!(base.source_node, super::super::space::tag_node(2, "speed"));
        assert_eq!(base.message.text.as_ref(), "Speed high");
        assert!(ev.active_state.id && !ev.base.acked_state.id && ev.base.base.retain);
        assert_eq!(alarm_of_event(base.event_id.as_ref()), Some(4), "the EventId names the alarm");

        let acked = AlarmEvent {
            action: Change::Acknowledged,
            from: AlarmState::UnackActive,
            to: AlarmState::AckActive,
            user: Some("olga".into()),
            note: String::new(),
            ..raised
        };
        let (ev, _) = event(&site, 2, &acked, 1);
        assert_eq!(ev.base.base.base.message.text.as_ref(), "A4 acknowledged by olga", "no Debug text");
        assert!(ev.active_state.id && ev.base.acked_state.id);
    }

    #[test]
    fn severity_follows_priority() {
        let s = [Priority::Low, Priority::Medium, Priority::High, Priority::Critical].map(severity);
        assert!(s.windows(2).all(|w| w[0] < w[1]), "{s:?}");
    }
}
