//! Per-signal residuals against a healthy baseline, standardised, through a two-sided
//! CUSUM; the onset of a change is the last time the statistic was zero before it crossed.

use std::collections::VecDeque;

use super::{DiagnosisError, SignalOnset};

/// What "normal" means for one column.
#[derive(Clone, Debug, PartialEq)]
pub enum Residual {
    /// An input (a setpoint or command): not diagnosed, only used by tracking residuals.
    Input,
    /// The signal should stay at its healthy level.
    Level,
    /// The signal is the feedback of the command in column `command` and follows it
    /// through a first-order lag of `tau_s` seconds (a valve position, a drive speed).
    Tracking { command: usize, tau_s: f64 },
}

/// One column of the monitored rows.
#[derive(Clone, Debug, PartialEq)]
pub struct SignalSpec {
    pub name: String,
    /// Measurement resolution (e.g. the register scale); the noise floor of the baseline.
    pub resolution: f64,
    pub residual: Residual,
}

/// CUSUM tuning in units of the baseline's standard deviation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CusumParams {
    /// Allowance: shifts smaller than this are ignored.
    pub k: f64,
    /// Decision threshold.
    pub h: f64,
    /// The baseline's standard deviation is at least this many resolutions.
    pub floor_resolutions: f64,
}

impl Default for CusumParams {
    fn default() -> Self {
        CusumParams { k: 0.5, h: 12.0, floor_resolutions: 2.0 }
    }
}

const MIN_BASELINE: usize = 20;

#[derive(Clone, Debug, Default)]
struct State {
    mean: f64,
    sigma: f64,
    /// Tracking: the expected feedback (the lagged command).
    expected: Option<f64>,
    pos: f64,
    neg: f64,
    /// First sample of the current excursion of each side (None while at zero).
    pos_start_ms: Option<i64>,
    neg_start_ms: Option<i64>,
    onset_ms: Option<i64>,
    detected_ms: Option<i64>,
}

/// Rows of z kept for the onsets and contributions (one hour at one sample a second).
const RECENT: usize = 3600;

/// The running per-signal monitor of one asset.
#[derive(Clone, Debug)]
pub struct Monitor {
    specs: Vec<SignalSpec>,
    params: CusumParams,
    states: Vec<State>,
    last_ms: Option<i64>,
    /// Recent `(t_ms, z per column)` (NaN for inputs and missing values).
    recent: VecDeque<(i64, Vec<f64>)>,
}

impl Monitor {
    /// Learn each signal's healthy mean and spread from `healthy` rows `(t_ms, values)`;
    /// the tracking filters run through them and go on from their end.
    pub fn fit(
        specs: Vec<SignalSpec>,
        healthy: &[(i64, Vec<f64>)],
        params: CusumParams,
    ) -> Result<Monitor, DiagnosisError> {
        for s in &specs {
            if let Residual::Tracking { command, .. } = s.residual
                && command >= specs.len()
            {
                return Err(DiagnosisError::BadCommand { signal: s.name.clone(), command });
            }
        }
        let mut m = Monitor {
            states: vec![State::default(); specs.len()],
            specs,
            params,
            last_ms: None,
            recent: VecDeque::new(),
        };
        let mut resid: Vec<Vec<f64>> = vec![Vec::new(); m.specs.len()];
        for (t, row) in healthy {
            let r = m.residuals(*t, row)?;
            for (i, v) in r.into_iter().enumerate() {
                if let Some(v) = v {
                    resid[i].push(v);
                }
            }
        }
        for (i, spec) in m.specs.iter().enumerate() {
            if spec.residual == Residual::Input {
                continue;
            }
            let r = &resid[i];
            if r.len() < MIN_BASELINE {
                return Err(DiagnosisError::ShortBaseline {
                    signal: spec.name.clone(),
                    got: r.len(),
                    need: MIN_BASELINE,
                });
            }
            let mean = r.iter().sum::<f64>() / r.len() as f64;
            let var = r.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (r.len() - 1) as f64;
            let floor = (spec.resolution * params.floor_resolutions).max(1e-9 * mean.abs()).max(1e-12);
            let st = &mut m.states[i];
            st.mean = mean;
            st.sigma = spread(r, mean, var, floor);
        }
        Ok(m)
    }

    pub fn specs(&self) -> &[SignalSpec] {
        &self.specs
    }

