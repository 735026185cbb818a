//! `mimic train rul --site SITE --asset NAME`: a remaining-life model from the store's own
//! history of failures.
//!
//! The runs to failure are the asset's finished lives as its lifecycle events delimit them
//! (from commissioning or a replaced part to the next replacement, see
//! [`crate::models::rul::lives`]); each becomes one row per cycle of the chosen tags' history
//! (the mean of their Good samples), read from the running daemon if one serves the data
//! directory, else from the store file. The model is saved as `DATA/models/<asset>.rul.json`,
//! where the daemon picks it up, and its version, with the accuracy measured in training,
//! goes into the asset's life (audited).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

use crate::ipc::{Act, ModelKind, TagQuality};
use crate::lifecycle::EventKind;
use crate::models::rul::asset::{AssetRul, rul_path};
use crate::models::rul::lives::{self, Span};
use crate::models::rul::{RulModel, RunToFailure, TrainOptions};

/// Fewer cycles than this and a life is too short to learn from.
pub const MIN_CYCLES: usize = 10;

#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// Train from the store: the asset whose finished lives (commissioning or a replaced part,
    /// to the next replacement) are the runs to failure.
    #[arg(long, requires = "site")]
    pub asset: Option<String>,
    /// The site file (the asset's tags, and the store's directory).
    #[arg(long, requires = "asset")]
    pub site: Option<PathBuf>,
    /// Tags the model reads, comma-separated (default: the asset's measurements, i.e. its
    /// tags that are neither writable nor single bits).
    #[arg(long, value_delimiter = ',', requires = "asset")]
    pub channels: Vec<String>,
    /// Only replacements of this part end a life (default: any replaced part).
    #[arg(long, requires = "asset")]
    pub part: Option<String>,
    /// Length of one cycle, one row of the model (at least 1s).
    #[arg(long, default_value = "10s", value_parser = super::parse_duration_arg)]
    pub cycle: Duration,
    /// Store directory (default: the site file's data_dir).
    #[arg(long, requires = "asset")]
    pub data: Option<PathBuf>,
}

fn is_measurement(t: &crate::config::Tag) -> bool {
    let bit = match &t.address {
        crate::config::Address::Modbus(p) => {
            p.bit.is_some()
                || matches!(p.table, mimic_drivers::modbus::Table::Coil | mimic_drivers::modbus::Table::DiscreteInput)
        }
        _ => false,
    };
    !bit && !t.writable
}

/// One life's rows from the store (through the daemon when it runs).
fn life_rows(dir: &Path, channels: &[String], span: &Span, cycle_ms: i64) -> anyhow::Result<Vec<Vec<f64>>> {
    lives::rows(span, cycle_ms, channels.len(), |c, from, to| {
        let tag = &channels[c];
        let samples =
            super::history::fetch(dir, tag, from, to).with_context(|| format!("reading the history of {tag}"))?;
        Ok::<_, anyhow::Error>(
            samples
                .into_iter()
                .map(|s| (s.ts_ms, s.value.unwrap_or(f64::NAN), s.value.is_some() && s.quality == TagQuality::Good))
                .collect(),
        )
    })
}

/// Trains an asset's remaining-life model on the lives in the store and records its version.
pub fn train(a: &StoreArgs, output: Option<&Path>, opts: &TrainOptions) -> anyhow::Result<ExitCode> {
    let (Some(asset), Some(site_path)) = (&a.asset, &a.site) else {
        bail!("give --cmapss FILE --output FILE, or --site SITE --asset NAME to train from the store");
    };
    let site = super::load_site(site_path)?;
    let dir = a.data.clone().unwrap_or_else(|| site.data_dir.clone());
    let ai = site
        .assets
        .iter()
        .position(|x| &x.name == asset)
        .ok_or_else(|| anyhow!("no asset `{}` in {}", asset.escape_debug(), site_path.display()))?;
    let channels: Vec<String> = if a.channels.is_empty() {
        site.tags.iter().filter(|t| t.asset == Some(ai) && is_measurement(t)).map(|t| t.name.clone()).collect()
    } else {
        for c in &a.channels {
            if site.tag_index(c).is_none() {
                bail!("--channels: `{}` is not a tag of {}", c.escape_debug(), site_path.display());
            }
        }
        a.channels.clone()
    };
    if channels.is_empty() {
        bail!("asset `{}` has no measurements to learn from (give --channels)", asset.escape_debug());
    }
    let cycle_ms = i64::try_from(a.cycle.as_millis()).unwrap_or(i64::MAX);
    if cycle_ms < 1000 {
        bail!("--cycle must be at least 1s");
    }
    let report = super::maintenance::report(&dir, Some(asset), &[])?;
    let events = report.lives.into_iter().next().map(|l| l.events).unwrap_or_default();
    let commissioned = events.iter().any(|e| e.kind == EventKind::Commissioned);
    let spans = lives::spans(&events, a.part.as_deref(), None);
    let part = a.part.as_deref().map_or(String::new(), |p| format!(" of part `{}`", p.escape_debug()));
    println!(
        "{}: {} finished li{} between replacements{part}{}",
        asset.escape_debug(),
        spans.len(),
        if spans.len() == 1 { "fe" } else { "ves" },
        if commissioned { "" } else { " (no commissioning recorded: the first life's start is unknown)" }
    );
    let mut runs = Vec::new();
    for (i, s) in spans.iter().enumerate() {
        let rows = life_rows(&dir, &channels, s, cycle_ms)?;
        let used = rows.len() >= MIN_CYCLES;
        println!(
            "  life {}: {} to {}, {} cycles{} (ended by {})",
            i + 1,
            super::format_ts(s.from_ms),
            super::format_ts(s.to_ms),
            rows.len(),
            if used { "" } else { ", too short: left out" },
            s.ended_by
        );
        if used {
            runs.push(RunToFailure { rows });
        }
    }
    let source = format!("{} lives of {asset} in the store", runs.len());
    let model = RulModel::train(channels.clone(), &runs, opts, &source)
        .with_context(|| format!("cannot train on the lives of {}", asset.escape_debug()))?;
    let cycle_s = cycle_ms as f64 / 1000.0;
    println!(
        "trained in {:.1} s ({} members x {} trees) on {} channels; out-of-fold RMSE {:.1} cycles ({:.0} s)",
        model.info.seconds,
        opts.members,
        opts.trees,
        channels.len(),
        model.info.oof_rmse,
        model.info.oof_rmse * cycle_s
    );
    let life_start_ms = spans
        .last()
        .map(|s| s.to_ms)
        .or_else(|| events.iter().find(|e| e.kind == EventKind::Commissioned).map(|e| e.ts_ms));
    let stored = AssetRul { asset: asset.clone(), cycle_s, life_start_ms, model };
    let own = rul_path(&dir, asset);
    let path = output.map_or_else(|| own.clone(), Path::to_path_buf);
    stored.save(&path).with_context(|| format!("cannot save {}", path.display()))?;
    println!("wrote {}", path.display());
    if path != own {
        println!("not the asset's model file ({}): no version recorded", own.display());
        return Ok(ExitCode::SUCCESS);
    }
    let me = crate::account::me();
    let version = crate::models::rul::asset::trained_version(&me, &stored, mimic_drivers::now_ms());
    let detail = format!("remaining-life model trained: {}; {}", version.accuracy_text(), version.note);
    let tell = Act::ModelTrained { asset: asset.clone(), kind: ModelKind::Rul };
    println!("{}", super::record::record_version(&dir, &version, &detail, tell)?);
    Ok(ExitCode::SUCCESS)
}
