use std::time::Duration;

use mimic_drivers::Quality;
use mimic_drivers::sim::plant::{Noise, PumpSkid};
use proptest::prelude::*;

use super::shadow::{Point, compare_alarm_limit, replay_setpoint};
use super::*;
use crate::alarms::{AlarmDef, AlarmKind, Priority};

/// Steps of random height every `hold` samples, like an operator's setpoint moves.
fn moves(n: usize, hold: usize, lo: f64, hi: f64, seed: u64) -> Vec<f64> {
    let mut r = Noise::new(seed);
    let mut v = (lo + hi) / 2.0;
    (0..n)
        .map(|k| {
            if k % hold == 0 {
                v = lo + (hi - lo) * r.uniform();
            }
            v
        })
        .collect()
}

/// A known FOPDT plant: gain 2, tau 10 s, dead time 3 s, offset 5, sampled every 1 s.
fn fopdt_plant(u: &[f64], noise: f64, seed: u64) -> Vec<f64> {
    let mut r = Noise::new(seed);
    let a = (-1.0f64 / 10.0).exp();
    let mut x = 5.0 + 2.0 * u[0];
    (0..u.len())
        .map(|k| {
            let uk = if k >= 3 { u[k - 3] } else { u[0] };
            let y = x + noise * r.normal();
            x = a * x + (1.0 - a) * (5.0 + 2.0 * uk);
            y
        })
        .collect()
}

#[test]
fn identifies_a_known_first_order_plus_dead_time() {
    let u = moves(1500, 60, 0.0, 10.0, 1);
    let y = fopdt_plant(&u, 0.02, 2);
    let fit = identify(&u, &y, 1.0, 1, 1, 8).unwrap();
    let f = fit.model.fopdt().unwrap();
    assert!((f.gain - 2.0).abs() < 0.05, "{f:?}");
    assert!((f.tau_s - 10.0).abs() < 0.5, "{f:?}");
    // One sample of the discrete form belongs to the dead time: 3 s = ARX delay 3.
    assert!((f.dead_s - 3.0).abs() <= 1.0, "{f:?}");
    assert!(fit.r2 > 0.99 && fit.nrmse < 0.02, "{fit:?}");
    assert!((fit.model.steady_state(4.0) - 13.0).abs() < 0.2);
}

#[test]
fn identification_refuses_what_it_cannot_do() {
    let flat = vec![1.0; 200];
    let y: Vec<f64> = (0..200).map(|k| k as f64).collect();
    assert_eq!(identify(&flat, &y, 1.0, 1, 1, 3), Err(PrescribeError::NoExcitation));
    assert_eq!(identify(&flat[..5], &y[..5], 1.0, 1, 1, 3), Err(PrescribeError::TooShort { got: 5, need: 34 }));
    assert_eq!(identify(&flat, &y[..10], 1.0, 1, 1, 3), Err(PrescribeError::Lengths { u: 200, y: 10 }));
    let mut bad = y.clone();
    bad[3] = f64::NAN;
    assert_eq!(identify(&y, &bad, 1.0, 1, 1, 3), Err(PrescribeError::NotFinite));
}

/// The demo skid's speed setpoint moved every 1–2 minutes for an hour (inflow following
/// the flow so the level holds), sampled once a second as the store would.
fn skid_history(seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut p = PumpSkid::new(seed);
    let sp = moves(3600, 90, 50.0, 95.0, seed + 100);
    let (mut u, mut q, mut dp) = (Vec::new(), Vec::new(), Vec::new());
    for s in sp {
        p.speed_sp = s;
        for _ in 0..10 {
            p.inflow = p.flow;
            p.step(0.1);
        }
        u.push((p.speed_sp * 10.0).round() / 10.0);
        q.push((p.measured_flow() * 10.0).round() / 10.0);
        dp.push((p.discharge * 100.0).round() / 100.0);
    }
    (u, q, dp)
}

#[test]
fn identifies_the_pump_skid_speed_to_flow_and_pressure() {
    let (u, q, dp) = skid_history(3);
    let flow = identify(&u, &q, 1.0, 1, 1, 5).unwrap();
    let f = flow.model.fopdt().unwrap();
    // Physics: flow = 120 · speed/100 · √(valve/100) = 0.93 m³/h per % at 60 % open.
    assert!((f.gain - 0.93).abs() < 0.05, "{f:?}");
    assert!(flow.r2 > 0.98, "{flow:?}");
    let press = identify(&u, &dp, 1.0, 1, 1, 5).unwrap();
    assert!(press.r2 > 0.9, "{press:?}");
    eprintln!(
        "speed_sp -> flow: {:?} R2 {:.4} NRMSE {:.4}; speed_sp -> discharge: {:?} R2 {:.4} NRMSE {:.4}",
        f,
        flow.r2,
        flow.nrmse,
        press.model.fopdt(),
        press.r2,
        press.nrmse
    );
}

fn known_fit(gain: f64, tau: f64) -> Fit {
    let a = (-1.0 / tau).exp();
    Fit::of(Arx { ts_s: 1.0, delay: 0, a: vec![a], b: vec![gain * (1.0 - a)], c: 0.0 })
}

