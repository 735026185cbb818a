//! Evaluation of the diagnosis on the demo pump skid and on the oil cooler of
//! [`super::exchanger`], stepped in-process (no sockets, deterministic per seed).
//!
//! Each injection: a skid at a random operating point (speed, valve opening, tank level,
//! inflow balanced to the flow so that the level holds) warms up for 30 min, the monitor
//! learns [`BASELINE_S`] seconds of healthy samples (as the daemon's diagnosis does), then
//! one fault is injected at a random time with a random severity. Samples are taken once a
//! second and quantised like the registers the store reads. The asset "leaves normal" when
//! the first signal's CUSUM crosses; the diagnosis is made [`DIAGNOSE_AFTER_S`] later, from
//! the samples up to then only.
//!
//! The root signal of each fault, from the physics in `mimic_drivers::sim::plant`:
//! * cavitation: `P101.suction_pressure` (the fault starves the suction; suction pressure
//!   falls at once by 0.3 × starvation; flow, discharge pressure and vibration follow
//!   from the starvation in the same step or through the 3 s flow lag);
//! * sticking valve: `FV101.position` (the valve stops following its setpoint; it shows
//!   only when the setpoint moves, so the harness moves it 5–60 s after the fault);
//! * bearing wear: `P101.vibration` (wear adds directly to vibration; nothing else sees it);
//! * sensor drift: `P101.flow` (the transmitter's reading drifts; the true flow does not).

use mimic_drivers::sim::plant::{Fault, Noise, PumpSkid};

use super::cusum::{CusumParams, Monitor, Residual, SignalSpec};
use super::exchanger::{Exchanger, ExchangerFault, exchanger_specs};
use super::{Diagnosis, DiagnosisError, Signatures};

/// Seconds between the asset leaving normal and the diagnosis.
pub const DIAGNOSE_AFTER_S: usize = 30;
const WARMUP_S: usize = 1800;
/// Seconds of healthy baseline the monitor learns: what the daemon's diagnosis reads
/// ([`super::live::BASELINE_MS`]).
pub const BASELINE_S: usize = (super::live::BASELINE_MS / 1000) as usize;
/// How long after the fault the harness waits for a detection.
const WATCH_S: usize = 900;
const DT: f64 = 0.1;

/// The simulated asset an evaluation runs on.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub enum Asset {
    /// The demo pump skid (`mimic_drivers::sim::plant`), with its fault signatures.
    #[default]
    PumpSkid,
    /// The oil cooler of [`super::exchanger`], with no signatures written for it; its inlet
    /// temperatures wander slowly with this σ (K).
    Exchanger { wander_k: f64 },
}

impl Asset {
    /// Its four injected faults.
    pub fn faults(self) -> [FaultKind; 4] {
        match self {
            Asset::PumpSkid => FaultKind::SKID,
            Asset::Exchanger { .. } => FaultKind::EXCHANGER,
        }
    }
}

/// The injected faults (four per asset).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    Cavitation,
    StickingValve,
    BearingWear,
    SensorDrift,
    Fouling,
    BypassLeak,
    PumpWear,
    FanFailure,
}

impl FaultKind {
    /// The pump skid's faults.
    pub const SKID: [FaultKind; 4] =
        [FaultKind::Cavitation, FaultKind::StickingValve, FaultKind::BearingWear, FaultKind::SensorDrift];
    /// The cooler's faults.
    pub const EXCHANGER: [FaultKind; 4] =
        [FaultKind::Fouling, FaultKind::BypassLeak, FaultKind::PumpWear, FaultKind::FanFailure];

