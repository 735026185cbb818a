//! Learning from approved changes: the prediction error of each settled model
//! recommendation corrects the next recommendation of the same manipulated → controlled pair.
//!
//! The prescriptive model is identified afresh from history for each recommendation, and its
//! steady-state gain is what decides the recommended move. After an approved write settles,
//! the plant has answered the very question the model guessed at: the KPI moved by
//! `dy = y_observed − y_from` for a setpoint move `du`. The corrected gain is the weighted
//! least-squares estimate of `dy = g·du` over the settled changes, seeded with the identified
//! gain as a prior (recursive least squares with forgetting, in closed form):
//!
//! `g = (P0·g_model + Σ wᵢ·duᵢ·dyᵢ) / (P0 + Σ wᵢ·duᵢ²)`, with `wᵢ = FORGET^(age in changes)`
//! and `P0 = PRIOR_WEIGHT · mean(duᵢ²) · FORGET^n` (the identified model counts as half of
//! one change of typical size, older than all n of them, so it fades like they do). One
//! mismatch thus moves the gain about three quarters of the way to what the plant showed
//! (0.35 : 1); repeated evidence converges on the plant's gain; older changes fade (the
//! plant drifts). The corrected gain keeps the model's
//! sign and stays within [`MIN_FACTOR`]..[`MAX_FACTOR`] of the identified one, so a few odd
//! observations can never turn a recommendation around. The model's dynamics (time
//! constant, dead time) are kept: its input coefficients are scaled.

use super::Fit;
use crate::approvals::{Live, Request, Source, Status};
use crate::config::Site;
use crate::lifecycle::PredictionError;

/// Weight of a change relative to the next newer one.
pub const FORGET: f64 = 0.7;
/// Weight of the identified model, in changes of typical size.
pub const PRIOR_WEIGHT: f64 = 0.5;
/// The corrected gain stays within these factors of the identified one.
pub const MIN_FACTOR: f64 = 0.2;
pub const MAX_FACTOR: f64 = 5.0;

/// The gain a recommendation uses, and where it comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Correction {
    pub model_gain: f64,
    pub gain: f64,
    /// Settled changes that contributed.
    pub used: usize,
}

impl Correction {
    pub fn factor(&self) -> f64 {
        if self.model_gain == 0.0 { 1.0 } else { self.gain / self.model_gain }
    }
}

/// The corrected gain from `errors` (oldest first) of one pair.
pub fn correct_gain(model_gain: f64, errors: &[PredictionError]) -> Correction {
    let obs: Vec<(f64, f64)> = errors
        .iter()
        .filter_map(|e| {
            let (du, dy) = (e.du(), e.y_observed - e.y_from);
            (du.is_finite() && dy.is_finite() && du.abs() > 1e-9).then_some((du, dy))
        })
        .collect();
    let none = Correction { model_gain, gain: model_gain, used: 0 };
    if obs.is_empty() || !model_gain.is_finite() || model_gain == 0.0 {
        return none;
    }
    let n = obs.len();
    let mean_du2 = obs.iter().map(|(du, _)| du * du).sum::<f64>() / n as f64;
    let p0 = PRIOR_WEIGHT * mean_du2 * FORGET.powi(i32::try_from(n).unwrap_or(i32::MAX));
    let (mut num, mut den) = (p0 * model_gain, p0);
    for (i, (du, dy)) in obs.iter().enumerate() {
        let w = FORGET.powi(i32::try_from(n - 1 - i).unwrap_or(i32::MAX));
        num += w * du * dy;
        den += w * du * du;
    }
    let g = num / den;
    if !g.is_finite() {
        return none;
    }
    let (lo, hi) = (MIN_FACTOR * model_gain.abs(), MAX_FACTOR * model_gain.abs());
    let gain = model_gain.signum() * (g * model_gain.signum()).clamp(lo, hi);
    Correction { model_gain, gain, used: n }
}

/// `fit` with its steady-state gain replaced by `c.gain` (input coefficients scaled).
pub fn apply(fit: &Fit, c: &Correction) -> Fit {
    let mut f = fit.clone();
    let k = c.factor();
    if k.is_finite() && k != 1.0 {
        for b in &mut f.model.b {
            *b *= k;
        }
    }
    f
}

/// The prediction errors of a request whose watch just ended (held or off): one per KPI
/// the model predicted, for a confirmed write that came from a model recommendation.
pub fn settled_errors(req: &Request, site: &Site, live: &Live<'_>, now_ms: i64) -> Vec<PredictionError> {
    if !matches!(req.source, Source::Recommendation { .. }) {
        return Vec::new();
    }
    if !matches!(&req.status, Status::Done { outcome, .. } if outcome.is_confirmed()) {
        return Vec::new();
    }
    let (Some(u_from), Some(mtag)) = (req.previous, site.tags.get(req.tag)) else { return Vec::new() };
    req.expect
        .iter()
        .filter(|e| e.tag != req.tag)
        .filter_map(|e| {
            let y_from = req.inputs.iter().find(|(t, _)| *t == e.tag).map(|(_, v)| *v)?;
            let good = live.good.get(e.tag).copied().unwrap_or(false);
            let y_observed = live.values.get(e.tag).copied().flatten().filter(|v| good && v.is_finite())?;
            Some(PredictionError {
                manipulated: mtag.name.clone(),
                controlled: site.tags.get(e.tag)?.name.clone(),
                request: req.id,
                ts_ms: now_ms,
                u_from,
                u_to: req.value,
                y_from,
                y_predicted: e.value,
                y_observed,
                seq: 0,
            })
        })
        .collect()
}
