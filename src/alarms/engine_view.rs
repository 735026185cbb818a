//! What the alarm engine shows: the operator's rows, one alarm's view, and the site's
//! summary (floods, rates and counts), all computed from the engine's state at a time.

use std::cmp::Reverse;

use super::super::metrics;
use super::{AlarmEngine, AlarmId, AlarmState, AlarmSummary, AlarmView, PositionRate};

impl AlarmEngine {
    /// The alarms an operator should see: every one not Normal, and every shelved or
    /// out-of-service one. Unacknowledged first, then by priority (highest first), then
    /// newest first.
    pub fn rows(&self, now_ms: i64) -> Vec<AlarmView> {
        let mut rows: Vec<AlarmView> = (0..self.alarms.len())
            .filter(|&i| {
                let a = &self.alarms[i];
                a.state != AlarmState::Normal || a.suppressed()
            })
            .map(|i| self.view_of(i, now_ms))
            .collect();
        rows.sort_by_key(|r| (!r.state.is_unacked(), Reverse(r.priority), Reverse(r.active_since), r.id));
        rows
    }

    /// One alarm, whatever its state.
    pub fn view(&self, id: AlarmId, now_ms: i64) -> Option<AlarmView> {
        (id.0 < self.alarms.len()).then(|| self.view_of(id.0, now_ms))
    }

    /// Flood, activation rates per operator position and counts, at `now_ms`.
    pub fn summary(&self, now_ms: i64) -> AlarmSummary {
        let mut s = AlarmSummary::default();
        for (position, meter) in &self.positions {
            let mut m = meter.clone();
            m.advance(now_ms);
            let p = PositionRate {
                position: position.clone(),
                activations_10min: m.count(),
                in_flood: m.in_flood(),
                time_in_flood_ms: m.time_in_flood(now_ms),
                floods: m.floods(),
                flood_since: m.flood_since(),
                held_back: 0,
            };
            s.flood |= p.in_flood;
            s.activations_10min += p.activations_10min;
            s.time_in_flood_ms += p.time_in_flood_ms;
            s.positions.push(p);
        }
        for i in 0..self.alarms.len() {
            // counted from the alarm's own state: a view (its strings cloned) per alarm per
            // snapshot is not needed to count
            let a = &self.alarms[i];
            s.by_state[a.state as usize] += 1;
            if a.state != AlarmState::Normal {
                s.by_priority[a.priority as usize] += 1;
            }
            s.unacked += usize::from(a.state.is_unacked());
            s.shelved += usize::from(a.shelved.is_some());
            s.out_of_service += usize::from(a.out_of_service.is_some());
            if a.flood_held {
                s.held_back += 1;
                let at = a.position();
                if let Some(p) = s.positions.iter_mut().find(|p| p.position == at) {
                    p.held_back += 1;
                }
            }
            s.chattering += usize::from(metrics::chattering(&a.activations, now_ms));
            s.stale += usize::from(a.state.is_active() && metrics::stale(a.active_since, now_ms));
        }
        s
    }

    pub(super) fn view_of(&self, i: usize, now_ms: i64) -> AlarmView {
        let a = &self.alarms[i];
        AlarmView {
            id: AlarmId(i),
            place: a.place.clone(),
            tag_index: a.tag,
            kind: a.kind.clone(),
            priority: a.priority,
            state: a.state,
            condition: a.cond.active,
            message: a.message.clone(),
            value: a.value,
            limit: a.limit,
            active_since: a.active_since.filter(|_| a.state != AlarmState::Normal || a.cond.active),
            acked_by: a.acked_by.clone(),
            shelved_until: a.shelved.as_ref().map(|s| s.until_ms),
            shelved_by: a.shelved.as_ref().map(|s| s.user.clone()),
            shelve_reason: a.shelved.as_ref().map(|s| s.reason.clone()),
            out_of_service: a.out_of_service.is_some(),
            out_of_service_reason: a.out_of_service.as_ref().map(|o| format!("{} ({})", o.reason, o.user)),
            flood_held: a.flood_held,
            first_out: a.first_out && a.state != AlarmState::Normal,
            chattering: metrics::chattering(&a.activations, now_ms),
            stale: a.state.is_active() && metrics::stale(a.active_since, now_ms),
        }
    }
}
