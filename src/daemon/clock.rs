//! Wall-clock steps, and the time order of what the daemon stores.
//!
//! Everything that schedules runs on the monotonic clock: poll periods and reconnect
//! back-off (`mimic_drivers::device`), the core's one-second tick, snapshot publishing,
//! batch commits and retention (the writer thread), the users-file grace. A step of the
//! wall clock (someone setting the date, NTP stepping a box that booted without a
//! battery-backed clock, a restored VM) therefore neither stops nor bunches polling.
//! The wall clock only *stamps* samples, alarm events and audit entries. The policy for
//! a step, in order of what a plant engineer needs:
//!
//! 1. It is detected: [`ClockWatch`] compares, once a tick, how far the wall clock
//!    moved with how far the monotonic clock moved; more than [`STEP_THRESHOLD_MS`]
//!    apart is a step (NTP slewing moves well under a millisecond a second).
//! 2. It is recorded: an audit entry `clock_step` (the chain orders entries by
//!    sequence number, so it verifies across the step whatever the stamps say) and a
//!    system alarm on every terminal for [`STEP_ALARM_HOLD`] (measured on the monotonic
//!    clock), saying by how much and what it means for stored data.
//! 3. Running durations keep their length: the core shifts the times it measures from
//!    (receive times for staleness and heartbeats, alarm delays, shelving) by the step.
//! 4. Stored time never goes backwards per tag ([`Monotone`]): a sample older than the
//!    newest one stored for its tag is stored 1 ms after it, with quality Uncertain
//!    (time adjusted) if it was Good (a sample already Uncertain or Bad keeps its
//!    quality). After a step back by an hour, an hour of samples thus sits in the
//!    milliseconds after the last good stamp, flagged, until the wall clock catches up;
//!    trends stay in order and nothing is lost or overwritten. A step forward leaves a
//!    gap in time, which is what happened as far as the stamps can tell.

use std::time::Duration;

use mimic_drivers::{Quality, Reason};

use crate::core::Sample;

/// Wall and monotonic clocks disagreeing by more than this between two observations
/// is a step.
pub const STEP_THRESHOLD_MS: i64 = 1000;
/// How long the system alarm of a step stays on the terminals.
pub const STEP_ALARM_HOLD: Duration = Duration::from_secs(600);

/// A step of the wall clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    /// What the wall clock would read had it not stepped (ms since the epoch).
    pub expected_ms: i64,
    /// What it reads (ms since the epoch).
    pub now_ms: i64,
}

impl Step {
    /// Signed size of the step: negative when the clock went back.
    pub fn by_ms(&self) -> i64 {
        self.now_ms.saturating_sub(self.expected_ms)
    }

    /// One line for the audit log and the alarm.
    pub fn describe(&self) -> String {
        let by = self.by_ms();
        let dir = if by < 0 { "back" } else { "forward" };
        format!(
            "wall clock stepped {dir} by {} (expected {}, reads {})",
            span(by.unsigned_abs()),
            crate::time::format_ts(self.expected_ms),
            crate::time::format_ts(self.now_ms)
        )
    }
}

/// `1 d 2 h 3 min 4.500 s`, leaving out leading zero units.
fn span(ms: u64) -> String {
    let (d, h, m) = (ms / 86_400_000, ms / 3_600_000 % 24, ms / 60_000 % 60);
    let s = ms % 60_000;
    let mut out = String::new();
    for (n, unit) in [(d, "d"), (h, "h"), (m, "min")] {
        if n > 0 || !out.is_empty() {
            out.push_str(&format!("{n} {unit} "));
        }
    }
    out.push_str(&format!("{}.{:03} s", s / 1000, s % 1000));
    out
}

/// Watches the wall clock against the monotonic one. Pure: both readings come in.
#[derive(Clone, Debug)]
pub struct ClockWatch {
    wall_ms: i64,
    mono: Duration,
}

impl ClockWatch {
    /// Starts from one reading of both clocks (`mono`: monotonic time since any fixed
    /// origin, e.g. the daemon's start).
    pub fn new(wall_ms: i64, mono: Duration) -> ClockWatch {
        ClockWatch { wall_ms, mono }
    }

    /// Takes the next reading of both clocks; the step since the last one, if the
    /// clocks disagree by more than [`STEP_THRESHOLD_MS`].
    pub fn observe(&mut self, wall_ms: i64, mono: Duration) -> Option<Step> {
        let elapsed = i64::try_from(mono.saturating_sub(self.mono).as_millis()).unwrap_or(i64::MAX);
        let expected_ms = self.wall_ms.saturating_add(elapsed);
        self.wall_ms = wall_ms;
        self.mono = mono;
        let step = Step { expected_ms, now_ms: wall_ms };
        (step.by_ms().unsigned_abs() > STEP_THRESHOLD_MS.unsigned_abs()).then_some(step)
    }
}

/// Keeps each tag's stored times increasing (see the module doc): samples go through
/// [`Monotone::stamp`] on their way to the store.
#[derive(Clone, Debug)]
pub struct Monotone {
    /// Newest stored (or handed on) time of each tag, by tag index.
    newest: Vec<Option<i64>>,
}

impl Monotone {
    /// `newest`: the store's newest time of each tag, by tag index.
    pub fn new(newest: Vec<Option<i64>>) -> Monotone {
        Monotone { newest }
    }

