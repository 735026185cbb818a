use std::time::Duration;

use mimic_drivers::{Quality, Reason};
use proptest::prelude::*;

use super::*;

const BAD: Quality = Quality::Bad(Reason::Timeout);

pub(super) fn def(tag: usize, kind: AlarmKind, limit: Option<f64>) -> AlarmDef {
    AlarmDef::new(tag, &format!("T{tag}"), kind, Priority::High, limit)
}

fn hi(limit: f64) -> AlarmDef {
    def(0, AlarmKind::Hi, Some(limit))
}

fn one(d: AlarmDef) -> AlarmEngine {
    AlarmEngine::new(vec![d])
}

fn good(e: &mut AlarmEngine, v: f64, ts: i64) -> Vec<AlarmEvent> {
    e.evaluate(0, Some(v), Quality::Good, ts)
}

/// (ts, action, from, to) of each event.
pub(super) fn brief(events: &[AlarmEvent]) -> Vec<(i64, Change, AlarmState, AlarmState)> {
    events.iter().map(|e| (e.ts_ms, e.action, e.from, e.to)).collect()
}

const A: AlarmId = AlarmId(0);
use AlarmState::{AckActive, Normal, UnackActive, UnackRtn};
use Change::{Acknowledged, Raised, Returned};

#[test]
fn active_acknowledged_then_cleared_goes_to_normal() {
    let mut e = one(hi(80.0));
    assert!(good(&mut e, 79.0, 0).is_empty());
    let ev = good(&mut e, 81.0, 1000);
    assert_eq!(brief(&ev), [(1000, Raised, Normal, UnackActive)]);
    assert_eq!(ev[0].value, Some(81.0));
    assert_eq!(ev[0].place.tag.as_deref(), Some("T0"));
    assert_eq!(ev[0].kind, AlarmKind::Hi);
    assert_eq!(ev[0].priority, Priority::High);
    let ack = e.acknowledge(A, "ana", 2000).expect("ack");
    assert_eq!(brief(std::slice::from_ref(&ack)), [(2000, Acknowledged, UnackActive, AckActive)]);
    assert_eq!(ack.user.as_deref(), Some("ana"));
    let row = &e.rows(2500)[0];
    assert_eq!(row.acked_by, Some(("ana".to_string(), 2000)));
    assert_eq!(row.active_since, Some(1000));
    assert_eq!(row.limit, Some(80.0));
    assert!(good(&mut e, 85.0, 3000).is_empty());
    assert_eq!(brief(&good(&mut e, 70.0, 4000)), [(4000, Returned, AckActive, Normal)]);
    assert!(e.rows(5000).is_empty());
}

#[test]
fn return_to_normal_unacknowledged_then_ack_or_realarm() {
    let mut e = one(hi(80.0));
    good(&mut e, 81.0, 0);
    assert_eq!(brief(&good(&mut e, 70.0, 1000)), [(1000, Returned, UnackActive, UnackRtn)]);
    assert_eq!(e.rows(1000)[0].state, UnackRtn);
    // Re-alarms before anyone acknowledged it.
    assert_eq!(brief(&good(&mut e, 90.0, 2000)), [(2000, Raised, UnackRtn, UnackActive)]);
    good(&mut e, 70.0, 3000);
    let ack = e.acknowledge(A, "bo", 4000).expect("ack");
    assert_eq!((ack.from, ack.to), (UnackRtn, Normal));
    assert_eq!(e.state(A), Some(Normal));
}

#[test]
fn acknowledge_errors() {
    let mut e = one(hi(80.0));
    assert_eq!(e.acknowledge(A, "ana", 0), Err(AlarmError::NotActive(A)));
    good(&mut e, 81.0, 0);
    assert_eq!(e.acknowledge(A, "  ", 1), Err(AlarmError::NoUser));
    assert!(e.acknowledge(A, "ana", 1).is_ok());
    assert_eq!(e.acknowledge(A, "ana", 2), Err(AlarmError::AlreadyAcknowledged(A)));
    assert_eq!(e.acknowledge(AlarmId(7), "ana", 2), Err(AlarmError::UnknownAlarm(AlarmId(7))));
    assert_eq!(AlarmError::AlreadyAcknowledged(A).to_string(), "alarm A0 is already acknowledged");
}

