//! From a trajectory of raw sensor rows to one feature vector per cycle.
//!
//! Each channel is min-max normalised with bounds fitted on the training rows, then two health
//! indices are added: the mean of the channels turned so that all degrade the same way, and a
//! ridge-regression projection of the channels onto the capped RUL. For each index the features
//! at cycle t use only cycles ≤ t: an exponentially smoothed value, means over the last 5, 15
//! and 30 cycles, least-squares slopes over the last 15, 30 and 60 cycles and over the whole
//! history, and the drift of the last 15 cycles from the engine's own first 15. Each single
//! channel keeps a subset (smoothed value, 15-cycle mean, 30-cycle and whole-history slopes,
//! drift). The cycle count closes the vector. Features at the last cycle of a truncated
//! trajectory are therefore exactly those a training cycle had at the same point of its life.

use serde::{Deserialize, Serialize};

use super::RulError;

const MEANS: [usize; 3] = [5, 15, 30];
const SLOPES: [usize; 3] = [15, 30, 60];
const BASELINE: usize = 15;
const EMA_ALPHA: f64 = 0.1;
const RIDGE: f64 = 1e-3;
/// Features per health index: EMA, the means, the windowed slopes, the whole-history slope, the drift.
const PER_SERIES: usize = 1 + MEANS.len() + SLOPES.len() + 2;
/// The subset kept for each single channel (noisier, and many): EMA, 15-cycle mean, 30-cycle
/// slope, whole-history slope, drift.
const PER_CHANNEL: [usize; 5] = [0, 2, 5, 7, 8];

/// Normalisation bounds and health-index weights, fitted once on training data.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FeatureSpec {
    pub min: Vec<f64>,
    pub max: Vec<f64>,
    /// +1 if the channel rises as the asset degrades, -1 if it falls.
    pub sign: Vec<f64>,
    /// Ridge weights of the normalised channels onto the capped RUL, and the intercept.
    pub hi_weights: Vec<f64>,
    pub hi_bias: f64,
}

impl FeatureSpec {
    /// Fits the spec on `trajectories` (rows of channel values) and their per-row targets.
    pub fn fit(trajectories: &[&[Vec<f64>]], targets: &[&[f64]]) -> Result<FeatureSpec, RulError> {
        let channels = trajectories.first().and_then(|t| t.first()).map_or(0, Vec::len);
        if channels == 0 {
            return Err(RulError::Model("no training rows".into()));
        }
        let mut min = vec![f64::INFINITY; channels];
        let mut max = vec![f64::NEG_INFINITY; channels];
        for row in trajectories.iter().flat_map(|t| t.iter()) {
            if row.len() != channels {
                return Err(RulError::Model(format!("a row has {} channels, expected {channels}", row.len())));
            }
            for (c, v) in row.iter().enumerate() {
                min[c] = min[c].min(*v);
                max[c] = max[c].max(*v);
            }
        }
        let mut spec =
            FeatureSpec { min, max, sign: vec![1.0; channels], hi_weights: vec![0.0; channels], hi_bias: 0.0 };
        // Ridge regression of the target on the normalised channels (with an intercept).
        let k = channels + 1;
        let mut a = vec![0.0; k * k];
        let mut b = vec![0.0; k];
        let mut x = vec![0.0; k];
        let mut n = 0.0;
        for (traj, ys) in trajectories.iter().zip(targets) {
            for (row, y) in traj.iter().zip(ys.iter()) {
                spec.normalise_into(row, &mut x[..channels]);
                x[channels] = 1.0;
                for i in 0..k {
                    b[i] += x[i] * y;
                    for j in 0..k {
                        a[i * k + j] += x[i] * x[j];
                    }
                }
                n += 1.0;
            }
        }
        // A channel rises with degradation when it falls with the target (negative covariance).
        for c in 0..channels {
            let cov = b[c] / n - (a[c * k + channels] / n) * (b[channels] / n);
            spec.sign[c] = if cov < 0.0 { 1.0 } else { -1.0 };
        }
        for i in 0..channels {
            a[i * k + i] += RIDGE * n;
        }
        let w =
            solve(&mut a, &mut b, k).ok_or_else(|| RulError::Model("health index regression is singular".into()))?;
        spec.hi_weights = w[..channels].to_vec();
        spec.hi_bias = w[channels];
        Ok(spec)
    }