#[test]
fn recommends_a_move_back_into_the_band_and_what_if_agrees() {
    let fit = known_fit(0.9, 4.0);
    let now = Now { u: vec![75.0; 5], y: vec![72.0; 5] };
    let band = Band { low: 60.0, high: 66.0 };
    let lim = Limits { low: 0.0, high: 100.0, max_step: None };
    let p = recommend("P101.speed_sp", "P101.flow", &fit, &now, band, lim, 30.0).unwrap().unwrap();
    assert!((p.to - (75.0 - 9.0 / 0.9)).abs() < 1e-9, "{p:?}");
    assert!((p.steady_state - 63.0).abs() < 1e-9);
    assert!(band.contains(p.predicted.last().unwrap().1), "{:?}", p.predicted.last());
    assert_eq!(p.predicted[0], (0.0, 72.0));
    assert!(p.predicted[1].1 < 72.0 && p.predicted[1].1 > 63.0, "a first-order lag: {:?}", p.predicted[1]);
    assert!((p.confidence - 0.95).abs() < 1e-9);
    assert_eq!(p.effect_text(), "P101.flow 72.00 -> 63.00 at steady state, 63 % within 4 s");
    let (traj, ss) = what_if(&fit, &now, p.to, 30.0).unwrap();
    assert_eq!(traj, p.predicted);
    assert_eq!(ss, p.steady_state);
    // Already in the band: nothing to do.
    let ok = Now { u: vec![75.0], y: vec![63.0] };
    assert_eq!(recommend("s", "k", &fit, &ok, band, lim, 30.0).unwrap(), None);
    // A maximum step of 5 only goes part of the way, and says so.
    let p = recommend("s", "k", &fit, &now, band, Limits { max_step: Some(5.0), ..lim }, 30.0).unwrap().unwrap();
    assert_eq!(p.to, 70.0);
    assert!(p.reason.contains("only part of the way") && p.reason.contains("still outside"), "{}", p.reason);
}

proptest! {
    #[test]
    fn a_recommendation_never_leaves_the_limits(
        gain in prop_oneof![-5.0f64..-0.01, 0.01f64..5.0],
        tau in 0.5f64..50.0,
        u0 in -50.0f64..150.0,
        y0 in -100.0f64..100.0,
        lo in -20.0f64..50.0,
        width in 0.0f64..100.0,
        band_lo in -100.0f64..100.0,
        band_w in 0.1f64..20.0,
        step in proptest::option::of(0.0f64..30.0),
    ) {
        let fit = known_fit(gain, tau);
        let now = Now { u: vec![u0], y: vec![y0] };
        let lim = Limits { low: lo, high: lo + width, max_step: step };
        let band = Band { low: band_lo, high: band_lo + band_w };
        match recommend("s", "k", &fit, &now, band, lim, 20.0) {
            Ok(Some(p)) => {
                prop_assert!(p.to >= lim.low && p.to <= lim.high, "{p:?} {lim:?}");
                if let Some(s) = step {
                    prop_assert!((p.to - u0).abs() <= s + 1e-9, "{p:?}");
                }
                prop_assert!((0.0..=1.0).contains(&p.confidence));
            }
            Ok(None) => prop_assert!(band.contains(y0)),
            // A maximum step from a value outside the limits can leave nothing allowed.
            Err(e) => prop_assert!(matches!(e, PrescribeError::Limits { .. }), "{e:?}"),
        }
    }
}

fn temp_alarm(limit: f64) -> AlarmDef {
    let mut d = AlarmDef::new(0, "P101.motor_temp", AlarmKind::Hi, Priority::Medium, Some(limit));
    d.deadband = 1.0;
    d.on_delay = Duration::from_secs(5);
    d
}

#[test]
fn shadow_alarm_limit_replays_through_the_engine() {
    // A temperature that swings up to 82 three times over an hour.
    let pts: Vec<Point> = (0..3600)
        .map(|s| {
            let v = 70.0 + 12.0 * (s as f64 * 2.0 * std::f64::consts::PI / 1200.0).sin().max(0.0);
            Point { ts_ms: s * 1000, value: Some(v), quality: Quality::Good }
        })
        .collect();
    let (now, proposed) = compare_alarm_limit(&temp_alarm(80.0), 85.0, &pts);
    assert_eq!(now.activations.len(), 3, "{now:?}");
    assert!(now.active_ms > 0);
    assert_eq!(proposed.activations.len(), 0, "{proposed:?}");
    let (_, lower) = compare_alarm_limit(&temp_alarm(80.0), 75.0, &pts);
    assert!(lower.active_ms > now.active_ms);
}

#[test]
fn shadow_setpoint_predicts_the_kpi_and_its_alarms() {
    let fit = known_fit(0.9, 4.0);
    let t: Vec<i64> = (0..600).map(|s| s * 1000).collect();
    let u = vec![80.0; 600];
    let y = vec![72.0; 600];
    let hi = AlarmDef::new(0, "P101.flow", AlarmKind::Hi, Priority::Medium, Some(70.0));
    let band = Band { low: 60.0, high: 66.0 };
    let r = replay_setpoint(&fit, &t, &u, &y, 70.0, Some(band), &[hi]);
    assert_eq!(r.out_of_band_actual, 600);
    assert!(r.out_of_band_predicted < 20, "{}", r.out_of_band_predicted);
    assert!((r.predicted.last().unwrap().1 - 63.0).abs() < 1e-6);
    assert_eq!(r.alarms_actual[0].activations.len(), 1);
    assert_eq!(r.alarms_predicted[0].activations.len(), 1, "fires once before the change takes effect");
    assert!(r.alarms_predicted[0].active_ms < 10_000);
    assert!(r.mean_predicted < r.mean_actual);
}
