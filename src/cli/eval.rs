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
    /// Diagnosis on the demo pump skid with injected faults: top-1/top-3 accuracy of the root signal.
    Diagnosis(super::eval_diagnosis::Args),
    /// Remaining useful life on NASA C-MAPSS: RMSE and PHM08 score of the last cycle per engine.
    Cmapss(super::rul::CmapssArgs),
}

pub fn run(command: EvalCommand) -> anyhow::Result<()> {
    match command {
        EvalCommand::Diagnosis(a) => super::eval_diagnosis::run(a),
        EvalCommand::Cmapss(a) => super::rul::eval_cmapss(a).map(|_| ()),
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
