//! Alarm-system figures: flood per operator position (by the site's [`FloodPolicy`]), first-out in a burst, chattering,
//! stale. Everything is computed from activation timestamps passed in.

use std::collections::{HashMap, VecDeque};

use super::AlarmId;
use crate::config::FloodPolicy;

/// The standards' alarm-rate figure: more than this many alarms in [`FLOOD_WINDOW_MS`]
/// (the default flood of [`FloodPolicy`], and the KPI "periods with more than 10").
pub const FLOOD_LIMIT: usize = 10;
pub const FLOOD_WINDOW_MS: i64 = 10 * 60 * 1000;
/// Activations on one asset (or area) no more than this apart form one burst; the first
/// of a burst of two or more is its first-out.
pub const BURST_WINDOW_MS: i64 = 10_000;
/// An alarm chatters with this many activations within [`CHATTER_WINDOW_MS`].
pub const CHATTER_COUNT: usize = 3;
pub const CHATTER_WINDOW_MS: i64 = 60_000;
/// An alarm active for longer than this is stale.
pub const STALE_AFTER_MS: i64 = 24 * 60 * 60 * 1000;

/// Activations of one operator position over the flood window, and its flood history:
/// the one flood definition, used by the live engine and by the KPIs of a period alike.
/// A flood starts at the activation that makes more than the policy's `limit` in the
/// window, and ends at the moment fewer than its `end_below` remain.
#[derive(Clone, Debug)]
pub struct FloodMeter {
    limit: usize,
    end_below: usize,
    window_ms: i64,
    /// Activation times inside the window, oldest first.
    recent: VecDeque<i64>,
    flood_since: Option<i64>,
    total_ms: i64,
    floods: u32,
}

impl Default for FloodMeter {
    fn default() -> FloodMeter {
        FloodMeter::new(&FloodPolicy::default())
    }
}

impl FloodMeter {
    pub fn new(policy: &FloodPolicy) -> FloodMeter {
        FloodMeter {
            limit: policy.limit,
            end_below: policy.end_below.clamp(1, policy.limit.max(1)),
            window_ms: policy.window_ms.max(1),
            recent: VecDeque::new(),
            flood_since: None,
            total_ms: 0,
            floods: 0,
        }
    }

    /// Count an activation at `ts_ms`. `Some(t)` when a flood ended at `t` before it
    /// (see [`FloodMeter::advance`]).
    pub fn record(&mut self, ts_ms: i64) -> Option<i64> {
        let ended = self.advance(ts_ms);
        let at = self.recent.partition_point(|&t| t <= ts_ms);
        self.recent.insert(at, ts_ms);
        if self.flood_since.is_none() && self.recent.len() > self.limit {
            self.flood_since = Some(ts_ms);
            self.floods += 1;
        }
        ended
    }

    /// Forget activations that left the window by `now_ms`. `Some(t)` when the flood in
    /// progress ended at `t` (the moment the count fell below `end_below`).
    pub fn advance(&mut self, now_ms: i64) -> Option<i64> {
        let mut ended = None;
        while let Some(&oldest) = self.recent.front() {
            let leaves = oldest.saturating_add(self.window_ms);
            if leaves > now_ms {
                break;
            }
            self.recent.pop_front();
            if let Some(since) = self.flood_since
                && self.recent.len() < self.end_below
            {
                self.total_ms += leaves.saturating_sub(since).max(0);
                self.flood_since = None;
                ended = Some(leaves);
            }
        }
        ended
    }

    /// Activations in the window ending at `now_ms` (call [`FloodMeter::advance`] first).
    pub fn count(&self) -> usize {
        self.recent.len()
    }

    pub fn in_flood(&self) -> bool {
        self.flood_since.is_some()
    }

    /// When the flood in progress started.
    pub fn flood_since(&self) -> Option<i64> {
        self.flood_since
    }

    pub fn floods(&self) -> u32 {
        self.floods
    }

    /// Total time in flood up to `now_ms` (call [`FloodMeter::advance`] first).
    pub fn time_in_flood(&self, now_ms: i64) -> i64 {
        self.total_ms + self.flood_since.map_or(0, |s| now_ms.saturating_sub(s).max(0))
    }
}

#[derive(Clone, Debug)]
struct Burst {
    first: AlarmId,
    last_ms: i64,
}

/// Bursts of activations per asset (or area): which alarm came first.
#[derive(Clone, Debug, Default)]
pub struct Bursts {
    by_key: HashMap<String, Burst>,
}

impl Bursts {
    /// Record an activation of `alarm` on `key` at `ts_ms`. Returns the alarm that is
    /// first-out of the burst when this activation makes it a burst of two or more.
    pub fn activation(&mut self, key: &str, alarm: AlarmId, ts_ms: i64) -> Option<AlarmId> {
        match self.by_key.get_mut(key) {
            Some(b) if ts_ms.abs_diff(b.last_ms) <= BURST_WINDOW_MS.unsigned_abs() => {
                b.last_ms = b.last_ms.max(ts_ms);
                (b.first != alarm).then_some(b.first)
            }
            _ => {
                self.by_key.insert(key.to_string(), Burst { first: alarm, last_ms: ts_ms });
                None
            }
        }
    }
}

/// Keep only activations inside the chatter window ending at `latest_ms`.
pub fn prune_chatter(times: &mut VecDeque<i64>, latest_ms: i64) {
    while times.front().is_some_and(|&t| t.saturating_add(CHATTER_WINDOW_MS) <= latest_ms) {
        times.pop_front();
    }
}

/// Does an alarm with these activation times chatter at `now_ms`?
pub fn chattering(times: &VecDeque<i64>, now_ms: i64) -> bool {
    times.iter().filter(|&&t| t <= now_ms && t.saturating_add(CHATTER_WINDOW_MS) > now_ms).count() >= CHATTER_COUNT
}

/// Is an alarm active since `since_ms` stale at `now_ms`?
pub fn stale(since_ms: Option<i64>, now_ms: i64) -> bool {
    since_ms.is_some_and(|s| now_ms.saturating_sub(s) > STALE_AFTER_MS)
}
