//! Flood suppression: a position in flood holds back the policy's priorities, and
//! annunciates what is still active when the flood ends.

use mimic_drivers::Quality;

use super::journal::{Change, Record};
use super::tests::{area_defs, brief};
use super::*;
use crate::config::FloodPolicy;

const S: i64 = 1000;
use AlarmState::{Normal, UnackActive};
use Change::{FloodHeld, FloodReleased, Raised, Shelved};

/// Area `north`: tags 0..=10 and 12 high priority, 11 and 13 low.
fn plant() -> AlarmEngine {
    let mut defs = area_defs(14, "north", None, 0);
    defs[11].priority = Priority::Low;
    defs[13].priority = Priority::Low;
    AlarmEngine::new(defs)
}

fn raise(e: &mut AlarmEngine, tag: usize, ts: i64) -> Vec<AlarmEvent> {
    e.evaluate(tag, Some(2.0), Quality::Good, ts)
}

fn clear(e: &mut AlarmEngine, tag: usize, ts: i64) -> Vec<AlarmEvent> {
    e.evaluate(tag, Some(0.0), Quality::Good, ts)
}

/// Eleven high alarms in 11 s declare a flood; then low 11 (20 s), high 12 (30 s) and
/// low 13 (40 s, back to normal at 100 s). Every event, in order.
fn flood(e: &mut AlarmEngine) -> Vec<AlarmEvent> {
    let mut ev = Vec::new();
    for t in 0..11 {
        ev.extend(raise(e, t, t as i64 * S));
    }
    assert!(e.summary(10 * S).flood, "the 11th alarm in 10 min declares a flood");
    for (tag, ts) in [(11, 20 * S), (12, 30 * S), (13, 40 * S)] {
        ev.extend(raise(e, tag, ts));
    }
    ev.extend(clear(e, 13, 100 * S));
    ev
}

#[test]
fn a_flood_holds_back_low_priority_and_annunciates_high() {
    let mut e = plant();
    let ev = flood(&mut e);
    assert!(brief(&ev[..11]).iter().all(|b| (b.1, b.3) == (Raised, UnackActive)));
    assert_eq!(
        brief(&ev[11..]),
        [
            (20 * S, FloodHeld, Normal, Normal),
            (30 * S, Raised, Normal, UnackActive),
            (40 * S, FloodHeld, Normal, Normal)
        ]
    );
    assert_eq!((ev[11].alarm, ev[12].alarm, ev[13].alarm), (AlarmId(11), AlarmId(12), AlarmId(13)));
    assert!(
        ev[11].note.starts_with("held back: alarm flood at north (11 alarms in 10m, more than 10)"),
        "{}",
        ev[11].note
    );
    assert_eq!(ev[11].priority, Priority::Low);

    let row = e.view(AlarmId(11), 110 * S).expect("alarm 11");
    assert!(row.flood_held && row.condition);
    assert_eq!((row.state, row.active_since, row.stale), (Normal, Some(20 * S), false));
    assert!(e.rows(110 * S).iter().any(|r| r.id == AlarmId(11)), "listed, as held back");
    let s = e.summary(110 * S);
    assert_eq!((s.held_back, s.positions[0].held_back, s.positions[0].flood_since), (2, 2, Some(10 * S)));
    assert_eq!(s.by_priority[Priority::Low as usize], 0, "held alarms are not annunciated");
    assert_eq!(s.unacked, 12);
    assert_eq!(s.activations_10min, 14, "held activations count toward the flood");
    assert_eq!(e.acknowledge(AlarmId(11), "ana", 110 * S), Err(AlarmError::NotActive(AlarmId(11))));
}

#[test]
fn the_end_of_the_flood_releases_and_annunciates_what_is_still_active() {
    let mut e = plant();
    flood(&mut e);
    // 14 activations in the window; after the 10th (t = 9 s) leaves at 609 s, 4 remain
    assert!(e.tick(608 * S).is_empty());
    assert!(e.summary(608 * S).flood);
    let ev = e.tick(700 * S);
    assert_eq!(brief(&ev), [(609 * S, FloodReleased, Normal, UnackActive), (609 * S, FloodReleased, Normal, Normal)]);
    assert_eq!((ev[0].alarm, ev[1].alarm), (AlarmId(11), AlarmId(13)));
    assert!(ev[0].note.starts_with("released: alarm flood at north over, still active"), "{}", ev[0].note);
    assert!(ev[1].note.starts_with("released: alarm flood at north over, returned during it"), "{}", ev[1].note);
    let s = e.summary(700 * S);
    assert_eq!((s.flood, s.held_back, s.unacked), (false, 0, 13));
    assert_eq!(s.by_priority[Priority::Low as usize], 1);
    assert_eq!(s.time_in_flood_ms, 599 * S);
    // it is an ordinary alarm again: acknowledged, and a low alarm after the flood annunciates
    assert!(e.acknowledge(AlarmId(11), "ana", 710 * S).is_ok());
    assert_eq!(brief(&raise(&mut e, 13, 720 * S)), [(720 * S, Raised, Normal, UnackActive)]);
}

