//! ARX identification by least squares, and its first-order-plus-dead-time reading.
//!
//! Model, on samples `ts_s` apart, with `d` samples of dead time:
//! `y[k] = a1·y[k-1] + … + a_na·y[k-na] + b1·u[k-1-d] + … + b_nb·u[k-nb-d] + c`.
//! Every dead time `0..=max_delay` is fitted and the one with the best simulated fit kept.
//! Fit quality is measured by simulating the model from the inputs alone (output error,
//! the measured outputs are used only for the first `na` samples): R² and the RMSE
//! normalised by the output's range.

use super::PrescribeError;

/// An identified ARX model.
#[derive(Clone, Debug, PartialEq)]
pub struct Arx {
    /// Sample period, s.
    pub ts_s: f64,
    /// Dead time in samples.
    pub delay: usize,
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    pub c: f64,
}

/// First-order plus dead time reading of a first-order ARX model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fopdt {
    /// Steady-state gain, output units per input unit.
    pub gain: f64,
    /// Time constant, s.
    pub tau_s: f64,
    /// Dead time, s (one sample of the ARX form is part of it).
    pub dead_s: f64,
}

/// An identified model with its quality.
#[derive(Clone, Debug, PartialEq)]
pub struct Fit {
    pub model: Arx,
    /// 1 − SSE/SST of the simulated output.
    pub r2: f64,
    /// RMSE of the simulated output over the output's range.
    pub nrmse: f64,
    /// Range of the input seen during identification (extrapolation lowers confidence).
    pub u_range: (f64, f64),
    pub samples: usize,
}

impl Fit {
    /// `model` as identified for the tests: R² 0.95, NRMSE 0.02, inputs 0..100 seen over
    /// 1000 samples.
    #[cfg(test)]
    pub fn of(model: Arx) -> Fit {
        Fit { model, r2: 0.95, nrmse: 0.02, u_range: (0.0, 100.0), samples: 1000 }
    }
}

impl Arx {
    fn sum_a(&self) -> f64 {
        self.a.iter().sum()
    }

    /// Steady-state gain (∞ or NaN for an integrating model).
    pub fn gain(&self) -> f64 {
        self.b.iter().sum::<f64>() / (1.0 - self.sum_a())
    }

    pub fn stable(&self) -> bool {
        // Sufficient for first order; for higher orders a practical check (|Σa| < 1 and
        // a simulated step that settles).
        if self.sum_a().abs() >= 1.0 {
            return false;
        }
        let mut y = vec![0.0; self.a.len()];
        let u = vec![1.0; 2000 + self.delay + self.b.len()];
        let s = self.simulate(&u, &mut y);
        s.last().is_some_and(|v| v.is_finite() && (v - s[s.len() - 2]).abs() < 1e-6 * (1.0 + v.abs()))
    }

    /// Output at rest for a constant input `u`.
    pub fn steady_state(&self, u: f64) -> f64 {
        (self.c + self.b.iter().sum::<f64>() * u) / (1.0 - self.sum_a())
    }

    /// The FOPDT reading of a first-order model.
    pub fn fopdt(&self) -> Option<Fopdt> {
        let (&[a], &[_]) = (self.a.as_slice(), self.b.as_slice()) else { return None };
        if !(0.0..1.0).contains(&a) {
            return None;
        }
        let tau_s = if a > 0.0 { -self.ts_s / a.ln() } else { 0.0 };
        Some(Fopdt { gain: self.gain(), tau_s, dead_s: self.delay as f64 * self.ts_s })
    }

    /// Simulate from input `u`; `y_hist` holds the outputs before `u[0]`'s sample (most
    /// recent last, at least `na` of them; fewer are padded with the first) and inputs
    /// before the start are taken equal to `u[0]`. Returns one output per input sample.
    pub fn simulate(&self, u: &[f64], y_hist: &mut Vec<f64>) -> Vec<f64> {
        self.simulate_from(u, &[], y_hist)
    }

    /// As [`Arx::simulate`], with the inputs before the start given (`u_hist`, most recent last).
    pub fn simulate_from(&self, u: &[f64], u_hist: &[f64], y_hist: &mut Vec<f64>) -> Vec<f64> {
        let na = self.a.len();
        let first_y = y_hist.first().copied().unwrap_or(0.0);
        while y_hist.len() < na {
            y_hist.insert(0, first_y);
        }
        let first_u = u.first().copied().unwrap_or(0.0);
        let u_at = |i: isize| -> f64 {
            if i >= 0 {
                u.get(i as usize).copied().unwrap_or(first_u)
            } else {
                let back = (-i) as usize;
                if back <= u_hist.len() {
                    u_hist[u_hist.len() - back]
                } else {
                    u_hist.first().copied().unwrap_or(first_u)
                }
            }
        };
        let mut y: Vec<f64> = y_hist[y_hist.len() - na..].to_vec();
        let mut out = Vec::with_capacity(u.len());
        for k in 0..u.len() as isize {
            let mut v = self.c;
            for (j, a) in self.a.iter().enumerate() {
                v += a * y[y.len() - 1 - j];
            }
            for (j, b) in self.b.iter().enumerate() {
                v += b * u_at(k - 1 - self.delay as isize - j as isize);
            }
            y.push(v);
            out.push(v);
        }
        out
    }
}

