use mimic_drivers::WriteOutcome;

use super::*;
use crate::approvals::{Expect, Signer, Source};
use crate::config::testkit::PUMP;
use crate::core::asset_life::LifeEffect;
use crate::core::testkit::{self, feed};
use crate::core::{LiveView, watch_writes, write_outcome};
use crate::lifecycle::{EventKind, PredictionError};
use crate::models::anomaly::AnomalyConfig;
use crate::models::prescribe::learn;
use crate::models::prescribe::{Arx, Band, Fit, Limits, Now, recommend};
use crate::users::Role;

fn state() -> State {
    testkit::state(PUMP)
}

/// Healthy with `ratio` between flow and speed (a new bearing changes it).
fn healthy(i: usize, ratio: f64) -> [f64; 2] {
    let speed = 50.0 + 10.0 * (i as f64 / 40.0).sin() + ((i * 7919) % 13) as f64 * 0.05;
    [speed, ratio * speed + ((i * 104_729) % 11) as f64 * 0.05]
}

fn raised(fx: &[Effect]) -> bool {
    fx.iter().any(|e| matches!(e, Effect::Alarm(ev) if ev.iter().any(|a| a.place.asset.as_deref() == Some("P-1"))))
}

#[test]
fn a_replaced_part_sets_the_model_aside_then_refits_it_on_the_first_healthy_window() {
    let mut st = state();
    assert_eq!(st.site.assets[0].commissioned_ms, Some(1_554_076_800_000), "2019-04-01T00:00Z");
    st.life.policy = RebasePolicy { settle_ms: 60_000, window_ms: 900_000 };
    let rows: Vec<Vec<f64>> = (0..2000).map(|i| healthy(i, 2.0).to_vec()).collect();
    let model = AnomalyModel::fit(vec!["speed".into(), "flow".into()], &rows, AnomalyConfig::default()).unwrap();
    let stored = AssetModel { asset: "P-1".into(), step_ms: 1000, from_ms: 0, to_ms: 1, rows: 2000, model };
    let live = LiveAnomaly::bind(&st, stored).unwrap();
    st.anomaly.push(live);
    for i in 2000..2200 {
        assert!(!raised(&feed(&mut st, healthy(i, 2.0), i as i64 * 1000)));
    }
    // the bearing is replaced at t = 2200 s: the pump now runs with another ratio
    let t0 = 2_200_000;
    let ev = crate::lifecycle::maintenance_event("P-1", "part-replaced", "bearing", "", "eve", t0).unwrap();
    maintenance(&mut st, ev, t0);
    assert_eq!(st.life.rebase_at("P-1"), Some(t0));
    assert!(st.life.rebasing("P-1") && st.anomaly.is_empty(), "the model waits aside");
    let mut refit = None;
    for i in 2200..4000 {
        let fx = feed(&mut st, healthy(i, 2.6), i as i64 * 1000);
        assert!(!raised(&fx), "second {i}: the new normal raised an alarm: {fx:?}");
        if let Some(Effect::Life(LifeEffect::Refit { version, model })) =
            fx.into_iter().find(|e| matches!(e, Effect::Life(_)))
        {
            refit = Some((i, version, model));
            break;
        }
    }
    let (at, version, model) = refit.expect("a refit within the window");
    assert!(at >= 2200 + 60 + 900 - 1, "settled 60 s, then learnt 900 rows: refit at {at}");
    assert_eq!(model.rows, 900);
    assert!(model.from_ms >= t0 + 60_000);
    assert_eq!((version.asset.as_str(), version.kind.as_str()), ("P-1", "anomaly"));
    assert!(version.accuracy.iter().any(|(k, v)| k == "window_alarm_rate" && *v < 0.05), "{version:?}");
    assert!(!st.life.rebasing("P-1") && st.anomaly.len() == 1);
    // the new baseline holds the new normal, and still catches a broken relation
    for i in at + 1..at + 200 {
        assert!(!raised(&feed(&mut st, healthy(i, 2.6), i as i64 * 1000)), "second {i}");
    }
    let caught = (at + 200..at + 400).any(|i| {
        let [s, f] = healthy(i, 2.6);
        raised(&feed(&mut st, [s, f * 0.7], i as i64 * 1000))
    });
    assert!(caught, "the refitted model raises on a broken relation");
    // an inspection does not re-base
    let ev = crate::lifecycle::maintenance_event("P-1", "inspection", "", "ok", "eve", 9_000_000).unwrap();
    maintenance(&mut st, ev, 9_000_000);
    assert_eq!(st.life.rebase_at("P-1"), Some(t0));
    assert!(!st.life.rebasing("P-1"));
    assert_eq!(st.life.assets["P-1"].events.last().map(|e| e.kind), Some(EventKind::Inspection));
}

