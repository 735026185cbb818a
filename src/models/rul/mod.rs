//! Remaining useful life (RUL): a model trained on run-to-failure histories that, given the
//! history of an asset so far, predicts how many more cycles it will run, with an interval.
//!
//! - [`cmapss`]: the NASA C-MAPSS file format and the standard scoring protocol.
//! - [`features`]: per-cycle features computed only from the past (normalised channels, two
//!   health indices, smoothed levels, windowed means and slopes, drift, cycle count).
//! - [`gbt`]: gradient-boosted regression trees.
//! - [`asset`]: a model bound to a site asset's tags (cycles of history), loaded by the daemon.
//! - [`lives`]: run-to-failure histories from the store: an asset's lives between part replacements.
//! - [`validate`]: held-out evaluation that truncates engines the way the official test does.
//!
//! The model is a cross-validation ensemble: the training trajectories are split into
//! `members` folds, one boosted-tree member is trained without each fold, and the prediction is
//! the members' mean. Each member's errors on the fold it never saw are out-of-fold residuals;
//! their quantiles, by predicted-RUL band, give the interval at a stated nominal level
//! ([`TrainOptions::level`], default 90 %): split-conformal by band, each tail's quantile
//! taken at the finite-sample rank `⌈(n + 1)(1 - tail)⌉` of the band's n residuals. Everything here is pure and
//! synchronous: the daemon calls [`RulModel::predict`] on a window of history it already holds.

pub mod asset;
pub mod cmapss;
pub mod features;
pub mod gbt;
pub mod lives;
pub(crate) mod rng;
pub mod validate;

use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use self::features::FeatureSpec;
use self::gbt::{Gbt, GbtParams};
use self::rng::Rng;

/// Bumped when the saved model's meaning changes.
pub const FORMAT: u32 = 1;
/// The interval's nominal level by default: the share of true remaining lives it should hold.
pub const LEVEL: f64 = 0.9;
/// Predicted-RUL bands (upper edges) over which residual quantiles are taken separately.
const BANDS: [f64; 5] = [25.0, 50.0, 75.0, 100.0, f64::INFINITY];
/// Out-of-fold residuals come from cycles with at least this much history …
pub const MIN_HISTORY: usize = 31;
/// … and at most this much life left, like the ends of the official test trajectories.
pub const MAX_RUL: usize = 145;

#[derive(Debug, thiserror::Error)]
pub enum RulError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{file}:{line}: {message}")]
    Parse { file: String, line: usize, message: String },
    #[error("{0}: no data")]
    Empty(String),
    #[error("{0}")]
    Model(String),
    #[error("{path}: not a RUL model: {message}")]
    BadModel { path: String, message: String },
}

/// One run-to-failure history: `rows[i]` holds the model's channels at cycle `i + 1`, and the
/// asset failed after the last row.
#[derive(Clone, Debug)]
pub struct RunToFailure {
    pub rows: Vec<Vec<f64>>,
}

/// How to train.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    /// Ensemble members (also the number of cross-validation folds, so at least 2).
    pub members: usize,
    pub trees: usize,
    pub seed: u64,
    /// The RUL target is capped here.
    pub cap: f64,
    /// Worker threads.
    pub threads: usize,
    /// Nominal level of the interval (0..1).
    pub level: f64,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            members: 5,
            trees: GbtParams::default().trees,
            seed: 1,
            cap: cmapss::RUL_CAP,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()).min(2),
            level: LEVEL,
        }
    }
}

/// A predicted remaining life, in cycles, with an interval expected to hold the truth at its
/// model's nominal level ([`Interval::coverage`]).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RulEstimate {
    pub rul: f64,
    pub low: f64,
    pub high: f64,
}

/// Residual quantiles (truth - prediction) by predicted-RUL band.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Interval {
    /// The nominal level (0..1).
    pub coverage: f64,
    /// Upper edges of the bands; the last is open (stored as a large number).
    pub bands: Vec<f64>,
    pub low: Vec<f64>,
    pub high: Vec<f64>,
}

impl Interval {
    fn fit(pred: &[f64], truth: &[f64], coverage: f64) -> Interval {
        let tail = (1.0 - coverage) / 2.0;
        let all: Vec<f64> = pred.iter().zip(truth).map(|(p, t)| t - p).collect();
        let mut iv = Interval { coverage, bands: Vec::new(), low: Vec::new(), high: Vec::new() };
        let mut lo_edge = f64::NEG_INFINITY;
        for &edge in &BANDS {
            let mut r: Vec<f64> =
                pred.iter().zip(truth).filter(|(p, _)| **p > lo_edge && **p <= edge).map(|(p, t)| t - p).collect();
            if r.len() < 30 {
                r.clone_from(&all);
            }
            iv.bands.push(edge.min(1e9));
            iv.low.push(conformal(&mut r, tail, false));
            iv.high.push(conformal(&mut r, tail, true));
            lo_edge = edge;
        }
        iv
    }

