//! Diagnosis: when an asset leaves normal, which of its signals moved first, which
//! contributes most, and which known fault that pattern looks like.
//!
//! * [`cusum`]: per-signal onset detection. Each signal's residual against a healthy
//!   baseline (its level, or for a feedback its tracking of a command through a first-order
//!   lag) is standardised and fed to a two-sided CUSUM; the onset is the last time the
//!   statistic was at zero before it crossed its threshold (causal: only past samples).
//! * [`rank`]: signals ordered by onset; onsets within a tie window are ordered by their
//!   contribution to the (diagonal Mahalanobis) anomaly score; signals that never left their
//!   band follow, by contribution. Contributions from another anomaly model can be passed in.
//! * [`signature`]: fault signatures declared as data (TOML) and matched against a ranking.
//! * [`remedy`]: what to do about a diagnosed fault, and the moves that make it worse.
//! * [`live`]: the diagnosis of an alarm from the recent history, as the daemon runs it.
//! * [`eval`]: the evaluation harness, with injected faults, on the demo pump skid and on
//!   [`exchanger`], an oil cooler simulated for it.
//!
//! Nothing here reads a clock or does I/O; time is the samples' own `t_ms`.

pub mod cusum;
pub mod eval;
pub mod exchanger;
pub mod live;
pub mod remedy;
pub mod signature;
#[cfg(test)]
mod tests;

use thiserror::Error;

pub use cusum::{CusumParams, Monitor, Residual, SignalSpec};
pub use signature::{FaultSignature, Signatures};

#[derive(Debug, Error, PartialEq)]
pub enum DiagnosisError {
    #[error("the healthy baseline has {got} usable samples of `{signal}`; at least {need} are needed")]
    ShortBaseline { signal: String, got: usize, need: usize },
    #[error("a row has {got} values but the monitor has {want} signals")]
    RowWidth { got: usize, want: usize },
    #[error("signal `{signal}` tracks column {command}, which does not exist")]
    BadCommand { signal: String, command: usize },
    #[error("fault signatures: {0}")]
    Signatures(String),
    #[error("`{fault}` is a fault of {of}; it cannot be injected into {asset}")]
    NotOnAsset { fault: &'static str, asset: &'static str, of: &'static str },
}

/// One signal's place in a diagnosis.
#[derive(Clone, Debug, PartialEq)]
pub struct SignalOnset {
    pub signal: String,
    /// When it left its normal band (estimated start of the change), if it did.
    pub onset_ms: Option<i64>,
    /// When its CUSUM crossed the threshold (the detection), if it did.
    pub detected_ms: Option<i64>,
    /// Share of the anomaly score (0..=1, the shares of all signals sum to 1).
    pub score: f64,
    /// When it had made half of its move since its onset (the first sample at least half way
    /// to its mean since then), if it left its band: a signal behind a lag gets there later
    /// than the one the fault moves directly.
    pub half_ms: Option<i64>,
    /// How cleanly it moved since its onset: its mean shift over the spread around that
    /// mean, both in baseline standard deviations, the spread counted at least 1 (a fault
    /// moves its root signal as a step or ramp of its own; a signal moved through the
    /// process carries the lag and the noise the fault adds elsewhere). 0 without an onset.
    pub clarity: f64,
}

/// The ranked signals and, when a fault signature matches, the likely cause.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnosis {
    pub ranked: Vec<SignalOnset>,
    /// Name of the matched fault signature.
    pub fault: Option<String>,
    /// Its cause text, for the operator.
    pub likely_cause: Option<String>,
}

impl Diagnosis {
    /// Build a diagnosis from per-signal onsets and contributions, matched against `signatures`.
    pub fn new(signals: Vec<SignalOnset>, tie_ms: i64, signatures: &Signatures) -> Diagnosis {
        let ranked = rank(signals, tie_ms);
        let matched = signatures.best_match(&ranked);
        Diagnosis { fault: matched.map(|s| s.name.clone()), likely_cause: matched.map(|s| s.cause.clone()), ranked }
    }

    /// [`Diagnosis::new`], then the signals whose onsets tie with the first one (within
    /// `tie_ms`: the data cannot say which moved first) are ordered by the matched fault
    /// signature: its `first` signal goes in front. Only ties are reordered; an onset that is
    /// really earlier always stays first. This is domain knowledge declared in the signatures
    /// (the physics of the fault), not something learnt from the evaluation.
    pub fn with_signature_ties(signals: Vec<SignalOnset>, tie_ms: i64, signatures: &Signatures) -> Diagnosis {
        let mut d = Diagnosis::new(signals, tie_ms, signatures);
        let matched = d.fault.as_ref().and_then(|n| signatures.fault.iter().find(|f| &f.name == n));
        let first_t = d.ranked.first().and_then(|s| s.onset_ms);
        if let (Some(f), Some(t0)) = (matched, first_t) {
            let tied = |s: &SignalOnset| s.onset_ms.is_some_and(|t| t - t0 <= tie_ms);
            if let Some(pos) = d.ranked.iter().position(|s| tied(s) && f.first.contains(&s.signal)) {
                let s = d.ranked.remove(pos);
                d.ranked.insert(0, s);
            }
        }
        d
    }

    /// Position (0-based) of `signal` in the ranking.
    pub fn position(&self, signal: &str) -> Option<usize> {
        self.ranked.iter().position(|s| s.signal == signal)
    }

    /// "Moved first" lines: the signals that left their band, in order, with times
    /// relative to `origin_ms`.
    pub fn moved_first(&self, origin_ms: i64) -> Vec<String> {
        self.ranked
            .iter()
            .filter_map(|s| {
                s.onset_ms.map(|t| {
                    format!(
                        "{} at {:+.1} s (score {:.0} %)",
                        s.signal,
                        (t - origin_ms) as f64 / 1000.0,
                        s.score * 100.0
                    )
                })
            })
            .collect()
    }
}

/// Order signals: those with an onset first, by onset; onsets within `tie_ms` of the first
/// of their group (a shared sample cannot say which moved first) are ordered by when each had
/// made half of its move, then by how cleanly it moved, then by score; then the signals that
/// never left their band, by score.
pub fn rank(mut signals: Vec<SignalOnset>, tie_ms: i64) -> Vec<SignalOnset> {
    let by_score = |a: &SignalOnset, b: &SignalOnset| b.score.total_cmp(&a.score);
    signals.sort_by(|a, b| match (a.onset_ms, b.onset_ms) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| by_score(a, b)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => by_score(a, b),
    });
    let in_tie = |a: &SignalOnset, b: &SignalOnset| {
        let half = |s: &SignalOnset| s.half_ms.unwrap_or(i64::MAX);
        half(a).cmp(&half(b)).then_with(|| b.clarity.total_cmp(&a.clarity)).then_with(|| by_score(a, b))
    };
    let mut i = 0;
    while i < signals.len() {
        let Some(start) = signals[i].onset_ms else { break };
        let mut j = i + 1;
        while j < signals.len() && signals[j].onset_ms.is_some_and(|t| t - start <= tie_ms) {
            j += 1;
        }
        signals[i..j].sort_by(in_tie);
        i = j;
    }
    signals
}