    /// The asset whose fault this is.
    pub fn asset(self) -> &'static str {
        if FaultKind::SKID.contains(&self) { "the pump skid" } else { "the oil cooler" }
    }

    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Cavitation => "cavitation",
            FaultKind::StickingValve => "sticking_valve",
            FaultKind::BearingWear => "bearing_wear",
            FaultKind::SensorDrift => "sensor_drift",
            FaultKind::Fouling => "fouling",
            FaultKind::BypassLeak => "bypass_leak",
            FaultKind::PumpWear => "pump_wear",
            FaultKind::FanFailure => "fan_failure",
        }
    }

    /// The root signal, from the physics (see the module documentation here and in
    /// [`super::exchanger`]).
    pub fn root(self) -> &'static str {
        match self {
            FaultKind::Cavitation => "P101.suction_pressure",
            FaultKind::StickingValve => "FV101.position",
            FaultKind::BearingWear => "P101.vibration",
            FaultKind::SensorDrift => "P101.flow",
            FaultKind::Fouling | FaultKind::BypassLeak => "E201.hot_out_temp",
            FaultKind::PumpWear => "E201.cold_flow",
            FaultKind::FanFailure => "E201.cold_in_temp",
        }
    }
}

/// Column layout of the monitored rows (tag names of `profiles/demo-site.toml`).
pub fn skid_specs() -> Vec<SignalSpec> {
    let s = |name: &str, resolution: f64, residual: Residual| SignalSpec { name: name.into(), resolution, residual };
    vec![
        s("P101.speed_sp", 0.1, Residual::Input),
        s("FV101.position_sp", 0.1, Residual::Input),
        s("T100.inflow_sp", 0.1, Residual::Input),
        s("P101.flow", 0.1, Residual::Level),
        s("P101.discharge_pressure", 0.01, Residual::Level),
        s("P101.suction_pressure", 0.01, Residual::Level),
        s("P101.motor_temp", 0.1, Residual::Level),
        s("T100.level", 0.1, Residual::Level),
        s("FV101.position", 0.1, Residual::Tracking { command: 1, tau_s: 2.0 }),
        s("P101.speed", 0.1, Residual::Tracking { command: 0, tau_s: 1.0 }),
        s("P101.vibration", 0.01, Residual::Level),
        s("P101.current", 0.01, Residual::Level),
    ]
}

fn q(v: f64, res: f64) -> f64 {
    (v / res).round() * res
}

/// One sample of the skid as the store would see it, in [`skid_specs`] order.
pub fn skid_row(p: &mut PumpSkid) -> Vec<f64> {
    let flow = p.measured_flow();
    vec![
        q(p.speed_sp, 0.1),
        q(p.valve_sp, 0.1),
        q(p.inflow, 0.1),
        q(flow, 0.1),
        q(p.discharge, 0.01),
        q(p.suction, 0.01),
        q(p.motor_temp, 0.1),
        q(p.level, 0.1),
        q(p.valve, 0.1),
        q(p.speed, 0.1),
        f64::from(p.vibration as f32),
        f64::from(p.current as f32),
    ]
}

fn advance(p: &mut PumpSkid, seconds: usize) {
    for _ in 0..(seconds as f64 / DT).round() as usize {
        p.step(DT);
    }
}

/// What happened to one injection (`fault` None: a healthy run, for false alarms).
#[derive(Clone, Debug)]
pub struct Outcome {
    pub fault: Option<FaultKind>,
    /// Simulated time of the fault (or where it would have been), ms.
    pub fault_ms: i64,
    /// When the asset left normal, if it did within the watch.
    pub detected_ms: Option<i64>,
    /// The ranking with onset ties ordered by the matched signature (what the daemon shows).
    pub diagnosis: Option<Diagnosis>,
    /// The ranking from the data alone (ties by size of the move).
    pub data_only: Option<Diagnosis>,
}

impl Outcome {
    /// Detected before the fault was injected (or at all, in a healthy run).
    pub fn false_alarm(&self) -> bool {
        self.detected_ms.is_some_and(|d| self.fault.is_none() || d < self.fault_ms)
    }

    /// Rank (0-based) of the fault's root signal, when correctly detected.
    pub fn root_rank(&self) -> Option<usize> {
        let f = self.fault?;
        if self.false_alarm() {
            return None;
        }
        self.diagnosis.as_ref()?.position(f.root())
    }