#[test]
fn acknowledge_all_acks_only_the_unacknowledged() {
    let mut e = AlarmEngine::new(vec![hi(80.0), def(1, AlarmKind::Lo, Some(10.0)), def(2, AlarmKind::Hi, Some(5.0))]);
    good(&mut e, 81.0, 0);
    e.evaluate(1, Some(5.0), Quality::Good, 0);
    e.acknowledge(AlarmId(1), "ana", 1).expect("ack");
    let ids = [AlarmId(0), AlarmId(1), AlarmId(2), AlarmId(9)];
    let ev = e.acknowledge_all(&ids, "bo", 2);
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].alarm, AlarmId(0));
}

#[test]
fn deadband_gives_hysteresis() {
    let mut d = hi(80.0);
    d.deadband = 2.0;
    let mut e = one(d);
    assert_eq!(good(&mut e, 80.0, 0).len(), 0, "at the limit is not beyond it");
    assert_eq!(good(&mut e, 80.5, 1).len(), 1);
    assert!(good(&mut e, 79.0, 2).is_empty(), "inside the deadband: still active");
    assert!(good(&mut e, 78.0, 3).is_empty(), "limit - deadband itself: still active");
    assert_eq!(brief(&good(&mut e, 77.9, 4)), [(4, Returned, UnackActive, UnackRtn)]);
    assert!(good(&mut e, 79.9, 5).is_empty(), "back inside but not beyond the limit");
    assert_eq!(good(&mut e, 80.1, 6)[0].action, Raised);

    let mut lo = def(0, AlarmKind::LoLo, Some(10.0));
    lo.deadband = 1.0;
    let mut e = one(lo);
    assert_eq!(good(&mut e, 9.0, 0)[0].action, Raised);
    assert!(good(&mut e, 10.5, 1).is_empty());
    assert_eq!(good(&mut e, 11.1, 2)[0].action, Returned);
}

#[test]
fn on_delay_needs_the_condition_to_hold_continuously() {
    let mut d = hi(80.0);
    d.on_delay = Duration::from_secs(5);
    let mut e = one(d);
    assert!(good(&mut e, 81.0, 0).is_empty());
    assert!(good(&mut e, 82.0, 2000).is_empty());
    assert!(good(&mut e, 79.0, 3000).is_empty(), "interrupted: the delay starts over");
    assert!(good(&mut e, 81.0, 4000).is_empty());
    assert!(good(&mut e, 81.0, 8999).is_empty());
    assert_eq!(brief(&good(&mut e, 81.0, 9000)), [(9000, Raised, Normal, UnackActive)]);
}

#[test]
fn delays_mature_between_irregular_samples_and_on_tick() {
    let mut d = hi(80.0);
    d.on_delay = Duration::from_secs(5);
    d.off_delay = Duration::from_secs(3);
    let mut e = one(d);
    good(&mut e, 81.0, 0);
    // One late sample, long after the delay: active from when it matured, and the
    // clearing sample only starts the off-delay.
    let ev = good(&mut e, 70.0, 20_000);
    assert_eq!(brief(&ev), [(5000, Raised, Normal, UnackActive)]);
    assert!(e.tick(22_999).is_empty());
    assert_eq!(brief(&e.tick(23_500)), [(23_000, Returned, UnackActive, UnackRtn)]);
    // A tick with no new sample matures an on-delay.
    good(&mut e, 90.0, 30_000);
    assert!(e.tick(34_000).is_empty());
    assert_eq!(brief(&e.tick(35_000)), [(35_000, Raised, UnackRtn, UnackActive)]);
    // Off-delay interrupted by the condition coming back.
    good(&mut e, 70.0, 40_000);
    good(&mut e, 90.0, 41_000);
    assert!(e.tick(50_000).is_empty());
    assert_eq!(e.state(A), Some(UnackActive));
}

