//! `mimic train rul` and `mimic eval cmapss`: remaining-useful-life models from C-MAPSS files
//! (and, through [`super::rul_store`], from the store's own history of an asset's lives).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::models::rul::cmapss::{self, Engine};
use crate::models::rul::validate::{self, mean_sd};
use crate::models::rul::{RulModel, TrainOptions};

/// Training knobs shared by `train rul` and `eval cmapss`.
#[derive(Debug, clap::Args)]
pub struct Knobs {
    /// Ensemble members (each trained without one fold of the engines).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(2..=50))]
    pub members: u16,
    /// Boosted trees per member.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u16).range(1..))]
    pub trees: u16,
    /// Seed of every random choice (folds, subsamples, held-out engines, cuts).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Nominal level of the remaining-life interval, percent.
    #[arg(long, default_value_t = 90.0, value_parser = percent)]
    pub level: f64,
}

/// A percentage argument outside (0, 100).
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a percentage between 0 and 100")]
pub(crate) struct NotPercent(String);

pub(crate) fn percent(s: &str) -> Result<f64, NotPercent> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 100.0 => Ok(v),
        _ => Err(NotPercent(s.escape_debug().to_string())),
    }
}

impl Knobs {
    pub(crate) fn options(&self) -> TrainOptions {
        TrainOptions {
            members: self.members.into(),
            trees: self.trees.into(),
            seed: self.seed,
            level: self.level / 100.0,
            ..TrainOptions::default()
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct TrainRulArgs {
    /// A C-MAPSS training file (engines run to failure).
    #[arg(long, required_unless_present = "asset", conflicts_with = "asset")]
    pub cmapss: Option<PathBuf>,
    /// Where to write the model (JSON); with --asset, DATA/models/<asset>.rul.json unless given.
    #[arg(short, long, required_unless_present = "asset")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub store: super::rul_store::StoreArgs,
    #[command(flatten)]
    pub knobs: Knobs,
}

#[derive(Debug, clap::Args)]
pub struct CmapssArgs {
    /// C-MAPSS training file.
    #[arg(long, required_unless_present = "model")]
    pub train: Option<PathBuf>,
    /// A model from `mimic train rul`, instead of training one.
    #[arg(long, conflicts_with = "train")]
    pub model: Option<PathBuf>,
    /// Official-format test file (truncated engines); needs --rul.
    #[arg(long, requires = "rul")]
    pub test: Option<PathBuf>,
    /// True RUL of each test engine, one per line; needs --test.
    #[arg(long, requires = "test")]
    pub rul: Option<PathBuf>,
    /// Without --test: share of the training engines held out and cut like the test set.
    #[arg(long, default_value_t = 0.2, conflicts_with = "test")]
    pub holdout: f64,
    /// Without --test: how many different engine splits.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..))]
    pub repeats: u16,
    /// Without --test: random cuts of the held-out engines per split.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    pub cuts: u16,
    #[command(flatten)]
    pub knobs: Knobs,
}

fn load(path: &Path) -> anyhow::Result<Vec<Engine>> {
    let engines = cmapss::load(path)?;
    let cycles: usize = engines.iter().map(Engine::cycles).sum();
    println!("{}: {} engines, {} cycles", path.display(), engines.len(), cycles);
    Ok(engines)
}

fn train(engines: &[Engine], path: &Path, opts: &TrainOptions) -> anyhow::Result<RulModel> {
    let model = validate::train(engines, opts, &path.display().to_string())
        .with_context(|| format!("cannot train on {}", path.display()))?;
    println!(
        "trained in {:.1} s ({} members x {} trees, {} threads); out-of-fold RMSE {:.2}",
        model.info.seconds, opts.members, opts.trees, opts.threads, model.info.oof_rmse
    );
    Ok(model)
}

pub fn train_rul(args: TrainRulArgs) -> anyhow::Result<ExitCode> {
    let (Some(cmapss), Some(output)) = (&args.cmapss, &args.output) else {
        return super::rul_store::train(&args.store, args.output.as_deref(), &args.knobs.options());
    };
    let engines = load(cmapss)?;
    let model = train(&engines, cmapss, &args.knobs.options())?;
    model.save(output)?;
    println!(
        "model written to {} ({:.0}% interval calibrated on out-of-fold residuals)",
        output.display(),
        model.interval.coverage * 100.0
    );
    Ok(ExitCode::SUCCESS)
}

pub fn eval_cmapss(args: CmapssArgs) -> anyhow::Result<ExitCode> {
    let opts = args.knobs.options();
    if let (Some(test), Some(rul)) = (&args.test, &args.rul) {
        let model = match (&args.model, &args.train) {
            (Some(m), _) => {
                let model = RulModel::load(m)?;
                println!("{}: model trained on {} in {:.1} s", m.display(), model.info.source, model.info.seconds);
                model
            }
            (None, Some(t)) => train(&load(t)?, t, &opts)?,
            (None, None) => bail!("give --train or --model"),
        };
        let engines = load(test)?;
        let truth = cmapss::load_rul(rul)?;
        let started = Instant::now();
        let s = validate::score(&model, &engines, &truth)
            .with_context(|| format!("cannot score {} against {}", test.display(), rul.display()))?;
        println!("scored the last cycle of {} engines in {:.2} s", s.engines, started.elapsed().as_secs_f64());
        println!("rmse {:.2}", s.rmse);
        println!("score {:.1}", s.score);
        println!(
            "(true RUL capped at {}; as given: rmse {:.2}, score {:.1})",
            cmapss::RUL_CAP,
            s.rmse_uncapped,
            s.score_uncapped
        );
        println!("interval coverage {:.1}% (nominal {:.0}%)", s.coverage * 100.0, model.interval.coverage * 100.0);
        return Ok(ExitCode::SUCCESS);
    }
    let Some(train_path) = &args.train else {
        bail!("without --test and --rul, held-out validation needs --train");
    };
    let engines = load(train_path)?;
    let splits = validate::holdout(&engines, args.holdout, opts.seed, args.repeats.into(), args.cuts.into(), &opts)?;
    let held = splits.first().and_then(|s| s.cuts.first()).map_or(0, |c| c.engines);
    println!(
        "held out {held} of {} engines, {} splits x {} cuts, seed {}; last cycle scored, true RUL capped at {}",
        engines.len(),
        args.repeats,
        args.cuts,
        opts.seed,
        cmapss::RUL_CAP
    );
    let per100 = |score: f64, n: usize| score * 100.0 / n.max(1) as f64;
    for (i, s) in splits.iter().enumerate() {
        let (r, rsd) = mean_sd(&s.cuts.iter().map(|c| c.rmse).collect::<Vec<_>>());
        let (sc, _) = mean_sd(&s.cuts.iter().map(|c| per100(c.score, c.engines)).collect::<Vec<_>>());
        println!(
            "split {}: trained in {:.1} s, rmse {r:.2} ± {rsd:.2}, score per 100 engines {sc:.0}",
            i + 1,
            s.train_seconds
        );
    }
    let all: Vec<_> = splits.iter().flat_map(|s| &s.cuts).collect();
    let (r, rsd) = mean_sd(&all.iter().map(|c| c.rmse).collect::<Vec<_>>());
    let (sc, scsd) = mean_sd(&all.iter().map(|c| per100(c.score, c.engines)).collect::<Vec<_>>());
    let (ru, rusd) = mean_sd(&all.iter().map(|c| c.rmse_uncapped).collect::<Vec<_>>());
    let (cov, _) = mean_sd(&all.iter().map(|c| c.coverage).collect::<Vec<_>>());
    let (secs, _) = mean_sd(&splits.iter().map(|s| s.train_seconds).collect::<Vec<_>>());
    println!("rmse {r:.2} ± {rsd:.2}");
    println!("score {sc:.1} ± {scsd:.1} (per 100 engines)");
    println!("(true RUL as given: rmse {ru:.2} ± {rusd:.2})");
    println!(
        "interval coverage {:.1}% (nominal {:.0}%; {} engine cuts scored)",
        cov * 100.0,
        opts.level * 100.0,
        all.iter().map(|c| c.engines).sum::<usize>()
    );
    println!("training time {secs:.1} s per model");
    Ok(ExitCode::SUCCESS)
}