    fn around(&self, rul: f64, cap: f64) -> RulEstimate {
        let band = self.bands.iter().position(|&e| rul <= e).unwrap_or(self.bands.len().saturating_sub(1));
        let (lo, hi) = (self.low.get(band).copied().unwrap_or(0.0), self.high.get(band).copied().unwrap_or(0.0));
        RulEstimate { rul, low: (rul + lo.min(0.0)).max(0.0), high: (rul + hi.max(0.0)).min(cap * 2.0) }
    }
}

/// The split-conformal bound of one tail: of `v`'s n residuals, the one of rank
/// `⌈(n + 1)(1 - tail)⌉` from the other end (the largest or smallest when that is past n), so
/// that a new residual exchangeable with them lies beyond it with probability at most `tail`.
fn conformal(v: &mut [f64], tail: f64, upper: bool) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let k = (((n + 1) as f64) * (1.0 - tail)).ceil().max(1.0) as usize;
    let k = k.min(n);
    if upper { v[k - 1] } else { v[n - k] }
}

/// Facts about training, kept in the model file and printed by the CLI.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainInfo {
    pub source: String,
    pub trajectories: usize,
    pub rows: usize,
    pub seconds: f64,
    /// Out-of-fold RMSE (capped truth) over the cycles a test-style cut could end on.
    pub oof_rmse: f64,
}

/// A trained RUL model, saved as JSON.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RulModel {
    pub format: u32,
    /// What each column of a history row is (e.g. `s2` … `s21` for C-MAPSS).
    pub channels: Vec<String>,
    pub cap: f64,
    pub spec: FeatureSpec,
    pub members: Vec<Gbt>,
    pub interval: Interval,
    pub info: TrainInfo,
}

impl RulModel {
    /// Trains on run-to-failure histories whose rows hold `channels`.
    pub fn train(
        channels: Vec<String>,
        runs: &[RunToFailure],
        opts: &TrainOptions,
        source: &str,
    ) -> Result<RulModel, RulError> {
        let started = Instant::now();
        if !(opts.level > 0.0 && opts.level < 1.0) {
            return Err(RulError::Model(format!("the interval's level must be between 0 and 1, not {}", opts.level)));
        }
        if runs.len() < opts.members.max(2) {
            return Err(RulError::Model(format!(
                "{} run-to-failure histories; training needs at least {}",
                runs.len(),
                opts.members.max(2)
            )));
        }
        if let Some(r) = runs.iter().find(|r| r.rows.iter().any(|row| row.len() != channels.len())) {
            let bad = r.rows.iter().find(|row| row.len() != channels.len()).map_or(0, Vec::len);
            return Err(RulError::Model(format!("a row holds {bad} values, expected {}", channels.len())));
        }
        let targets: Vec<Vec<f64>> = runs
            .iter()
            .map(|r| (0..r.rows.len()).map(|i| ((r.rows.len() - 1 - i) as f64).min(opts.cap)).collect())
            .collect();
        let trajs: Vec<&[Vec<f64>]> = runs.iter().map(|r| r.rows.as_slice()).collect();
        let tslices: Vec<&[f64]> = targets.iter().map(Vec::as_slice).collect();
        let spec = FeatureSpec::fit(&trajs, &tslices)?;
        let width = spec.len();
        let mut x: Vec<Vec<f32>> = Vec::with_capacity(runs.len());
        for r in runs {
            x.push(spec.all_cycles(&r.rows)?);
        }
        // Folds of trajectories: member k trains without fold k.
        let members = opts.members.max(2);
        let mut order: Vec<usize> = (0..runs.len()).collect();
        Rng::new(opts.seed).shuffle(&mut order);
        let mut fold = vec![0usize; runs.len()];
        for (i, &r) in order.iter().enumerate() {
            fold[r] = i % members;
        }
        let fit_member = |k: usize| -> Gbt {
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            for r in (0..runs.len()).filter(|&r| fold[r] != k) {
                xs.extend_from_slice(&x[r]);
                ys.extend_from_slice(&targets[r]);
            }
            let p =
                GbtParams { trees: opts.trees, seed: opts.seed.wrapping_add(k as u64 * 7919), ..GbtParams::default() };
            Gbt::fit(&xs, width, &ys, &p)
        };
        let models = parallel(members, opts.threads, fit_member);
        let (mut oof_pred, mut oof_true) = (Vec::new(), Vec::new());
        for r in 0..runs.len() {
            let m = &models[fold[r]];
            let len = targets[r].len();
            // Only cycles a test-style cut could end on: some history, not too early in life.
            for (i, y) in targets[r].iter().enumerate().filter(|(i, _)| *i + 1 >= MIN_HISTORY && len - 1 - i <= MAX_RUL)
            {
                oof_pred.push(m.predict(&x[r][i * width..(i + 1) * width]).clamp(0.0, opts.cap));
                oof_true.push(*y);
            }
        }
        let interval = Interval::fit(&oof_pred, &oof_true, opts.level);
        let info = TrainInfo {
            source: source.to_string(),
            trajectories: runs.len(),
            rows: oof_true.len(),
            seconds: started.elapsed().as_secs_f64(),
            oof_rmse: cmapss::rmse(&oof_pred, &oof_true),
        };
        Ok(RulModel { format: FORMAT, channels, cap: opts.cap, spec, members: models, interval, info })
    }

