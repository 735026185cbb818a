//! What the models worker finds about an asset (remaining life, the diagnosis of an
//! alarm), as the core keeps it; the terminal protocol shows it as it is.

use serde::{Deserialize, Serialize};

/// An asset's remaining useful life, as its RUL model estimates it from the history so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveRul {
    pub rul_s: f64,
    pub low_s: f64,
    pub high_s: f64,
    /// The estimate is at the model's cap: the end of life is not visible yet.
    pub capped: bool,
    /// Cycles of history used, and how long one cycle is.
    pub cycles: usize,
    pub cycle_s: f64,
    /// When it was computed.
    pub at_ms: i64,
    /// The interval's nominal level (0..1; 0: not stated).
    #[serde(default)]
    pub level: f64,
}

/// One signal in a diagnosis: when it left its normal band (if it did) and its share.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveOnset {
    pub signal: String,
    pub onset_ms: Option<i64>,
    /// Share of the deviation since the first onset (0..=1).
    pub share: f64,
}

/// The diagnosis of an asset's alarm: the signals by when they moved, their contributions to
/// the anomaly score, and the likely cause when a fault signature matches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveDiagnosis {
    /// When the alarm became active.
    pub at_ms: i64,
    /// What fired (`P-101 model(anomaly)`, `P101.flow hi`).
    pub trigger: String,
    /// Ranked: first the signals that left their band, earliest first.
    pub ranked: Vec<LiveOnset>,
    /// The anomaly model's contributions at the alarm, largest first (signal, share).
    pub contributions: Vec<(String, f64)>,
    pub fault: Option<String>,
    pub cause: Option<String>,
    /// Why there is no ranking (too little history, …), when there is none.
    pub error: Option<String>,
    /// The matched fault's remedies and forbidden moves, when its signature declares any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<crate::models::diagnosis::remedy::FaultAdvice>,
    /// What the advisor did about it: remedies proposed, recommendations held or withdrawn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}
