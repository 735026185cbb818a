//! Scoring a model the way the C-MAPSS test set is scored, and a held-out stand-in for the
//! test set when only the training file is at hand.
//!
//! The official test file stops each engine at a random cycle before failure (true RULs of
//! roughly 7..145) and only the last cycle of each engine is scored. [`holdout`] does the same
//! to engines kept out of training: each is cut so its true RUL is uniform in
//! `7..=min(145, cycles - 31)` (the official test engines have at least 31 cycles), and this is
//! repeated over several cuts and several engine splits so the figure comes with its spread.

use std::time::Instant;

use super::cmapss::{self, Engine, RUL_CAP, SENSORS};
use super::rng::Rng;
use super::{MAX_RUL, MIN_HISTORY, RulError, RulModel, RunToFailure, TrainOptions};

/// Shortest true RUL of the official test set.
const MIN_RUL: usize = 7;

/// Channel names of the protocol's sensors.
pub fn channels() -> Vec<String> {
    SENSORS.iter().map(|s| format!("s{s}")).collect()
}

/// Training engines as run-to-failure histories of the protocol's sensors.
pub fn runs(engines: &[Engine]) -> Vec<RunToFailure> {
    engines.iter().map(|e| RunToFailure { rows: e.selected() }).collect()
}

/// Trains on C-MAPSS training engines.
pub fn train(engines: &[Engine], opts: &TrainOptions, source: &str) -> Result<RulModel, RulError> {
    RulModel::train(channels(), &runs(engines), opts, source)
}

/// Scores of one set of test engines, last cycle of each.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    pub engines: usize,
    /// Against the true RUL capped at [`RUL_CAP`] (the usual protocol).
    pub rmse: f64,
    pub score: f64,
    /// Against the true RUL as given.
    pub rmse_uncapped: f64,
    pub score_uncapped: f64,
    /// Share of (capped) truths inside the predicted interval.
    pub coverage: f64,
}

/// Predicts the last cycle of each `engines[i]` and scores it against `truth[i]`.
pub fn score(model: &RulModel, engines: &[Engine], truth: &[f64]) -> Result<Scored, RulError> {
    if engines.len() != truth.len() {
        return Err(RulError::Model(format!("{} test engines but {} true RULs", engines.len(), truth.len())));
    }
    let mut pred = Vec::with_capacity(engines.len());
    let mut inside = 0usize;
    for (e, t) in engines.iter().zip(truth) {
        let est = model.predict(&e.selected())?;
        if est.low <= t.min(RUL_CAP) && t.min(RUL_CAP) <= est.high {
            inside += 1;
        }
        pred.push(est.rul);
    }
    let capped: Vec<f64> = truth.iter().map(|t| t.min(RUL_CAP)).collect();
    Ok(Scored {
        engines: engines.len(),
        rmse: cmapss::rmse(&pred, &capped),
        score: cmapss::phm08_score(&pred, &capped),
        rmse_uncapped: cmapss::rmse(&pred, truth),
        score_uncapped: cmapss::phm08_score(&pred, truth),
        coverage: inside as f64 / engines.len().max(1) as f64,
    })
}

/// Cuts `engine` like the official test set does; returns the cut engine and its true RUL.
pub fn truncate_like_test(engine: &Engine, rng: &mut Rng) -> (Engine, f64) {
    let len = engine.cycles();
    let hi = MAX_RUL.min(len.saturating_sub(MIN_HISTORY)).max(MIN_RUL.min(len.saturating_sub(1)));
    let lo = MIN_RUL.min(hi);
    let rul = lo + rng.below(hi - lo + 1);
    (engine.truncated(len - rul), rul as f64)
}

/// One engine split of a held-out evaluation.
#[derive(Clone, Debug)]
pub struct Split {
    pub train_seconds: f64,
    /// One score per cut of the held-out engines.
    pub cuts: Vec<Scored>,
}

/// Held-out evaluation: `repeats` times, keep `fraction` of the engines out of training, train
/// on the rest, and score `cuts` random truncations of the held-out engines.
pub fn holdout(
    engines: &[Engine],
    fraction: f64,
    seed: u64,
    repeats: usize,
    cuts: usize,
    opts: &TrainOptions,
) -> Result<Vec<Split>, RulError> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(RulError::Model(format!("the held-out fraction must be between 0 and 1, not {fraction}")));
    }
    let held = ((engines.len() as f64 * fraction).round() as usize).clamp(1, engines.len().saturating_sub(2).max(1));
    let mut out = Vec::with_capacity(repeats);
    for r in 0..repeats {
        let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(r as u64));
        let mut order: Vec<usize> = (0..engines.len()).collect();
        rng.shuffle(&mut order);
        let test: Vec<Engine> = order[..held].iter().map(|&i| engines[i].clone()).collect();
        let train_set: Vec<Engine> = order[held..].iter().map(|&i| engines[i].clone()).collect();
        let started = Instant::now();
        let model =
            train(&train_set, &TrainOptions { seed: opts.seed.wrapping_add(r as u64), ..opts.clone() }, "holdout")?;
        let train_seconds = started.elapsed().as_secs_f64();
        let mut scored = Vec::with_capacity(cuts);
        for _ in 0..cuts {
            let (cut, truth): (Vec<Engine>, Vec<f64>) = test.iter().map(|e| truncate_like_test(e, &mut rng)).unzip();
            scored.push(score(&model, &cut, &truth)?);
        }
        out.push(Split { train_seconds, cuts: scored });
    }
    Ok(out)
}