#[test]
fn out_of_order_samples_are_ignored() {
    let mut d = hi(80.0);
    d.on_delay = Duration::from_secs(5);
    let mut e = one(d);
    good(&mut e, 81.0, 10_000);
    assert!(good(&mut e, 70.0, 9_000).is_empty(), "older than the last sample");
    assert_eq!(brief(&good(&mut e, 81.0, 15_000)), [(15_000, Raised, Normal, UnackActive)]);
    assert!(good(&mut e, 70.0, 12_000).is_empty());
    assert_eq!(e.state(A), Some(UnackActive));
    // A tick in the past matures nothing and breaks nothing.
    assert!(e.tick(0).is_empty());
    // Equal timestamps are processed.
    assert_eq!(good(&mut e, 70.0, 15_000)[0].action, Returned);
}

#[test]
fn rate_of_change_over_the_window() {
    let mut d = def(0, AlarmKind::RateOfChange, Some(1.0));
    d.window = Duration::from_secs(10);
    let mut e = one(d);
    assert!(good(&mut e, 0.0, 0).is_empty());
    assert!(good(&mut e, 0.5, 1000).is_empty(), "0.5/s");
    assert_eq!(brief(&good(&mut e, 3.0, 2000)), [(2000, Raised, Normal, UnackActive)], "1.5/s");
    assert!(good(&mut e, 3.0, 3000).is_empty(), "still 1.0/s over 3 s");
    assert_eq!(good(&mut e, 3.0, 4000)[0].action, Returned, "0.75/s");
    // Falling counts too (absolute change).
    assert_eq!(good(&mut e, -20.0, 5000)[0].action, Raised);
    // A bad sample neither feeds the window nor clears.
    assert!(e.evaluate(0, None, BAD, 6000).is_empty());
    assert_eq!(e.state(A), Some(UnackActive));

    // Samples further apart than the window still give a rate.
    let mut e = one(def(0, AlarmKind::RateOfChange, Some(1.0)));
    good(&mut e, 0.0, 0);
    assert_eq!(good(&mut e, 30.0, 20_000)[0].action, Raised, "1.5/s over 20 s");
    assert_eq!(good(&mut e, 30.0, 25_000)[0].action, Returned);
}

#[test]
fn bad_quality_after_its_on_delay_and_limits_hold_on_bad_samples() {
    let mut d = def(0, AlarmKind::BadQuality, None);
    d.on_delay = Duration::from_secs(10);
    let mut e = AlarmEngine::new(vec![d, hi(80.0)]);
    assert_eq!(good(&mut e, 90.0, 0).len(), 1, "the hi alarm");
    assert!(e.evaluate(0, None, BAD, 1000).is_empty(), "no value: hi stays active, bad not yet due");
    assert!(e.evaluate(0, Some(10.0), BAD, 5000).is_empty(), "a bad value does not clear hi");
    assert_eq!(e.state(AlarmId(1)), Some(UnackActive));
    let ev = e.tick(11_000);
    assert_eq!(brief(&ev), [(11_000, Raised, Normal, UnackActive)]);
    assert_eq!(ev[0].alarm, A);
    assert_eq!(ev[0].kind, AlarmKind::BadQuality);
    // Uncertain is not bad.
    let ev = e.evaluate(0, Some(50.0), Quality::Uncertain(Reason::OutOfRange), 12_000);
    assert_eq!(ev.len(), 2);
    assert!(ev.iter().all(|e| e.to == UnackRtn));
}

