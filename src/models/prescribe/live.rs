//! The prescriptive model live: when to advise on a control loop, and the stored history
//! turned into the equally spaced series identification needs. Pure; the daemon's advisor
//! (`crate::daemon::advise`) reads the store and files what [`decide`] allows.
//!
//! - [`decide`]: a loop is advised on when its KPI's recent good mean leaves the band and no
//!   request on its setpoint is pending; then not again until the KPI came back well inside
//!   the band (hysteresis), crossed to the other side, or [`LoopWatch::repeat_ms`] passed
//!   (a rejected or expired recommendation while the KPI stays out).
//! - [`grid`]: both series on one grid over the most recent stretch where both are good
//!   (a Bad sample or a gap in the KPI ends a stretch: identification never bridges them).

use super::{Band, Fit, Limits, Now, PrescribeError, Prescription, identify, recommend};

/// Which side of its band the KPI is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Below,
    Above,
}

/// What the advisor remembers of one loop between checks.
#[derive(Clone, Debug, PartialEq)]
pub struct LoopWatch {
    /// The next excursion may be advised on at once.
    pub armed: bool,
    /// The side and time of the last advice filed.
    pub last: Option<(Side, i64)>,
    /// An excursion that outlasts its advice is advised on again after this long.
    pub repeat_ms: i64,
    /// Fraction of the band's width the KPI must come back inside by to re-arm.
    pub hysteresis: f64,
}

impl LoopWatch {
    pub fn new(repeat_ms: i64) -> LoopWatch {
        LoopWatch { armed: true, last: None, repeat_ms, hysteresis: 0.1 }
    }

    /// Advice of `side` was filed at `now_ms`.
    pub fn advised(&mut self, side: Side, now_ms: i64) {
        self.armed = false;
        self.last = Some((side, now_ms));
    }
}

/// What to do with a loop now.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    /// The KPI is inside its band.
    Inside,
    /// Outside, but not now: why.
    Wait(String),
    /// Identify and recommend.
    Advise(Side),
}

/// The decision for a loop whose KPI's recent good mean is `mean` (None: no good sample
/// lately); `pending`: a write request on its setpoint waits for approval.
pub fn decide(w: &mut LoopWatch, band: Band, mean: Option<f64>, pending: bool, now_ms: i64) -> Decision {
    let Some(v) = mean.filter(|v| v.is_finite()) else {
        return Decision::Wait("no good sample of the KPI lately".into());
    };
    let margin = w.hysteresis.max(0.0) * (band.high - band.low);
    if band.contains(v) {
        if v >= band.low + margin && v <= band.high - margin {
            w.armed = true;
        }
        return Decision::Inside;
    }
    let side = if v < band.low { Side::Below } else { Side::Above };
    if pending {
        return Decision::Wait("a request on the setpoint is pending".into());
    }
    match w.last {
        _ if w.armed => Decision::Advise(side),
        Some((s, _)) if s != side => Decision::Advise(side),
        Some((_, at)) if now_ms - at >= w.repeat_ms => Decision::Advise(side),
        None => Decision::Advise(side),
        Some((_, at)) => Decision::Wait(format!(
            "advised {} s ago; again once the KPI is back in its band or after {} s",
            (now_ms - at) / 1000,
            w.repeat_ms / 1000
        )),
    }
}

/// One stored sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub ts_ms: i64,
    pub value: f64,
    pub good: bool,
}

/// Mean of the good, finite samples at or after `from_ms`.
pub fn recent_mean(y: &[Point], from_ms: i64) -> Option<f64> {
    let (n, s) = y
        .iter()
        .filter(|p| p.ts_ms >= from_ms && p.good && p.value.is_finite())
        .fold((0usize, 0.0), |(n, s), p| (n + 1, s + p.value));
    (n > 0).then(|| s / n as f64)
}

/// The setpoint `u` and the KPI `y` (each sorted by time) on the grid `from_ms, from_ms +
/// ts_ms, … ≤ to_ms`, holding each value until the next sample: the most recent run of
/// grid points where the latest setpoint sample is good and the latest KPI sample is good
/// and at most `y_hold_ms` old. Returns the run's start time and its `(u, y)` values.
pub fn grid(
    u: &[Point],
    y: &[Point],
    from_ms: i64,
    to_ms: i64,
    ts_ms: i64,
    y_hold_ms: i64,
) -> (i64, Vec<f64>, Vec<f64>) {
    let (mut start, mut us, mut ys) = (from_ms, Vec::new(), Vec::new());
    if ts_ms <= 0 {
        return (start, us, ys);
    }
    let (mut iu, mut iy) = (None::<usize>, None::<usize>);
    let mut t = from_ms;
    while t <= to_ms {
        while iu.map_or(0, |i| i + 1) < u.len() && u[iu.map_or(0, |i| i + 1)].ts_ms <= t {
            iu = Some(iu.map_or(0, |i| i + 1));
        }
        while iy.map_or(0, |i| i + 1) < y.len() && y[iy.map_or(0, |i| i + 1)].ts_ms <= t {
            iy = Some(iy.map_or(0, |i| i + 1));
        }
        let pu = iu.map(|i| u[i]).filter(|p| p.good && p.value.is_finite());
        let py = iy.map(|i| y[i]).filter(|p| p.good && p.value.is_finite() && t - p.ts_ms <= y_hold_ms);
        match (pu, py) {
            (Some(a), Some(b)) => {
                if us.is_empty() {
                    start = t;
                }
                us.push(a.value);
                ys.push(b.value);
            }
            _ => {
                us.clear();
                ys.clear();
            }
        }
        t += ts_ms;
    }
    (start, us, ys)
}