/// Mean and (population) standard deviation.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    (m, (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A C-MAPSS-format line: unit, cycle, 3 settings, 21 sensors; sensor 2 wears with age.
    fn line(unit: u32, cycle: usize, wear: f64, jitter: f64) -> String {
        let mut s = format!("{unit} {cycle} -0.0007 0.0004 100.0");
        for sensor in 1..=21 {
            let v = match sensor {
                2 => 642.0 + 2.0 * wear + jitter,
                7 => 554.0 - 1.5 * wear - jitter,
                _ => 100.0 + sensor as f64 + jitter * 0.1,
            };
            s.push_str(&format!(" {v:.4}"));
        }
        s
    }

    /// `len` cycles of an engine that fails after `life` cycles (a test file stops early).
    fn engine(unit: u32, len: usize, life: usize, out: &mut String) {
        for c in 1..=len {
            let wear = (c as f64 / life as f64).powi(2);
            out.push_str(&line(unit, c, wear, ((c * 7 + unit as usize * 3) % 5) as f64 * 0.01));
            out.push('\n');
        }
    }

    #[test]
    fn the_official_test_and_rul_files_parse_and_only_the_last_cycle_is_scored() {
        let mut train = String::new();
        for u in 1..=12u32 {
            let life = 120 + (u as usize * 37) % 80;
            engine(u, life, life, &mut train);
        }
        // The official test format: the same columns, each engine stopped before failure;
        // the RUL file: one whole number per engine, in unit order.
        let lives = [150usize, 170, 130];
        let cut = [100usize, 160, 60];
        let mut test = String::new();
        let mut rul = String::new();
        for (k, (&life, &len)) in lives.iter().zip(&cut).enumerate() {
            engine(k as u32 + 1, len, life, &mut test);
            rul.push_str(&format!("{}\n", life - len));
        }
        let engines = cmapss::parse("train_FD001.txt", &train).expect("training file");
        let opts = TrainOptions { members: 2, trees: 30, threads: 1, ..TrainOptions::default() };
        let model = super::train(&engines, &opts, "synthetic").expect("trains");
        let tests = cmapss::parse("test_FD001.txt", &test).expect("test file");
        let truth = cmapss::parse_rul("RUL_FD001.txt", &rul).expect("RUL file");
        assert_eq!((tests.len(), tests[1].cycles(), truth), (3, 160, vec![50.0, 10.0, 70.0]));
        let s = score(&model, &tests, &[50.0, 10.0, 70.0]).expect("scores");
        assert_eq!(s.engines, 3);
        // Scored on the last cycle of each: the same as predicting each whole test trajectory.
        let pred: Vec<f64> = tests.iter().map(|e| model.predict(&e.selected()).expect("predicts").rul).collect();
        assert!((s.rmse - cmapss::rmse(&pred, &[50.0, 10.0, 70.0])).abs() < 1e-9, "{s:?} vs {pred:?}");
        assert!(s.rmse < 40.0, "the wear is learnt: {s:?}, predicted {pred:?}");
        // A RUL file with another number of engines is refused.
        assert!(score(&model, &tests, &[1.0]).expect_err("count").to_string().contains("3 test engines but 1"));
    }

    #[test]
    fn cuts_stay_in_the_test_range() {
        let e = Engine { unit: 1, rows: vec![[0.0; cmapss::CHANNELS]; 200] };
        let mut rng = Rng::new(3);
        for _ in 0..500 {
            let (cut, rul) = truncate_like_test(&e, &mut rng);
            assert!((7.0..=145.0).contains(&rul));
            assert_eq!(cut.cycles() as f64 + rul, 200.0);
        }
        let short = Engine { unit: 1, rows: vec![[0.0; cmapss::CHANNELS]; 40] };
        let (cut, rul) = truncate_like_test(&short, &mut rng);
        assert!(cut.cycles() >= 31 && rul >= 7.0);
    }
}
