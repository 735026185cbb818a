//! The demo plant's life: a bearing that wears out on an accelerated clock, and faults that
//! come and go on a schedule, so that every model of the twin has something to find within a
//! few minutes of `mimic demo`. Deterministic: the same plan and seed give the same plant.
//!
//! - **Bearing wear**: the wear (mm/s of added vibration) follows `FAIL_WEAR · (age/life)³` of
//!   the pump's running time since the demo started, so it is invisible for a while, then rises
//!   faster and faster; at `age = life` the bearing has failed (vibration in ISO zone D).
//! - **Faults**: each scheduled fault starts at `at` seconds and lasts `for` seconds, repeated
//!   every `repeat` seconds when that is set. A sticking valve is only visible when its
//!   setpoint moves, so the plan moves the valve setpoint by [`VALVE_STEP`] a third of the way
//!   into the fault (as a local operator would) and puts it back when the fault clears; a
//!   drifting flow transmitter is recalibrated (drift back to zero) when its fault clears.
//!
//! The default plan (see [`DemoPlan::default`]): cavitation at 2 min (it pulls the flow out of
//! its band, so a prescription follows), a sticking valve at 4 min, a flow transmitter drift at
//! 7 min (each for 60 s, 100 s, 60 s), repeating every 12 min, and a bearing life of 40 min.
//!
//! `mimic sim` stays healthy unless asked: this only runs for `mimic demo` (or
//! [`super::serve_demo`]).

use super::plant::{Fault, Noise, PumpSkid};

/// Wear at which the bearing has failed (mm/s of vibration added).
pub const FAIL_WEAR: f64 = 5.0;
/// How far the plan moves the valve setpoint while the valve sticks (% opening).
pub const VALVE_STEP: f64 = 12.0;
/// Drift of the flow transmitter while that fault is on (m³/h per hour): 10 m³/h a minute,
/// accelerated like the bearing's life so that a one-minute episode drifts well past what
/// the transmitter's noise and the pump's operating moves explain.
pub const DRIFT_RATE: f64 = 600.0;

/// Faults the demo schedules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DemoFault {
    Cavitation,
    StickingValve,
    SensorDrift,
}

impl DemoFault {
    pub fn name(self) -> &'static str {
        match self {
            DemoFault::Cavitation => "cavitation",
            DemoFault::StickingValve => "sticking_valve",
            DemoFault::SensorDrift => "sensor_drift",
        }
    }

    fn parse(s: &str) -> Option<DemoFault> {
        [DemoFault::Cavitation, DemoFault::StickingValve, DemoFault::SensorDrift].into_iter().find(|f| f.name() == s)
    }
}

/// One scheduled fault.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scheduled {
    pub fault: DemoFault,
    /// Seconds after the demo start.
    pub at_s: f64,
    pub for_s: f64,
}

/// What happens to the demo plant.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoPlan {
    pub seed: u64,
    /// Running seconds from a new bearing to its failure (0: no wear).
    pub life_s: f64,
    pub faults: Vec<Scheduled>,
    /// The schedule repeats every this many seconds (0: once).
    pub repeat_s: f64,
}

impl Default for DemoPlan {
    fn default() -> Self {
        DemoPlan {
            seed: 1,
            life_s: 2400.0,
            faults: vec![
                Scheduled { fault: DemoFault::Cavitation, at_s: 120.0, for_s: 60.0 },
                Scheduled { fault: DemoFault::StickingValve, at_s: 240.0, for_s: 100.0 },
                Scheduled { fault: DemoFault::SensorDrift, at_s: 420.0, for_s: 60.0 },
            ],
            repeat_s: 720.0,
        }
    }
}

/// Bearing wear after `age_s` running seconds of a bearing that lasts `life_s`.
pub fn wear_at(age_s: f64, life_s: f64) -> f64 {
    if life_s <= 0.0 { 0.0 } else { FAIL_WEAR * (age_s.max(0.0) / life_s).powi(3) }
}

