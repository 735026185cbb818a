//! Build the immutable snapshot that terminals see from the core's state.

use mimic_drivers::Quality;

use super::StoreStatus;
use crate::alarms::AlarmState;
use crate::core::State;
use crate::ipc::{
    LiveAlarm, LiveAlarmPlace, LiveAlarmState, LiveAlarmSummary, LiveAsset, LiveDevice, LivePriority, LiveSnapshot,
    LiveStore, LiveTag, TagQuality,
};

/// The snapshot, with the whole tag table only when `with_tags` (subscribers want it;
/// terminals with a view get their rows from the socket's tag table instead).
pub fn build_with(state: &State, store: &StoreStatus, now_ms: i64, with_tags: bool) -> LiveSnapshot {
    let site = &state.site;
    let tags: Vec<LiveTag> = if !with_tags { Vec::new() } else { live_tags(state) };
    let devices = live_devices(state);
    let assets = live_assets(state);
    let mut alarms = live_alarms(state, now_ms);
    let mut sum = state.alarms.summary(now_ms);
    if let Some(alarm) = store_alarm(store, now_ms) {
        sum.unacked += 1;
        sum.by_priority[alarm.priority.index()] += 1;
        alarms.insert(0, alarm);
    }
    let alarm_summary = LiveAlarmSummary {
        flood: sum.flood,
        activations_10min: u32::try_from(sum.activations_10min).unwrap_or(u32::MAX),
        per_position: sum
            .positions
            .iter()
            .map(|p| (p.position.clone(), u32::try_from(p.activations_10min).unwrap_or(u32::MAX)))
            .collect(),
        time_in_flood_ms: sum.time_in_flood_ms,
        unacked: sum.unacked,
        active: alarms.iter().filter(|a| a.state.active()).count(),
        shelved: sum.shelved,
        by_priority: sum.by_priority,
        floods: sum
            .positions
            .iter()
            .filter_map(|p| {
                Some(crate::ipc::LiveFlood {
                    position: p.position.clone(),
                    since_ms: p.flood_since?,
                    held_back: p.held_back,
                })
            })
            .collect(),
        held_back: sum.held_back,
    };
    LiveSnapshot {
        alarms,
        alarm_summary,
        requests: requests(state),
        audit: Vec::new(),
        life: Vec::new(),
        loops: Vec::new(),
        site: site.name.clone(),
        now_ms,
        version: state.version,
        tags,
        devices,
        assets,
        store: LiveStore {
            samples: store.samples,
            bytes: store.bytes,
            last_commit_ms: store.last_commit_ms,
            error: store.error.clone(),
        },
    }
}

/// The devices' communication state, with their bad tags.
fn live_devices(state: &State) -> Vec<LiveDevice> {
    let site = &state.site;
    site.devices
        .iter()
        .zip(&state.devices)
        .enumerate()
        .map(|(di, (d, st))| {
            let tags = state.device_points.get(di).map_or(0, Vec::len);
            LiveDevice {
                name: d.name.clone(),
                protocol: d.protocol.name().into(),
                endpoint: d.protocol.endpoint(),
                connected: st.connected,
                last_poll_ms: st.last_poll_ms,
                latency_ms: st.last_latency_us.map(|us| us as f64 / 1000.0),
                polls: st.polls,
                errors: st.errors,
                timeouts: st.timeouts,
                exceptions: st.exceptions,
                garbled: st.garbled,
                reconnects: st.reconnects,
                last_error: st.last_error.clone(),
                tags,
                bad_tags: state.health.device_bad.get(di).map_or(0, |&n| n as usize),
            }
        })
        .collect()
}

/// The assets: their tags, bad tags, running state and the models' latest findings.
fn live_assets(state: &State) -> Vec<LiveAsset> {
    let site = &state.site;
    let counts = asset_tags(state);
    site.assets
        .iter()
        .zip(counts)
        .map(|(a, (tags, bad_tags, running))| LiveAsset {
            area: a.area.clone(),
            unit: a.unit.clone(),
            name: a.name.clone(),
            description: a.description.clone(),
            tags,
            bad_tags,
            running,
            anomaly: state
                .anomaly
                .iter()
                .find(|m| m.asset == a.name)
                .and_then(|m| m.last.as_ref())
                .map(|v| if v.threshold > 0.0 { v.score / v.threshold } else { 0.0 }),
            rul: state.insights.rul.get(&a.name).cloned(),
            diagnosis: state.insights.diagnoses.get(&a.name).cloned(),
        })
        .collect()
}

