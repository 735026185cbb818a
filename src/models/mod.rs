//! The twin's on-box intelligence, fitted on the plant's own history. Pure: models take
//! samples and return verdicts; the daemon feeds them and forwards their alarms.
//!
//! * [`anomaly`]: per-asset anomaly detection (predictive).
//! * [`rul`]: remaining useful life from run-to-failure histories (predictive).
//! * [`diagnosis`]: which signal moved first, and the likely cause (diagnostic).
//! * [`prescribe`]: identified process models, setpoint recommendations, what-if and
//!   shadow replay (prescriptive).

pub mod anomaly;
pub mod diagnosis;
pub mod prescribe;
pub mod rul;