/// Parses a fault schedule: `none`, or comma-separated `NAME@START+LENGTH` with durations such
/// as `90s`, `2m` (`sticking_valve@2m+100s,cavitation@8m+60s`). Names: `cavitation`,
/// `sticking_valve`, `sensor_drift`.
pub fn parse_schedule(text: &str) -> Result<Vec<Scheduled>, ScheduleError> {
    let text = text.trim();
    if text == "none" || text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|item| {
            let item = item.trim();
            let shown: String = item.chars().take(60).flat_map(char::escape_debug).collect();
            let bad = |why| ScheduleError { item: shown.clone(), why };
            let (name, times) = item.split_once('@').ok_or_else(|| bad(ScheduleProblem::NoAt))?;
            let (at, len) = times.split_once('+').ok_or_else(|| bad(ScheduleProblem::NoPlus))?;
            let fault = DemoFault::parse(name.trim()).ok_or_else(|| bad(ScheduleProblem::UnknownFault))?;
            let at_s = parse_secs(at).ok_or_else(|| bad(ScheduleProblem::BadStart))?;
            let for_s = parse_secs(len).ok_or_else(|| bad(ScheduleProblem::BadLength))?;
            if for_s <= 0.0 {
                return Err(bad(ScheduleProblem::NotPositive));
            }
            Ok(Scheduled { fault, at_s, for_s })
        })
        .collect()
}

/// One item of a fault schedule that does not read (shown escaped, at most 60 characters).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("fault `{item}`: {why} (expected NAME@START+LENGTH, e.g. cavitation@8m+60s)")]
pub struct ScheduleError {
    pub item: String,
    pub why: ScheduleProblem,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleProblem {
    #[error("no `@`")]
    NoAt,
    #[error("no `+`")]
    NoPlus,
    #[error("unknown fault; known: cavitation, sticking_valve, sensor_drift")]
    UnknownFault,
    #[error("bad start")]
    BadStart,
    #[error("bad length")]
    BadLength,
    #[error("the length must be positive")]
    NotPositive,
}

/// Plain seconds (`480`, `0`) or a duration as humantime reads it (`90s`, `2m`, `1h 30m`).
pub fn parse_secs(s: &str) -> Option<f64> {
    let s = s.trim();
    match s.parse::<f64>() {
        Ok(v) => (v.is_finite() && v >= 0.0).then_some(v),
        Err(_) => humantime::parse_duration(s).ok().map(|d| d.as_secs_f64()),
    }
}

/// A pump skid at its demo operating point, settled (30 simulated minutes with the supply
/// inflow balanced to the flow, so the level holds), with a new bearing.
pub fn settled(seed: u64) -> PumpSkid {
    let mut p = PumpSkid::new(seed);
    p.wear_rate = 0.0;
    advance(&mut p, 60.0, 0.1);
    p.inflow = (p.flow * 10.0).round() / 10.0;
    advance(&mut p, 1800.0, 0.1);
    p.wear = 0.0;
    p
}

/// Steps the plant `seconds` forward in steps of `dt`.
pub fn advance(p: &mut PumpSkid, seconds: f64, dt: f64) {
    for _ in 0..(seconds / dt).round() as usize {
        p.step(dt);
    }
}

/// The plan applied to one running plant.
#[derive(Clone, Debug)]
pub struct DemoRun {
    pub plan: DemoPlan,
    t0: f64,
    run0: f64,
    active: Vec<bool>,
    valve_base: Option<f64>,
}

impl DemoRun {
    /// Starts the plan now (the plant's present time and running time are its zero).
    pub fn new(plan: DemoPlan, plant: &PumpSkid) -> DemoRun {
        let n = plan.faults.len();
        DemoRun { plan, t0: plant.t, run0: plant.run_seconds, active: vec![false; n], valve_base: None }
    }

    /// Seconds since the plan started.
    pub fn elapsed(&self, plant: &PumpSkid) -> f64 {
        plant.t - self.t0
    }

    /// Faults on at elapsed time `e`.
    pub fn active_at(&self, e: f64) -> Vec<DemoFault> {
        self.plan.faults.iter().filter(|s| self.on(s, e)).map(|s| s.fault).collect()
    }

    fn on(&self, s: &Scheduled, e: f64) -> bool {
        let t = if self.plan.repeat_s > 0.0 { e.rem_euclid(self.plan.repeat_s) } else { e };
        t >= s.at_s && t < s.at_s + s.for_s
    }