#[test]
fn shelve_suppresses_tracks_and_expires_in_tick() {
    let mut e = one(hi(80.0));
    good(&mut e, 81.0, 0);
    assert_eq!(e.shelve(A, "ana", "", 60_000, 1000), Err(AlarmError::NoReason));
    assert_eq!(
        e.shelve(A, "ana", "sensor work", 1000, 1000),
        Err(AlarmError::ShelveExpiry { until_ms: 1000, now_ms: 1000 })
    );
    let ev = e.shelve(A, "ana", "sensor work", 60_000, 1000).expect("shelve");
    assert_eq!(brief(std::slice::from_ref(&ev)), [(1000, Change::Shelved, UnackActive, Normal)]);
    assert_eq!(ev.user.as_deref(), Some("ana"));
    assert!(ev.note.contains("sensor work"));
    let row = &e.rows(2000)[0];
    assert_eq!((row.shelved_until, row.shelve_reason.as_deref()), (Some(60_000), Some("sensor work")));
    assert_eq!(row.state, Normal);
    assert!(row.condition);
    // Tracked but not annunciated.
    assert!(good(&mut e, 70.0, 2000).is_empty());
    assert!(!e.rows(2000)[0].condition);
    assert!(good(&mut e, 95.0, 3000).is_empty());
    assert_eq!(e.acknowledge(A, "ana", 3000), Err(AlarmError::NotActive(A)));
    assert!(e.tick(59_999).is_empty());
    let ev = e.tick(61_000);
    assert_eq!(brief(&ev), [(60_000, Change::ShelveExpired, Normal, Normal), (60_000, Raised, Normal, UnackActive)]);
    assert_eq!(ev[0].user, None);
    assert!(e.rows(61_000)[0].shelved_until.is_none());
}

#[test]
fn unshelve_by_hand() {
    let mut e = one(hi(80.0));
    assert_eq!(e.unshelve(A, "ana", 0), Err(AlarmError::NotShelved(A)));
    e.shelve(A, "ana", "noisy", 100_000, 0).expect("shelve a normal alarm");
    let ev = e.unshelve(A, "bo", 10).expect("unshelve");
    assert_eq!(brief(&ev), [(10, Change::Unshelved, Normal, Normal)]);
    assert_eq!(ev[0].user.as_deref(), Some("bo"));
    assert!(e.tick(200_000).is_empty(), "no expiry left");
}

#[test]
fn out_of_service_suppresses_annunciation_but_tracks() {
    let mut e = one(hi(80.0));
    let ev = e.set_out_of_service(A, true, "ana", "transmitter replaced", 0).expect("oos");
    assert_eq!(brief(&ev), [(0, Change::OutOfService, Normal, Normal)]);
    assert_eq!(
        e.set_out_of_service(A, true, "ana", "x", 1),
        Err(AlarmError::AlreadyInThatService(A, "out of service"))
    );
    assert_eq!(e.shelve(A, "ana", "x", 100, 1), Err(AlarmError::OutOfService(A)));
    assert!(good(&mut e, 90.0, 1000).is_empty());
    let row = &e.rows(1000)[0];
    assert!(row.out_of_service && row.condition);
    assert_eq!(row.state, Normal);
    assert_eq!(e.summary(1000).activations_10min, 0, "suppressed activations are not counted");
    let ev = e.set_out_of_service(A, false, "bo", "", 2000).expect("back");
    assert_eq!(brief(&ev), [(2000, Change::InService, Normal, Normal), (2000, Raised, Normal, UnackActive)]);
    assert_eq!(e.set_out_of_service(A, false, "bo", "", 3000), Err(AlarmError::AlreadyInThatService(A, "in service")));
}

#[test]
fn out_of_service_overrides_a_shelve() {
    let mut e = one(hi(80.0));
    e.shelve(A, "ana", "noisy", 10_000, 0).expect("shelve");
    e.set_out_of_service(A, true, "ana", "broken", 1).expect("oos");
    assert!(e.tick(20_000).is_empty(), "the shelve is gone");
    assert!(e.rows(20_000)[0].out_of_service);
}