    pub fn channels(&self) -> usize {
        self.min.len()
    }

    /// Length of a feature vector.
    pub fn len(&self) -> usize {
        self.channels() * PER_CHANNEL.len() + 2 * PER_SERIES + 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn normalise_into(&self, row: &[f64], out: &mut [f64]) {
        for (c, o) in out.iter_mut().enumerate() {
            let span = self.max[c] - self.min[c];
            *o = if span > 0.0 { (row[c] - self.min[c]) / span } else { 0.0 };
        }
    }

    /// Names of the features, in vector order (for reports).
    pub fn names(&self, channels: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(self.len());
        let series = channels.iter().map(String::as_str).chain(["hi_mean", "hi_ridge"]);
        for (i, s) in series.enumerate() {
            let mut all = vec![format!("{s}.ema")];
            all.extend(MEANS.iter().map(|w| format!("{s}.mean{w}")));
            all.extend(SLOPES.iter().map(|w| format!("{s}.slope{w}")));
            all.push(format!("{s}.slope_all"));
            all.push(format!("{s}.drift"));
            if i < channels.len() {
                out.extend(PER_CHANNEL.iter().map(|&k| all[k].clone()));
            } else {
                out.extend(all);
            }
        }
        out.push("cycles".into());
        out
    }

    /// The feature vector of every cycle of `traj`, flattened row-major (`len()` per cycle).
    pub fn all_cycles(&self, traj: &[Vec<f64>]) -> Result<Vec<f32>, RulError> {
        let t = traj.len();
        let mut out = vec![0f32; t * self.len()];
        self.extract(traj, &mut out, 0)?;
        Ok(out)
    }

    /// The feature vector of the last cycle of `traj`.
    pub fn last_cycle(&self, traj: &[Vec<f64>]) -> Result<Vec<f32>, RulError> {
        let mut out = vec![0f32; self.len()];
        self.extract(traj, &mut out, traj.len().saturating_sub(1))?;
        Ok(out)
    }

    /// Writes the features of cycles `from..traj.len()` into `out`, one vector per cycle.
    fn extract(&self, traj: &[Vec<f64>], out: &mut [f32], from: usize) -> Result<(), RulError> {
        let channels = self.channels();
        let t = traj.len();
        if t == 0 {
            return Err(RulError::Model("an empty history has no features".into()));
        }
        // Series-major normalised values: channels, then the two health indices.
        let ns = channels + 2;
        let mut series = vec![0.0; ns * t];
        let mut x = vec![0.0; channels];
        for (i, row) in traj.iter().enumerate() {
            if row.len() != channels {
                return Err(RulError::Model(format!("a row has {} channels, the model uses {channels}", row.len())));
            }
            if row.iter().any(|v| !v.is_finite()) {
                return Err(RulError::Model(format!("cycle {} holds a value that is not finite", i + 1)));
            }
            self.normalise_into(row, &mut x);
            let mut mean = 0.0;
            let mut ridge = self.hi_bias;
            for c in 0..channels {
                series[c * t + i] = x[c];
                mean += self.sign[c] * x[c];
                ridge += self.hi_weights[c] * x[c];
            }
            series[channels * t + i] = mean / channels as f64;
            // Scaled to the unit range of the other series.
            series[(channels + 1) * t + i] = ridge / super::cmapss::RUL_CAP;
        }
        let len = self.len();
        let mut sx = vec![0.0; t + 1];
        let mut sxi = vec![0.0; t + 1];
        for s in 0..ns {
            let v = &series[s * t..(s + 1) * t];
            for i in 0..t {
                sx[i + 1] = sx[i] + v[i];
                sxi[i + 1] = sxi[i] + v[i] * i as f64;
            }
            let mut ema = v[0];
            for i in 0..t {
                ema = EMA_ALPHA * v[i] + (1.0 - EMA_ALPHA) * ema;
                if i < from {
                    continue;
                }
                let mean = |w: usize| {
                    let a = (i + 1).saturating_sub(w);
                    (sx[i + 1] - sx[a]) / (i + 1 - a) as f64
                };
                let slope = |a: usize| {
                    let n = (i + 1 - a) as f64;
                    if n < 2.0 {
                        return 0.0;
                    }
                    let sum = sx[i + 1] - sx[a];
                    let centre = (a + i) as f64 / 2.0;
                    ((sxi[i + 1] - sxi[a]) - centre * sum) / (n * (n * n - 1.0) / 12.0)
                };
                let mut all = [0.0; PER_SERIES];
                all[0] = ema;
                for (k, w) in MEANS.iter().enumerate() {
                    all[1 + k] = mean(*w);
                }
                for (k, w) in SLOPES.iter().enumerate() {
                    // Slopes per 100 cycles keep the values near the unit range.
                    all[1 + MEANS.len() + k] = 100.0 * slope((i + 1).saturating_sub(*w));
                }
                all[PER_SERIES - 2] = 100.0 * slope(0);
                let base = sx[BASELINE.min(i + 1)] / BASELINE.min(i + 1) as f64;
                all[PER_SERIES - 1] = mean(BASELINE) - base;
                let row = &mut out[(i - from) * len..];
                if s < channels {
                    let row = &mut row[s * PER_CHANNEL.len()..];
                    for (slot, &k) in row.iter_mut().zip(&PER_CHANNEL) {
                        *slot = all[k] as f32;
                    }
                } else {
                    let row = &mut row[channels * PER_CHANNEL.len() + (s - channels) * PER_SERIES..];
                    for (slot, v) in row.iter_mut().zip(all) {
                        *slot = v as f32;
                    }
                }
            }
        }
        for i in from..t {
            out[(i - from) * len + len - 1] = (i + 1) as f32;
        }
        Ok(())
    }
}

/// Solves `a x = b` (k×k, row-major) by Gaussian elimination with partial pivoting.
fn solve(a: &mut [f64], b: &mut [f64], k: usize) -> Option<Vec<f64>> {
    for col in 0..k {
        let pivot = (col..k).max_by(|&i, &j| a[i * k + col].abs().total_cmp(&a[j * k + col].abs()))?;
        if a[pivot * k + col].abs() < 1e-12 {
            return None;
        }
        if pivot != col {
            for j in 0..k {
                a.swap(pivot * k + j, col * k + j);
            }
            b.swap(pivot, col);
        }
        for r in col + 1..k {
            let f = a[r * k + col] / a[col * k + col];
            for j in col..k {
                a[r * k + j] -= f * a[col * k + j];
            }
            b[r] -= f * b[col];
        }
    }
    let mut x = vec![0.0; k];
    for r in (0..k).rev() {
        let s: f64 = (r + 1..k).map(|j| a[r * k + j] * x[j]).sum();
        x[r] = (b[r] - s) / a[r * k + r];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize, slope: f64) -> Vec<Vec<f64>> {
        (0..n).map(|i| vec![i as f64 * slope, 5.0 - i as f64 * slope]).collect()
    }

    #[test]
    fn last_cycle_matches_all_cycles_and_slopes_are_exact() {
        let traj = line(80, 0.01);
        let ys: Vec<f64> = (0..80).map(|i| (79 - i) as f64).collect();
        let spec = FeatureSpec::fit(&[&traj], &[&ys]).expect("fits");
        assert_eq!(spec.sign, vec![1.0, -1.0]);
        let all = spec.all_cycles(&traj).expect("features");
        let last = spec.last_cycle(&traj).expect("features");
        assert_eq!(&all[79 * spec.len()..], &last[..]);
        let names = spec.names(&["a".into(), "b".into()]);
        assert_eq!(names.len(), spec.len());
        // Channel a is normalised to i / 79, so every slope is 100 / 79 per 100 cycles.
        let at = |name: &str| last[names.iter().position(|n| n == name).expect("named")];
        // hi_mean averages a and (turned over) b: i / 79 - 0.5, the same slope.
        for n in ["a.slope30", "a.slope_all", "hi_mean.slope15", "hi_mean.slope60"] {
            assert!((f64::from(at(n)) - 100.0 / 79.0).abs() < 1e-4, "{n} = {}", at(n));
        }
        assert!((f64::from(at("a.mean15")) - 72.0 / 79.0).abs() < 1e-6);
        assert!((f64::from(at("hi_mean.mean5")) - (77.0 / 79.0 - 0.5)).abs() < 1e-6);
        assert!((f64::from(at("a.drift")) - 65.0 / 79.0).abs() < 1e-6);
        assert_eq!(at("cycles"), 80.0);
        assert!(spec.last_cycle(&[vec![1.0]]).is_err());
        assert!(spec.last_cycle(&[vec![1.0, f64::NAN]]).is_err());
    }
}
