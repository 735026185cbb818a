//! The per-asset model of normal behaviour and its streaming scorer.
//!
//! **Fit** (on a window the engineer marks as healthy):
//! 1. Standardise each signal by its healthy mean and a scale that is the largest of its healthy
//!    standard deviation widened by the wander its variogram predicts over `drift_horizon`
//!    samples (slow signals such as temperatures drift; noisy stationary ones do not), and
//!    `relative_floor` of its mean level (a deviation smaller than that is not meaningful).
//! 2. Clip the standardised values to ±`clip`, replace single wild samples by the causal
//!    median of three, and smooth with a causal rolling mean of `smooth_window` samples.
//! 3. Principal components of the smoothed healthy vectors: the score of a vector `z` is one
//!    quadratic form `zᵀ M z` adding Hotelling's T² on the leading components (explaining
//!    `explained` of the variance, each divided by its variance) and the squared prediction
//!    error Q on the rest (weighted by `q_weight` over the mean residual variance).
//!    With `shrinkage`, the covariance is first shrunk towards its mean variance times the
//!    identity by the Ledoit-Wolf intensity of the healthy data, so a wide asset (a hundred
//!    signals) fits from five healthy rows per signal ([`min_rows`]).
//! 4. Threshold from out-of-sample healthy scores (blocked cross-validation over up to
//!    `folds` blocks of the healthy window, as many as its length allows, each block scored by
//!    a model fitted on the others): with `false_alarm_rate` set, the lowest threshold at which
//!    the alarm (with its persistence) is raised on at most that share of them; otherwise their
//!    `quantile`; times `margin`. The out-of-fold alarm rate at the final threshold is kept as
//!    the expected false-alarm rate.
//!
//! **Score** (every new sample): standardise, smooth, `zᵀ M z`; per-signal contributions
//! `zᵢ (M z)ᵢ` sum to the score. The alarm needs `on_count` consecutive samples above the
//! threshold and clears after `off_count` consecutive samples below `clear_ratio × threshold`,
//! so one spike is not an alarm; nothing is decided before the smoothing window has filled.
//! Everything is causal: a score depends only on the sample and those before it.

use serde::{Deserialize, Serialize};

use super::linalg::{mean_cov, symmetric_eigen};

/// Hyper-parameters of the model. The defaults were chosen on SKAB's pooled leaderboard result
/// (see `mimic eval skab`); they are the same for every asset unless an engineer says otherwise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    /// Samples in the causal rolling mean applied to the standardised vectors before scoring.
    pub smooth_window: usize,
    /// Fraction of the healthy variance the T² components explain (the rest is the Q space).
    pub explained: f64,
    /// Weight of the Q (residual) part relative to the T² part.
    pub q_weight: f64,
    /// Smallest variance a component may have, as a fraction of the total (guards 1/λ).
    pub min_variance: f64,
    /// Horizon (samples) over which a slowly wandering signal may drift without alarm: its
    /// scale is widened by the drift its healthy variogram predicts over this horizon (0: off).
    pub drift_horizon: usize,
    /// Lag (samples) at which the variogram is measured.
    pub drift_lag: usize,
    /// Smallest scale of a signal as a fraction of its healthy mean level.
    pub relative_floor: f64,
    /// Standardised values are clipped to ±`clip` before smoothing, so one wild sample moves
    /// the rolling mean by at most `clip / smooth_window` (0: no clipping).
    pub clip: f64,
    /// A standardised value further than this from the median of it and its two predecessors
    /// is replaced by that median, so a single wild sample never reaches the mean (a real
    /// step that large is taken one sample late); 0: off.
    pub spike_limit: f64,
    /// Blocks of the healthy window for the threshold's cross-validation (0 or 1: the
    /// threshold comes from in-sample scores, which are optimistic).
    pub folds: usize,
    /// Quantile of the healthy scores the threshold starts from (0..=1).
    pub quantile: f64,
    /// Margin multiplying that quantile.
    pub margin: f64,
    /// Shrink the covariance of the smoothed vectors towards a scaled identity by the
    /// Ledoit-Wolf intensity the healthy data give (few rows per signal: the sample covariance
    /// is noisy or singular, and its smallest components would dominate the score).
    pub shrinkage: bool,
    /// When above 0: the threshold is the lowest at which the alarm (with its persistence)
    /// is raised on at most this share of the out-of-fold healthy samples, times `margin`;
    /// otherwise `quantile` of the healthy scores times `margin`.
    pub false_alarm_rate: f64,
    /// Consecutive samples above the threshold that raise the alarm.
    pub on_count: u32,
    /// Consecutive samples below `clear_ratio × threshold` that clear it.
    pub off_count: u32,
    /// Fraction of the threshold under which a sample counts towards clearing.
    pub clear_ratio: f64,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        Self {
            smooth_window: 25,
            explained: 0.9,
            q_weight: 1.0,
            min_variance: 1e-3,
            drift_horizon: 500,
            drift_lag: 50,
            relative_floor: 0.015,
            clip: 10.0,
            spike_limit: 5.0,
            folds: 5,
            quantile: 0.99,
            margin: 2.5,
            shrinkage: false,
            false_alarm_rate: 0.0,
            on_count: 5,
            off_count: 10,
            clear_ratio: 0.8,
        }
    }
}