    /// [`Outcome::root_rank`] of the data-only ranking.
    pub fn root_rank_data_only(&self) -> Option<usize> {
        let f = self.fault?;
        if self.false_alarm() {
            return None;
        }
        self.data_only.as_ref()?.position(f.root())
    }

    pub fn cause_right(&self) -> bool {
        match (self.fault, &self.diagnosis) {
            (Some(f), Some(d)) if !self.false_alarm() => d.fault.as_deref() == Some(f.name()),
            _ => false,
        }
    }
}

/// Run one injection (or a healthy run) with its own seed, the monitor learning `baseline_s`
/// seconds of healthy samples.
pub fn run_one(
    fault: Option<FaultKind>,
    seed: u64,
    signatures: &Signatures,
    baseline_s: usize,
) -> Result<Outcome, DiagnosisError> {
    let fault = of_asset(fault, &FaultKind::SKID, "the pump skid")?;
    let mut rng = Noise::new(seed ^ 0x5EED_D1A6);
    let mut u = |lo: f64, hi: f64| lo + (hi - lo) * rng.uniform();
    let mut p = PumpSkid::new(seed);
    p.speed_sp = u(55.0, 95.0);
    p.valve_sp = u(35.0, 90.0);
    p.speed = p.speed_sp;
    p.valve = p.valve_sp;
    p.level = u(30.0, 80.0);
    advance(&mut p, 60);
    p.inflow = p.flow;
    advance(&mut p, WARMUP_S);

    let specs = skid_specs();
    let mut healthy = Vec::with_capacity(baseline_s);
    for _ in 0..baseline_s {
        advance(&mut p, 1);
        healthy.push(((p.t * 1000.0).round() as i64, skid_row(&mut p)));
    }
    let mut mon = Monitor::fit(specs, &healthy, CusumParams::default())?;

    let fault_after = u(30.0, 300.0).round() as usize;
    let severity = u(0.0, 1.0);
    let sign = if u(0.0, 1.0) < 0.5 { -1.0 } else { 1.0 };
    let valve_move_after = fault_after + u(5.0, 60.0).round() as usize;
    let valve_step = sign * u(8.0, 25.0);
    let n = p.speed_sp / 100.0;
    let t0 = p.t;
    let fault_ms = ((t0 + fault_after as f64) * 1000.0).round() as i64;

    let mut step = |s: usize| {
        if s == fault_after + 1 {
            match fault {
                // Vibration rising 0.3..2 mm/s per 10 min: multiplier of the normal wear.
                Some(FaultKind::BearingWear) => {
                    let rise = 0.3 + 1.7 * severity;
                    p.faults.push(Fault::BearingWear(rise * 86_400.0 / (600.0 * n * 0.05)));
                }
                // 10..40 m³/h per hour, either way.
                Some(FaultKind::SensorDrift) => p.faults.push(Fault::SensorDrift(sign * (10.0 + 30.0 * severity))),
                Some(FaultKind::Cavitation) => p.faults.push(Fault::Cavitation),
                Some(FaultKind::StickingValve) => p.faults.push(Fault::StickingValve),
                // a healthy run; the cooler's faults were refused above
                None
                | Some(FaultKind::Fouling | FaultKind::BypassLeak | FaultKind::PumpWear | FaultKind::FanFailure) => {}
            }
        }
        if fault == Some(FaultKind::StickingValve) && s == valve_move_after {
            p.valve_sp = (p.valve_sp + valve_step).clamp(10.0, 100.0);
        }
        advance(&mut p, 1);
        ((p.t * 1000.0).round() as i64, skid_row(&mut p))
    };
    watch(fault, fault_ms, fault_after, &mut mon, &mut step, signatures)
}

/// `fault` when it is one of `kinds` (the faults of `asset`) or None; another asset's fault
/// is refused, never run as a healthy run.
fn of_asset(
    fault: Option<FaultKind>,
    kinds: &[FaultKind],
    asset: &'static str,
) -> Result<Option<FaultKind>, DiagnosisError> {
    match fault {
        Some(f) if !kinds.contains(&f) => Err(DiagnosisError::NotOnAsset { fault: f.name(), asset, of: f.asset() }),
        f => Ok(f),
    }
}

