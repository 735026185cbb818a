//! Prescriptions: identified process models, setpoint recommendations, what-if and shadow replay.
//!
//! * [`arx`]: a model of each manipulated → controlled pair, identified by least squares
//!   from stored setpoint moves (ARX, read as first order plus dead time), with its fit.
//! * [`recommend`]: the setpoint change that brings a KPI back inside its band (or away
//!   from an alarm limit), always inside the tag's engineering limits and maximum step,
//!   with its predicted trajectory, steady state and a confidence.
//! * [`what_if`]: the predicted effect of a value the operator tries.
//! * [`shadow`]: a proposed alarm limit replayed through the real alarm engine over stored
//!   history, and a proposed setpoint replayed through the identified model.
//!
//! Pure functions over samples; no clock, no I/O, no writes. A prescription becomes a
//! write only as an approval request like any other.

pub mod arx;
pub mod learn;
pub mod live;
pub mod shadow;
#[cfg(test)]
mod tests;

use thiserror::Error;

pub use arx::{Arx, Fit, Fopdt, identify, resample};

#[derive(Debug, Error, PartialEq)]
pub enum PrescribeError {
    #[error("input has {u} samples but output has {y}")]
    Lengths { u: usize, y: usize },
    #[error("model orders must be at least 1 and the sample period positive")]
    Order,
    #[error("the series hold a value that is not a number")]
    NotFinite,
    #[error("{got} samples are too few to identify the model; {need} are needed")]
    TooShort { got: usize, need: usize },
    #[error("the manipulated variable never moved in this history: nothing to identify from")]
    NoExcitation,
    #[error("the least-squares problem is singular (the data do not determine the model)")]
    Singular,
    #[error("the identified model is unstable or has no steady-state gain")]
    Unstable,
    #[error("the engineering limits are empty (low {low} > high {high})")]
    Limits { low: f64, high: f64 },
}

/// What a setpoint may be set to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limits {
    pub low: f64,
    pub high: f64,
    /// Largest change in one write, when the tag has one.
    pub max_step: Option<f64>,
}

impl Limits {
    /// The admissible range for a write from `from`.
    pub fn range_from(&self, from: f64) -> Result<(f64, f64), PrescribeError> {
        let (mut lo, mut hi) = (self.low, self.high);
        if let Some(s) = self.max_step.filter(|s| s.is_finite() && *s >= 0.0) {
            lo = lo.max(from - s);
            hi = hi.min(from + s);
        }
        if lo.is_nan() || hi.is_nan() || lo > hi {
            return Err(PrescribeError::Limits { low: lo, high: hi });
        }
        Ok((lo, hi))
    }
}

/// The band a KPI should stay in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    pub low: f64,
    pub high: f64,
}

impl Band {
    pub fn contains(&self, v: f64) -> bool {
        v >= self.low && v <= self.high
    }
    fn mid(&self) -> f64 {
        (self.low + self.high) / 2.0
    }
}

/// A recommended setpoint change.
#[derive(Clone, Debug, PartialEq)]
pub struct Prescription {
    pub tag: String,
    pub kpi: String,
    pub from: f64,
    pub to: f64,
    /// Predicted KPI, `(seconds from the change, value)`.
    pub predicted: Vec<(f64, f64)>,
    pub steady_state: f64,
    /// 0..=1: the model's fit, lowered when the value lies outside what it was identified on.
    pub confidence: f64,
    pub reason: String,
}

impl Prescription {
    /// One line for the Recommendations screen's "Predicted effect" (its `predicted_effect`
    /// text): where the KPI goes, and how far it gets in a time constant's worth of the
    /// trajectory.
    pub fn effect_text(&self) -> String {
        let start = self.predicted.first().map_or(f64::NAN, |p| p.1);
        let total = self.steady_state - start;
        // Time to 63 % of the change, read off the predicted trajectory.
        let t63 = self
            .predicted
            .iter()
            .find(|(_, v)| total != 0.0 && (v - start) / total >= 0.632)
            .map(|(t, _)| format!(", 63 % within {t:.0} s"))
            .unwrap_or_default();
        format!("{} {start:.2} -> {:.2} at steady state{t63}", self.kpi, self.steady_state)
    }
}

/// The plant now: recent equally spaced samples of the manipulated and controlled
/// variables (most recent last), assumed to be at rest or close to it.
#[derive(Clone, Debug, PartialEq)]
pub struct Now {
    pub u: Vec<f64>,
    pub y: Vec<f64>,
}