/// Errors of fitting a model.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    #[error("the healthy window has {rows} rows; at least {needed} are needed")]
    TooFewRows { rows: usize, needed: usize },
    #[error("row {row} has {got} values, expected {expected}")]
    RaggedRow { row: usize, got: usize, expected: usize },
    #[error("row {row} holds a value that is not a finite number")]
    NotFinite { row: usize },
    #[error("no signals to model")]
    NoSignals,
    #[error("bad configuration: {0}")]
    Config(&'static str),
}

/// The verdict on one sample.
#[derive(Debug, Clone, PartialEq)]
pub struct AnomalyScore {
    /// The sample's score (0 at the healthy mean).
    pub score: f64,
    pub threshold: f64,
    /// The alarm state after this sample (with persistence and hysteresis).
    pub alarm: bool,
    /// Each signal's share of `score`, in signal order (they sum to it; a share can be
    /// slightly negative when two correlated signals move against their usual relation).
    pub contributions: Vec<f64>,
}

/// A fitted model plus its streaming state. Serialises to JSON (state included, so a model
/// reloaded mid-stream continues; call [`AnomalyModel::reset`] to start afresh).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnomalyModel {
    pub config: AnomalyConfig,
    /// Signal names, in sample order.
    pub signals: Vec<String>,
    mean: Vec<f64>,
    scale: Vec<f64>,
    /// The score matrix `M` (signals × signals, row major).
    matrix: Vec<f64>,
    pub threshold: f64,
    /// Share of the out-of-fold healthy samples on which the alarm (with its persistence)
    /// was raised at this threshold: the false-alarm rate to expect on healthy running.
    #[serde(default)]
    pub expected_far: f64,
    /// The covariance shrinkage intensity used (0..1).
    #[serde(default)]
    pub shrinkage: f64,
    #[serde(default)]
    state: StreamState,
}

/// What scoring remembers between samples.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct StreamState {
    /// The last `smooth_window` standardised vectors, flat (`filled` of them valid), a ring.
    ring: Vec<f64>,
    filled: usize,
    next: usize,
    sum: Vec<f64>,
    /// The two previous standardised vectors (for the median of three), and how many were seen.
    #[serde(default)]
    recent: Vec<f64>,
    #[serde(default)]
    seen: usize,
    above: u32,
    below: u32,
    alarm: bool,
}

