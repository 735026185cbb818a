//! The models live in `mimic demo`: the demo plant (served over Modbus TCP in the same
//! process) and the daemon run headless for 75 s with an accelerated fault schedule —
//! cavitation 32 s in (the anomaly model needs 25 s to fill its smoothing window, then
//! alarms some 20 s into the fault) — and the run must show the anomaly model's alarm on the pump, a diagnosis naming the
//! injected fault, and a remaining life with its interval. The demo trains its own models
//! (anomaly before the daemon starts, remaining life in the background; small here so the
//! debug build trains it in seconds).

mod common;
mod mimic_support;

use std::time::Duration;

use mimic_support::{mimic_cmd, run};

#[test]
fn the_demo_shows_a_model_alarm_its_diagnosis_and_a_remaining_life() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let mut cmd = mimic_cmd();
    cmd.env("MIMIC_LOG", "info");
    cmd.args(["demo", "--headless", "--for", "75s", "--data"]);
    cmd.arg(&data);
    cmd.args(["--faults", "cavitation@32s+60s", "--repeat", "0", "--wear-life", "6m"]);
    cmd.args(["--rul-units", "8", "--rul-trees", "20"]);
    let r = run(cmd, Duration::from_secs(240));
    assert!(r.ok(), "{r}");
    let out = &r.stdout;
    assert!(out.contains("anomaly model of P-101: trained on 1800 s"), "{r}");
    assert!(out.contains("remaining-life model of P-101: 8 runs to failure"), "{r}");
    // The cavitation raised the pump's model alarm …
    assert!(out.lines().any(|l| l.starts_with("model alarm P-101 (unack_active): unusual behaviour")), "{r}");
    // … its diagnosis names the fault from the signatures …
    let diag =
        out.lines().find(|l| l.starts_with("diagnosis of P-101")).unwrap_or_else(|| panic!("no diagnosis:\n{r}"));
    assert!(diag.contains("MODEL anomaly") && diag.contains("fault cavitation"), "{diag}\n{r}");
    assert!(diag.contains("P101.suction_pressure"), "the root signal moved: {diag}");
    // … and the pump has a remaining life with an interval.
    let rul = out.lines().find(|l| l.starts_with("asset P-101: RUL")).unwrap_or_else(|| panic!("no RUL:\n{r}"));
    assert!(rul.contains('(') && rul.contains('–') && rul.contains("cycles of 10 s"), "{rul}");
    // The models files are where the daemon reads them.
    for f in ["P-101.anomaly.json", "P-101.rul.json", "P-101.faults.toml"] {
        assert!(data.join("models").join(f).is_file(), "{f} missing");
    }
    // Only the injected fault: no comm fault, every tag Good.
    assert!(out.contains("(0 not Good)"), "{r}");
}