/// A loop's identified model and, when its KPI is out of band, the recommendation.
#[derive(Clone, Debug, PartialEq)]
pub struct Advice {
    pub fit: Fit,
    pub prescription: Option<Prescription>,
}

/// The loop's parameters, as the site file gives them.
#[derive(Clone, Debug, PartialEq)]
pub struct LoopSpec {
    pub tag: String,
    pub kpi: String,
    pub band: Band,
    pub limits: Limits,
    pub ts_s: f64,
    pub max_delay: usize,
    pub horizon_s: f64,
}

/// The stretches of `u`, `y` around the setpoint's moves, joined: from `pre` samples before
/// each move to `post` samples after it (overlapping stretches merge). The quiet stretches
/// between moves are left out: what the KPI did there (a disturbance, a fault) is not the
/// setpoint's doing, and an equation-error fit would read it as slow dynamics. Successive
/// stretches join where the plant rested at the same setpoint, so the joins are smooth
/// unless something else moved the KPI meanwhile (which the fit quality then shows).
pub fn around_moves(u: &[f64], y: &[f64], pre: usize, post: usize) -> (Vec<f64>, Vec<f64>) {
    let n = u.len().min(y.len());
    let mut keep = vec![false; n];
    for k in 1..n {
        if u[k] != u[k - 1] {
            for x in keep.iter_mut().take((k + post).min(n)).skip(k.saturating_sub(pre)) {
                *x = true;
            }
        }
    }
    let pick = |s: &[f64]| s.iter().zip(&keep).filter(|(_, k)| **k).map(|(v, _)| *v).collect();
    (pick(u), pick(y))
}

/// The loop's model (ARX(1,1) read as first order plus dead time) from the stretches of
/// `u`, `y` around the setpoint's moves ([`around_moves`]: a quarter of the horizon before
/// each, the horizon after, at least 10 samples each).
pub fn fit_loop(spec: &LoopSpec, u: &[f64], y: &[f64]) -> Result<Fit, PrescribeError> {
    let samples = |s: f64| ((s / spec.ts_s).ceil() as usize).max(10);
    let (mu, my) = around_moves(u, y, samples(spec.horizon_s / 4.0), samples(spec.horizon_s));
    identify(&mu, &my, spec.ts_s, 1, 1, spec.max_delay)
}

/// `fit` corrected by what approved changes of the pair showed (`errors`, oldest first; see
/// [`crate::models::prescribe::learn`]), and how many it learnt from.
pub fn learnt(fit: Fit, errors: &[crate::lifecycle::PredictionError]) -> (Fit, usize) {
    let c = crate::models::prescribe::learn::correct_gain(fit.model.gain(), errors);
    if c.used == 0 { (fit, 0) } else { (crate::models::prescribe::learn::apply(&fit, &c), c.used) }
}

/// Identifies the loop's model ([`fit_loop`], corrected by the pair's learnt `errors`) and
/// recommends when `y`'s latest value is out of band.
pub fn advise(
    spec: &LoopSpec,
    u: Vec<f64>,
    y: Vec<f64>,
    errors: &[crate::lifecycle::PredictionError],
) -> Result<Advice, PrescribeError> {
    let (fit, _) = learnt(fit_loop(spec, &u, &y)?, errors);
    let now = Now { u, y };
    let prescription = recommend(&spec.tag, &spec.kpi, &fit, &now, spec.band, spec.limits, spec.horizon_s)?;
    Ok(Advice { fit, prescription })
}

/// How close the settled KPI must come to the prediction for an approved change to count as
/// having had its effect: a quarter of the predicted move, at least 2 % of the level.
pub fn tolerance(kpi_now: f64, kpi_expect: f64) -> f64 {
    (0.25 * (kpi_expect - kpi_now).abs()).max(0.02 * kpi_expect.abs()).max(1e-3)
}

