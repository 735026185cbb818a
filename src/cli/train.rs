//! `mimic train …`: fit a model on stored history and save it under the data directory.
//!
//! `train anomaly SITE --asset NAME --from T --to T` reads the history of every tag of the
//! asset over the healthy window (from the running daemon if one serves the data directory,
//! else from the store file), aligns it on a regular grid (the asset's fastest poll unless
//! `--step` says otherwise), fits the anomaly model and writes `DATA/models/<asset>.anomaly.json`.

use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;

use crate::models::anomaly::AnomalyConfig;
use crate::models::anomaly::asset::{AssetModel, model_path};

#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// Fit an asset's anomaly model on a window of history the engineer marks as healthy.
    Anomaly {
        /// The site file.
        site: PathBuf,
        /// The asset whose tags make up the model.
        #[arg(long)]
        asset: String,
        /// Start of the healthy window: a duration ago (2h, 7d) or a timestamp (RFC 3339).
        #[arg(long)]
        from: String,
        /// End of the healthy window, same forms.
        #[arg(long)]
        to: String,
        /// Sampling step of the model, e.g. 1s (default: the fastest poll of the asset's tags).
        #[arg(long, value_parser = super::parse_duration_arg)]
        step: Option<std::time::Duration>,
        /// Store directory (default: the site file's data_dir).
        #[arg(long)]
        data: Option<PathBuf>,
        /// The false-alarm rate the threshold is set for, percent of healthy samples (the
        /// alarm with its persistence, on out-of-fold healthy data).
        #[arg(long, default_value_t = 1.0, value_parser = super::rul::percent)]
        false_alarm_rate: f64,
    },
    /// Remaining useful life from run-to-failure histories: C-MAPSS files (--cmapss), or the
    /// store's own history of an asset's lives between part replacements (--site, --asset).
    Rul(super::rul::TrainRulArgs),
}

pub fn run(command: TrainCommand) -> anyhow::Result<()> {
    let (site, asset, from, to, step, data, far) = match command {
        TrainCommand::Anomaly { site, asset, from, to, step, data, false_alarm_rate } => {
            (site, asset, from, to, step, data, false_alarm_rate / 100.0)
        }
        TrainCommand::Rul(args) => return super::rul::train_rul(args).map(|_| ()),
    };
    let site = super::load_site(&site)?;
    let dir = data.unwrap_or_else(|| site.data_dir.clone());
    let index = site
        .assets
        .iter()
        .position(|a| a.name == asset)
        .ok_or_else(|| anyhow!("no asset `{}` in the site", asset.escape_debug()))?;
    let tags: Vec<&crate::config::Tag> = site.tags.iter().filter(|t| t.asset == Some(index)).collect();
    if tags.is_empty() {
        bail!("asset `{}` has no tags", asset.escape_debug());
    }
    let now = mimic_drivers::now_ms();
    let from_ms = super::history::parse_time(&from, now)?;
    let to_ms = super::history::parse_time(&to, now)?;
    if from_ms >= to_ms {
        bail!("--from must be before --to");
    }
    let step = step.or_else(|| tags.iter().map(|t| t.poll).min()).unwrap_or(std::time::Duration::from_secs(1));
    let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX).max(1);
    let mut series = Vec::with_capacity(tags.len());
    for t in &tags {
        let samples = super::history::fetch(&dir, &t.name, from_ms, to_ms)
            .with_context(|| format!("reading the history of {}", t.name))?;
        series.push(samples.into_iter().map(|s| (s.ts_ms, s.value)).collect::<Vec<_>>());
    }
    let names = tags.iter().map(|t| t.name.clone()).collect();
    let trained = AssetModel::train(
        &asset,
        names,
        &series,
        (from_ms, to_ms),
        step_ms,
        AnomalyConfig { false_alarm_rate: far, margin: 1.0, shrinkage: true, ..AnomalyConfig::default() },
    )?;
    let path = model_path(&dir, &asset);
    trained.save(&path)?;
    println!(
        "trained the anomaly model of {} on {} rows of {} tags ({} to {}, step {} ms); threshold {:.4}",
        asset.escape_debug(),
        trained.rows,
        tags.len(),
        super::format_ts(from_ms),
        super::format_ts(to_ms),
        step_ms,
        trained.model.threshold
    );
    println!(
        "threshold set for {:.1}% false alarms on healthy samples; expected rate {:.2}% (out-of-fold over {} folds of the healthy window), covariance shrinkage {:.2}",
        far * 100.0,
        trained.model.expected_far * 100.0,
        trained.model.config.folds,
        trained.model.shrinkage
    );
    println!("wrote {}", path.display());
    let detail = format!(
        "anomaly model trained on {} rows of {} tags, {} to {}, threshold {:.4}",
        trained.rows,
        tags.len(),
        super::format_ts(from_ms),
        super::format_ts(to_ms),
        trained.model.threshold
    );
    let me = crate::account::me();
    let version = crate::models::anomaly::asset::trained_version(&me, &trained, now);
    let tell = crate::ipc::Act::ModelTrained { asset: asset.clone(), kind: crate::ipc::ModelKind::Anomaly };
    println!("{}", super::record::record_version(&dir, &version, &detail, tell)?);
    Ok(())
}
