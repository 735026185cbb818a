//! The models live in `mimic demo`: the demo plant (served over Modbus TCP in the same
//! process) and the daemon run headless for 165 s with an accelerated fault schedule — a
//! drifting flow transmitter 20 s in (recalibrated when it clears at 65 s), a sticking valve at
//! 100 s (its setpoint moves a third of the way into the fault) — and the run must show a
//! model alarm for each fault, a diagnosis naming each, and a remaining life with its interval.
//! Each diagnosis reads the history from the pump's previous return to normal, so the
//! transmitter's recalibration is not taken for the sticking valve's first move.
//! The demo trains its own models (anomaly before the daemon starts, remaining life in the
//! background; small here so the debug build trains it in seconds) and records their versions
//! in the pump's life through the daemon. Cavitation, the fastest of the three, is the same
//! path; the drift and the sticking valve are the ones the anomaly model sees only with the
//! demo's in-sample threshold.

mod support;

use std::time::Duration;

use support::binary::{demo_headless, mimic};
use support::p;

#[test]
fn the_demo_shows_each_fault_as_a_model_alarm_with_its_diagnosis_and_a_remaining_life() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let faults = ["--faults", "sensor_drift@20s+45s,sticking_valve@100s+45s"];
    let r = demo_headless(
        &data,
        &[&["--for", "165s"], &faults[..], &["--rul-units", "8", "--rul-trees", "20"]].concat(),
        Duration::from_secs(300),
    );
    assert!(r.ok(), "{r}");
    let out = &r.stdout;
    assert!(out.contains("anomaly model of P-101: trained on 1800 s"), "{r}");
    assert!(out.contains("remaining-life model of P-101: 8 runs to failure"), "{r}");
    // Each fault raised the pump's model alarm …
    let alarms: Vec<&str> = out.lines().filter(|l| l.starts_with("model alarm raised on P-101")).collect();
    assert!(alarms.len() >= 2, "one model alarm per fault:\n{r}");
    assert!(alarms.iter().all(|l| l.contains("unusual behaviour")), "{alarms:?}");
    // … and each diagnosis names its fault from the signatures, with the root signal moving.
    let diagnoses: Vec<&str> = out.lines().filter(|l| l.starts_with("diagnosis of P-101")).collect();
    for (fault, root) in [("sensor_drift", "P101.flow"), ("sticking_valve", "FV101.position")] {
        let d = diagnoses
            .iter()
            .find(|l| l.contains(&format!("fault {fault};")))
            .unwrap_or_else(|| panic!("no diagnosis of {fault}:\n{r}"));
        assert!(d.contains("MODEL anomaly") && d.contains(root), "{fault}: {d}\n{r}");
    }
    // … and the pump has a remaining life with an interval.
    let rul = out.lines().find(|l| l.starts_with("asset P-101: RUL")).unwrap_or_else(|| panic!("no RUL:\n{r}"));
    assert!(rul.contains('(') && rul.contains('–') && rul.contains("cycles of 10 s"), "{rul}");
    // The models files are where the daemon reads them.
    for f in ["P-101.anomaly.json", "P-101.rul.json", "P-101.faults.toml"] {
        assert!(data.join("models").join(f).is_file(), "{f} missing");
    }
    // Only the injected faults: no comm fault, every tag Good.
    assert!(out.contains("(0 not Good)"), "{r}");
    // Both models' versions are in the pump's life, with their figures.
    let list = mimic(&["maintenance", "list", "--asset", "P-101", "--data", p(&data)]);
    assert!(list.ok(), "{list}");
    let anomaly = list.stdout.lines().find(|l| l.contains("model anomaly v1")).unwrap_or_else(|| panic!("{list}"));
    assert!(anomaly.contains("threshold") && anomaly.contains("trained on 1800 rows"), "{anomaly}");
    let rul = list.stdout.lines().find(|l| l.contains("model rul v1")).unwrap_or_else(|| panic!("{list}"));
    assert!(rul.contains("oof_rmse_cycles") && rul.contains("runs 8") && rul.contains("cycle_s 10.0000"), "{rul}");
}
