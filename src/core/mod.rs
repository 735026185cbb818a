//! The twin's decisions as pure functions: the one front door.
//!
//! Every input is a [`Msg`] — device readings, ticks, a user's act with who asks, a
//! Sparkplug DCMD, a model's recommendation, a write's outcome, the models worker's news, a
//! clock step, the audit's health — and [`update`] is the only place where decisions are
//! made: it authorises acts (role → command), runs them through the approvals, alarms and
//! asset life, and returns an [`Outcome`]: the reply for whoever asked and the [`Effect`]s
//! for the shell (`daemon`) to carry out. What needs I/O comes back as an effect and its
//! result as a message ([`Effect::Verify`] → [`Msg::Signed`], [`Job::LoadAnomaly`] →
//! [`Msg::AnomalyLoaded`]).
//!
//! The core holds the live tag table (value, quality, timestamps, a short recent history)
//! and the device statistics. It decides what each reading means (range check, NaN
//! guard, staleness), which samples go to the historian (deadband, quality changes,
//! heartbeat), and when the published snapshot has changed. It never touches a socket,
//! a file or a clock: time arrives inside messages. It uses the domain below it and
//! owns its message types; the terminal protocol (`ipc`) carries them as they are.

use std::sync::Arc;

use mimic_drivers::{DeviceEvent, DeviceStats, Quality, Reason};

use crate::alarms::{AlarmEngine, AlarmEvent, AlarmId};
use crate::config::Site;

mod act;
pub mod asset_life;
mod checkpoint;
mod door;
#[cfg(test)]
mod door_tests;
pub mod health;
pub mod life;
mod models;
mod msg;
mod news;
mod refusal;
mod remedies;
#[cfg(test)]
pub(crate) mod testkit;
mod who;
mod writes;
pub use crate::audit::Note;
pub use act::{Act, ModelKind};
pub use door::{MEANING_UNLOCK, REQUESTER, authorise, meaning};
pub use models::{DiagnoseRequest, Insights, LiveAnomaly, UnknownSignal, caution, request_diagnoses, score_models};
pub use msg::{Filing, Job, Loaded, ModelNews, Msg, Outcome, Purpose, Secret};
pub use news::{LiveDiagnosis, LiveOnset, LiveRul};
pub use refusal::Refusal;
pub use who::Identity;
pub use writes::{WRITE_EFFECT, approval_effects, watch_writes, write_outcome};

/// Samples kept per tag for sparklines: what the Tags screen draws (its Recent column is
/// 12 cells wide).
pub const RECENT: usize = 12;
/// A tag with a deadband still stores a sample at least this often (ms).
pub const HEARTBEAT_MS: i64 = 600_000;

/// One stored sample, addressed by the tag's index in the site.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub tag: usize,
    pub ts_ms: i64,
    pub value: f64,
    pub quality: Quality,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TagState {
    pub value: Option<f64>,
    pub quality: Quality,
    pub source_ms: Option<i64>,
    pub recv_ms: Option<i64>,
    /// The latest values, for sparklines (kept in the tag's own slot: no allocation).
    pub recent: Recent,
    last_stored: Option<(f64, Quality, i64)>,
}

impl Default for TagState {
    fn default() -> Self {
        TagState {
            value: None,
            quality: Quality::Bad(Reason::NotYetRead),
            source_ms: None,
            recv_ms: None,
            recent: Recent::default(),
            last_stored: None,
        }
    }
}

/// A tag's latest [`RECENT`] values, oldest first: a ring inside the tag's state (f32:
/// a sparkline needs no more), so 100,000 tags keep 5 MB of them and no heap blocks.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Recent {
    ring: [f32; RECENT],
    /// Where the oldest value is, once the ring is full.
    head: u8,
    len: u8,
}

impl Recent {
    /// Adds the newest value, dropping the oldest when full.
    pub fn push(&mut self, v: f32) {
        let len = usize::from(self.len);
        if len < RECENT {
            self.ring[len] = v;
            self.len += 1;
        } else {
            let head = usize::from(self.head);
            self.ring[head] = v;
            self.head = ((head + 1) % RECENT) as u8;
        }
    }

    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Oldest first.
    pub fn iter(&self) -> impl Iterator<Item = f32> + '_ {
        let (a, b) = self.ring[..self.len()].split_at(usize::from(self.head));
        b.iter().chain(a).copied()
    }
}

