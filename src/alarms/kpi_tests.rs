use super::*;
use crate::alarms::{AlarmState, Place};

const T0: i64 = 1_790_000_000_000 - 1_790_000_000_000 % DAY_MS;
const S: i64 = 1000;
const MIN: i64 = 60 * S;

fn rec(ts_ms: i64, tag: &str, area: &str, priority: Priority, change: Change) -> Record {
    Record {
        ts_ms,
        seq: 0,
        place: Place { tag: Some(tag.into()), asset: None, area: Some(area.into()) },
        kind: "HI".into(),
        priority,
        change,
        state: AlarmState::Normal,
        value: None,
        user: None,
        note: String::new(),
    }
}

/// A day with known answers: a flood of 15 alarms in area `unit1` (acknowledged 10..150 s
/// after each), a tag chattering in `unit2`, an alarm standing since two days before,
/// one shelve of an hour, an alarm out of service for the last 4 hours.
fn synthetic() -> Report {
    let mut rs = Vec::new();
    let flood = T0 + 60 * MIN;
    for i in 0..15 {
        let tag = format!("F{i}");
        let p = if i < 12 { Priority::Low } else { Priority::Medium };
        rs.push(rec(flood + i * 10 * S, &tag, "unit1", p, Change::Raised));
        rs.push(rec(flood + i * 10 * S + (i + 1) * 10 * S, &tag, "unit1", p, Change::Acknowledged));
        rs.push(rec(flood + i * 10 * S + 170 * S, &tag, "unit1", p, Change::Returned));
    }
    let chatter = T0 + 5 * 60 * MIN;
    for i in 0..4 {
        rs.push(rec(chatter + i * 12 * S, "C", "unit2", Priority::High, Change::Raised));
        rs.push(rec(chatter + i * 12 * S + 2 * S, "C", "unit2", Priority::High, Change::Returned));
    }
    rs.push(rec(T0 + 120 * MIN, "F0", "unit1", Priority::Low, Change::Shelved));
    rs.push(rec(T0 + 180 * MIN, "F0", "unit1", Priority::Low, Change::Unshelved));
    rs.push(rec(T0 + 20 * 60 * MIN, "X", "unit2", Priority::Low, Change::OutOfService));
    rs.sort_by_key(|r| r.ts_ms);
    let mut k = Kpis::new(T0, T0 + DAY_MS);
    k.active_before(&rec(T0 - 2 * DAY_MS, "S", "unit2", Priority::Low, Change::Raised));
    rs.iter().for_each(|r| k.add(r));
    k.finish()
}

#[test]
fn a_synthetic_day_gives_its_known_figures() {
    let r = synthetic();
    let s = &r.site;
    assert_eq!(s.raised, 19);
    assert_eq!(s.by_priority, [12, 3, 4, 0]);
    assert!((s.per_10min - 19.0 / 144.0).abs() < 1e-9);
    assert!((s.per_hour - 19.0 / 24.0).abs() < 1e-9);
    assert!((s.per_day - 19.0).abs() < 1e-9);
    // the flood: all 15 in the 10 minutes from 01:00
    assert_eq!(s.peak_10min, 15);
    assert_eq!(s.peak_at_ms, T0 + 60 * MIN);
    assert!((s.periods_over_10_pct - 100.0 / 144.0).abs() < 1e-9);
    // from the 11th (01:01:40) until fewer than 5 remain: the 11th leaves the window (01:11:40)
    assert_eq!(s.floods, 1);
    assert_eq!(s.flood_ms, 600 * S);
    assert!((s.flood_pct - 600.0 * 100.0 / 86_400.0).abs() < 1e-9);
    assert_eq!(r.chattering, ["C HI"]);
    assert_eq!(s.chattering, 1);
    assert_eq!(s.fleeting, 4);
    assert_eq!(s.standing, 1);
    assert_eq!(r.standing.len(), 1);
    assert_eq!(r.standing[0].alarm, "S HI");
    assert_eq!(r.standing[0].since_ms, T0 - 2 * DAY_MS);
    assert_eq!(r.standing[0].longest_ms, 3 * DAY_MS);
    assert_eq!((s.shelved, s.shelved_ms), (1, 60 * MIN));
    assert_eq!((s.out_of_service, s.out_of_service_ms), (1, 4 * 60 * MIN));
    // acks 10, 20, … 150 s: nearest-rank median the 8th, 90th percentile the 14th
    assert_eq!(s.acknowledged, 15);
    assert_eq!(s.ack_median_ms, Some(80 * S));
    assert_eq!(s.ack_p90_ms, Some(140 * S));
    assert_eq!(r.top[0].alarm, "C HI");
    assert_eq!(r.top[0].count, 4);
    assert_eq!(r.top.len(), 10);
    assert!((s.top10_share_pct - 13.0 * 100.0 / 19.0).abs() < 1e-9);
    assert_eq!(r.per_hour.len(), 24);
    assert_eq!((r.per_hour[1], r.per_hour[5]), (15, 4));
    // the 10-minute counts a terminal charts: every period of the day, the same total
    assert_eq!(r.per_10min.len(), 144);
    assert_eq!(r.per_10min.iter().map(|&n| u64::from(n)).sum::<u64>(), s.raised);
    assert_eq!(r.per_10min.iter().max().copied(), Some(s.peak_10min));
}

#[test]
fn each_position_has_its_own_figures() {
    let r = synthetic();
    let names: Vec<&str> = r.areas.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["unit1", "unit2"]);
    let (u1, u2) = (&r.areas[0], &r.areas[1]);
    assert_eq!((u1.raised, u1.floods, u1.peak_10min, u1.chattering, u1.standing), (15, 1, 15, 0, 0));
    assert_eq!((u2.raised, u2.floods, u2.peak_10min, u2.chattering, u2.standing), (4, 0, 4, 1, 1));
    assert_eq!(u2.out_of_service, 1);
    assert_eq!(u1.shelved, 1);
    assert_eq!(u2.ack_median_ms, None);
}

#[test]
fn figures_stand_beside_their_targets() {
    let r = synthetic();
    let figs = r.site.figures();
    let by = |n: &str| figs.iter().find(|f| f.name == n).unwrap_or_else(|| panic!("no figure {n}"));
    assert_eq!(by("alarms per 10 min").verdict, Verdict::Acceptable);
    assert_eq!(by("alarms per day").verdict, Verdict::Acceptable);
    assert_eq!(by("peak alarms in 10 min").verdict, Verdict::Over);
    assert_eq!(by("10-min periods > 10 alarms").verdict, Verdict::Acceptable);
    assert_eq!(by("time in flood").verdict, Verdict::Acceptable);
    assert_eq!(by("chattering alarms").verdict, Verdict::Over);
    assert_eq!(by("standing alarms (> 24 h)").verdict, Verdict::Acceptable);
    assert_eq!(by("priority low/medium/high").text, "63/16/21 %");
    assert_eq!(by("priority low/medium/high").verdict, Verdict::Over);
    assert_eq!(by("top 10 alarms' share").verdict, Verdict::Over);
    assert_eq!(by("time to acknowledge").text, "median 1 min 20 s, 90th percentile 2 min 20 s");
    assert!(figs.iter().all(|f| !f.target.is_empty()));
}

#[test]
fn an_empty_period_is_all_zero_and_acceptable() {
    let r = report(&[], T0, T0 + DAY_MS);
    assert_eq!(r.site.raised, 0);
    assert!(r.areas.is_empty());
    assert!(r.site.figures().iter().all(|f| matches!(f.verdict, Verdict::Acceptable | Verdict::Info)));
}