    /// Advance the tracking filters and return each column's raw residual (None for
    /// inputs and missing values; a NaN value is missing).
    fn residuals(&mut self, t_ms: i64, row: &[f64]) -> Result<Vec<Option<f64>>, DiagnosisError> {
        if row.len() != self.specs.len() {
            return Err(DiagnosisError::RowWidth { got: row.len(), want: self.specs.len() });
        }
        let dt = self.last_ms.map_or(0.0, |l| (t_ms - l).max(0) as f64 / 1000.0);
        self.last_ms = Some(t_ms);
        let mut out = vec![None; row.len()];
        for (i, spec) in self.specs.iter().enumerate() {
            let v = row[i];
            match spec.residual {
                Residual::Input => {}
                Residual::Level => out[i] = v.is_finite().then_some(v),
                Residual::Tracking { command, tau_s } => {
                    let c = row[command];
                    let st = &mut self.states[i];
                    let e = match st.expected {
                        None => v,
                        Some(e) if c.is_finite() => {
                            let a = if tau_s > 0.0 { 1.0 - (-dt / tau_s).exp() } else { 1.0 };
                            e + (c - e) * a
                        }
                        Some(e) => e,
                    };
                    if e.is_finite() {
                        st.expected = Some(e);
                    }
                    out[i] = (v.is_finite() && e.is_finite()).then_some(v - e);
                }
            }
        }
        Ok(out)
    }

    /// Feed one row; returns true when some signal is (now or already) out of its band.
    pub fn push(&mut self, t_ms: i64, row: &[f64]) -> Result<bool, DiagnosisError> {
        let r = self.residuals(t_ms, row)?;
        let p = self.params;
        let z: Vec<f64> =
            self.states.iter().zip(&r).map(|(st, r)| r.map_or(f64::NAN, |r| (r - st.mean) / st.sigma)).collect();
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back((t_ms, z.clone()));
        for i in 0..self.states.len() {
            let z = z[i];
            if z.is_nan() {
                continue;
            }
            let st = &mut self.states[i];
            st.pos = (st.pos + z - p.k).max(0.0);
            st.neg = (st.neg - z - p.k).max(0.0);
            st.pos_start_ms = if st.pos == 0.0 { None } else { st.pos_start_ms.or(Some(t_ms)) };
            st.neg_start_ms = if st.neg == 0.0 { None } else { st.neg_start_ms.or(Some(t_ms)) };
            if st.detected_ms.is_some() {
                continue;
            }
            let excursion = if st.pos > p.h {
                st.pos_start_ms.map(|o| (o, 1.0))
            } else if st.neg > p.h {
                st.neg_start_ms.map(|o| (o, -1.0))
            } else {
                None
            };
            if let Some((start, sign)) = excursion {
                st.detected_ms = Some(t_ms);
                let onset = self.refine_onset(i, start, sign);
                self.states[i].onset_ms = Some(onset);
            }
        }
        Ok(self.states.iter().any(|s| s.detected_ms.is_some()))
    }

    /// The excursion of a CUSUM starts early when noise happened to push it just before
    /// the change. Re-estimate the change point by maximum likelihood for a mean shift of
    /// the size seen over the excursion (δ̂): the τ maximising Σ_{t ≥ τ} (z_t − δ̂/2).
    fn refine_onset(&self, col: usize, start: i64, sign: f64) -> i64 {
        let zs: Vec<(i64, f64)> = self
            .recent
            .iter()
            .filter(|(t, _)| *t >= start)
            .filter_map(|(t, row)| row.get(col).filter(|z| !z.is_nan()).map(|z| (*t, sign * z)))
            .collect();
        if zs.is_empty() {
            return start;
        }
        let half = zs.iter().map(|(_, z)| z).sum::<f64>() / zs.len() as f64 / 2.0;
        let (mut best, mut best_t, mut suffix) = (f64::NEG_INFINITY, start, 0.0);
        for (t, z) in zs.iter().rev() {
            suffix += z - half;
            if suffix >= best {
                best = suffix;
                best_t = *t;
            }
        }
        best_t
    }

    /// Earliest onset over all signals.
    pub fn first_onset_ms(&self) -> Option<i64> {
        self.states.iter().filter_map(|s| s.onset_ms).min()
    }

    /// Every diagnosed signal with its onset and its share of the mean z² since the
    /// earliest onset (over the recent rows; all of them when nothing left its band).
    pub fn onsets(&self) -> Vec<SignalOnset> {
        let from = self.first_onset_ms().unwrap_or(i64::MIN);
        let mut mean_z2 = vec![0.0; self.specs.len()];
        let mut n = 0usize;
        for (_, row) in self.recent.iter().filter(|(t, _)| *t >= from) {
            n += 1;
            for (m, z) in mean_z2.iter_mut().zip(row) {
                if !z.is_nan() {
                    *m += z * z;
                }
            }
        }
        for m in &mut mean_z2 {
            *m /= n.max(1) as f64;
        }
        let diagnosed = |i: &usize| self.specs[*i].residual != Residual::Input;
        let total: f64 = (0..self.specs.len()).filter(diagnosed).map(|i| mean_z2[i]).sum();
        (0..self.specs.len())
            .filter(diagnosed)
            .map(|i| {
                let onset_ms = self.states[i].onset_ms;
                let (half_ms, clarity) = onset_ms.map_or((None, 0.0), |t| self.move_since(i, t));
                SignalOnset {
                    signal: self.specs[i].name.clone(),
                    onset_ms,
                    detected_ms: self.states[i].detected_ms,
                    score: if total > 0.0 { mean_z2[i] / total } else { 0.0 },
                    half_ms,
                    clarity,
                }
            })
            .collect()
    }