    /// The sample as it is to be stored; `true` when its time was adjusted.
    pub fn stamp(&mut self, mut s: Sample) -> (Sample, bool) {
        if s.tag >= self.newest.len() {
            self.newest.resize(s.tag + 1, None);
        }
        let newest = &mut self.newest[s.tag];
        let adjusted = match *newest {
            Some(n) if s.ts_ms < n => {
                s.ts_ms = n.saturating_add(1);
                if s.quality.is_good() {
                    s.quality = Quality::Uncertain(Reason::TimeAdjusted);
                }
                true
            }
            _ => false,
        };
        *newest = Some(s.ts_ms);
        (s, adjusted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const DAY: i64 = 24 * HOUR;

    fn mono(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn steps_back_and_forward_are_seen_once_and_drift_is_not() {
        let t0 = 1_795_000_000_000;
        let mut w = ClockWatch::new(t0, mono(5_000));
        // ticks a second apart, a little late or early, and NTP slewing: no step
        assert_eq!(w.observe(t0 + 1_000, mono(6_000)), None);
        assert_eq!(w.observe(t0 + 2_300, mono(7_290)), None, "a late tick moves both clocks");
        assert_eq!(w.observe(t0 + 3_301, mono(8_290)), None, "1 ms of slew");
        assert_eq!(w.observe(t0 + 4_301 + STEP_THRESHOLD_MS, mono(9_290)), None, "at the threshold");
        // back by an hour
        let back = w.observe(t0 + 5_301 + STEP_THRESHOLD_MS - HOUR, mono(10_290)).expect("step back");
        assert_eq!(back.by_ms(), -HOUR);
        assert_eq!(back.expected_ms, t0 + 5_301 + STEP_THRESHOLD_MS);
        assert!(back.describe().starts_with("wall clock stepped back by 1 h 0 min 0.000 s"), "{}", back.describe());
        // the new time is the reference from now on: no second report
        assert_eq!(w.observe(t0 + 6_301 + STEP_THRESHOLD_MS - HOUR, mono(11_290)), None);
        // forward by a day, seen even with a long gap between observations
        let fwd = w.observe(t0 + 66_301 + STEP_THRESHOLD_MS - HOUR + DAY, mono(71_290)).expect("step forward");
        assert_eq!(fwd.by_ms(), DAY);
        assert!(fwd.describe().starts_with("wall clock stepped forward by 1 d 0 h 0 min 0.000 s"));
        // just over the threshold, both ways
        let t = t0 + 66_301 + STEP_THRESHOLD_MS - HOUR + DAY;
        assert_eq!(w.observe(t + 1_000 + 1_001, mono(72_290)).map(|s| s.by_ms()), Some(1_001));
        assert_eq!(w.observe(t + 2_001 + 1_000 - 1_001, mono(73_290)).map(|s| s.by_ms()), Some(-1_001));
        // the monotonic clock never runs backwards; if it did, no panic and no overflow
        let _ = w.observe(i64::MIN, mono(0));
        let _ = w.observe(i64::MAX, mono(u64::MAX));
    }

    #[test]
    fn spans_read_like_a_clock() {
        assert_eq!(span(0), "0.000 s");
        assert_eq!(span(1_500), "1.500 s");
        assert_eq!(span(61_000), "1 min 1.000 s");
        assert_eq!(span(3_600_000), "1 h 0 min 0.000 s");
        assert_eq!(span(90_061_001), "1 d 1 h 1 min 1.001 s");
    }

    fn sample(tag: usize, ts_ms: i64, quality: Quality) -> Sample {
        Sample { tag, ts_ms, value: 1.0, quality }
    }

    #[test]
    fn stored_times_never_go_backwards_per_tag_and_adjusted_ones_are_flagged() {
        let bad = Quality::Bad(Reason::Timeout);
        let mut m = Monotone::new(vec![Some(10_000), None]);
        // in order: untouched, equal times too
        assert_eq!(m.stamp(sample(0, 10_000, Quality::Good)), (sample(0, 10_000, Quality::Good), false));
        assert_eq!(m.stamp(sample(0, 11_000, Quality::Good)), (sample(0, 11_000, Quality::Good), false));
        // the clock went back an hour: 1 ms after the newest, flagged
        let flagged = Quality::Uncertain(Reason::TimeAdjusted);
        assert_eq!(m.stamp(sample(0, 11_000 - HOUR, Quality::Good)), (sample(0, 11_001, flagged), true));
        assert_eq!(m.stamp(sample(0, 12_000 - HOUR, bad)), (sample(0, 11_002, bad), true), "bad stays bad");
        let oor = Quality::Uncertain(Reason::OutOfRange);
        assert_eq!(m.stamp(sample(0, 13_000 - HOUR, oor)), (sample(0, 11_003, oor), true));
        // another tag, never stored before: whatever comes first is fine
        assert_eq!(m.stamp(sample(1, 5, Quality::Good)), (sample(1, 5, Quality::Good), false));
        // a tag the store did not know about (index past the end)
        assert_eq!(m.stamp(sample(4, 7, Quality::Good)), (sample(4, 7, Quality::Good), false));
        assert_eq!(m.stamp(sample(4, 6, Quality::Good)).0.ts_ms, 8);
        // the clock caught up: stamps are the clock's again
        assert_eq!(m.stamp(sample(0, 11_003, Quality::Good)), (sample(0, 11_003, Quality::Good), false));
        assert_eq!(m.stamp(sample(0, 11_500, Quality::Good)), (sample(0, 11_500, Quality::Good), false));
        // forward by a day: a gap, no flag
        assert!(!m.stamp(sample(0, 11_500 + DAY, Quality::Good)).1);
        // the end of time does not overflow
        let mut m = Monotone::new(vec![Some(i64::MAX)]);
        assert_eq!(m.stamp(sample(0, 0, Quality::Good)).0.ts_ms, i64::MAX);
    }
}