/// The alarm engine's alarms.
fn live_alarms(state: &State, now_ms: i64) -> Vec<LiveAlarm> {
    let site = &state.site;
    let units =
        |tag: Option<usize>| tag.and_then(|t| site.tags.get(t)).map_or_else(String::new, |t| t.units.to_string());
    state
        .alarms
        .rows(now_ms)
        .into_iter()
        .map(|a| LiveAlarm {
            id: a.id.0 as u64,
            place: (&a.place).into(),
            kind: a.kind.to_string(),
            priority: LivePriority::ALL[a.priority as usize],
            state: match a.state {
                AlarmState::Normal => LiveAlarmState::Normal,
                AlarmState::UnackActive => LiveAlarmState::UnackActive,
                AlarmState::AckActive => LiveAlarmState::AckActive,
                AlarmState::UnackRtn => LiveAlarmState::UnackRtn,
            },
            message: a.message.clone(),
            value: a.value.filter(|v| v.is_finite()),
            limit: a.limit,
            units: units(a.tag_index),
            active_since_ms: a.active_since,
            acked_by: a.acked_by.as_ref().map(|(u, _)| u.clone()),
            shelved_until_ms: a.shelved_until,
            shelve_reason: a.shelve_reason.clone(),
            out_of_service: a.out_of_service,
            flood_held: a.flood_held,
            first_out: a.first_out,
            chattering: a.chattering,
            stale: a.stale,
            diagnosis: None,
        })
        .collect::<Vec<_>>()
}

/// Every tag as terminals see it.
fn live_tags(state: &State) -> Vec<LiveTag> {
    let site = &state.site;
    site.tags
        .iter()
        .zip(&state.tags)
        .map(|(t, s)| {
            let (quality, reason) = TagQuality::with_reason(s.quality);
            LiveTag {
                name: t.name.clone(),
                asset: t.asset.and_then(|a| site.assets.get(a)).map(|a| a.name.clone()).unwrap_or_default(),
                description: t.description.to_string(),
                units: t.units.to_string(),
                decimals: t.decimals,
                value: s.value,
                quality,
                reason,
                recv_ms: s.recv_ms,
                stale: s.quality == Quality::Uncertain(mimic_drivers::Reason::Stale),
                writable: t.writable,
                low: t.low,
                high: t.high,
                recent: s.recent.iter().collect(),
            }
        })
        .collect()
}

/// Per asset: its tags, its bad tags and its running state (from its first tag called
/// `*.running`, when it has one and it is Good), from the core's counters.
fn asset_tags(state: &State) -> Vec<(usize, usize, Option<bool>)> {
    let h = &state.health;
    (0..state.site.assets.len())
        .map(|a| {
            let running = h.asset_running.get(a).copied().flatten().and_then(|t| state.tags.get(t));
            (
                h.asset_tags.get(a).map_or(0, |&n| n as usize),
                h.asset_bad.get(a).map_or(0, |&n| n as usize),
                running.and_then(|s| s.value.filter(|_| s.quality.is_good()).map(|v| v != 0.0)),
            )
        })
        .collect()
}

/// Id of the system alarm "the historian cannot store": outside the alarm engine's ids.
pub const STORE_ALARM_ID: u64 = u64::MAX;
/// Id of the system alarm "the wall clock stepped".
pub const CLOCK_ALARM_ID: u64 = u64::MAX - 1;

/// Adds a system alarm (not in the alarm engine) to a built snapshot, counted in its
/// summary as unacknowledged and active.
pub fn push_system_alarm(snap: &mut LiveSnapshot, alarm: LiveAlarm) {
    let sum = &mut snap.alarm_summary;
    sum.unacked += 1;
    sum.active += 1;
    if let Some(n) = sum.by_priority.get_mut(alarm.priority.index()) {
        *n += 1;
    }
    snap.alarms.insert(0, alarm);
}