    /// The remaining life after the last row of `history` (rows of [`RulModel::channels`],
    /// oldest first, one per cycle, from the start of the asset's life).
    pub fn predict(&self, history: &[Vec<f64>]) -> Result<RulEstimate, RulError> {
        let x = self.spec.last_cycle(history)?;
        let rul = self.members.iter().map(|m| m.predict(&x)).sum::<f64>() / self.members.len().max(1) as f64;
        Ok(self.interval.around(rul.clamp(0.0, self.cap), self.cap))
    }

    pub fn save(&self, path: &Path) -> Result<(), RulError> {
        let io = |e| RulError::Io { path: path.display().to_string(), source: e };
        let text = serde_json::to_string(self).map_err(|e| RulError::Model(e.to_string()))?;
        std::fs::write(path, text).map_err(io)
    }

    pub fn load(path: &Path) -> Result<RulModel, RulError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| RulError::Io { path: name.clone(), source: e })?;
        let bad = |message: String| RulError::BadModel { path: name.clone(), message };
        let m: RulModel = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        m.checked(&name)
    }

    /// The model if its parts agree (format, shapes, trees); `name` labels the error.
    pub fn checked(self, name: &str) -> Result<RulModel, RulError> {
        let m = self;
        let bad = |message: String| RulError::BadModel { path: name.to_string(), message };
        if m.format != FORMAT {
            return Err(bad(format!("format {} (this mimic reads {FORMAT})", m.format)));
        }
        let c = m.channels.len();
        let spec_ok =
            [m.spec.min.len(), m.spec.max.len(), m.spec.sign.len(), m.spec.hi_weights.len()].iter().all(|&l| l == c);
        if !spec_ok || c == 0 || m.members.is_empty() {
            return Err(bad("channels, normalisation and members disagree".into()));
        }
        let width = m.spec.len();
        if m.members.iter().flat_map(|g| &g.trees).any(|t| !t.check(width)) {
            return Err(bad("a tree is malformed".into()));
        }
        let n = m.interval.bands.len();
        if n == 0 || m.interval.low.len() != n || m.interval.high.len() != n {
            return Err(bad("interval bands disagree".into()));
        }
        Ok(m)
    }
}

/// Runs `f(0..n)` on up to `threads` scoped threads, results in index order.
fn parallel<T: Send>(n: usize, threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        return (0..n).map(&f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<(usize, T)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= n {
                            break mine;
                        }
                        mine.push((i, f(i)));
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wear-driven run to failure after `len` cycles: vibration rises, flow falls, with noise.
    fn run(len: usize, rng: &mut Rng) -> RunToFailure {
        let rows = (0..len)
            .map(|t| {
                let wear = (t as f64 / len as f64).powi(3);
                let noise = |scale: f64, rng: &mut Rng| scale * (rng.unit() - 0.5);
                vec![1.0 + 2.0 * wear + noise(0.1, rng), 50.0 - 5.0 * wear + noise(0.5, rng)]
            })
            .collect();
        RunToFailure { rows }
    }

    #[test]
    fn learns_wear_predicts_with_an_interval_and_round_trips() {
        let mut rng = Rng::new(11);
        let runs: Vec<RunToFailure> = (0..24).map(|i| run(150 + (i * 37) % 100, &mut rng)).collect();
        let opts = TrainOptions { members: 3, trees: 50, threads: 2, ..TrainOptions::default() };
        let model = RulModel::train(vec!["vib".into(), "flow".into()], &runs, &opts, "synthetic").expect("trains");
        assert_eq!(model.members.len(), 3);
        let fresh = run(200, &mut rng);
        for left in [10usize, 40, 80] {
            let est = model.predict(&fresh.rows[..200 - left]).expect("predicts");
            assert!((est.rul - left as f64).abs() < 20.0, "{left} left, predicted {est:?}");
            assert!(est.low <= est.rul && est.rul <= est.high && est.low >= 0.0, "{est:?}");
        }
        // A row of the wrong width is an error, not a panic.
        assert!(model.predict(&[vec![1.0]]).is_err());

        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rul.json");
        model.save(&path).expect("saves");
        let loaded = RulModel::load(&path).expect("loads");
        // JSON floats may differ in the last bit; predictions must not move.
        let (a, b) = (model.predict(&fresh.rows).expect("predicts"), loaded.predict(&fresh.rows).expect("predicts"));
        assert!((a.rul - b.rul).abs() < 1e-6 && (a.low - b.low).abs() < 1e-6, "{a:?} vs {b:?}");
        assert_eq!(loaded.members.len(), 3);
        let mut broken = model.clone();
        broken.members[0].trees[0].left[0] = 0;
        broken.save(&path).expect("saves");
        assert!(RulModel::load(&path).expect_err("malformed").to_string().contains("malformed"));
        std::fs::write(&path, "{}").expect("write");
        assert!(RulModel::load(&path).expect_err("not a model").to_string().contains("not a RUL model"));
    }
}
