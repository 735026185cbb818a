//! The engine's flood suppression: whether an activation is held back (its position in
//! flood, its priority one the site's [`FloodPolicy`](crate::config::FloodPolicy) holds
//! back), and the release of what a flood held when it ends.

use std::time::Duration;

use super::{AlarmEngine, AlarmEvent, AlarmState, Change, FloodMeter};

impl AlarmEngine {
    /// An activation of alarm `i` at `ts_ms`: releases what a flood that ended by then
    /// held, and holds this one back (counted toward the flood all the same) when its
    /// position is still in flood and the policy says so. `true`: held.
    pub(super) fn held_by_flood(&mut self, i: usize, ts_ms: i64, events: &mut Vec<AlarmEvent>) -> bool {
        let position = self.alarms[i].position().to_string();
        self.flood_ended(&position, ts_ms, events);
        let Some(note) = self.flood_hold(i) else { return false };
        let a = &mut self.alarms[i];
        a.flood_held = true;
        a.acked_by = None;
        a.active_since = Some(ts_ms);
        let _ = self.positions.entry(position).or_insert_with(|| FloodMeter::new(&self.flood)).record(ts_ms);
        events.push(self.set_state(i, AlarmState::Normal, Change::FloodHeld, ts_ms, None, note));
        true
    }

    /// Why an activation of alarm `i` is held back now, when it is: its position is in
    /// flood and the policy holds back its priority.
    fn flood_hold(&self, i: usize) -> Option<String> {
        let a = &self.alarms[i];
        let m = self.positions.get(a.position()).filter(|m| m.in_flood())?;
        self.flood.holds_back(a.priority).then(|| {
            format!(
                "held back: alarm flood at {} ({} alarms in {}, more than {}); {} until the flood ends: {}",
                a.position(),
                m.count(),
                crate::time::format_duration(Duration::from_millis(u64::try_from(self.flood.window_ms).unwrap_or(0))),
                self.flood.limit,
                a.priority,
                a.message
            )
        })
    }

    /// Bring a position's flood meter to `ts_ms`; when its flood ended by then, release
    /// the alarms it held back.
    fn flood_ended(&mut self, position: &str, ts_ms: i64, events: &mut Vec<AlarmEvent>) {
        if let Some(at) = self.positions.get_mut(position).and_then(|m| m.advance(ts_ms)) {
            self.release(position, at, events);
        }
    }

    /// The flood at `position` ended at `at`: every alarm it held back is released, and
    /// annunciated then when its condition is still present.
    pub(super) fn release(&mut self, position: &str, at: i64, events: &mut Vec<AlarmEvent>) {
        for i in 0..self.alarms.len() {
            let a = &mut self.alarms[i];
            if !a.flood_held || a.position() != position {
                continue;
            }
            a.flood_held = false;
            let (to, note) = if a.cond.active {
                (
                    AlarmState::UnackActive,
                    format!("released: alarm flood at {position} over, still active: {}", a.message),
                )
            } else {
                (
                    AlarmState::Normal,
                    format!("released: alarm flood at {position} over, returned during it: {}", a.message),
                )
            };
            events.push(self.set_state(i, to, Change::FloodReleased, at, None, note));
        }
    }
}