impl AnomalyModel {
    /// Fits on the healthy rows (each a vector of `signals.len()` values).
    pub fn fit(signals: Vec<String>, rows: &[Vec<f64>], config: AnomalyConfig) -> Result<Self, FitError> {
        let n = signals.len();
        if n == 0 {
            return Err(FitError::NoSignals);
        }
        check_config(&config)?;
        let w = config.smooth_window.max(1);
        let needed = min_rows(n, &config);
        if rows.len() < needed {
            return Err(FitError::TooFewRows { rows: rows.len(), needed });
        }
        for (i, r) in rows.iter().enumerate() {
            if r.len() != n {
                return Err(FitError::RaggedRow { row: i, got: r.len(), expected: n });
            }
            if r.iter().any(|x| !x.is_finite()) {
                return Err(FitError::NotFinite { row: i });
            }
        }
        let mut model = Self::fit_core(signals, rows, config);
        let folds = folds_for(rows.len(), n, &model.config);
        model.config.folds = folds;
        // Healthy scores, one run per block (each scored by a model that never saw it).
        let mut runs: Vec<Vec<f64>> = Vec::new();
        if folds >= 2 {
            let len = rows.len() / folds;
            for b in 0..folds {
                let (lo, hi) = (b * len, if b + 1 == folds { rows.len() } else { (b + 1) * len });
                let train: Vec<Vec<f64>> = rows[..lo].iter().chain(&rows[hi..]).cloned().collect();
                let mut held = Self::fit_core(model.signals.clone(), &train, model.config.clone());
                let from = lo.saturating_sub(w - 1);
                let mut run = Vec::with_capacity(hi - lo);
                for (i, r) in rows[from..hi].iter().enumerate() {
                    let z = held.smooth(r);
                    if from + i >= lo && i + 1 >= w {
                        run.push(quad(&held.matrix, &z));
                    }
                }
                runs.push(run);
            }
        } else {
            let mut run = Vec::with_capacity(rows.len());
            for (i, r) in rows.iter().enumerate() {
                let z = model.smooth(r);
                if i + 1 >= w {
                    run.push(quad(&model.matrix, &z));
                }
            }
            runs.push(run);
        }
        let mut scores: Vec<f64> = runs.iter().flatten().copied().collect();
        scores.sort_by(f64::total_cmp);
        let base = if model.config.false_alarm_rate > 0.0 {
            threshold_for_rate(&runs, &scores, &model.config)
        } else {
            let last = scores.len().saturating_sub(1);
            let idx = ((last as f64 * model.config.quantile).round() as usize).min(last);
            scores.get(idx).copied().unwrap_or(0.0)
        };
        // A healthy window with no variation at all would give a zero threshold.
        model.threshold = (base * model.config.margin).max(f64::MIN_POSITIVE);
        model.expected_far = alarm_rate(&runs, model.threshold, &model.config);
        model.reset();
        Ok(model)
    }

