//! The diagnosis the daemon runs when an asset's alarm fires: the recent history of the
//! asset's signals, aligned on a regular grid (rows with a missing or Bad value left out),
//! split into a baseline and a monitored stretch around the alarm, through the per-signal
//! CUSUM monitor, ranked and matched against the asset's fault signatures (ties in onset
//! ordered by the matched signature, see [`Diagnosis::with_signature_ties`]).
//!
//! The split: the monitored stretch starts `lead` before the alarm, half of the history
//! before the alarm clamped to 30..120 s (the anomaly model smooths over 25 samples, so even
//! an abrupt fault is alarmed some 20 s after it starts; a slow drift can take minutes); the
//! baseline is up to 10 min before that. Ten, not five: a disturbance that wanders for
//! minutes (an inlet temperature with a 2 min correlation time) can stay quiet through 5 min
//! (2.5 of its correlation times), so the baseline's spread looks like transmitter noise and
//! the CUSUM later alarms on the wander itself; 10 min (5 of them) sees it nearly always.

use super::cusum::{CusumParams, Monitor, Residual, SignalSpec};
use super::{Diagnosis, DiagnosisError, Signatures};

/// Longest baseline (ms).
pub const BASELINE_MS: i64 = 600_000;
/// How much history a diagnosis asks for before the alarm (ms).
pub const HISTORY_MS: i64 = BASELINE_MS + 120_000;
/// Onsets within this of each other count as simultaneous (one sample apart at 1 s).
pub const TIE_MS: i64 = 1_500;

/// Column specs for `names`: a feedback whose command is also a column tracks it; a command
/// that is only a command is an input; everything else should hold its level. Resolutions are
/// estimated from the data (the smallest step between distinct values).
pub fn specs(names: &[String], rows: &[(i64, Vec<f64>)], faults: &Signatures) -> Vec<SignalSpec> {
    let index = |n: &str| names.iter().position(|x| x == n);
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let tracked = faults.tracking.iter().find(|t| &t.feedback == name);
            let residual = match tracked.and_then(|t| index(&t.command).map(|c| (c, t.tau_s))) {
                Some((command, tau_s)) => Residual::Tracking { command, tau_s },
                None if faults.tracking.iter().any(|t| &t.command == name) => Residual::Input,
                None => Residual::Level,
            };
            SignalSpec { name: name.clone(), resolution: resolution(rows, i), residual }
        })
        .collect()
}

fn resolution(rows: &[(i64, Vec<f64>)], col: usize) -> f64 {
    let mut v: Vec<f64> = rows.iter().filter_map(|(_, r)| r.get(col).copied()).filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.windows(2).map(|w| w[1] - w[0]).filter(|d| *d > 1e-9).fold(f64::INFINITY, f64::min).clamp(1e-6, 1.0)
}

/// Diagnoses the alarm at `at_ms` from `rows` (`(t_ms, values)` in `names` order, oldest
/// first, up to a few seconds after the alarm).
pub fn diagnose(
    names: &[String],
    rows: &[(i64, Vec<f64>)],
    at_ms: i64,
    faults: &Signatures,
) -> Result<Diagnosis, DiagnosisError> {
    let first = rows.first().map_or(at_ms, |r| r.0);
    let lead = ((at_ms - first) / 2).clamp(30_000, 120_000);
    let split = at_ms - lead;
    let baseline: Vec<(i64, Vec<f64>)> =
        rows.iter().filter(|(t, _)| *t < split && *t >= split - BASELINE_MS).cloned().collect();
    let specs = specs(names, rows, faults);
    let mut mon = Monitor::fit(specs, &baseline, CusumParams::default())?;
    for (t, row) in rows.iter().filter(|(t, _)| *t >= split) {
        mon.push(*t, row)?;
    }
    Ok(Diagnosis::with_signature_ties(mon.onsets(), TIE_MS, faults))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::diagnosis::signature::PUMP_SKID;

    #[test]
    fn the_signal_that_moved_first_leads_and_the_cause_is_named() {
        let faults = Signatures::parse(PUMP_SKID).expect("signatures");
        let names: Vec<String> =
            ["FV101.position_sp", "FV101.position", "P101.flow", "P101.vibration"].map(String::from).to_vec();
        // Healthy for 200 s; at 200 s the setpoint moves and the valve does not follow
        // (sticking), the flow stays; the alarm comes at 206 s.
        let mut rows = Vec::new();
        for s in 0..215i64 {
            let wobble = ((s * 7919) % 11) as f64 * 0.01;
            let sp = if s >= 200 { 72.0 } else { 60.0 };
            rows.push((s * 1000, vec![sp, 60.0 + wobble, 70.0 + wobble * 2.0, 1.5 + wobble * 0.1]));
        }
        let d = diagnose(&names, &rows, 206_000, &faults).expect("diagnosis");
        assert_eq!(d.ranked[0].signal, "FV101.position", "{d:?}");
        assert_eq!(d.fault.as_deref(), Some("sticking_valve"), "{d:?}");
        assert!(d.ranked.iter().all(|s| s.signal != "FV101.position_sp"), "a command is not diagnosed");
        // Too little history for a baseline is an error, not a guess.
        let err = diagnose(&names, &rows[..25], 20_000, &faults).expect_err("short");
        assert!(matches!(err, DiagnosisError::ShortBaseline { .. }), "{err}");
    }
}