/// One line on the model behind a prediction: gain, time constant, dead time, fit.
pub fn fit_text(fit: &Fit, tag_units: &str, kpi_units: &str) -> String {
    match fit.model.fopdt() {
        Some(f) => format!(
            "model: gain {:.3} {kpi_units} per {tag_units}, time constant {:.0} s, dead time {:.0} s, R² {:.2}",
            f.gain, f.tau_s, f.dead_s, fit.r2
        ),
        None => format!("model: gain {:.3} {kpi_units} per {tag_units}, R² {:.2}", fit.model.gain(), fit.r2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAND: Band = Band { low: 60.0, high: 80.0 };

    #[test]
    fn out_of_band_advises_once_then_waits_for_hysteresis_or_the_other_side() {
        let mut w = LoopWatch::new(300_000);
        assert_eq!(decide(&mut w, BAND, Some(70.0), false, 0), Decision::Inside);
        assert!(matches!(decide(&mut w, BAND, None, false, 0), Decision::Wait(_)));
        // below: advise; a pending request holds further advice
        assert_eq!(
            decide(&mut w, BAND, Some(50.0), true, 1_000),
            Decision::Wait("a request on the setpoint is pending".into())
        );
        assert_eq!(decide(&mut w, BAND, Some(50.0), false, 1_000), Decision::Advise(Side::Below));
        w.advised(Side::Below, 1_000);
        assert!(
            matches!(decide(&mut w, BAND, Some(50.0), false, 16_000), Decision::Wait(m) if m.contains("advised 15 s ago"))
        );
        // just inside the band (within the hysteresis margin of 2): not re-armed
        assert_eq!(decide(&mut w, BAND, Some(61.0), false, 20_000), Decision::Inside);
        assert!(matches!(decide(&mut w, BAND, Some(59.0), false, 25_000), Decision::Wait(_)));
        // the other side is a new excursion
        assert_eq!(decide(&mut w, BAND, Some(85.0), false, 30_000), Decision::Advise(Side::Above));
        w.advised(Side::Above, 30_000);
        // well inside re-arms: the next excursion is advised at once
        assert_eq!(decide(&mut w, BAND, Some(70.0), false, 40_000), Decision::Inside);
        assert_eq!(decide(&mut w, BAND, Some(85.0), false, 41_000), Decision::Advise(Side::Above));
        w.advised(Side::Above, 41_000);
        // an excursion that outlasts its advice (rejected, expired) is advised again later
        assert!(matches!(decide(&mut w, BAND, Some(85.0), false, 340_000), Decision::Wait(_)));
        assert_eq!(decide(&mut w, BAND, Some(85.0), false, 341_000), Decision::Advise(Side::Above));
        assert!(matches!(decide(&mut w, BAND, Some(f64::NAN), false, 341_000), Decision::Wait(_)));
    }

    #[test]
    fn the_recent_mean_uses_good_samples_only() {
        let p = |ts_ms, value, good| Point { ts_ms, value, good };
        let y = [p(0, 100.0, true), p(1000, 10.0, true), p(2000, 999.0, false), p(3000, 20.0, true)];
        assert_eq!(recent_mean(&y, 500), Some(15.0));
        assert_eq!(recent_mean(&y, 5000), None);
    }

    #[test]
    fn the_grid_keeps_the_latest_stretch_without_bad_samples_or_gaps() {
        let p = |ts_ms, value, good| Point { ts_ms, value, good };
        // setpoint stored only when it moves; KPI every second with a gap and a Bad sample
        let u = [p(0, 1.0, true), p(5_000, 2.0, true)];
        let mut y: Vec<Point> = (0..20).filter(|s| !(8..12).contains(s)).map(|s| p(s * 1000, s as f64, true)).collect();
        y.retain(|q| q.ts_ms != 15_000);
        y.push(p(15_000, f64::NAN, false));
        y.sort_by_key(|q| q.ts_ms);
        let (start, us, ys) = grid(&u, &y, 0, 19_000, 1000, 1500);
        assert_eq!(start, 16_000, "after the Bad sample at 15 s");
        assert_eq!(us, vec![2.0; 4]);
        assert_eq!(ys, vec![16.0, 17.0, 18.0, 19.0]);
        // without the Bad sample, the gap 8..12 s (hold 1.5 s) still cuts it
        y.retain(|q| q.good);
        y.push(p(15_000, 15.0, true));
        y.sort_by_key(|q| q.ts_ms);
        let (start, us, _) = grid(&u, &y, 0, 19_000, 1000, 1500);
        assert_eq!((start, us.len()), (12_000, 8));
        assert_eq!(grid(&u, &y, 0, 19_000, 0, 1500).1.len(), 0);
    }

    #[test]
    fn only_the_stretches_around_setpoint_moves_are_kept() {
        let u = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0, 3.0, 3.0];
        let y: Vec<f64> = (0..11).map(f64::from).collect();
        let (mu, my) = around_moves(&u, &y, 1, 2);
        assert_eq!(my, vec![2.0, 3.0, 4.0, 8.0, 9.0, 10.0]);
        assert_eq!(mu, vec![1.0, 2.0, 2.0, 2.0, 3.0, 3.0]);
        assert_eq!(around_moves(&[1.0; 5], &[0.0; 5], 1, 2).0.len(), 0, "no move, nothing to learn from");
    }

    /// A plant whose `y` settles at 2·u with time constant `tau_s` (1 s samples), the
    /// setpoint cycling through 30, 35, 25, 32 every `hold` samples, `fault(k)` added to
    /// the plant's input at sample k: (u, y).
    fn first_order(n: usize, hold: usize, tau_s: f64, fault: impl Fn(usize) -> f64) -> (Vec<f64>, Vec<f64>) {
        let (mut u, mut y) = (Vec::new(), Vec::new());
        let (mut v, mut prev) = (60.0, 30.0);
        for k in 0..n {
            let sp = [30.0, 35.0, 25.0, 32.0][(k / hold) % 4];
            v += (2.0 * prev + fault(k) - v) * (1.0 - (-1.0f64 / tau_s).exp());
            u.push(sp);
            y.push(v);
            prev = sp;
        }
        (u, y)
    }

    /// The loop `sp` → `y` on 1 s samples: the KPI's band, the setpoint's upper limit
    /// (lower 0) and the prediction horizon.
    fn spec(band: (f64, f64), high: f64, horizon_s: f64) -> LoopSpec {
        LoopSpec {
            tag: "sp".into(),
            kpi: "y".into(),
            band: Band { low: band.0, high: band.1 },
            limits: Limits { low: 0.0, high, max_step: None },
            ts_s: 1.0,
            max_delay: 5,
            horizon_s,
        }
    }

    #[test]
    fn a_disturbance_between_moves_does_not_bias_the_model() {
        // y settles at 2·u (τ 3 s); between moves a fault pulls y down by 30 for 60 s
        let faulty = |k: usize| if (2340..2400).contains(&k) || (500..560).contains(&k) { -30.0 } else { 0.0 };
        let (u, y) = first_order(2400, 200, 3.0, faulty);
        let spec = spec((55.0, 70.0), 100.0, 60.0);
        let fit = fit_loop(&spec, &u, &y).expect("identifies");
        assert!((fit.model.gain() - 2.0).abs() < 0.05 && fit.r2 > 0.95, "{fit:?}");
        assert!(
            identify(&u, &y, 1.0, 1, 1, 5).map_or(true, |f| (f.model.gain() - 2.0).abs() > 0.05),
            "the whole history is biased"
        );
        let a = advise(&spec, u, y, &[]).expect("advice");
        let p = a.prescription.expect("the fault holds y at 34, below the band");
        assert!(p.to > 35.0 && p.to <= 100.0, "{p:?}");
    }

    #[test]
    fn advice_on_a_first_order_plant_recommends_inside_limits() {
        // y settles at 2·u with a 5 s time constant; the setpoint moved every 60 s
        let (u, y) = first_order(900, 60, 5.0, |_| 0.0);
        let spec = spec((70.0, 80.0), 36.0, 30.0);
        let a = advise(&spec, u, y, &[]).expect("identifies");
        assert!(a.fit.r2 > 0.99 && (a.fit.model.gain() - 2.0).abs() < 0.01, "{:?}", a.fit);
        let p = a.prescription.expect("the KPI (50) is below its band");
        assert!((p.to - 36.0).abs() < 1e-9, "ideal 37.5 clamped to the limit: {}", p.to);
        assert!((p.steady_state - 72.0).abs() < 0.5 && p.confidence > 0.5, "{p:?}");
        assert!(fit_text(&a.fit, "%", "m3/h").contains("time constant 5 s"), "{}", fit_text(&a.fit, "%", "m3/h"));
        // an approved change showed half the predicted effect: the model learns a smaller gain
        let e = crate::lifecycle::PredictionError {
            manipulated: "sp".into(),
            controlled: "y".into(),
            request: 1,
            ts_ms: 0,
            u_from: 25.0,
            u_to: 30.0,
            y_from: 50.0,
            y_predicted: 60.0,
            y_observed: 55.0,
            seq: 1,
        };
        let (f, used) = learnt(a.fit.clone(), &[e]);
        assert!(used == 1 && f.model.gain() < 1.8 && f.model.gain() > 1.0, "{}", f.model.gain());
        assert_eq!(learnt(a.fit.clone(), &[]), (a.fit.clone(), 0));
        assert!((tolerance(64.0, 72.0) - 2.0).abs() < 1e-9 && (tolerance(72.0, 72.0) - 1.44).abs() < 1e-9);
    }
}