/// Step the asset a second at a time (`step(s)` injects what is due at second `s`, advances
/// and returns the row) until the fault has been watched for [`WATCH_S`], or until
/// [`DIAGNOSE_AFTER_S`] after the asset left normal; then diagnose.
fn watch(
    fault: Option<FaultKind>,
    fault_ms: i64,
    fault_after: usize,
    mon: &mut Monitor,
    step: &mut dyn FnMut(usize) -> (i64, Vec<f64>),
    signatures: &Signatures,
) -> Result<Outcome, DiagnosisError> {
    let mut detected_ms = None;
    let mut diagnose_at = None;
    for s in 1..=fault_after + WATCH_S {
        let (t_ms, row) = step(s);
        let out = mon.push(t_ms, &row)?;
        if out && detected_ms.is_none() {
            detected_ms = Some(t_ms);
            diagnose_at = Some(s + DIAGNOSE_AFTER_S);
        }
        if diagnose_at == Some(s) {
            break;
        }
    }
    let diagnosis = detected_ms.map(|_| Diagnosis::with_signature_ties(mon.onsets(), 1500, signatures));
    let data_only = detected_ms.map(|_| Diagnosis::new(mon.onsets(), 1500, signatures));
    Ok(Outcome { fault, fault_ms, detected_ms, diagnosis, data_only })
}

/// Run one injection (or a healthy run) on the oil cooler: a random operating point
/// (oil flow and inlet temperature, basin temperature, valve opening, clean NTU), 30 min to
/// settle, `baseline_s` of healthy baseline, then the fault at a random time and severity.
/// The inlet temperatures wander slowly with σ `wander_k` (K; 0: only transmitter noise).
pub fn run_one_exchanger(
    fault: Option<FaultKind>,
    seed: u64,
    wander_k: f64,
    baseline_s: usize,
) -> Result<Outcome, DiagnosisError> {
    let fault = of_asset(fault, &FaultKind::EXCHANGER, "the oil cooler")?;
    let mut rng = Noise::new(seed ^ 0xE201_C001);
    let mut u = |lo: f64, hi: f64| lo + (hi - lo) * rng.uniform();
    let mut x = Exchanger::new(seed, u(25.0, 45.0), u(60.0, 90.0), u(18.0, 30.0), u(40.0, 80.0), u(1.2, 2.0));
    x.wander_k = wander_k;
    let advance = |x: &mut Exchanger, seconds: usize| {
        for _ in 0..(seconds as f64 / DT).round() as usize {
            x.step(DT);
        }
    };
    advance(&mut x, WARMUP_S);
    let mut healthy = Vec::with_capacity(baseline_s);
    for _ in 0..baseline_s {
        advance(&mut x, 1);
        healthy.push(((x.t * 1000.0).round() as i64, x.row()));
    }
    let mut mon = Monitor::fit(exchanger_specs(), &healthy, CusumParams::default())?;

    let fault_after = u(30.0, 300.0).round() as usize;
    let severity = u(0.0, 1.0);
    let fault_ms = ((x.t + fault_after as f64) * 1000.0).round() as i64;
    // Per 10 min, 5..30 % of UA or of the pump's capacity; 3..15 % of the oil bypassed;
    // the basin 2..6 K warmer.
    let per_s = (0.05 + 0.25 * severity) / 600.0;
    let injected = match fault {
        Some(FaultKind::Fouling) => Some(ExchangerFault::Fouling(per_s)),
        Some(FaultKind::BypassLeak) => Some(ExchangerFault::BypassLeak(0.03 + 0.12 * severity)),
        Some(FaultKind::PumpWear) => Some(ExchangerFault::PumpWear(per_s)),
        Some(FaultKind::FanFailure) => Some(ExchangerFault::FanFailure(2.0 + 4.0 * severity)),
        // a healthy run; the skid's faults were refused above
        None
        | Some(FaultKind::Cavitation | FaultKind::StickingValve | FaultKind::BearingWear | FaultKind::SensorDrift) => {
            None
        }
    };
    let mut step = |s: usize| {
        if s == fault_after + 1 {
            x.faults.extend(injected);
        }
        advance(&mut x, 1);
        ((x.t * 1000.0).round() as i64, x.row())
    };
    watch(fault, fault_ms, fault_after, &mut mon, &mut step, &Signatures::default())
}