impl Now {
    fn u_now(&self) -> Option<f64> {
        self.u.last().copied()
    }
    fn y_now(&self) -> Option<f64> {
        self.y.last().copied()
    }
}

/// Predicted KPI if the setpoint goes to `value` now: `(seconds, value)` over `horizon_s`
/// and the steady state. The model's offset is corrected so that the prediction starts
/// from the measured KPI (the model predicts the change; the plant supplies the level).
pub fn what_if(fit: &Fit, now: &Now, value: f64, horizon_s: f64) -> Result<(Vec<(f64, f64)>, f64), PrescribeError> {
    let m = &fit.model;
    if !m.stable() || !m.gain().is_finite() {
        return Err(PrescribeError::Unstable);
    }
    let (Some(u0), Some(y0)) = (now.u_now(), now.y_now()) else {
        return Err(PrescribeError::TooShort { got: 0, need: 1 });
    };
    let n = (horizon_s / m.ts_s).ceil().max(1.0) as usize + 1;
    // Superposition: the measured level plus the model's response to the change alone.
    let zero = Arx { c: 0.0, ..m.clone() };
    let mut hist = vec![0.0; m.a.len()];
    let du = vec![value - u0; n];
    let resp = zero.simulate_from(&du, &[0.0; 1], &mut hist);
    // The change is made at t = 0; the response starts one sample later.
    let traj = resp.iter().enumerate().map(|(k, d)| (k as f64 * m.ts_s, y0 + d)).collect();
    Ok((traj, y0 + m.gain() * (value - u0)))
}

/// Confidence of a prediction at input `value`: the model's R² (at least 0), lowered
/// linearly to half as the value goes one identified range outside it.
pub fn confidence(fit: &Fit, value: f64) -> f64 {
    let (lo, hi) = fit.u_range;
    let span = (hi - lo).max(1e-9);
    let outside = if value < lo {
        (lo - value) / span
    } else if value > hi {
        (value - hi) / span
    } else {
        0.0
    };
    let fit_part = if fit.r2.is_finite() { fit.r2.clamp(0.0, 1.0) } else { 0.0 };
    fit_part * (1.0 - 0.5 * outside.min(1.0))
}

/// The setpoint change that brings the KPI's steady state to the middle of `band`, or as
/// close as the limits allow; None when the KPI is already in its band and predicted to
/// stay there. The recommended value is always inside `limits` (and within `max_step`).
pub fn recommend(
    tag: &str,
    kpi: &str,
    fit: &Fit,
    now: &Now,
    band: Band,
    limits: Limits,
    horizon_s: f64,
) -> Result<Option<Prescription>, PrescribeError> {
    let m = &fit.model;
    let g = m.gain();
    if !m.stable() || !g.is_finite() || g == 0.0 {
        return Err(PrescribeError::Unstable);
    }
    let (Some(u0), Some(y0)) = (now.u_now(), now.y_now()) else {
        return Err(PrescribeError::TooShort { got: 0, need: 1 });
    };
    if band.contains(y0) {
        return Ok(None);
    }
    let (lo, hi) = limits.range_from(u0)?;
    let ideal = u0 + (band.mid() - y0) / g;
    let to = if ideal.is_finite() { ideal.clamp(lo, hi) } else { u0.clamp(lo, hi) };
    let (predicted, ss) = what_if(fit, now, to, horizon_s)?;
    let conf = confidence(fit, to);
    let side = if y0 > band.high { "above" } else { "below" };
    let mut reason = format!(
        "{kpi} is {y0:.3}, {side} its band {:.3}..{:.3}; model gain {g:.4} per unit of {tag} (fit R² {:.2}) predicts {ss:.3} at steady state",
        band.low, band.high, fit.r2
    );
    if (to - ideal).abs() > 1e-9 {
        reason.push_str(&format!(
            "; the ideal {ideal:.3} is outside the allowed {lo:.3}..{hi:.3} (limits and maximum step), so only part of the way"
        ));
    }
    if !band.contains(ss) {
        reason.push_str("; still outside the band: further steps or another lever are needed");
    }
    Ok(Some(Prescription {
        tag: tag.into(),
        kpi: kpi.into(),
        from: u0,
        to,
        predicted,
        steady_state: ss,
        confidence: conf,
        reason,
    }))
}
