//! Predictive models of the plant, fitted on its own history: per-asset anomaly detection
//! ([`anomaly`]). Models are pure: they take sample vectors and return verdicts; the daemon
//! feeds them and forwards their alarms to the alarm engine.

pub mod anomaly;