/// The plant: flow settles at twice the speed setpoint. The identified model says once.
fn plant(speed: f64) -> f64 {
    2.0 * speed
}

/// One recommendation from the plant at rest at `u0`, approved, written, settled; returns
/// the setpoint written and the prediction error stored.
fn recommend_and_settle(st: &mut State, fit: &Fit, u0: f64, now: i64, rec: u64) -> (f64, PredictionError) {
    let y0 = plant(u0);
    feed(st, [u0, y0], now);
    let now_y = Now { u: vec![u0; 30], y: vec![y0; 30] };
    let band = Band { low: 100.0, high: 110.0 };
    let limits = Limits { low: 0.0, high: 100.0, max_step: None };
    let p = recommend("speed", "flow", fit, &now_y, band, limits, 60.0).unwrap().expect("outside its band");
    let who = Signer { user: "eve".into(), full_name: "Eve".into(), role: Role::Engineer };
    let boss = Signer { user: "sam".into(), full_name: "Sam".into(), role: Role::Engineer };
    let view = LiveView::of(st);
    let inputs = vec![(1, y0), (0, u0)];
    let (id, _) =
        st.approvals.request(&st.site, &view.live(true), &who, 0, p.to, Source::Recommendation { rec }, inputs, now);
    let id = id.expect("request");
    st.approvals.predict(id, vec![Expect { tag: 1, value: p.steady_state, tolerance: 2.0 }], "", p.confidence);
    st.approvals.sign(&st.site, &view.live(true), id, &boss, now).0.expect("sent");
    write_outcome(st, id, WriteOutcome::Confirmed { read_back: p.to }, now);
    feed(st, [p.to, plant(p.to)], now + 5_000);
    let fx = watch_writes(st, true, now + 11_000);
    let errs: Vec<PredictionError> = fx
        .into_iter()
        .filter_map(|e| match e {
            Effect::Life(LifeEffect::PredictionError(e)) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(errs.len(), 1, "one KPI predicted, one error");
    (p.to, errs[0].clone())
}

#[test]
fn a_second_recommendation_improves_after_a_first_mismatch() {
    let mut st = state();
    // identified gain 1.0 (a = 0.5, b = 0.5); the plant's is 2.0
    let fit = Fit { nrmse: 0.05, ..Fit::of(Arx { ts_s: 1.0, delay: 0, a: vec![0.5], b: vec![0.5], c: 0.0 }) };
    let (u1, e1) = recommend_and_settle(&mut st, &fit, 40.0, 1_000_000, 1);
    assert_eq!((e1.manipulated.as_str(), e1.controlled.as_str()), ("speed", "flow"));
    assert!((e1.y_predicted - 105.0).abs() < 1e-6 && (e1.y_observed - plant(u1)).abs() < 1e-9, "{e1:?}");
    let first_miss = (plant(u1) - 105.0).abs();
    assert!(first_miss > 20.0, "the uncorrected model overshoots: {first_miss}");

    // the next recommendation uses the corrected gain
    let c = learn::correct_gain(fit.model.gain(), std::slice::from_ref(&e1));
    assert!(c.gain > 1.5, "{c:?}");
    let corrected = learn::apply(&fit, &c);
    let (u2, e2) = recommend_and_settle(&mut st, &corrected, u1, 5_000_000, 2);
    let second_miss = (plant(u2) - 105.0).abs();
    assert!(second_miss < first_miss / 4.0, "first {first_miss}, second {second_miss}");
    assert!(e2.error().abs() < e1.error().abs() / 4.0, "{e1:?} {e2:?}");
    // without the correction the second one would have missed as badly
    let (u_plain, _) = recommend_and_settle(&mut st, &fit, u1, 9_000_000, 3);
    assert!((plant(u_plain) - 105.0).abs() > 20.0);
}