pub(super) fn area_defs(n: usize, area: &str, asset: Option<&str>, first_tag: usize) -> Vec<AlarmDef> {
    (0..n)
        .map(|k| {
            let mut d = def(first_tag + k, AlarmKind::Hi, Some(1.0));
            d.place.area = Some(area.to_string());
            d.place.asset = asset.map(str::to_string);
            d
        })
        .collect()
}

#[test]
fn flood_on_the_eleventh_activation_in_ten_minutes_and_ends_below_five() {
    let mut e = AlarmEngine::new(area_defs(11, "north", None, 0));
    for t in 0..10 {
        e.evaluate(t, Some(2.0), Quality::Good, t as i64 * 60_000);
    }
    let s = e.summary(540_000);
    assert!(!s.flood);
    assert_eq!(s.activations_10min, 10);
    e.evaluate(10, Some(2.0), Quality::Good, 590_000);
    let s = e.summary(590_000);
    assert!(s.flood);
    assert_eq!(s.positions[0].position, "north");
    assert!(s.positions[0].in_flood);
    assert_eq!(s.positions[0].activations_10min, 11);
    assert_eq!(s.time_in_flood_ms, 0);
    assert_eq!(e.summary(599_999).time_in_flood_ms, 9_999);
    // The first activation (t = 0) leaves the window at 600 000: 10 left, still a flood
    // (the hysteresis: it ends only when fewer than 5 remain).
    let s = e.summary(600_000);
    assert!(s.flood);
    assert_eq!(s.activations_10min, 10);
    // The 7th (t = 360 000) leaves at 960 000: 4 left, flood over.
    assert!(e.summary(959_999).flood);
    let s = e.summary(960_000);
    assert!(!s.flood);
    assert_eq!(s.activations_10min, 4);
    assert_eq!(s.time_in_flood_ms, 370_000);
    e.tick(1_000_000);
    let s = e.summary(1_200_000);
    assert_eq!((s.time_in_flood_ms, s.positions[0].floods), (370_000, 1));
}

#[test]
fn activation_rates_per_operator_position() {
    let mut defs = area_defs(3, "north", None, 0);
    defs.extend(area_defs(2, "south", None, 3));
    defs.push(def(5, AlarmKind::Hi, Some(1.0)));
    let mut e = AlarmEngine::new(defs);
    for t in 0..6 {
        e.evaluate(t, Some(2.0), Quality::Good, 1000 * t as i64);
    }
    let s = e.summary(10_000);
    let got: Vec<(&str, usize)> = s.positions.iter().map(|p| (p.position.as_str(), p.activations_10min)).collect();
    assert_eq!(got, [("(none)", 1), ("north", 3), ("south", 2)]);
    assert_eq!(s.activations_10min, 6);
    assert_eq!(s.by_priority, [0, 0, 6, 0]);
    assert_eq!(s.by_state[UnackActive as usize], 6);
    assert_eq!(s.unacked, 6);
    assert_eq!(e.summary(600_500).positions[1].activations_10min, 2, "north's first left the window");
}

#[test]
fn chattering_three_activations_within_a_minute() {
    let mut e = one(hi(80.0));
    for (k, t) in [0, 20_000, 40_000].into_iter().enumerate() {
        good(&mut e, 90.0, t);
        assert_eq!(e.rows(t)[0].chattering, k == 2, "after {} activations", k + 1);
        good(&mut e, 70.0, t + 1000);
    }
    assert!(e.summary(41_000).chattering == 1);
    assert!(!e.rows(60_001)[0].chattering, "the first left the minute");
}

#[test]
fn stale_after_a_day_active() {
    let day = 24 * 3600 * 1000;
    let mut e = one(hi(80.0));
    good(&mut e, 90.0, 0);
    e.acknowledge(A, "ana", 1).expect("ack");
    assert!(!e.rows(day)[0].stale);
    assert!(e.rows(day + 1)[0].stale);
    assert_eq!(e.summary(day + 1).stale, 1);
}