    /// Column `col`'s move since `from_ms` (over the recent rows): when it first stood at
    /// least half way to its mean since then, and its clarity (|mean| / max(spread, 1)).
    fn move_since(&self, col: usize, from_ms: i64) -> (Option<i64>, f64) {
        let zs: Vec<(i64, f64)> = self
            .recent
            .iter()
            .filter(|(t, _)| *t >= from_ms)
            .filter_map(|(t, row)| row.get(col).filter(|z| !z.is_nan()).map(|z| (*t, *z)))
            .collect();
        if zs.is_empty() {
            return (None, 0.0);
        }
        let n = zs.len() as f64;
        let mean = zs.iter().map(|(_, z)| z).sum::<f64>() / n;
        let spread = (zs.iter().map(|(_, z)| (z - mean).powi(2)).sum::<f64>() / n).sqrt();
        let half = zs.iter().find(|(_, z)| z * mean.signum() >= mean.abs() / 2.0).map(|(t, _)| *t);
        (half, mean.abs() / spread.max(1.0))
    }
}

/// The spread a residual's CUSUM is standardised by: the baseline's sample-to-sample spread
/// (at least `floor`) widened for autocorrelation: by the lag-1 factor √((1+ρ₁)/(1−ρ₁)) as
/// for a quick wander, or, when the residual wanders for minutes, with the wander's long-run
/// variance added ([`slow_variance`]), whichever is wider.
fn spread(r: &[f64], mean: f64, var: f64, floor: f64) -> f64 {
    if var <= 0.0 {
        return floor;
    }
    let rho = lag1(r, mean, var);
    let quick = var.sqrt().max(floor) * ((1.0 + rho) / (1.0 - rho)).sqrt();
    quick.max((var.max(floor * floor) + slow_variance(r, mean, var)).sqrt())
}

/// The lag-1 autocorrelation of `r` about `mean`, clamped to 0..=0.9.
fn lag1(r: &[f64], mean: f64, var: f64) -> f64 {
    let g1 = r.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum::<f64>() / (r.len() - 1) as f64;
    (g1 / var).clamp(0.0, 0.9)
}

/// What the CUSUM's sums add to the sample-to-sample variance `var` of a residual whose
/// baseline `r` is autocorrelated (a slowly wandering inlet, and the outlets that follow it):
/// its long-run variance minus `var`; 0 for white residuals.
///
/// The residual is read as white noise plus a first-order autoregressive wander (AR(1),
/// coefficient φ). With a clear lag-1 autocorrelation ρ₁ (above 3/√n, so a white residual's
/// chance correlation never counts), φ is estimated from the decay of the autocovariance from
/// lag 1 to lag 11 (γ₁₁/γ₁ = φ¹⁰, clamped to 0.98), the wander's variance is γ₁/φ, and its
/// long-run variance is that times (1+φ)/(1−φ); a lag-1 estimate alone sees the white noise
/// as a quick decay and takes a wander lasting minutes for one lasting seconds. Otherwise the
/// lag-1 form (1+ρ₁)/(1−ρ₁) of the variance, ρ₁ clamped to 0..=0.9.
pub(super) fn slow_variance(r: &[f64], mean: f64, var: f64) -> f64 {
    const LAG: usize = 11;
    if var <= 0.0 || r.len() < 3 {
        return 0.0;
    }
    let gamma = |l: usize| r.windows(l + 1).map(|w| (w[0] - mean) * (w[l] - mean)).sum::<f64>() / (r.len() - 1) as f64;
    let rho = lag1(r, mean, var);
    let quick = var * ((1.0 + rho) / (1.0 - rho) - 1.0);
    if rho <= 3.0 / (r.len() as f64).sqrt() || r.len() <= 4 * LAG {
        return quick;
    }
    let g1 = gamma(1);
    let phi = (gamma(LAG) / g1).max(0.0).powf(1.0 / (LAG - 1) as f64).clamp(rho.min(0.98), 0.98);
    let wander = (g1 / phi).min(var);
    let long_run = var - wander + wander * (1.0 + phi) / (1.0 - phi);
    (long_run - var).max(quick)
}