    /// Call before each physics step: sets the wear and switches faults on and off.
    pub fn apply(&mut self, p: &mut PumpSkid) {
        let e = self.elapsed(p);
        p.wear = wear_at(p.run_seconds - self.run0, self.plan.life_s);
        for i in 0..self.plan.faults.len() {
            let s = self.plan.faults[i];
            let on = self.on(&s, e);
            let t = if self.plan.repeat_s > 0.0 { e.rem_euclid(self.plan.repeat_s) } else { e };
            match (self.active[i], on) {
                (false, true) => {
                    p.faults.push(match s.fault {
                        DemoFault::Cavitation => Fault::Cavitation,
                        DemoFault::StickingValve => Fault::StickingValve,
                        DemoFault::SensorDrift => Fault::SensorDrift(DRIFT_RATE),
                    });
                }
                (true, false) => {
                    p.faults.retain(|f| match s.fault {
                        DemoFault::Cavitation => !matches!(f, Fault::Cavitation),
                        DemoFault::StickingValve => !matches!(f, Fault::StickingValve),
                        DemoFault::SensorDrift => !matches!(f, Fault::SensorDrift(_)),
                    });
                    match s.fault {
                        DemoFault::StickingValve => {
                            if let Some(v) = self.valve_base.take() {
                                p.valve_sp = v;
                            }
                        }
                        DemoFault::SensorDrift => p.drift = 0.0,
                        DemoFault::Cavitation => {}
                    }
                }
                (true, true)
                    if s.fault == DemoFault::StickingValve
                        && self.valve_base.is_none()
                        && t >= s.at_s + s.for_s / 3.0 =>
                {
                    self.valve_base = Some(p.valve_sp);
                    let up = p.valve_sp + VALVE_STEP <= 95.0;
                    p.valve_sp = (p.valve_sp + if up { VALVE_STEP } else { -VALVE_STEP }).clamp(0.0, 100.0);
                }
                _ => {}
            }
            self.active[i] = on;
        }
    }
}

/// A healthy stretch of the demo plant for training an anomaly model: `seconds` samples, one a
/// second, of a settled skid whose operators move the valve (40..80 %) and speed (65..85 %)
/// setpoints every 2 to 4 minutes (the supply inflow follows, so the level holds). `sample`
/// turns the plant into one row (e.g. the register values the store would hold).
pub fn healthy_run(seed: u64, seconds: usize, mut sample: impl FnMut(&mut PumpSkid) -> Vec<f64>) -> Vec<Vec<f64>> {
    let mut p = settled(seed);
    let mut rng = Noise::new(seed ^ 0xDE40);
    let (speed0, valve0) = (p.speed_sp, p.valve_sp);
    let mut next_move = 120 + (rng.uniform() * 120.0) as usize;
    let mut rows = Vec::with_capacity(seconds);
    for s in 0..seconds {
        if s == next_move {
            // every other move goes back to the usual operating point
            if rng.uniform() < 0.4 {
                p.speed_sp = speed0;
                p.valve_sp = valve0;
            } else {
                p.speed_sp = (65.0 + 20.0 * rng.uniform()).round();
                p.valve_sp = (40.0 + 40.0 * rng.uniform()).round();
            }
            next_move = s + 120 + (rng.uniform() * 120.0) as usize;
        }
        advance(&mut p, 1.0, 0.1);
        // the supply follows the pump so the level holds
        p.inflow += (p.flow - p.inflow) * 0.05;
        rows.push(sample(&mut p));
    }
    rows
}

/// One run to failure for a remaining-life model: a settled skid at a random operating point
/// whose bearing lasts `life_s · U(0.6, 1.4)`; every `cycle_s` seconds one row, the mean of
/// `sample` taken once a second over the cycle. The last row is the cycle the bearing failed in.
pub fn run_to_failure(
    seed: u64,
    life_s: f64,
    cycle_s: f64,
    mut sample: impl FnMut(&mut PumpSkid) -> Vec<f64>,
) -> Vec<Vec<f64>> {
    let mut rng = Noise::new(seed ^ 0x2F41_1CE5);
    let life = life_s * (0.6 + 0.8 * rng.uniform());
    let mut p = settled(seed);
    p.speed_sp = (65.0 + 20.0 * rng.uniform()).round();
    p.valve_sp = (45.0 + 30.0 * rng.uniform()).round();
    advance(&mut p, 60.0, 0.5);
    p.inflow = p.flow;
    let run0 = p.run_seconds;
    let per = cycle_s.max(1.0).round() as usize;
    let mut rows = Vec::new();
    loop {
        let mut sum: Vec<f64> = Vec::new();
        for _ in 0..per {
            p.wear = wear_at(p.run_seconds - run0, life);
            advance(&mut p, 1.0, 0.5);
            let v = sample(&mut p);
            if sum.is_empty() {
                sum = vec![0.0; v.len()];
            }
            for (s, x) in sum.iter_mut().zip(v) {
                *s += x;
            }
        }
        rows.push(sum.into_iter().map(|s| s / per as f64).collect());
        if p.run_seconds - run0 >= life || rows.len() > 100_000 {
            return rows;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_and_bad_ones_say_why() {
        let s = parse_schedule("sticking_valve@2m+100s, cavitation@480+1m").expect("parses");
        assert_eq!(s[0], Scheduled { fault: DemoFault::StickingValve, at_s: 120.0, for_s: 100.0 });
        assert_eq!(s[1], Scheduled { fault: DemoFault::Cavitation, at_s: 480.0, for_s: 60.0 });
        assert!(parse_schedule("none").expect("none").is_empty());
        let e = parse_schedule("melt@1m+1m").expect_err("unknown").to_string();
        assert!(e.contains("`melt@1m+1m`") && e.contains("unknown fault"), "{e}");
        assert_eq!(parse_schedule("cavitation@1m").expect_err("no length").why, ScheduleProblem::NoPlus);
        let e = parse_schedule("cavitation@x+1m").expect_err("bad start").to_string();
        assert!(e.contains("fault `cavitation@x+1m`: bad start (expected NAME@START+LENGTH"), "{e}");
        assert_eq!((parse_secs("0"), parse_secs("1h 30m"), parse_secs("-5")), (Some(0.0), Some(5400.0), None));
    }

    #[test]
    fn the_plan_wears_the_bearing_and_switches_faults() {
        let mut p = settled(3);
        let v0 = p.vibration;
        let plan = DemoPlan {
            seed: 3,
            life_s: 300.0,
            faults: vec![
                Scheduled { fault: DemoFault::StickingValve, at_s: 10.0, for_s: 30.0 },
                Scheduled { fault: DemoFault::SensorDrift, at_s: 50.0, for_s: 20.0 },
            ],
            repeat_s: 0.0,
        };
        let mut run = DemoRun::new(plan, &p);
        let sp0 = p.valve_sp;
        let mut seen_step = false;
        for _ in 0..800 {
            run.apply(&mut p);
            p.step(0.1);
            if p.faults.contains(&Fault::StickingValve) && p.valve_sp != sp0 {
                seen_step = true;
                assert!((p.valve - sp0).abs() < 0.5, "the stuck valve does not follow");
            }
        }
        assert!(seen_step, "the valve setpoint moved while the valve stuck");
        assert!(p.faults.is_empty() && p.valve_sp == sp0, "cleared at 40 s: {:?}", p.faults);
        for _ in 0..(25 * 10) {
            run.apply(&mut p);
            p.step(0.1);
        }
        assert!(p.faults.is_empty() && p.drift == 0.0, "drift cleared and recalibrated");
        for _ in 0..(230 * 10) {
            run.apply(&mut p);
            p.step(0.1);
        }
        assert!(p.wear >= FAIL_WEAR * 0.99 && p.vibration > v0 + 4.0, "{} {}", p.wear, p.vibration);
    }

    #[test]
    fn runs_to_failure_end_at_failure_and_differ_by_seed() {
        let vib = |p: &mut PumpSkid| vec![p.vibration];
        let a = run_to_failure(1, 600.0, 10.0, vib);
        let b = run_to_failure(2, 600.0, 10.0, vib);
        assert_ne!(a.len(), b.len());
        for r in [&a, &b] {
            assert!((36..=85).contains(&r.len()), "{}", r.len());
            assert!(r[r.len() - 1][0] > r[0][0] + 3.0);
        }
        assert_eq!(a.len(), run_to_failure(1, 600.0, 10.0, vib).len(), "deterministic");
        let h = healthy_run(4, 1800, |p| vec![p.valve_sp, p.level]);
        assert!(h.iter().any(|r| r[0] != h[0][0]), "the operators move the valve");
        let (lo, hi) = h.iter().fold((f64::MAX, f64::MIN), |(l, u), r| (l.min(r[1]), u.max(r[1])));
        assert!(hi - lo < 5.0, "the level holds: {lo}..{hi}");
    }
}