#[test]
fn first_out_marks_the_first_of_a_burst_on_an_asset() {
    let mut defs = area_defs(3, "north", Some("P-101"), 0);
    defs.extend(area_defs(2, "north", Some("T-100"), 3));
    let mut e = AlarmEngine::new(defs);
    let on = |e: &mut AlarmEngine, t: usize, ts: i64| e.evaluate(t, Some(2.0), Quality::Good, ts);
    on(&mut e, 0, 0);
    assert!(!e.view(AlarmId(0), 0).is_some_and(|v| v.first_out), "a lone alarm is not a burst");
    on(&mut e, 1, 3000);
    on(&mut e, 3, 4000); // another asset: its own burst
    on(&mut e, 2, 12_500); // within 10 s of the previous one on P-101
    let first: Vec<bool> = (0..5).map(|i| e.view(AlarmId(i), 13_000).is_some_and(|v| v.first_out)).collect();
    assert_eq!(first, [true, false, false, false, false]);
    // T-100: a second alarm long after is a new burst of one.
    on(&mut e, 4, 30_000);
    assert!(!e.view(AlarmId(3), 30_000).is_some_and(|v| v.first_out));
}

#[test]
fn model_alarms_are_raised_and_cleared_on_assets_and_tags() {
    let tags = vec![Place::of_tag("P101.vibration", Some("P-101".into()), Some("north".into()))];
    let mut e = AlarmEngine::with_plant(Vec::new(), tags, vec![("P-101".into(), Some("north".into()))]);
    let target = ModelTarget::Asset("P-101".into());
    let ev =
        e.raise_model(target.clone(), "anomaly", Priority::Medium, "bearing signature unusual", 1000).expect("raise");
    assert_eq!(brief(&ev), [(1000, Raised, Normal, UnackActive)]);
    assert_eq!(ev[0].kind, AlarmKind::Model { source: "anomaly".into() });
    assert_eq!(ev[0].place.asset.as_deref(), Some("P-101"));
    assert!(e.raise_model(target.clone(), "anomaly", Priority::High, "", 2000).expect("again").is_empty());
    let row = &e.rows(2000)[0];
    assert_eq!((row.priority, row.message.as_str()), (Priority::High, "bearing signature unusual"));
    assert_eq!(row.place.area.as_deref(), Some("north"));
    let ev = e.clear_model(target.clone(), "anomaly", 3000).expect("clear");
    assert_eq!(brief(&ev), [(3000, Returned, UnackActive, UnackRtn)]);
    assert!(e.clear_model(target, "never raised", 3000).expect("idempotent").is_empty());

    let ev = e.raise_model(ModelTarget::Tag(0), "low remaining life", Priority::Low, "", 4000).expect("tag");
    assert_eq!(ev[0].place.tag.as_deref(), Some("P101.vibration"));
    assert_eq!(ev[0].alarm, AlarmId(1));
    assert_eq!(e.raise_model(ModelTarget::Tag(9), "x", Priority::Low, "", 0), Err(AlarmError::UnknownTag(9)));
    assert_eq!(
        e.raise_model(ModelTarget::Asset("nope".into()), "x", Priority::Low, "", 0),
        Err(AlarmError::UnknownAsset("nope".into()))
    );
    assert_eq!(e.raise_model(ModelTarget::Tag(0), " ", Priority::Low, "", 0), Err(AlarmError::NoSource));
}

#[test]
fn rows_are_ordered_unacked_first_then_priority() {
    let mut d1 = def(1, AlarmKind::Hi, Some(1.0));
    d1.priority = Priority::Critical;
    let mut d2 = def(2, AlarmKind::Hi, Some(1.0));
    d2.priority = Priority::Low;
    let mut e = AlarmEngine::new(vec![hi(1.0), d1, d2]);
    for t in 0..3 {
        e.evaluate(t, Some(2.0), Quality::Good, 0);
    }
    e.acknowledge(AlarmId(1), "ana", 1).expect("ack");
    let order: Vec<usize> = e.rows(2).iter().map(|r| r.id.0).collect();
    assert_eq!(order, [0, 2, 1]);
}

