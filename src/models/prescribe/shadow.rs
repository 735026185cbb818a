//! Shadow mode: what would have happened over a stretch of stored history with a
//! proposed alarm limit (replayed through the real [`AlarmEngine`]) or a proposed
//! setpoint (the identified model's response to the difference, added to what was
//! measured). Nothing here reaches the plant.

use mimic_drivers::Quality;

use super::{Arx, Band, Fit};
use crate::alarms::{AlarmDef, AlarmEngine, Change};

/// One stored sample of a tag.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub ts_ms: i64,
    pub value: Option<f64>,
    pub quality: Quality,
}

/// What one alarm definition did over a stretch of history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlarmReplay {
    /// Times it activated.
    pub activations: Vec<i64>,
    /// Total time it was active, ms.
    pub active_ms: i64,
}

/// Replay `points` (ordered by time) through a fresh engine holding `def` alone.
pub fn replay_alarm(def: &AlarmDef, points: &[Point]) -> AlarmReplay {
    let mut engine = AlarmEngine::new(vec![def.clone()]);
    let mut out = AlarmReplay::default();
    let mut since: Option<i64> = None;
    let mut take = |events: Vec<crate::alarms::AlarmEvent>, out: &mut AlarmReplay| {
        for e in events {
            match e.action {
                Change::Raised => {
                    out.activations.push(e.ts_ms);
                    since.get_or_insert(e.ts_ms);
                }
                Change::Returned => {
                    if let Some(s) = since.take() {
                        out.active_ms += e.ts_ms - s;
                    }
                }
                _ => {}
            }
        }
    };
    for p in points {
        let ev = engine.evaluate(def.tag, p.value, p.quality, p.ts_ms);
        take(ev, &mut out);
    }
    if let Some(last) = points.last() {
        let ev = engine.tick(last.ts_ms);
        take(ev, &mut out);
    }
    if let (Some(s), Some(last)) = (since, points.last()) {
        out.active_ms += last.ts_ms - s;
    }
    out
}

/// The present definition and the same alarm with `proposed_limit`, over the same history.
pub fn compare_alarm_limit(def: &AlarmDef, proposed_limit: f64, points: &[Point]) -> (AlarmReplay, AlarmReplay) {
    let proposed = AlarmDef { limit: Some(proposed_limit), ..def.clone() };
    (replay_alarm(def, points), replay_alarm(&proposed, points))
}

/// A proposed setpoint replayed over history.
#[derive(Clone, Debug, PartialEq)]
pub struct SetpointReplay {
    /// Predicted KPI, `(t_ms, value)`, one per history sample.
    pub predicted: Vec<(i64, f64)>,
    /// Samples outside the band, as measured and as predicted.
    pub out_of_band_actual: usize,
    pub out_of_band_predicted: usize,
    /// Alarms on the KPI as they fired and as they would have fired.
    pub alarms_actual: Vec<AlarmReplay>,
    pub alarms_predicted: Vec<AlarmReplay>,
    /// The predicted KPI's mean, and the measured one.
    pub mean_actual: f64,
    pub mean_predicted: f64,
}

/// Replay a setpoint held at `proposed` from the start of the stretch instead of the
/// recorded `u`: predicted KPI = measured `y` + the model's response to `proposed − u`.
/// `t_ms`, `u`, `y` are equally spaced at the model's sample period. `alarms` are the
/// KPI's alarm definitions (their `tag` field is ignored).
pub fn replay_setpoint(
    fit: &Fit,
    t_ms: &[i64],
    u: &[f64],
    y: &[f64],
    proposed: f64,
    band: Option<Band>,
    alarms: &[AlarmDef],
) -> SetpointReplay {
    let n = t_ms.len().min(u.len()).min(y.len());
    let zero = Arx { c: 0.0, ..fit.model.clone() };
    let du: Vec<f64> = u[..n].iter().map(|v| proposed - v).collect();
    let mut hist = vec![0.0; zero.a.len()];
    let resp = zero.simulate_from(&du, &[0.0], &mut hist);
    // The change is made at the first sample; the response starts one sample later.
    let predicted: Vec<(i64, f64)> = (0..n).map(|k| (t_ms[k], y[k] + resp[k])).collect();
    let outside = |v: f64| band.is_some_and(|b| !b.contains(v));
    let points = |vals: &mut dyn Iterator<Item = (i64, f64)>| -> Vec<Point> {
        vals.map(|(ts_ms, v)| Point { ts_ms, value: Some(v), quality: Quality::Good }).collect()
    };
    let actual_pts = points(&mut (0..n).map(|k| (t_ms[k], y[k])));
    let pred_pts = points(&mut predicted.iter().copied());
    let mean = |v: &mut dyn Iterator<Item = f64>| {
        let (s, c) = v.fold((0.0, 0usize), |(s, c), x| (s + x, c + 1));
        if c == 0 { f64::NAN } else { s / c as f64 }
    };
    SetpointReplay {
        out_of_band_actual: y[..n].iter().filter(|v| outside(**v)).count(),
        out_of_band_predicted: predicted.iter().filter(|(_, v)| outside(*v)).count(),
        alarms_actual: alarms.iter().map(|d| replay_alarm(d, &actual_pts)).collect(),
        alarms_predicted: alarms.iter().map(|d| replay_alarm(d, &pred_pts)).collect(),
        mean_actual: mean(&mut y[..n].iter().copied()),
        mean_predicted: mean(&mut predicted.iter().map(|p| p.1)),
        predicted,
    }
}
