//! The SKAB benchmark (Skoltech Anomaly Benchmark): loading its files and running the
//! outlier-detection leaderboard protocol.
//!
//! Protocol: each of the 34 files under `valve1/`, `valve2/` and `other/` on its own — fit a
//! fresh model on its first 400 rows (labels unused), stream every row through it, and count
//! the predictions of rows 400.. against the `anomaly` label; pool the counts of all files.
//! The data is GPL evaluation data: it is read from where it lies, never bundled.

use std::path::{Path, PathBuf};

use super::metrics::Counts;
use super::model::{AnomalyConfig, AnomalyModel, FitError};

/// Rows each file's model is fitted on.
pub const TRAIN_ROWS: usize = 400;
/// The folders that make up the leaderboard's 34 files (`anomaly-free/` is not one of them).
pub const FOLDERS: [&str; 3] = ["valve1", "valve2", "other"];

#[derive(Debug, thiserror::Error)]
pub enum SkabError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {msg}")]
    Format { path: PathBuf, msg: String },
    #[error("no SKAB files under {0} (expected valve1/, valve2/ and other/ with *.csv)")]
    Empty(PathBuf),
    #[error("{path}: {source}")]
    Fit { path: PathBuf, source: FitError },
}

/// One SKAB file: its signal columns and the `anomaly` label of each row.
#[derive(Debug, Clone)]
pub struct SkabFile {
    pub path: PathBuf,
    pub signals: Vec<String>,
    pub rows: Vec<Vec<f64>>,
    pub anomaly: Vec<bool>,
}

/// Parses one semicolon-separated SKAB file: a `datetime` column first, signal columns, then
/// `anomaly` and `changepoint`.
pub fn parse(path: &Path, text: &str) -> Result<SkabFile, SkabError> {
    let err = |msg: String| SkabError::Format { path: path.to_path_buf(), msg };
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| err("empty file".into()))?;
    let cols: Vec<&str> = header.split(';').map(str::trim).collect();
    let anomaly_col =
        cols.iter().position(|c| *c == "anomaly").ok_or_else(|| err("no `anomaly` column in the header".into()))?;
    let signal_cols: Vec<usize> =
        (0..cols.len()).filter(|&i| !matches!(cols[i], "datetime" | "anomaly" | "changepoint")).collect();
    let signals = signal_cols.iter().map(|&i| cols[i].to_string()).collect();
    let mut rows = Vec::new();
    let mut anomaly = Vec::new();
    for (n, line) in lines {
        let fields: Vec<&str> = line.split(';').map(str::trim).collect();
        if fields.len() != cols.len() {
            return Err(err(format!("line {}: {} fields, header has {}", n + 1, fields.len(), cols.len())));
        }
        let num = |i: usize| {
            fields[i].parse::<f64>().map_err(|_| err(format!("line {}: column {}: not a number", n + 1, cols[i])))
        };
        rows.push(signal_cols.iter().map(|&i| num(i)).collect::<Result<Vec<_>, _>>()?);
        anomaly.push(num(anomaly_col)? >= 0.5);
    }
    Ok(SkabFile { path: path.to_path_buf(), signals, rows, anomaly })
}

/// Loads the leaderboard's files under `dir` (sorted by folder, then file number).
pub fn load_dir(dir: &Path) -> Result<Vec<SkabFile>, SkabError> {
    let mut files = Vec::new();
    for folder in FOLDERS {
        let sub = dir.join(folder);
        let entries = match std::fs::read_dir(&sub) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(SkabError::Io { path: sub, source }),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .collect();
        paths.sort_by_key(|p| {
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            (stem.parse::<u64>().unwrap_or(u64::MAX), stem.to_string())
        });
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|source| SkabError::Io { path: path.clone(), source })?;
            files.push(parse(&path, &text)?);
        }
    }
    if files.is_empty() {
        return Err(SkabError::Empty(dir.to_path_buf()));
    }
    Ok(files)
}

/// The protocol on one file: counts over rows `TRAIN_ROWS..`.
pub fn evaluate_file(file: &SkabFile, config: &AnomalyConfig) -> Result<Counts, SkabError> {
    let train = &file.rows[..TRAIN_ROWS.min(file.rows.len())];
    let mut model = AnomalyModel::fit(file.signals.clone(), train, config.clone())
        .map_err(|source| SkabError::Fit { path: file.path.clone(), source })?;
    let mut counts = Counts::default();
    for (i, (row, &actual)) in file.rows.iter().zip(&file.anomaly).enumerate() {
        let verdict = model.score(row);
        if i >= TRAIN_ROWS {
            counts.add(verdict.alarm, actual);
        }
    }
    Ok(counts)
}

/// Per-file counts and their pooled sum.
pub fn evaluate(files: &[SkabFile], config: &AnomalyConfig) -> Result<(Vec<Counts>, Counts), SkabError> {
    let mut per_file = Vec::with_capacity(files.len());
    let mut pooled = Counts::default();
    for f in files {
        let c = evaluate_file(f, config)?;
        pooled += c;
        per_file.push(c);
    }
    Ok((per_file, pooled))
}