#[test]
fn engine_from_the_demo_site() {
    let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/demo-site.toml"));
    let site = std::sync::Arc::new(crate::config::Site::load(path).unwrap_or_else(|e| panic!("{e}")));
    let mut e = AlarmEngine::from_site(&site);
    assert_eq!(e.len(), site.alarms.len());
    let temp = site.tag_index("P101.motor_temp").expect("tag");
    assert!(e.evaluate(temp, Some(97.0), Quality::Good, 0).is_empty(), "5 s on-delay");
    let ev = e.evaluate(temp, Some(97.0), Quality::Good, 5000);
    assert_eq!(ev.len(), 2, "hi and hihi");
    let rows = e.rows(5000);
    assert_eq!(rows[0].kind, AlarmKind::HiHi);
    assert_eq!(rows[0].place.area.as_deref(), Some("utilities"));
    assert_eq!(rows[0].place.asset.as_deref(), Some("P-101"));
    let ev = e.raise_model(ModelTarget::Asset("T-100".into()), "anomaly", Priority::Low, "", 6000).expect("raise");
    assert_eq!(ev.len(), 1);
    // a model alarm on a tag without an [[alarm]] finds its place in the site
    let (ti, t) = site
        .tags
        .iter()
        .enumerate()
        .find(|(i, t)| t.asset.is_some() && e.alarms_of_tag(*i).is_empty())
        .expect("a tag of an asset without alarms");
    let asset = &site.assets[t.asset.expect("asset")];
    let ev = e.raise_model(ModelTarget::Tag(ti), "anomaly", Priority::Low, "", 7000).expect("raise on a tag");
    assert_eq!(
        (ev[0].place.tag.as_deref(), ev[0].place.asset.as_deref()),
        (Some(t.name.as_str()), Some(asset.name.as_str()))
    );
    let row = e.rows(7000).into_iter().find(|r| r.id == ev[0].alarm).expect("its row");
    assert_eq!(row.place.area.as_deref(), Some(asset.area.as_str()));
    assert!(e.raise_model(ModelTarget::Tag(site.tags.len()), "anomaly", Priority::Low, "", 7000).is_err());
}

// ---- property test ----

#[derive(Clone, Debug)]
enum Op {
    Sample { dt: i64, v: f64, bad: bool },
    Late { back: i64, v: f64 },
    Tick { dt: i64 },
    Ack(usize),
    AckAll,
    Shelve { id: usize, dur: i64 },
    Unshelve(usize),
    Oos { id: usize, on: bool },
    Model { raise: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0i64..3000, 60.0f64..100.0, prop::bool::weighted(0.15)).prop_map(|(dt, v, bad)| Op::Sample { dt, v, bad }),
        1 => (1i64..4000, 60.0f64..100.0).prop_map(|(back, v)| Op::Late { back, v }),
        2 => (0i64..6000).prop_map(|dt| Op::Tick { dt }),
        2 => (0usize..5).prop_map(Op::Ack),
        1 => Just(Op::AckAll),
        1 => (0usize..5, 1i64..20_000).prop_map(|(id, dur)| Op::Shelve { id, dur }),
        1 => (0usize..5).prop_map(Op::Unshelve),
        1 => (0usize..5, any::<bool>()).prop_map(|(id, on)| Op::Oos { id, on }),
        1 => any::<bool>().prop_map(|raise| Op::Model { raise }),
    ]
}