    /// Standardisation and score matrix from `rows` (already validated), without threshold.
    fn fit_core(signals: Vec<String>, rows: &[Vec<f64>], config: AnomalyConfig) -> Self {
        let n = signals.len();
        let (mean, cov) = mean_cov(rows, n);
        let scale = (0..n)
            .map(|i| {
                let sd = (cov[i * n + i] + drift_variance(rows, i, &config)).sqrt();
                let tiny = 1e-9 * (1.0 + mean[i].abs());
                sd.max(config.relative_floor * mean[i].abs()).max(tiny)
            })
            .collect();
        let mut model = Self {
            config,
            signals,
            mean,
            scale,
            matrix: vec![0.0; n * n],
            threshold: f64::INFINITY,
            expected_far: 0.0,
            shrinkage: 0.0,
            state: StreamState::default(),
        };
        if model.config.shrinkage {
            let z: Vec<Vec<f64>> = rows
                .iter()
                .map(|r| r.iter().enumerate().map(|(i, x)| (x - model.mean[i]) / model.scale[i]).collect())
                .collect();
            model.shrinkage = ledoit_wolf(&z, n);
        }
        let w = model.config.smooth_window.max(1);
        let mut smoothed = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            let z = model.smooth(r);
            if i + 1 >= w {
                smoothed.push(z);
            }
        }
        model.matrix = score_matrix(&smoothed, n, &model.config, model.shrinkage);
        model.reset();
        model
    }

    /// Forgets the streaming state (smoothing window and alarm).
    pub fn reset(&mut self) {
        self.state = StreamState::default();
    }

    /// Scores one sample vector (values in `signals` order) and updates the alarm state.
    /// A missing or non-finite value counts as its signal's healthy mean.
    pub fn score(&mut self, sample: &[f64]) -> AnomalyScore {
        let n = self.signals.len();
        let z = self.smooth(sample);
        let mut contributions = vec![0.0; n];
        let mut score = 0.0;
        for (i, c) in contributions.iter_mut().enumerate() {
            let row = &self.matrix[i * n..(i + 1) * n];
            let mz: f64 = row.iter().zip(&z).map(|(a, b)| a * b).sum();
            *c = z[i] * mz;
            score += *c;
        }
        let alarm = self.persist(score);
        AnomalyScore { score, threshold: self.threshold, alarm, contributions }
    }

    /// Whether the alarm is raised now.
    pub fn alarm(&self) -> bool {
        self.state.alarm
    }

    fn persist(&mut self, score: f64) -> bool {
        let c = &self.config;
        let s = &mut self.state;
        if s.filled < c.smooth_window.max(1) {
            // The rolling mean of a few samples is noisier than the threshold allows for.
            return s.alarm;
        }
        s.above = if score > self.threshold { s.above.saturating_add(1) } else { 0 };
        s.below = if score < self.threshold * c.clear_ratio { s.below.saturating_add(1) } else { 0 };
        if !s.alarm && s.above >= c.on_count.max(1) {
            s.alarm = true;
        } else if s.alarm && s.below >= c.off_count.max(1) {
            s.alarm = false;
        }
        s.alarm
    }

    /// Standardises `sample` and returns the causal rolling mean including it.
    fn smooth(&mut self, sample: &[f64]) -> Vec<f64> {
        let n = self.signals.len();
        let w = self.config.smooth_window.max(1);
        let s = &mut self.state;
        if s.sum.len() != n || s.ring.len() != n * w || s.recent.len() != 2 * n {
            s.sum = vec![0.0; n];
            s.ring = vec![0.0; n * w];
            s.recent = vec![0.0; 2 * n];
            s.seen = 0;
            s.filled = 0;
            s.next = 0;
        }
        let slot = &mut s.ring[s.next * n..(s.next + 1) * n];
        for (i, old) in slot.iter_mut().enumerate() {
            let x = sample.get(i).copied().unwrap_or(f64::NAN);
            let mut z = if x.is_finite() { (x - self.mean[i]) / self.scale[i] } else { 0.0 };
            if self.config.clip > 0.0 {
                z = z.clamp(-self.config.clip, self.config.clip);
            }
            let (a, b) = (s.recent[i], s.recent[n + i]);
            s.recent[i] = b;
            s.recent[n + i] = z;
            if self.config.spike_limit > 0.0 && s.seen >= 2 {
                let median = z.max(a.min(b)).min(a.max(b));
                if (z - median).abs() > self.config.spike_limit {
                    z = median;
                }
            }
            s.sum[i] += z - *old;
            *old = z;
        }
        s.seen = (s.seen + 1).min(2);
        s.next = (s.next + 1) % w;
        s.filled = (s.filled + 1).min(w);
        let k = s.filled as f64;
        s.sum.iter().map(|v| v / k).collect()
    }
}