/// The system alarm shown for a while after the wall clock stepped (see
/// [`super::clock`]); `since_ms`: when it was seen, on the new clock.
pub fn clock_alarm(step: &super::clock::Step, since_ms: i64) -> LiveAlarm {
    let meaning = if step.by_ms() < 0 {
        "polling goes on; samples older than their tag's last stored one are stored 1 ms after it, \
         Uncertain (time adjusted)"
    } else {
        "polling goes on; stored history has a gap where the clock jumped"
    };
    system_alarm(CLOCK_ALARM_ID, LivePriority::Medium, format!("{}: {meaning}", step.describe()), Some(since_ms))
}

/// The system alarm raised while historian commits fail (disk full, I/O error). It is
/// not in the alarm engine: it is on while the store status carries an error and for
/// [`super::writer::ALARM_HOLD`] after the last failure, then clears itself.
fn store_alarm(store: &StoreStatus, now_ms: i64) -> Option<LiveAlarm> {
    if !store.in_alarm(now_ms) {
        return None;
    }
    let error = store.error.as_ref().or(store.last_error.as_ref())?;
    let now = if store.error.is_some() { "kept in memory, retrying" } else { "storing again, watching" };
    let message = format!("historian cannot store samples ({now}): {error}");
    Some(system_alarm(STORE_ALARM_ID, LivePriority::High, message, store.failing_since_ms))
}

/// An alarm of mimic itself (asset `mimic`, area `system`), outside the alarm engine:
/// active and unacknowledged since `since_ms`.
pub fn system_alarm(id: u64, priority: LivePriority, message: String, since_ms: Option<i64>) -> LiveAlarm {
    LiveAlarm {
        id,
        place: LiveAlarmPlace { tag: String::new(), asset: "mimic".into(), area: "system".into() },
        kind: "system".into(),
        priority,
        state: LiveAlarmState::UnackActive,
        message,
        value: None,
        limit: None,
        units: String::new(),
        active_since_ms: since_ms,
        acked_by: None,
        shelved_until_ms: None,
        shelve_reason: None,
        out_of_service: false,
        flood_held: false,
        first_out: false,
        chattering: false,
        stale: false,
        diagnosis: None,
    }
}

fn requests(state: &State) -> Vec<crate::ipc::LiveRequest> {
    use crate::approvals::{Source, Status, Watch};
    let site = &state.site;
    let mut out: Vec<crate::ipc::LiveRequest> = state
        .approvals
        .all()
        .map(|r| {
            let t = &site.tags[r.tag];
            let asset = t.asset.and_then(|a| site.assets.get(a)).map_or_else(String::new, |a| a.name.clone());
            let status = match &r.status {
                Status::Pending => "pending".to_string(),
                Status::Sent { .. } => "written".to_string(),
                Status::Done { outcome, .. } if outcome.is_confirmed() => match &r.watch {
                    Watch::Watching { .. } => "confirmed, settling".to_string(),
                    Watch::Held { .. } => "confirmed, effect held".to_string(),
                    Watch::Off { reason, .. } => format!("effect off: {reason}"),
                    Watch::Idle => "confirmed".to_string(),
                },
                Status::Done { outcome, .. } => format!("{outcome}"),
                Status::Rejected { by, reason } => format!("rejected by {by}: {reason}"),
                Status::Refused { reason } => format!("refused: {reason}"),
                Status::Expired { reason } => format!("expired: {reason}"),
            };
            let title = match &r.source {
                Source::Manual => format!("manual entry by {}", r.requested_by),
                Source::Recommendation { rec } => format!("model recommendation {rec}"),
                Source::Sparkplug { metric } => format!("Sparkplug DCMD {metric}"),
                Source::Revert { of } => format!("revert of request {of}"),
            };
            crate::ipc::LiveRequest {
                id: r.id,
                asset,
                title,
                tag: t.name.clone(),
                current: state.tags[r.tag].value,
                proposed: r.value,
                units: t.units.to_string(),
                predicted_effect: r.effect.clone(),
                confidence: r.confidence,
                created_ms: r.requested_ms,
                // a request expires when the process moves, not at a time
                expires_ms: None,
                status,
                needs_second_approver: t.write.critical,
                revertable: state.approvals.revertable(r.id),
                previous: r.previous,
                approvals: r
                    .signatures
                    .iter()
                    .map(|s| format!("{} at {} — {}", s.full_name, crate::time::format_ts(s.ts_ms), s.meaning))
                    .collect(),
            }
        })
        .collect();
    out.reverse();
    out
}