fn in_service(e: &AlarmEngine, id: AlarmId, now: i64) -> bool {
    e.view(id, now).is_some_and(|v| v.shelved_until.is_none() && !v.out_of_service)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn engine_invariants(ops in prop::collection::vec(op(), 1..120), on_delay in prop::sample::select(vec![0i64, 1500, 5000]),
                         off_delay in prop::sample::select(vec![0i64, 2000])) {
        let mut h = hi(80.0);
        h.deadband = 2.0;
        h.on_delay = Duration::from_millis(on_delay as u64);
        h.off_delay = Duration::from_millis(off_delay as u64);
        let mut bq = def(0, AlarmKind::BadQuality, None);
        bq.on_delay = Duration::from_millis(on_delay as u64);
        let mut lo = def(0, AlarmKind::Lo, Some(65.0));
        lo.deadband = 1.0;
        let mut rate = def(0, AlarmKind::RateOfChange, Some(5.0));
        rate.window = Duration::from_secs(3);
        rate.place.asset = Some("P".into());
        let mut e = AlarmEngine::with_plant(vec![h, bq, lo, rate], Vec::new(), vec![("P".into(), None)]);

        let mut now = 0i64;
        let mut last_sample: Option<i64> = None;
        let mut last_to: std::collections::HashMap<AlarmId, AlarmState> = Default::default();
        // Since when every processed sample was Good and above the hi limit / Bad.
        let mut above_since: Option<i64> = None;
        let mut bad_since: Option<i64> = None;
        for op in ops {
            let mut check_at = None;
            let events: Vec<AlarmEvent> = match op {
                Op::Sample { dt, v, bad } => {
                    now += dt;
                    let q = if bad { BAD } else { Quality::Good };
                    let ev = e.evaluate(0, (!bad).then_some(v), q, now);
                    if last_sample.is_none_or(|l| now >= l) {
                        last_sample = Some(now);
                        above_since = if !bad && v > 80.0 { above_since.or(Some(now)) } else { None };
                        bad_since = if bad { bad_since.or(Some(now)) } else { None };
                        check_at = Some(now);
                    }
                    ev
                }
                Op::Late { back, v } => {
                    let ts = now - back;
                    if last_sample.is_none_or(|l| ts >= l) {
                        last_sample = Some(ts);
                        above_since = if v > 80.0 { above_since.or(Some(ts)) } else { None };
                        bad_since = None;
                        check_at = Some(ts);
                    }
                    e.evaluate(0, Some(v), Quality::Good, ts)
                }
                Op::Tick { dt } => { now += dt; check_at = Some(now); e.tick(now) }
                Op::Ack(id) => e.acknowledge(AlarmId(id), "op", now).into_iter().collect(),
                Op::AckAll => e.acknowledge_all(&(0..5).map(AlarmId).collect::<Vec<_>>(), "op", now),
                Op::Shelve { id, dur } => e.shelve(AlarmId(id), "op", "test", now + dur, now).into_iter().collect(),
                Op::Unshelve(id) => e.unshelve(AlarmId(id), "op", now).unwrap_or_default(),
                Op::Oos { id, on } => e.set_out_of_service(AlarmId(id), on, "op", "test", now).unwrap_or_default(),
                Op::Model { raise } => {
                    let t = ModelTarget::Asset("P".into());
                    let r = if raise { e.raise_model(t, "anomaly", Priority::Low, "", now) } else { e.clear_model(t, "anomaly", now) };
                    r.unwrap_or_default()
                }
            };
            for ev in &events {
                let prev = last_to.get(&ev.alarm).copied().unwrap_or(AlarmState::Normal);
                prop_assert_eq!(ev.from, prev, "event chain broken: {:?}", ev);
                last_to.insert(ev.alarm, ev.to);
            }
            for (id, st) in &last_to {
                prop_assert_eq!(e.state(*id), Some(*st));
            }
            if let Some(t) = check_at {
                for (id, since) in [(AlarmId(0), above_since), (AlarmId(1), bad_since)] {
                    if let Some(s) = since
                        && t - s >= on_delay
                        && in_service(&e, id, t)
                    {
                        prop_assert_ne!(e.state(id), Some(AlarmState::Normal), "{:?} held since {} at {}", id, s, t);
                    }
                }
            }
            let _ = e.rows(now);
            let _ = e.summary(now);
        }
    }
}