fn check_config(c: &AnomalyConfig) -> Result<(), FitError> {
    let unit = |x: f64| (0.0..=1.0).contains(&x);
    if !unit(c.explained) || !unit(c.quantile) || !unit(c.clear_ratio) || !unit(c.min_variance) {
        return Err(FitError::Config("explained, quantile, clear_ratio and min_variance must lie in 0..=1"));
    }
    if !(c.margin.is_finite() && c.margin > 0.0 && c.q_weight.is_finite() && c.q_weight >= 0.0) {
        return Err(FitError::Config("margin must be positive and q_weight not negative"));
    }
    if !(c.relative_floor.is_finite()
        && c.relative_floor >= 0.0
        && c.clip.is_finite()
        && c.clip >= 0.0
        && c.spike_limit.is_finite()
        && c.spike_limit >= 0.0)
    {
        return Err(FitError::Config("relative_floor, clip and spike_limit must not be negative"));
    }
    Ok(())
}

/// The extra variance signal `i` may show over `drift_horizon` samples: the growth of its
/// variogram from lag 1 to `drift_lag`, extrapolated linearly (a random-walk wander). A noisy
/// but stationary signal has a flat variogram and gets nothing extra.
fn drift_variance(rows: &[Vec<f64>], i: usize, c: &AnomalyConfig) -> f64 {
    let lag = c.drift_lag.max(2);
    if c.drift_horizon == 0 || rows.len() <= lag + 1 {
        return 0.0;
    }
    let gamma = |l: usize| {
        let k = rows.len() - l;
        rows.windows(l + 1).map(|w| (w[l][i] - w[0][i]).powi(2)).sum::<f64>() / (2.0 * k as f64)
    };
    let growth = (gamma(lag) - gamma(1)).max(0.0);
    growth * c.drift_horizon as f64 / lag as f64
}

/// `M = Σ_{i<k} vᵢvᵢᵀ/λᵢ + q_weight · Σ_{i≥k} vᵢvᵢᵀ / mean residual λ`, on the covariance
/// of `data` shrunk by `delta` towards its mean variance times the identity.
fn score_matrix(data: &[Vec<f64>], n: usize, c: &AnomalyConfig, delta: f64) -> Vec<f64> {
    let (_, mut cov) = mean_cov(data, n);
    if delta > 0.0 {
        let mu = (0..n).map(|i| cov[i * n + i]).sum::<f64>() / n.max(1) as f64;
        for i in 0..n {
            for j in 0..n {
                cov[i * n + j] *= 1.0 - delta;
            }
            cov[i * n + i] += delta * mu;
        }
    }
    let (values, vectors) = symmetric_eigen(&cov, n);
    let total: f64 = values.iter().map(|v| v.max(0.0)).sum::<f64>().max(f64::MIN_POSITIVE);
    let floor = total * c.min_variance.max(1e-12);
    let mut k = 0;
    let mut acc = 0.0;
    while k < n && acc < c.explained * total {
        acc += values[k].max(0.0);
        k += 1;
    }
    let resid = values[k..].iter().map(|v| v.max(floor)).sum::<f64>() / (n - k).max(1) as f64;
    let mut m = vec![0.0; n * n];
    for (idx, &lambda) in values.iter().enumerate() {
        let w = if idx < k { 1.0 / lambda.max(floor) } else { c.q_weight / resid.max(floor) };
        let v = &vectors[idx * n..(idx + 1) * n];
        for i in 0..n {
            for j in 0..n {
                m[i * n + j] += w * v[i] * v[j];
            }
        }
    }
    m
}

fn quad(m: &[f64], z: &[f64]) -> f64 {
    let n = z.len();
    (0..n).map(|i| z[i] * m[i * n..(i + 1) * n].iter().zip(z).map(|(a, b)| a * b).sum::<f64>()).sum()
}

/// Least healthy rows a model of `n` signals fits from: five per signal, and enough to fill
/// the smoothing window a few times over.
pub fn min_rows(n: usize, c: &AnomalyConfig) -> usize {
    (5 * n).max(c.smooth_window.max(1) + 10).max(20)
}

