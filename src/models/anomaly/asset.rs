//! An anomaly model bound to an asset: the tags it reads (its signals, in order), the sampling
//! step it was trained at, the healthy window, and the fitted [`AnomalyModel`]. Saved as JSON
//! under `DATA/models/<asset>.anomaly.json` by `mimic train anomaly`, loaded by whoever scores
//! the asset live.
//!
//! Stored history is irregular (a sample per poll, or per change beyond a deadband), so
//! training first aligns the tags on a regular grid, carrying each tag's last value forward;
//! a sample without a value (Bad quality) makes its tag unknown until the next good one, and
//! grid times at which some tag is unknown are left out.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::{AnomalyConfig, AnomalyModel, FitError};

#[derive(Debug, thiserror::Error)]
pub enum AssetModelError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not an anomaly model: {source}")]
    Json { path: PathBuf, source: serde_json::Error },
    #[error("asset {asset}: {source}")]
    Fit { asset: String, source: FitError },
    #[error("the sampling step must be positive and the window non-empty")]
    BadGrid,
}

/// A trained asset model, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssetModel {
    pub asset: String,
    /// Sampling step the model was trained at; feed it samples at this period.
    pub step_ms: i64,
    /// The healthy window (ms since the epoch, end exclusive).
    pub from_ms: i64,
    pub to_ms: i64,
    /// Grid rows the model was fitted on.
    pub rows: usize,
    /// The model; its `signals` are the asset's tag names in sample order.
    pub model: AnomalyModel,
}

impl AssetModel {
    /// Aligns `series` (one per tag, time-ordered) on the grid and fits the model.
    pub fn train(
        asset: &str,
        tags: Vec<String>,
        series: &[Vec<(i64, Option<f64>)>],
        (from_ms, to_ms): (i64, i64),
        step_ms: i64,
        config: AnomalyConfig,
    ) -> Result<Self, AssetModelError> {
        let rows = align(series, from_ms, to_ms, step_ms)?;
        let model = AnomalyModel::fit(tags, &rows, config)
            .map_err(|source| AssetModelError::Fit { asset: asset.to_string(), source })?;
        Ok(Self { asset: asset.to_string(), step_ms, from_ms, to_ms, rows: rows.len(), model })
    }

    /// Writes the model as pretty JSON (creating the folder).
    pub fn save(&self, path: &Path) -> Result<(), AssetModelError> {
        let io = |source| AssetModelError::Io { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text = serde_json::to_string_pretty(self)
            .map_err(|source| AssetModelError::Json { path: path.to_path_buf(), source })?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    pub fn load(path: &Path) -> Result<Self, AssetModelError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| AssetModelError::Io { path: path.to_path_buf(), source })?;
        serde_json::from_str(&text).map_err(|source| AssetModelError::Json { path: path.to_path_buf(), source })
    }
}

/// `DATA/models/<asset>.anomaly.json`, with every character of the asset name outside
/// `[A-Za-z0-9._-]` replaced by `_` (and a leading dot too, so the file is never hidden or `..`).
pub fn model_path(data_dir: &Path, asset: &str) -> PathBuf {
    asset_file(data_dir, asset, "anomaly.json")
}

/// `DATA/models/<asset>.<suffix>`, the asset name made safe as for [`model_path`].
pub fn asset_file(data_dir: &Path, asset: &str, suffix: &str) -> PathBuf {
    let mut name: String =
        asset.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect();
    if name.is_empty() || name.starts_with('.') {
        name.insert(0, '_');
    }
    data_dir.join("models").join(format!("{name}.{suffix}"))
}

/// Rows at `from_ms, from_ms + step_ms, … < to_ms`: each tag's last value at or before the
/// grid time; a grid time where some tag has no value yet (or its last sample had none) is
/// skipped.
pub fn align(
    series: &[Vec<(i64, Option<f64>)>],
    from_ms: i64,
    to_ms: i64,
    step_ms: i64,
) -> Result<Vec<Vec<f64>>, AssetModelError> {
    Ok(align_timed(series, from_ms, to_ms, step_ms)?.into_iter().map(|(_, row)| row).collect())
}

/// [`align`], each row with its grid time.
pub fn align_timed(
    series: &[Vec<(i64, Option<f64>)>],
    from_ms: i64,
    to_ms: i64,
    step_ms: i64,
) -> Result<Vec<(i64, Vec<f64>)>, AssetModelError> {
    if step_ms <= 0 || to_ms <= from_ms {
        return Err(AssetModelError::BadGrid);
    }
    let mut next = vec![0usize; series.len()];
    let mut last: Vec<Option<f64>> = vec![None; series.len()];
    let mut rows = Vec::new();
    let mut t = from_ms;
    while t < to_ms {
        for (k, s) in series.iter().enumerate() {
            while next[k] < s.len() && s[next[k]].0 <= t {
                last[k] = s[next[k]].1.filter(|v| v.is_finite());
                next[k] += 1;
            }
        }
        if let Some(row) = last.iter().copied().collect::<Option<Vec<f64>>>() {
            rows.push((t, row));
        }
        t = t.saturating_add(step_ms);
    }
    Ok(rows)
}

/// The version of an anomaly model `mimic train anomaly` fitted on a chosen window.
pub fn trained_version(by: &str, m: &AssetModel, now_ms: i64) -> crate::lifecycle::ModelVersion {
    crate::lifecycle::ModelVersion {
        asset: m.asset.clone(),
        kind: "anomaly".into(),
        version: 0,
        trained_ms: now_ms,
        by: by.to_string(),
        accuracy: vec![("threshold".into(), m.model.threshold), ("rows".into(), m.rows as f64)],
        note: if m.to_ms > m.from_ms {
            format!("trained on {} to {}", crate::time::format_ts(m.from_ms), crate::time::format_ts(m.to_ms))
        } else {
            // not from stored history (the demo's, on the plant simulated in-process)
            format!("trained on {} rows, not from stored history", m.rows)
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_carries_values_forward_and_skips_unknowns() {
        let a = vec![(0, Some(1.0)), (2500, Some(2.0)), (4000, None), (5000, Some(3.0))];
        let b = vec![(1000, Some(10.0))];
        let rows = align(&[a, b], 0, 7000, 1000).expect("grid");
        // t=0: b unknown; 1000, 2000: a=1; 3000: a=2; 4000: a bad; 5000, 6000: a=3.
        assert_eq!(rows, [vec![1.0, 10.0], vec![1.0, 10.0], vec![2.0, 10.0], vec![3.0, 10.0], vec![3.0, 10.0]]);
        assert!(matches!(align(&[], 0, 10, 0), Err(AssetModelError::BadGrid)));
        assert!(matches!(align(&[], 10, 10, 1), Err(AssetModelError::BadGrid)));
    }

    #[test]
    fn model_paths_stay_inside_the_models_folder() {
        let d = Path::new("/d");
        assert_eq!(model_path(d, "P-101"), Path::new("/d/models/P-101.anomaly.json"));
        assert_eq!(model_path(d, "../x/y"), Path::new("/d/models/_.._x_y.anomaly.json"));
        assert_eq!(model_path(d, ""), Path::new("/d/models/_.anomaly.json"));
    }
}
