//! The twin's on-box intelligence, fitted on the plant's own history. Pure: models take
//! samples and return verdicts; the daemon feeds them and forwards their alarms.
//!
//! * [`anomaly`]: per-asset anomaly detection (predictive).
//! * [`rul`]: remaining useful life from run-to-failure histories (predictive).
//! * [`diagnosis`]: which signal moved first, and the likely cause (diagnostic).
//! * [`prescribe`]: identified process models, setpoint recommendations, what-if and
//!   shadow replay (prescriptive); [`prescribe::learn`] corrects a pair's gain from the
//!   errors of settled recommendations.
//!
//! The seam of a model's live side (one place to look): the model itself is here (fit,
//! save, load, score, its version for the asset's life: `trained_version`); the core
//! scores anomaly models on each tick and files recommendations (`core::models`,
//! `core::door`); the slow work runs in the shell off the core's thread —
//! `daemon::insight` (remaining life, diagnosis) and `daemon::advise` (the loops'
//! advisor) — and comes back to the core as messages (`core::Msg::ModelNews`,
//! `core::Msg::Recommend`). The command line trains and evaluates (`cli::train`,
//! `cli::eval`, `cli::rul`, `cli::prescribe`).

pub mod anomaly;
pub mod diagnosis;
pub mod prescribe;
pub mod rul;