pub struct State {
    pub site: Arc<Site>,
    pub tags: Vec<TagState>,
    pub devices: Vec<DeviceStats>,
    /// For each device, its point index → tag index.
    pub device_points: Vec<Vec<usize>>,
    /// Bumped whenever anything visible changes.
    pub version: u64,
    /// Bad tags per device and asset.
    pub health: health::Health,
    pub alarms: AlarmEngine,
    pub approvals: crate::approvals::Approvals,
    /// Anomaly models of assets, scored live.
    pub anomaly: Vec<LiveAnomaly>,
    /// Remaining lives and diagnoses from the models worker.
    pub insights: Insights,
    /// Each asset's life: recent maintenance, where its present life starts
    /// ([`crate::core::asset_life::LiveLife::rebase_at`]), baseline re-basing.
    pub life: crate::core::asset_life::LiveLife,
    /// False after an audit commit failed (told by the shell): control writes are
    /// refused until one succeeds.
    pub audit_ok: bool,
    /// Model recommendations filed so far (their numbers).
    pub recommendations: u64,
    /// When the next scheduled audit checkpoint is due (see [`checkpoint::due`]).
    pub next_checkpoint_ms: Option<i64>,
}

impl State {
    pub fn new(site: Arc<Site>) -> Self {
        let mut device_points = vec![Vec::new(); site.devices.len()];
        for (ti, t) in site.tags.iter().enumerate() {
            if let Some(points) = device_points.get_mut(t.device) {
                points.push(ti);
            }
        }
        State {
            tags: vec![TagState::default(); site.tags.len()],
            devices: vec![DeviceStats::default(); site.devices.len()],
            device_points,
            version: 0,
            health: health::Health::new(&site),
            alarms: AlarmEngine::from_site(&site),
            approvals: crate::approvals::Approvals::new(),
            anomaly: Vec::new(),
            insights: Insights::default(),
            life: crate::core::asset_life::LiveLife {
                policy: crate::core::asset_life::RebasePolicy::of(&site),
                ..Default::default()
            },
            audit_ok: true,
            recommendations: 0,
            next_checkpoint_ms: None,
            site,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Append these samples to the historian.
    Store(Vec<Sample>),
    /// Alarm state changes: store and audit them.
    Alarm(Vec<AlarmEvent>),
    /// A decision of the approval path (audit note or device write).
    Approval(crate::approvals::Effect),
    /// An alarm of this asset became active: diagnose it from the recent history.
    Diagnose(models::DiagnoseRequest),
    /// Asset life to store (a settled prediction's error, a refitted baseline).
    Life(crate::core::asset_life::LifeEffect),
    /// Record this in the audit log (with the other entries of the message, in one
    /// transaction).
    Audit(Note),
    /// Record this in the audit log with the model version (one transaction).
    Record { note: Note, version: Option<crate::lifecycle::ModelVersion> },
    /// Check `who`'s re-entered secret (the users file, with its lock-out counters) and
    /// answer with [`Msg::Signed`]: the act waits for it.
    Verify { who: Identity, secret: Secret, purpose: Purpose },
    /// An authorised act's work in the store or a file; its result is the reply.
    Job(Job),
}

/// Apply one message: the one place where decisions are made. Pure: same state and
/// message, same outcome.
pub fn update(state: &mut State, msg: Msg) -> Outcome {
    match msg {
        Msg::Device(ev) => {
            let mut fx = on_device(state, ev);
            request_diagnoses(state, &mut fx);
            Outcome::effects(fx)
        }
        Msg::Tick { now_ms } => {
            on_tick(state, now_ms);
            let mut fx = life::tick(state, now_ms);
            fx.extend(score_models(state, now_ms));
            let events = state.alarms.tick(now_ms);
            if !events.is_empty() {
                state.version += 1;
                fx.push(Effect::Alarm(events));
            }
            request_diagnoses(state, &mut fx);
            if !state.insights.to_propose.is_empty() {
                fx.extend(remedies::propose(state, now_ms));
            }
            // the live values only when a request waits (a copy of every tag's value)
            if state.approvals.any_pending() {
                let view = LiveView::of(state);
                let expired = state.approvals.expire(&state.site, &view.live(state.audit_ok), now_ms);
                fx.extend(expired.into_iter().map(Effect::Approval));
            }
            fx.extend(watch_writes(state, state.audit_ok, now_ms));
            fx.extend(checkpoint::due(state, now_ms));
            Outcome::effects(fx)
        }
        other => door::handle(state, other),
    }
}

fn on_device(state: &mut State, ev: DeviceEvent) -> Vec<Effect> {
    let mut samples = Vec::with_capacity(ev.readings.len());
    let mut alarm_events = Vec::new();
    let Some(points) = state.device_points.get(ev.device) else {
        return Vec::new();
    };
    for r in &ev.readings {
        let Some(&ti) = points.get(r.point) else { continue };
        let tag = &state.site.tags[ti];
        let (value, quality) = judge(r.value, r.quality, tag.low, tag.high);
        let ts = &mut state.tags[ti];
        // A driver fed by a subscription repeats an unchanged value with its original
        // source timestamp: that is the same sample again, not a new one to store.
        let same_value =
            |(v, q, _): (f64, Quality, i64)| q == quality && (value.map_or(v.is_nan(), |x| x.to_bits() == v.to_bits()));
        let repeat = r.source_ms.is_some() && ts.source_ms == r.source_ms && ts.last_stored.is_some_and(same_value);
        let was = std::mem::replace(&mut ts.quality, quality);
        state.health.changed(&state.site, ti, was, quality);
        let ts = &mut state.tags[ti];
        ts.recv_ms = Some(r.recv_ms);
        ts.source_ms = r.source_ms;
        if let Some(v) = value {
            ts.value = Some(v);
            ts.recent.push(v as f32);
        }
        alarm_events.extend(state.alarms.evaluate(ti, value, quality, r.source_ms.unwrap_or(r.recv_ms)));
        let ts = &mut state.tags[ti];
        let stored_value = value.unwrap_or(f64::NAN);
        let store = match ts.last_stored {
            _ if repeat => false,
            None => true,
            Some((last_v, last_q, last_t)) => {
                tag.deadband <= 0.0
                    || last_q != quality
                    || r.recv_ms - last_t >= HEARTBEAT_MS
                    || (stored_value - last_v).abs() > tag.deadband
                    || (stored_value.is_nan() != last_v.is_nan())
            }
        };
        if store {
            ts.last_stored = Some((stored_value, quality, r.recv_ms));
            samples.push(Sample { tag: ti, ts_ms: r.source_ms.unwrap_or(r.recv_ms), value: stored_value, quality });
        }
    }
    if let Some(d) = state.devices.get_mut(ev.device) {
        *d = ev.stats;
    }
    state.version += 1;
    let mut effects = Vec::new();
    if !samples.is_empty() {
        effects.push(Effect::Store(samples));
    }
    if !alarm_events.is_empty() {
        effects.push(Effect::Alarm(alarm_events));
    }
    effects
}

/// An operator's act on the alarm system, by an already identified and authorised user.
/// Returns what to tell the user, and the effects (the alarm events to store and audit).
pub fn alarm_act(state: &mut State, user: &str, act: &Act, now_ms: i64) -> (Result<String, Refusal>, Vec<Effect>) {
    let id = |n: u64| AlarmId(usize::try_from(n).unwrap_or(usize::MAX));
    let result = match act {
        Act::AckAlarm { id: n } => state.alarms.acknowledge(id(*n), user, now_ms).map(|e| vec![e]),
        Act::AckAlarms { ids } => {
            Ok(state.alarms.acknowledge_all(&ids.iter().map(|&n| id(n)).collect::<Vec<_>>(), user, now_ms))
        }
        Act::ShelveAlarm { id: n, reason, minutes } => {
            let until = now_ms.saturating_add(i64::from(*minutes) * 60_000);
            state.alarms.shelve(id(*n), user, reason, until, now_ms).map(|e| vec![e])
        }
        Act::UnshelveAlarm { id: n } => state.alarms.unshelve(id(*n), user, now_ms),
        Act::SetOutOfService { id: n, on, reason } => {
            state.alarms.set_out_of_service(id(*n), *on, user, reason, now_ms)
        }
        _ => return (Err(Refusal::NotAnAlarmAct), Vec::new()),
    };
    match result {
        Ok(events) => {
            state.version += 1;
            let msg = match events.len() {
                0 => "nothing to do".to_string(),
                1 => format!("alarm {}: {}", events[0].alarm, events[0].to),
                n => format!("{n} alarms changed"),
            };
            (Ok(msg), if events.is_empty() { Vec::new() } else { vec![Effect::Alarm(events)] })
        }
        Err(e) => (Err(e.into()), Vec::new()),
    }
}

/// What a raw reading means for the plant: NaN/∞ are decode errors; outside the
/// engineering range is Uncertain (out of range) but keeps the value.
pub fn judge(value: Option<f64>, quality: Quality, low: Option<f64>, high: Option<f64>) -> (Option<f64>, Quality) {
    match value {
        None => (None, if quality.is_good() { Quality::Bad(Reason::DecodeError) } else { quality }),
        Some(v) if !v.is_finite() => (None, Quality::Bad(Reason::DecodeError)),
        Some(v) => {
            let outside = low.is_some_and(|lo| v < lo) || high.is_some_and(|hi| v > hi);
            let q = if outside && quality.is_good() { Quality::Uncertain(Reason::OutOfRange) } else { quality };
            (Some(v), q)
        }
    }
}

/// The live plant as the approval checks see it.
pub struct LiveView {
    pub values: Vec<Option<f64>>,
    pub good: Vec<bool>,
    pub device_ok: Vec<bool>,
}

impl LiveView {
    pub fn of(state: &State) -> LiveView {
        LiveView {
            values: state.tags.iter().map(|t| t.value).collect(),
            good: state.tags.iter().map(|t| t.quality.is_good()).collect(),
            device_ok: state.devices.iter().map(|d| d.connected).collect(),
        }
    }

    pub fn live(&self, audit_ok: bool) -> crate::approvals::Live<'_> {
        crate::approvals::Live { values: &self.values, good: &self.good, device_ok: &self.device_ok, audit_ok }
    }
}

fn on_tick(state: &mut State, now_ms: i64) {
    let mut changed = false;
    for (ts, tag) in state.tags.iter_mut().zip(&state.site.tags) {
        let limit = i64::try_from(tag.stale_after.as_millis()).unwrap_or(i64::MAX);
        if let Some(recv) = ts.recv_ms
            && !ts.quality.is_bad()
            && ts.quality != Quality::Uncertain(Reason::Stale)
            && now_ms.saturating_sub(recv) > limit
        {
            ts.quality = Quality::Uncertain(Reason::Stale);
            changed = true;
        }
    }
    if changed {
        state.version += 1;
    }
}

/// The wall clock read `now_ms` where it should have read `expected_ms` (a step, see
/// `daemon::clock`): the times durations are measured from (receive times for staleness
/// and heartbeats, alarm delays and shelving) move with it, so every running duration
/// keeps its length. Times already taken on the new clock (readings that arrived between
/// the step and its detection) stay: see [`rebase`].
pub fn clock_stepped(state: &mut State, expected_ms: i64, now_ms: i64) {
    let f = |t: i64| rebase(t, expected_ms, now_ms);
    for ts in &mut state.tags {
        ts.recv_ms = ts.recv_ms.map(f);
        if let Some((_, _, t)) = &mut ts.last_stored {
            *t = f(*t);
        }
    }
    state.alarms.shift_clock(f);
    state.version += 1;
}

/// A time `t` after a step from `expected_ms` to `now_ms`: moved by the step when it is
/// nearer the old clock's reading than the new one's (taken before the step), kept
/// otherwise (taken after it).
pub fn rebase(t: i64, expected_ms: i64, now_ms: i64) -> i64 {
    if t.abs_diff(expected_ms) < t.abs_diff(now_ms) { t.saturating_add(now_ms.saturating_sub(expected_ms)) } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mimic_drivers::Reading;

    const TAGS: &str = r#"[[tag]]
name = "a"
device = "plc"
address = "hr:0"
low = 0.0
high = 100.0
[[tag]]
name = "b"
device = "plc"
address = "hr:1"
deadband = 1.0
"#;

    fn state() -> State {
        testkit::state(TAGS)
    }

    fn ev(readings: Vec<Reading>) -> Msg {
        Msg::Device(DeviceEvent { device: 0, readings, stats: DeviceStats::default() })
    }

    fn stored(effects: &[Effect]) -> Vec<Sample> {
        effects
            .iter()
            .flat_map(|e| match e {
                Effect::Store(s) => s.clone(),
                _ => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn every_sample_is_stored_without_deadband_and_deadband_filters() {
        let mut s = state();
        let e = update(&mut s, ev(vec![Reading::good(0, 5.0, 1000), Reading::good(1, 5.0, 1000)]));
        assert_eq!(stored(&e).len(), 2);
        let e = update(&mut s, ev(vec![Reading::good(0, 5.0, 2000), Reading::good(1, 5.5, 2000)]));
        let got = stored(&e);
        assert_eq!(got.len(), 1, "b moved less than its deadband");
        assert_eq!(got[0].tag, 0);
        let e = update(&mut s, ev(vec![Reading::good(1, 7.0, 3000)]));
        assert_eq!(stored(&e)[0].value, 7.0);
        // a quality change is always stored
        let e = update(&mut s, ev(vec![Reading::bad(1, Reason::Timeout, 4000)]));
        let got = stored(&e);
        assert_eq!(got[0].quality, Quality::Bad(Reason::Timeout));
        assert!(got[0].value.is_nan());
        assert_eq!(s.tags[1].value, Some(7.0), "last good value is kept for display");
    }

    #[test]
    fn a_repeated_source_sample_is_stored_once() {
        let mut s = state();
        let at = |v: f64, src: i64, recv: i64| Reading { source_ms: Some(src), ..Reading::good(0, v, recv) };
        assert_eq!(stored(&update(&mut s, ev(vec![at(5.0, 900, 1000)]))).len(), 1);
        // The same value with the same source time, received again: not a new sample.
        assert!(stored(&update(&mut s, ev(vec![at(5.0, 900, 2000)]))).is_empty());
        assert_eq!(s.tags[0].recv_ms, Some(2000), "still fresh");
        // A new source time is a new sample, even with the same value.
        let got = stored(&update(&mut s, ev(vec![at(5.0, 1900, 3000)])));
        assert_eq!((got.len(), got[0].ts_ms), (1, 1900));
        // Bad values repeat too.
        let bad = Reading { source_ms: Some(2500), ..Reading::bad(0, Reason::DeviceFlag, 4000) };
        assert_eq!(stored(&update(&mut s, ev(vec![bad]))).len(), 1);
        assert!(stored(&update(&mut s, ev(vec![Reading { recv_ms: 5000, ..bad }]))).is_empty());
    }

    #[test]
    fn bad_tags_are_counted_per_device_as_qualities_change() {
        let mut s = state();
        assert_eq!(s.health.device_bad, vec![2], "not read yet");
        update(&mut s, ev(vec![Reading::good(0, 5.0, 1000)]));
        assert_eq!(s.health.device_bad, vec![1]);
        // out of range is Uncertain, stale too: neither is Bad
        update(&mut s, ev(vec![Reading::good(0, 500.0, 2000), Reading::good(1, 1.0, 2000)]));
        update(&mut s, Msg::Tick { now_ms: 9000 });
        assert_eq!(s.tags[0].quality, Quality::Uncertain(Reason::Stale));
        assert_eq!(s.health.device_bad, vec![0]);
        update(&mut s, ev(vec![Reading::bad(1, Reason::Timeout, 10_000)]));
        update(&mut s, ev(vec![Reading::bad(1, Reason::Timeout, 11_000)]));
        assert_eq!(s.health.device_bad, vec![1]);
        let bad = s.tags.iter().filter(|t| t.quality.is_bad()).count();
        assert_eq!(s.health.device_bad[0] as usize, bad);
    }

    #[test]
    fn recent_keeps_the_latest_values_oldest_first() {
        let mut r = Recent::default();
        assert!(r.is_empty());
        r.push(1.0);
        r.push(2.0);
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![1.0, 2.0]);
        for i in 3..=30 {
            r.push(i as f32);
        }
        assert_eq!(r.len(), RECENT);
        let want: Vec<f32> = (31 - RECENT as i32..=30).map(|i| i as f32).collect();
        assert_eq!(r.iter().collect::<Vec<_>>(), want);
    }

    #[test]
    fn range_and_nan_are_judged() {
        assert_eq!(judge(Some(101.0), Quality::Good, Some(0.0), Some(100.0)).1, Quality::Uncertain(Reason::OutOfRange));
        assert_eq!(judge(Some(f64::NAN), Quality::Good, None, None), (None, Quality::Bad(Reason::DecodeError)));
        assert_eq!(judge(Some(50.0), Quality::Good, Some(0.0), Some(100.0)), (Some(50.0), Quality::Good));
    }

    #[test]
    fn silence_makes_values_stale() {
        let mut s = state();
        update(&mut s, ev(vec![Reading::good(0, 5.0, 1000)]));
        update(&mut s, Msg::Tick { now_ms: 2000 });
        assert_eq!(s.tags[0].quality, Quality::Good);
        update(&mut s, Msg::Tick { now_ms: 1000 + 3001 });
        assert_eq!(s.tags[0].quality, Quality::Uncertain(Reason::Stale));
        update(&mut s, ev(vec![Reading::good(0, 6.0, 5000)]));
        assert_eq!(s.tags[0].quality, Quality::Good);
    }

    #[test]
    fn a_clock_step_keeps_staleness_and_heartbeats_measured_in_real_time() {
        const DAY: i64 = 86_400_000;
        let mut s = state();
        update(&mut s, ev(vec![Reading::good(0, 5.0, 1000), Reading::good(1, 5.0, 1000)]));
        // Forward by a day: the values are two seconds old, not a day (not stale).
        clock_stepped(&mut s, 1500, 1500 + DAY);
        update(&mut s, Msg::Tick { now_ms: DAY + 3000 });
        assert_eq!(s.tags[0].quality, Quality::Good);
        assert_eq!(s.tags[0].recv_ms, Some(DAY + 1000));
        // The deadband tag's heartbeat comes HEARTBEAT_MS after its last sample, on the new clock.
        let e = update(&mut s, ev(vec![Reading::good(1, 5.0, DAY + 1000 + HEARTBEAT_MS - 1)]));
        assert!(stored(&e).iter().all(|x| x.tag != 1), "no heartbeat yet");
        // Back by an hour: a heartbeat still comes after HEARTBEAT_MS, not an hour later.
        let at = DAY + 1000 + HEARTBEAT_MS;
        clock_stepped(&mut s, at, at - 3_600_000);
        let t = DAY + 1000 + HEARTBEAT_MS - 3_600_000;
        let e = update(&mut s, ev(vec![Reading::good(1, 5.0, t)]));
        assert!(stored(&e).iter().any(|x| x.tag == 1 && x.ts_ms == t), "heartbeat on time: {e:?}");
        // Without the shift, an hour back would make staleness wait an hour longer.
        update(&mut s, ev(vec![Reading::good(0, 6.0, t)]));
        update(&mut s, Msg::Tick { now_ms: t + 3001 });
        assert_eq!(s.tags[0].quality, Quality::Uncertain(Reason::Stale));
    }

    #[test]
    fn times_taken_before_a_step_move_with_it_and_later_ones_stay() {
        const H: i64 = 3_600_000;
        // forward by a day at 10 h: a reading at 9.99 h moves, one already on the new clock stays
        assert_eq!(rebase(10 * H - 10, 10 * H, 34 * H), 34 * H - 10);
        assert_eq!(rebase(34 * H + 5, 10 * H, 34 * H), 34 * H + 5);
        // back by an hour: shelving until 10.5 h lasts its half hour on the new clock
        assert_eq!(rebase(10 * H + H / 2, 10 * H, 9 * H), 9 * H + H / 2);
        assert_eq!(rebase(9 * H + 20, 10 * H, 9 * H), 9 * H + 20);
        // no overflow at the ends of time
        let _ = rebase(i64::MAX, 0, i64::MIN);
        let _ = rebase(i64::MIN, i64::MAX, 0);
    }

    #[test]
    fn readings_for_unknown_points_or_devices_are_ignored() {
        let mut s = state();
        assert!(update(&mut s, ev(vec![Reading::good(9, 1.0, 1)])).is_empty());
        let e = update(
            &mut s,
            Msg::Device(DeviceEvent {
                device: 7,
                readings: vec![Reading::good(0, 1.0, 1)],
                stats: DeviceStats::default(),
            }),
        );
        assert!(e.is_empty());
    }
}
