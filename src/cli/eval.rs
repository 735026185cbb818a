//! `mimic eval …`: run a model against a public benchmark and print its figures.
//!
//! `eval skab DIR` runs SKAB's outlier-detection leaderboard protocol with the default anomaly
//! model (see [`crate::models::anomaly::skab`]) and prints the pooled F1, FAR and MAR.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use crate::models::anomaly::{AnomalyConfig, skab};

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// SKAB: each of the 34 files on its own, fit on the first 400 rows, predict the rest,
    /// pool the point-wise counts; prints F1, FAR and MAR.
    Skab {
        /// The SKAB data folder (holding valve1/, valve2/ and other/).
        dir: PathBuf,
        /// Also print each file's counts.
        #[arg(long)]
        per_file: bool,
        /// Model configuration as JSON (fields of the anomaly model's configuration; the
        /// missing ones keep their defaults).
        #[arg(long)]
        config: Option<String>,
    },
    /// A wide asset on NASA C-MAPSS FD001: each engine's 21 sensors fitted from its first 105
    /// cycles (five per signal), degraded (failing within 30 cycles) vs healthy (more than 125
    /// left, the piecewise-linear health assumption); F1, FAR and MAR beside a PCA T² + Q
    /// baseline under the same protocol.
    Wide {
        /// The C-MAPSS training file (train_FD001.txt).
        file: PathBuf,
        /// Model configuration as JSON (fields of the anomaly model's configuration; the
        /// missing ones keep the wide asset's, see `models::anomaly::wide::config`).
        #[arg(long)]
        config: Option<String>,
    },
    /// Diagnosis with injected faults on the demo pump skid (or `--asset exchanger`, an oil cooler): top-1/top-3 accuracy of the root signal.
    Diagnosis(super::eval_diagnosis::Args),
    /// Remaining useful life on NASA C-MAPSS: RMSE and PHM08 score of the last cycle per engine.
    Cmapss(super::rul::CmapssArgs),
}

pub fn run(command: EvalCommand) -> anyhow::Result<()> {
    match command {
        EvalCommand::Diagnosis(a) => super::eval_diagnosis::run(a),
        EvalCommand::Cmapss(a) => super::rul::eval_cmapss(a).map(|_| ()),
        EvalCommand::Wide { file, config } => eval_wide(&file, config.as_deref()),
        EvalCommand::Skab { dir, per_file, config } => {
            let config: AnomalyConfig = match config {
                Some(text) => serde_json::from_str(&text).context("bad --config")?,
                None => AnomalyConfig::default(),
            };
            let files = skab::load_dir(&dir)?;
            let (each, pooled) = skab::evaluate(&files, &config)?;
            if per_file {
                for (f, c) in files.iter().zip(&each) {
                    let name = f.path.strip_prefix(&dir).unwrap_or(&f.path).display().to_string();
                    let name: String = name.chars().filter(|c| !c.is_control()).collect();
                    println!("{name:16} TP {:5} FP {:5} FN {:5} TN {:5}  F1 {:.3}", c.tp, c.fp, c.fn_, c.tn, c.f1());
                }
            }
            println!("files {}", files.len());
            println!("TP {} FP {} FN {} TN {}", pooled.tp, pooled.fp, pooled.fn_, pooled.tn);
            println!("F1 {:.4}", pooled.f1());
            println!("FAR {:.4}", pooled.far());
            println!("MAR {:.4}", pooled.mar());
            Ok(())
        }
    }
}

fn eval_wide(file: &std::path::Path, config: Option<&str>) -> anyhow::Result<()> {
    use crate::models::anomaly::wide;
    let base = wide::config();
    let config: AnomalyConfig = match config {
        Some(text) => {
            let mut v = serde_json::to_value(&base)?;
            let patch: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(text).context("bad --config")?;
            if let Some(o) = v.as_object_mut() {
                o.extend(patch);
            }
            serde_json::from_value(v).context("bad --config")?
        }
        None => base,
    };
    let engines = crate::models::rul::cmapss::load(file)?;
    println!(
        "{}: {} engines; each fitted on its first {} cycles ({} per signal, {} signals); degraded: failing within {} cycles, healthy: more than {} left (piecewise-linear health)",
        file.display(),
        engines.len(),
        wide::ROWS_PER_SIGNAL * wide::SIGNALS,
        wide::ROWS_PER_SIGNAL,
        wide::SIGNALS,
        wide::DEGRADED,
        wide::KNEE
    );
    let show = |name: &str, c: crate::models::anomaly::Counts, expected: Option<f64>| {
        println!(
            "{name:28} F1 {:.3}  FAR {:5.1}%  MAR {:5.1}%  (TP {} FP {} FN {} TN {}){}",
            c.f1(),
            c.far() * 100.0,
            c.mar() * 100.0,
            c.tp,
            c.fp,
            c.fn_,
            c.tn,
            expected.map(|e| format!("; expected FAR at training {:.1}%", e * 100.0)).unwrap_or_default()
        );
    };
    let (c, e) = wide::evaluate(&engines, wide::model_detector(&config))?;
    show("mimic anomaly model", c, e);
    let (c, e) = wide::evaluate(&engines, wide::pca_baseline(0.9, 0.99))?;
    show("PCA T²+Q (90 %, 99th pct)", c, e);
    Ok(())
}
