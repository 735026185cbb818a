//! Alarm conditions: limit hysteresis, rate of change over a window, and the on/off-delay
//! debounce that turns a raw condition into an active one. All times are passed in.

use std::collections::VecDeque;

use super::AlarmKind;

/// The raw condition of a limit alarm after one value, given the previous one: it comes
/// on beyond the limit and goes off only once the value is back inside limit ∓ deadband.
pub fn limit_condition(kind: &AlarmKind, limit: f64, deadband: f64, was: bool, v: f64) -> bool {
    match kind {
        AlarmKind::HiHi | AlarmKind::Hi | AlarmKind::RateOfChange => {
            if was {
                v >= limit - deadband
            } else {
                v > limit
            }
        }
        AlarmKind::Lo | AlarmKind::LoLo => {
            if was {
                v <= limit + deadband
            } else {
                v < limit
            }
        }
        AlarmKind::BadQuality | AlarmKind::Model { .. } => was,
    }
}

/// Recent samples of one tag, for the rate of change over a window.
#[derive(Clone, Debug, Default)]
pub struct RateWindow {
    samples: VecDeque<(i64, f64)>,
}

impl RateWindow {
    /// Add a sample and return the absolute change per second between it and the oldest
    /// sample inside the window (or, when the window holds no other, the newest one
    /// before it). `None` when there is nothing to compare with.
    pub fn push(&mut self, ts_ms: i64, v: f64, window_ms: i64) -> Option<f64> {
        let start = ts_ms.saturating_sub(window_ms);
        // Keep one sample at or before the window start as a fallback reference.
        while self.samples.len() >= 2 && self.samples[1].0 < start {
            self.samples.pop_front();
        }
        let reference = match self.samples.front() {
            Some(&(t, _)) if t < start && self.samples.len() >= 2 => self.samples.get(1).copied(),
            other => other.copied(),
        };
        self.samples.push_back((ts_ms, v));
        let (t0, v0) = reference?;
        let dt = ts_ms.checked_sub(t0).filter(|&d| d > 0)?;
        let rate = (v - v0).abs() * 1000.0 / dt as f64;
        rate.is_finite().then_some(rate)
    }
}

/// Turns a raw condition into an active one: on after the raw condition held for the
/// on-delay, off after it was gone for the off-delay, both measured from sample times.
#[derive(Clone, Debug, Default)]
pub struct Debounce {
    /// The raw condition and the time it last changed.
    pub raw: bool,
    pub since: Option<i64>,
    /// The debounced condition.
    pub active: bool,
}

impl Debounce {
    /// Record the raw condition at `ts_ms`.
    pub fn feed(&mut self, raw: bool, ts_ms: i64) {
        if raw != self.raw || self.since.is_none() {
            self.raw = raw;
            self.since = Some(ts_ms);
        }
    }

    /// If a pending change has matured by `now_ms`, apply it and return the new active
    /// condition with the time it matured.
    pub fn settle(&mut self, now_ms: i64, on_delay_ms: i64, off_delay_ms: i64) -> Option<(bool, i64)> {
        if self.raw == self.active {
            return None;
        }
        let since = self.since?;
        let delay = if self.raw { on_delay_ms } else { off_delay_ms };
        let due = since.saturating_add(delay);
        if now_ms >= due {
            self.active = self.raw;
            Some((self.active, due))
        } else {
            None
        }
    }
}