/// Per-fault and overall figures.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub injections: usize,
    pub detected: usize,
    pub top1: usize,
    pub top3: usize,
    /// The same from the data-only ranking.
    pub top1_data: usize,
    pub top3_data: usize,
    pub cause: usize,
    pub false_alarms: usize,
    /// Sum of detection delays (s) over correct detections.
    pub delay_s: f64,
}

impl Tally {
    pub fn add(&mut self, o: &Outcome) {
        self.injections += 1;
        if o.false_alarm() {
            self.false_alarms += 1;
            return;
        }
        if let Some(d) = o.detected_ms {
            self.detected += 1;
            self.delay_s += (d - o.fault_ms) as f64 / 1000.0;
        }
        count_rank(o.root_rank(), &mut self.top1, &mut self.top3);
        count_rank(o.root_rank_data_only(), &mut self.top1_data, &mut self.top3_data);
        if o.cause_right() {
            self.cause += 1;
        }
    }

    pub fn rate(&self, k: usize) -> f64 {
        if self.injections == 0 { 0.0 } else { k as f64 / self.injections as f64 }
    }
}

/// Counts a root-cause rank (0: first) into the top-1 and top-3 tallies.
fn count_rank(rank: Option<usize>, top1: &mut usize, top3: &mut usize) {
    if let Some(r) = rank {
        *top1 += usize::from(r == 0);
        *top3 += usize::from(r < 3);
    }
}

/// The figures of one evaluation: per fault, overall, the healthy runs, and every injection.
#[derive(Clone, Debug)]
pub struct Report {
    pub per_fault: Vec<(FaultKind, Tally)>,
    pub overall: Tally,
    pub healthy: Tally,
    pub outcomes: Vec<Outcome>,
}

/// The whole evaluation on `asset`: `injections` faults spread evenly over its four kinds,
/// plus `healthy` fault-free runs for the false-alarm rate, each monitor learning
/// `baseline_s` seconds of healthy samples ([`BASELINE_S`] as the daemon). `signatures` are
/// the pump skid's; the cooler is diagnosed without any.
pub fn evaluate(
    asset: Asset,
    injections: usize,
    healthy: usize,
    seed: u64,
    signatures: &Signatures,
    baseline_s: usize,
) -> Result<Report, DiagnosisError> {
    let kinds = asset.faults();
    let one = |fault: Option<FaultKind>, seed: u64| match asset {
        Asset::PumpSkid => run_one(fault, seed, signatures, baseline_s),
        Asset::Exchanger { wander_k } => run_one_exchanger(fault, seed, wander_k, baseline_s),
    };
    let mut per_fault: Vec<(FaultKind, Tally)> = kinds.iter().map(|f| (*f, Tally::default())).collect();
    let mut overall = Tally::default();
    let mut outcomes = Vec::with_capacity(injections);
    for i in 0..injections {
        let kind = kinds[i % 4];
        let o = one(Some(kind), seed.wrapping_mul(1_000_003).wrapping_add(i as u64 + 1))?;
        per_fault[i % 4].1.add(&o);
        overall.add(&o);
        outcomes.push(o);
    }
    let mut h = Tally::default();
    for i in 0..healthy {
        let o = one(None, seed.wrapping_mul(1_000_003).wrapping_add(1_000_000 + i as u64))?;
        h.add(&o);
    }
    Ok(Report { per_fault, overall, healthy: h, outcomes })
}
