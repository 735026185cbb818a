//! A remaining-life model bound to a site asset, as the daemon loads it from
//! `DATA/models/<asset>.rul.json`.
//!
//! The model's `channels` are the names of the site tags it reads. A history row is one
//! *cycle*: the mean of each tag's Good samples over `cycle_s` seconds, counted from the start of
//! the asset's present life (`life_start_ms`; without it, the first cycle holding data). A cycle
//! in which some tag has no Good sample (a gap, Bad quality, a dead device) repeats the previous
//! row, so age keeps counting but nothing invented enters the features; cycles before the first
//! complete one are not part of the history.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{RulError, RulEstimate, RulModel};

/// A RUL model bound to an asset's tags.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AssetRul {
    pub asset: String,
    /// Seconds of history in one cycle (one row of the model).
    pub cycle_s: f64,
    /// When the asset's present life began (ms since the epoch): commissioning or the last
    /// replacement of the wearing part. `None`: the first cycle with data.
    #[serde(default)]
    pub life_start_ms: Option<i64>,
    /// The model; its `channels` are tag names.
    pub model: RulModel,
}

/// A remaining life in seconds, with its interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RulSeconds {
    pub rul_s: f64,
    pub low_s: f64,
    pub high_s: f64,
    /// Cycles of history the estimate used.
    pub cycles: usize,
    /// The estimate is at the model's cap (early in life the remaining life is not observable).
    pub capped: bool,
}

impl AssetRul {
    pub fn save(&self, path: &Path) -> Result<(), RulError> {
        let io = |e| RulError::Io { path: path.display().to_string(), source: e };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = serde_json::to_string(self).map_err(|e| RulError::Model(e.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    pub fn load(path: &Path) -> Result<AssetRul, RulError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| RulError::Io { path: name.clone(), source: e })?;
        let bad = |message: String| RulError::BadModel { path: name.clone(), message };
        let m: AssetRul = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if !(m.cycle_s.is_finite() && m.cycle_s >= 0.001) {
            return Err(bad(format!("cycle_s {} is not a positive number of seconds", m.cycle_s)));
        }
        let model = m.model.checked(&name)?;
        Ok(AssetRul { model, ..m })
    }

    /// The estimate after the rows of `history`, in seconds.
    pub fn predict(&self, history: &[Vec<f64>]) -> Result<RulSeconds, RulError> {
        let RulEstimate { rul, low, high } = self.model.predict(history)?;
        Ok(RulSeconds {
            rul_s: rul * self.cycle_s,
            low_s: low * self.cycle_s,
            high_s: high * self.cycle_s,
            cycles: history.len(),
            capped: rul >= self.model.cap - 0.5,
        })
    }

    pub fn cycle_ms(&self) -> i64 {
        (self.cycle_s * 1000.0).round().max(1.0) as i64
    }
}

/// `DATA/models/<asset>.rul.json` (the asset name made safe as for anomaly models).
pub fn rul_path(data_dir: &Path, asset: &str) -> PathBuf {
    crate::models::anomaly::asset::asset_file(data_dir, asset, "rul.json")
}

/// Turns samples into cycles, incrementally: feed each tag's samples of the next whole cycles
/// with [`Cycler::push_span`], read the rows from [`Cycler::rows`].
#[derive(Clone, Debug, Default)]
pub struct Cycler {
    rows: Vec<Vec<f64>>,
    last: Option<Vec<f64>>,
}

impl Cycler {
    pub fn rows(&self) -> &[Vec<f64>] {
        &self.rows
    }

    /// Adds the cycles `[from_ms + k·cycle_ms, …)` for `k < cycles`, from `per_tag[c]`: the
    /// samples `(ts_ms, value, good)` of tag `c` over that span, time-ordered.
    pub fn push_span(&mut self, from_ms: i64, cycle_ms: i64, cycles: usize, per_tag: &[Vec<(i64, f64, bool)>]) {
        let mut sums = vec![vec![(0.0, 0usize); per_tag.len()]; cycles];
        for (c, samples) in per_tag.iter().enumerate() {
            for &(ts, v, good) in samples {
                if !good || !v.is_finite() || ts < from_ms {
                    continue;
                }
                let k = usize::try_from((ts - from_ms) / cycle_ms).unwrap_or(usize::MAX);
                if let Some(slot) = sums.get_mut(k) {
                    slot[c].0 += v;
                    slot[c].1 += 1;
                }
            }
        }
        for cycle in sums {
            let row: Option<Vec<f64>> = cycle.iter().map(|&(s, n)| (n > 0).then(|| s / n as f64)).collect();
            match (row, &self.last) {
                (Some(r), _) => {
                    self.last = Some(r.clone());
                    self.rows.push(r);
                }
                (None, Some(prev)) => self.rows.push(prev.clone()),
                (None, None) => {}
            }
        }
    }
}

/// The version of a remaining-life model just trained for an asset, with its measured
/// accuracy: the out-of-fold RMSE (on cycles of trajectories each ensemble member never
/// saw, in cycles and in seconds), the runs to failure it learnt from, the training time.
pub fn trained_version(by: &str, m: &AssetRul, now_ms: i64) -> crate::lifecycle::ModelVersion {
    let info = &m.model.info;
    crate::lifecycle::ModelVersion {
        asset: m.asset.clone(),
        kind: "rul".into(),
        version: 0,
        trained_ms: now_ms,
        by: by.to_string(),
        accuracy: vec![
            ("oof_rmse_cycles".into(), info.oof_rmse),
            ("oof_rmse_s".into(), info.oof_rmse * m.cycle_s),
            ("cycle_s".into(), m.cycle_s),
            ("runs".into(), info.trajectories as f64),
            ("train_s".into(), info.seconds),
        ],
        note: format!(
            "trained on {} runs to failure ({}); {:.0} % interval calibrated on out-of-fold residuals",
            info.trajectories,
            info.source,
            m.model.interval.coverage * 100.0
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_means_of_good_samples_and_gaps_repeat_the_last_row() {
        let mut c = Cycler::default();
        let a = vec![(0, 1.0, true), (500, 3.0, true), (1000, 10.0, false), (2100, 5.0, true)];
        let b = vec![(100, 7.0, true), (1500, 8.0, true), (2200, 9.0, true)];
        // cycle 0: a=2, b=7; cycle 1: a has only a Bad sample → repeats row 0; cycle 2: 5, 9
        c.push_span(0, 1000, 3, &[a, b]);
        assert_eq!(c.rows(), [vec![2.0, 7.0], vec![2.0, 7.0], vec![5.0, 9.0]]);
        // nothing before the first complete cycle
        let mut d = Cycler::default();
        d.push_span(0, 1000, 2, &[vec![(1200, 4.0, true)], vec![(1300, f64::NAN, true), (1400, 1.0, true)]]);
        assert_eq!(d.rows(), [vec![4.0, 1.0]]);
    }
}