/// Identify an ARX(na, nb) model with dead time up to `max_delay` samples from
/// equally spaced `u`, `y`.
pub fn identify(
    u: &[f64],
    y: &[f64],
    ts_s: f64,
    na: usize,
    nb: usize,
    max_delay: usize,
) -> Result<Fit, PrescribeError> {
    if u.len() != y.len() {
        return Err(PrescribeError::Lengths { u: u.len(), y: y.len() });
    }
    if na == 0 || nb == 0 || ts_s <= 0.0 || !ts_s.is_finite() {
        return Err(PrescribeError::Order);
    }
    if u.iter().chain(y).any(|v| !v.is_finite()) {
        return Err(PrescribeError::NotFinite);
    }
    let lag = na.max(nb + max_delay);
    let need = 10 * (na + nb + 1) + lag;
    if u.len() < need {
        return Err(PrescribeError::TooShort { got: u.len(), need });
    }
    let (umin, umax) = u.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    if umax - umin <= 1e-12 * (1.0 + umax.abs()) {
        return Err(PrescribeError::NoExcitation);
    }
    let mut best: Option<Fit> = None;
    for d in 0..=max_delay {
        let Some(model) = least_squares(u, y, ts_s, na, nb, d, lag) else { continue };
        let mut hist = y[..na].to_vec();
        let sim = model.simulate_from(&u[na..], &u[..na], &mut hist);
        let (r2, nrmse) = quality(&y[na..], &sim);
        if !r2.is_finite() {
            continue;
        }
        if best.as_ref().is_none_or(|b| r2 > b.r2) {
            best = Some(Fit { model, r2, nrmse, u_range: (umin, umax), samples: u.len() });
        }
    }
    best.ok_or(PrescribeError::Singular)
}

fn least_squares(u: &[f64], y: &[f64], ts_s: f64, na: usize, nb: usize, d: usize, lag: usize) -> Option<Arx> {
    let p = na + nb + 1;
    let mut ata = vec![vec![0.0; p]; p];
    let mut aty = vec![0.0; p];
    let mut row = vec![0.0; p];
    for k in lag..y.len() {
        for j in 0..na {
            row[j] = y[k - 1 - j];
        }
        for j in 0..nb {
            row[na + j] = u[k - 1 - d - j];
        }
        row[p - 1] = 1.0;
        for i in 0..p {
            aty[i] += row[i] * y[k];
            for j in 0..p {
                ata[i][j] += row[i] * row[j];
            }
        }
    }
    let theta = solve(ata, aty)?;
    Some(Arx { ts_s, delay: d, a: theta[..na].to_vec(), b: theta[na..na + nb].to_vec(), c: theta[p - 1] })
}

/// Gaussian elimination with partial pivoting; None when (nearly) singular.
fn solve(mut m: Vec<Vec<f64>>, mut v: Vec<f64>) -> Option<Vec<f64>> {
    let n = v.len();
    let scale = m.iter().flatten().fold(0.0f64, |s, x| s.max(x.abs())).max(1e-300);
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))?;
        if m[piv][col].abs() <= 1e-12 * scale {
            return None;
        }
        m.swap(col, piv);
        v.swap(col, piv);
        let (top, bottom) = m.split_at_mut(col + 1);
        let prow = &top[col];
        for (i, row) in bottom.iter_mut().enumerate() {
            let f = row[col] / prow[col];
            for (x, p) in row[col..].iter_mut().zip(&prow[col..]) {
                *x -= f * p;
            }
            v[col + 1 + i] -= f * v[col];
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|c| m[r][c] * x[c]).sum();
        x[r] = (v[r] - s) / m[r][r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// R² and range-normalised RMSE of `pred` against `meas`.
pub fn quality(meas: &[f64], pred: &[f64]) -> (f64, f64) {
    let n = meas.len().min(pred.len());
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = meas[..n].iter().sum::<f64>() / n as f64;
    let sst: f64 = meas[..n].iter().map(|v| (v - mean).powi(2)).sum();
    let sse: f64 = meas[..n].iter().zip(pred).map(|(m, p)| (m - p).powi(2)).sum();
    let (lo, hi) = meas[..n].iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    let range = (hi - lo).max(1e-12);
    let r2 = if sst > 0.0 { 1.0 - sse / sst } else { f64::NAN };
    (r2, (sse / n as f64).sqrt() / range)
}

/// Zero-order-hold resampling of irregular `(t_ms, value)` samples onto `from_ms,
/// from_ms + ts_ms, …` up to `to_ms`; before the first sample the first value is used.
pub fn resample(samples: &[(i64, f64)], from_ms: i64, to_ms: i64, ts_ms: i64) -> Vec<f64> {
    let mut out = Vec::new();
    if samples.is_empty() || ts_ms <= 0 {
        return out;
    }
    let mut i = 0;
    let mut t = from_ms;
    while t <= to_ms {
        while i + 1 < samples.len() && samples[i + 1].0 <= t {
            i += 1;
        }
        out.push(samples[i].1);
        t += ts_ms;
    }
    out
}