/// Blocks for the threshold's cross-validation, chosen from the data: at most `c.folds`, each
/// block long enough to show some healthy scores once the smoothing window has filled (a
/// block's window fills from the rows before it), and the rest enough to fit a model: with
/// shrinkage four rows per signal (the regularised covariance holds with fewer rows than
/// the fit's five), otherwise [`min_rows`]; fewer than 2 blocks: in-sample.
fn folds_for(rows: usize, n: usize, c: &AnomalyConfig) -> usize {
    let w = c.smooth_window.max(1);
    let block = w + 10;
    let train = if c.shrinkage { (4 * n).max(w + 10).max(20) } else { min_rows(n, c) };
    (2..=c.folds).rev().find(|&k| rows / k >= block && rows - rows / k >= train).unwrap_or(0)
}

/// Share of the samples of `runs` (each a contiguous sequence of scores) on which the alarm,
/// with its persistence and hysteresis, is raised at `threshold`.
fn alarm_rate(runs: &[Vec<f64>], threshold: f64, c: &AnomalyConfig) -> f64 {
    let (mut on, mut total) = (0usize, 0usize);
    for run in runs {
        let (mut above, mut below, mut alarm) = (0u32, 0u32, false);
        for &s in run {
            above = if s > threshold { above.saturating_add(1) } else { 0 };
            below = if s < threshold * c.clear_ratio { below.saturating_add(1) } else { 0 };
            if !alarm && above >= c.on_count.max(1) {
                alarm = true;
            } else if alarm && below >= c.off_count.max(1) {
                alarm = false;
            }
            on += usize::from(alarm);
            total += 1;
        }
    }
    on as f64 / total.max(1) as f64
}

/// The lowest of the healthy `sorted` scores at which the alarm rate over `runs` is at most
/// `c.false_alarm_rate` (the rate falls as the threshold rises: bisection over the scores).
fn threshold_for_rate(runs: &[Vec<f64>], sorted: &[f64], c: &AnomalyConfig) -> f64 {
    let Some(&top) = sorted.last() else { return 0.0 };
    let (mut lo, mut hi) = (0usize, sorted.len() - 1);
    if alarm_rate(runs, top, c) > c.false_alarm_rate {
        return top;
    }
    while lo < hi {
        let mid = (lo + hi) / 2;
        if alarm_rate(runs, sorted[mid], c) <= c.false_alarm_rate {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    sorted[lo]
}

/// The Ledoit-Wolf shrinkage intensity (0..1) of the covariance of `z` (rows of `n` values)
/// towards its mean variance times the identity: the share of the sample covariance's
/// distance to that target which its own sampling noise explains.
fn ledoit_wolf(z: &[Vec<f64>], n: usize) -> f64 {
    let m = z.len();
    if m < 2 || n < 2 {
        return 0.0;
    }
    let (mean, _) = mean_cov(z, n);
    let x: Vec<Vec<f64>> = z.iter().map(|r| r.iter().zip(&mean).map(|(a, b)| a - b).collect()).collect();
    let mut s = vec![0.0; n * n];
    for r in &x {
        for i in 0..n {
            for j in i..n {
                s[i * n + j] += r[i] * r[j] / m as f64;
            }
        }
    }
    for i in 0..n {
        for j in 0..i {
            s[i * n + j] = s[j * n + i];
        }
    }
    let mu = (0..n).map(|i| s[i * n + i]).sum::<f64>() / n as f64;
    let d2: f64 = (0..n * n).map(|k| (s[k] - if k % (n + 1) == 0 { mu } else { 0.0 }).powi(2)).sum();
    if d2 <= f64::MIN_POSITIVE {
        return 0.0;
    }
    let s_norm2: f64 = s.iter().map(|v| v * v).sum();
    let mut b2 = 0.0;
    for r in &x {
        let norm2: f64 = r.iter().map(|v| v * v).sum();
        let xsx: f64 = (0..n).map(|i| r[i] * (0..n).map(|j| s[i * n + j] * r[j]).sum::<f64>()).sum();
        b2 += norm2 * norm2 - 2.0 * xsx + s_norm2;
    }
    b2 /= (m * m) as f64;
    (b2.min(d2) / d2).clamp(0.0, 1.0)
}