#[test]
fn the_policy_says_what_is_held_back() {
    let off = FloodPolicy { enabled: false, ..FloodPolicy::default() };
    let mut e = plant().with_flood(off);
    let ev = flood(&mut e);
    assert!(ev.iter().all(|e| e.action != FloodHeld), "disabled: floods counted, nothing held back");
    assert_eq!(ev.iter().filter(|e| e.action == Raised).count(), 14);
    assert!(e.summary(110 * S).flood);

    let both = FloodPolicy { suppress: [true, true, false, false], ..FloodPolicy::default() };
    let mut defs = area_defs(14, "north", None, 0);
    defs[11].priority = Priority::Medium;
    defs[12].priority = Priority::Critical;
    let mut e = AlarmEngine::new(defs).with_flood(both);
    let ev = flood(&mut e);
    assert_eq!((ev[11].action, ev[12].action), (FloodHeld, Raised), "medium held, critical never");
}

#[test]
fn a_flood_at_one_position_holds_back_nothing_elsewhere() {
    let mut defs = area_defs(13, "north", None, 0);
    let mut south = area_defs(1, "south", None, 13);
    south[0].priority = Priority::Low;
    defs.extend(south);
    let mut e = AlarmEngine::new(defs);
    for t in 0..11 {
        raise(&mut e, t, t as i64 * S);
    }
    assert_eq!(brief(&raise(&mut e, 13, 20 * S)), [(20 * S, Raised, Normal, UnackActive)]);
}

#[test]
fn a_shelved_held_alarm_is_the_shelves_not_the_floods() {
    let mut e = plant();
    flood(&mut e);
    let shelve = e.shelve(AlarmId(11), "ana", "sensor work", 3_600 * S, 200 * S).expect("shelve");
    assert_eq!((shelve.action, shelve.from, shelve.to), (Shelved, Normal, Normal));
    assert!(!e.view(AlarmId(11), 200 * S).expect("11").flood_held);
    let ev = e.tick(700 * S);
    assert_eq!(ev.iter().map(|e| e.alarm).collect::<Vec<_>>(), [AlarmId(13)], "only 13 is released");
}

#[test]
fn the_journal_and_the_kpis_see_the_engines_flood() {
    let mut e = plant();
    let mut ev = flood(&mut e);
    ev.extend(e.tick(700 * S));
    ev.extend(e.tick(1_200 * S));
    let records: Vec<Record> = ev.iter().map(Record::from).collect();
    let changes: Vec<Change> = records.iter().map(|r| r.change).filter(|c| *c != Change::Raised).collect();
    assert_eq!(changes, [Change::FloodHeld, Change::FloodHeld, Change::FloodReleased, Change::FloodReleased]);
    assert!(records.iter().all(|r| r.change == Change::Raised || !r.note.is_empty()), "each with its reason");
    assert_eq!(Change::from_name("suppressed"), Some(Change::FloodHeld));
    assert_eq!(Change::from_name("flood_released"), Some(Change::FloodReleased));

    let r = kpi::report(&records, 0, 1_200 * S);
    let engine = e.summary(1_200 * S);
    assert_eq!((r.site.floods, r.site.flood_ms), (1, engine.time_in_flood_ms));
    assert_eq!(r.site.flood_ms, 599 * S);
    assert_eq!(r.site.flood_held, 2);
    // annunciated: 12 high, and low 11 when the flood released it
    assert_eq!(r.site.raised, 13);
    assert_eq!(r.site.by_priority, [1, 0, 12, 0]);
}

mod property {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// Random alarms of four priorities at one position, on and off, with time passing:
        /// each event starts where the alarm's last ended; a held alarm is released exactly
        /// once (annunciated only if still active); critical alarms are never held; once
        /// the flood windows have passed nothing is held; and the KPIs over the journal see
        /// the engine's floods to the millisecond.
        #[test]
        fn holds_and_releases_pair_up_and_the_kpis_agree(
            steps in prop::collection::vec((0usize..14, any::<bool>(), 0i64..40_000), 1..200),
        ) {
            let mut defs = area_defs(14, "north", None, 0);
            for (i, d) in defs.iter_mut().enumerate() {
                d.priority = Priority::ALL[i % 4];
            }
            let policy = FloodPolicy { limit: 4, end_below: 2, window_ms: 60_000, ..FloodPolicy::default() };
            let mut e = AlarmEngine::new(defs).with_flood(policy.clone());
            let mut now = 0;
            let mut events = Vec::new();
            for (tag, on, dt) in steps {
                now += dt;
                events.extend(e.tick(now));
                events.extend(e.evaluate(tag, Some(if on { 2.0 } else { 0.0 }), Quality::Good, now));
            }
            let end = now + 10 * 60_000;
            events.extend(e.tick(end));
            let mut last: std::collections::HashMap<AlarmId, (AlarmState, Change)> = Default::default();
            for ev in &events {
                let (to, action) = last.get(&ev.alarm).copied().unwrap_or((Normal, Change::Returned));
                prop_assert_eq!(ev.from, to, "{:?}", ev);
                prop_assert_eq!(action == FloodHeld, ev.action == FloodReleased, "held, then released: {:?}", ev);
                if ev.action == FloodHeld {
                    prop_assert!(ev.priority == Priority::Low && ev.to == Normal, "{:?}", ev);
                }
                last.insert(ev.alarm, (ev.to, ev.action));
            }
            let s = e.summary(end);
            prop_assert!(!s.flood && s.held_back == 0);
            prop_assert!(last.values().all(|&(_, a)| a != FloodHeld));

            let records: Vec<Record> = events.iter().map(Record::from).collect();
            let mut r = kpi::Kpis::with_flood(0, end, &policy);
            records.iter().for_each(|x| r.add(x));
            let r = r.finish();
            prop_assert_eq!((r.site.floods, r.site.flood_ms), (s.positions.first().map_or(0, |p| p.floods), s.time_in_flood_ms));
        }
    }
}
