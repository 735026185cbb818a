//! Anomaly detection: a multivariate model of an asset's normal behaviour.
//!
//! * [`model`]: [`AnomalyModel`] — fitted on a window the engineer marks as healthy (PCA
//!   T² + Q on smoothed, standardised signals), scoring every new sample vector causally, with
//!   a cross-validated threshold and persistence so one spike is not an alarm.
//! * [`alarm`]: forwards a model's alarm state to the [`crate::alarms`] engine as a model alarm
//!   on the asset, naming the signals that contribute most.
//! * [`metrics`] and [`skab`]: the SKAB benchmark's leaderboard protocol (`mimic eval skab`).
//! * [`wide`]: a wide asset (21 signals, five healthy rows each) on C-MAPSS beside a PCA
//!   T² + Q baseline (`mimic eval wide`).
//! * [`asset`]: a model bound to an asset's tags and sampling step, trained on aligned history
//!   and stored as JSON.
//! * [`linalg`]: the small symmetric eigen-solver the model needs.
//!
//! Where this ends: reading history for training and feeding live samples are the callers'
//! (`mimic train anomaly`, the daemon).

pub mod alarm;
pub mod asset;
pub mod linalg;
pub mod metrics;
pub mod model;
pub mod skab;
pub mod wide;

pub use metrics::Counts;
pub use model::{AnomalyConfig, AnomalyModel, AnomalyScore, FitError};

#[cfg(test)]
mod tests;
