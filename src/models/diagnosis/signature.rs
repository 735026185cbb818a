//! Fault signatures as data: which signal moves first, which move with it, which stay
//! quiet. Declared in TOML (see `profiles/faults/pump-skid.toml`) and matched against a
//! ranking.
//!
//! Match score of a signature: 2 when one of its `first` signals is ranked first, 1 when
//! one left its band within [`LEAD_WINDOW_MS`] of the earliest onset (several signals can
//! move in the same sample; then the ranking's order among them is only by size); plus
//! the share of its `also` signals that left their band. A signature does not match when
//! no `first` signal leads, or when any of its `quiet` signals left its band. The best
//! score wins.

use serde::Deserialize;

use super::remedy::{FaultAdvice, Forbid, Remedy};
use super::{DiagnosisError, SignalOnset};

/// One known fault of an asset.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSignature {
    /// Short name, e.g. `cavitation`.
    pub name: String,
    /// What the operator is told.
    pub cause: String,
    /// Signals of which one should move first.
    pub first: Vec<String>,
    /// Signals expected to move too (later or together).
    #[serde(default)]
    pub also: Vec<String>,
    /// Signals expected not to move (e.g. no physical correlate of a drifting sensor).
    #[serde(default)]
    pub quiet: Vec<String>,
    /// What to do about it (see [`super::remedy`]).
    #[serde(default)]
    pub remedy: Vec<Remedy>,
    /// Moves that make it worse: never proposed while it is diagnosed.
    #[serde(default)]
    pub forbid: Vec<Forbid>,
}

impl FaultSignature {
    /// Its remedies and forbidden moves, as the diagnosis hands them on.
    pub fn advice(&self) -> FaultAdvice {
        FaultAdvice { fault: self.name.clone(), remedy: self.remedy.clone(), forbid: self.forbid.clone() }
    }
}

/// The fault signatures of an asset.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signatures {
    #[serde(default)]
    pub fault: Vec<FaultSignature>,
    /// Feedback signals that follow a command (diagnosed by how well they track it).
    #[serde(default)]
    pub tracking: Vec<Tracking>,
}

/// A feedback that follows its command through a first-order lag (a valve position its
/// setpoint, a drive speed its reference): normal is tracking it, not holding a level.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tracking {
    pub feedback: String,
    pub command: String,
    /// Time constant of the lag, seconds.
    pub tau_s: f64,
}

/// How close to the earliest onset a `first` signal must be to count as leading.
pub const LEAD_WINDOW_MS: i64 = 5_000;

/// The signatures of the demo pump skid (from `profiles/faults/pump-skid.toml`).
pub const PUMP_SKID: &str = include_str!("../../../profiles/faults/pump-skid.toml");

impl Signatures {
    pub fn parse(text: &str) -> Result<Signatures, DiagnosisError> {
        let s: Signatures = toml::from_str(text).map_err(|e| DiagnosisError::Signatures(e.to_string()))?;
        for f in &s.fault {
            if f.first.is_empty() {
                return Err(DiagnosisError::Signatures(format!("fault `{}` names no `first` signal", f.name)));
            }
            f.advice().check().map_err(|e| DiagnosisError::Signatures(e.to_string()))?;
        }
        Ok(s)
    }

    /// The remedies and forbidden moves of the fault named `name`.
    pub fn advice(&self, name: &str) -> Option<FaultAdvice> {
        self.fault.iter().find(|f| f.name == name).map(FaultSignature::advice)
    }

    /// The signature that best explains `ranked`, if any explains it at all.
    pub fn best_match(&self, ranked: &[SignalOnset]) -> Option<&FaultSignature> {
        let moved = |name: &str| ranked.iter().any(|s| s.signal == name && s.onset_ms.is_some());
        let earliest = ranked.iter().filter_map(|s| s.onset_ms).min();
        let mut best: Option<(f64, &FaultSignature)> = None;
        for f in &self.fault {
            let leads = |s: &SignalOnset| {
                f.first.contains(&s.signal) && s.onset_ms.zip(earliest).is_some_and(|(t, e)| t - e <= LEAD_WINDOW_MS)
            };
            let lead = match ranked.iter().position(leads) {
                Some(0) => 2.0,
                Some(_) => 1.0,
                None => continue,
            };
            if f.quiet.iter().any(|s| moved(s)) {
                continue;
            }
            let also = if f.also.is_empty() {
                0.0
            } else {
                f.also.iter().filter(|s| moved(s)).count() as f64 / f.also.len() as f64
            };
            let score = lead + also;
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, f));
            }
        }
        best.map(|(_, f)| f)
    }
}
