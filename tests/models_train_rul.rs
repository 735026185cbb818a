//! `mimic train rul --site --asset` end to end, from the store's own history of failures: a
//! store written with the historian API holds six lives of the demo pump P-101's bearing
//! (commissioning, then a `part-replaced bearing` event at the end of each life, an
//! inspection in between that must not split a life), vibration and motor temperature
//! wearing towards each replacement. The command finds the lives, trains, writes
//! `DATA/models/P-101.rul.json` (which predicts less life left late in a life than early),
//! and records the model's version with its figures in the asset's life, audited: `mimic
//! maintenance list` shows it, a second training is version 2, the audit chain verifies.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use mimic::historian::{Historian, HistorianOptions, Sample};
use mimic::lifecycle::{self, Event, EventKind};
use mimic::models::rul::asset::AssetRul;
use support::binary::{assert_audit_verifies, cmd as mimic_cmd, demo_site_path, mimic};
use support::noise::noise;
use support::p;
use support::process::{Run, run};

const T0: i64 = 1_760_000_000_000;
/// Seconds between stored samples.
const EVERY_S: i64 = 5;

fn site() -> PathBuf {
    demo_site_path()
}

/// Vibration and motor temperature `t` seconds into a life of `life` seconds.
fn worn(t: f64, life: f64, seed: u64) -> [f64; 2] {
    let x = (t / life).clamp(0.0, 1.0);
    [1.5 + 3.0 * x.powi(3) + 0.05 * noise(seed), 50.0 + 6.0 * x.powi(2) + 0.3 * noise(seed + 1)]
}

/// Lengths of the lives, seconds.
const LIVES: [i64; 6] = [3_600, 4_400, 3_000, 5_000, 3_900, 4_700];

/// Writes the lives and their events; returns when each life ended.
fn write_lives(data: &Path) -> Vec<i64> {
    let mut h = Historian::open(&data.join("store.redb"), HistorianOptions::default()).expect("store");
    let ids = [h.tag_id("P101.vibration").expect("id"), h.tag_id("P101.motor_temp").expect("id")];
    lifecycle::commission(h.database(), "P-101", T0).expect("commissioned");
    let mut start = T0;
    let mut ends = Vec::new();
    for (l, &len) in LIVES.iter().enumerate() {
        let mut batch = Vec::new();
        for s in (0..len).step_by(EVERY_S as usize) {
            let v = worn(s as f64, len as f64, (l as u64) << 32 | s as u64);
            for (k, &tag) in ids.iter().enumerate() {
                batch.push(Sample { tag, ts_ms: start + s * 1000, value: v[k], quality: 0 });
            }
        }
        h.append(&batch).expect("append");
        let end = start + len * 1000;
        let txn = h.database().begin_write().expect("txn");
        let ev = |ts_ms, kind, part: &str| Event {
            asset: "P-101".into(),
            seq: 0,
            ts_ms,
            kind,
            part: part.into(),
            note: String::new(),
            by: "erin".into(),
        };
        lifecycle::record_event(&txn, &ev(start + len * 500, EventKind::Inspection, "")).expect("event");
        lifecycle::record_event(&txn, &ev(end, EventKind::PartReplaced, "bearing")).expect("event");
        txn.commit().expect("commit");
        ends.push(end);
        start = end;
    }
    ends
}

fn train(data: &Path) -> Run {
    let mut cmd = mimic_cmd();
    cmd.args(["train", "rul", "--site"]).arg(site()).args(["--asset", "P-101", "--part", "bearing"]);
    cmd.args(["--channels", "P101.vibration,P101.motor_temp", "--cycle", "30s", "--members", "3", "--trees", "40"]);
    cmd.arg("--data").arg(data);
    run(cmd, Duration::from_secs(120))
}

#[test]
fn trains_remaining_life_from_the_stores_own_lives_and_records_its_version() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path();
    let ends = write_lives(data);
    let out = train(data);
    assert!(out.ok(), "{out}");
    assert!(out.stdout.contains("P-101: 6 finished lives between replacements of part `bearing`"), "{out}");
    // the inspection half-way does not split a life: 3 600 s of 30 s cycles
    assert!(out.stdout.contains("life 1: ") && out.stdout.contains(", 120 cycles (ended by "), "{out}");
    assert!(out.stdout.contains("part-replaced bearing by erin"), "{out}");
    assert!(out.stdout.contains("rul model version 1 of P-101 recorded with its figures (audited)"), "{out}");

    let model = AssetRul::load(&data.join("models/P-101.rul.json")).expect("model file");
    assert_eq!(model.asset, "P-101");
    assert_eq!(model.cycle_s, 30.0);
    assert_eq!(model.life_start_ms, ends.last().copied(), "the present life starts at the last replacement");
    assert_eq!(model.model.channels, ["P101.vibration", "P101.motor_temp"]);
    assert_eq!(model.model.info.trajectories, 6);
    // a fresh life of 4 200 s (140 cycles): less life left late than early
    let rows: Vec<Vec<f64>> = (0..140)
        .map(|c| {
            let t = c as f64 * 30.0 + 15.0;
            worn(t, 4_200.0, 99 + c as u64).to_vec()
        })
        .collect();
    let early = model.predict(&rows[..40]).expect("predicts");
    let late = model.predict(&rows[..130]).expect("predicts");
    assert!(late.rul_s < early.rul_s, "early {early:?}, late {late:?}");
    assert!(late.rul_s < 1_500.0, "10 cycles (300 s) were left: {late:?}");
    assert!(late.low_s <= late.rul_s && late.rul_s <= late.high_s, "{late:?}");

    // the version, with its figures, in the asset's life
    let list = mimic(&["maintenance", "list", "--asset", "P-101", "--data", p(data)]);
    assert!(list.ok(), "{list}");
    let line = list.stdout.lines().find(|l| l.contains("model rul v1")).unwrap_or_else(|| panic!("{list}"));
    assert!(line.contains("oof_rmse_cycles") && line.contains("cycle_s 30.0000") && line.contains("runs 6"), "{line}");
    assert!(line.contains("trained on 6 runs to failure (6 lives of P-101 in the store)"), "{line}");

    // retrained: version 2; every entry audited, the chain intact
    let again = train(data);
    assert!(again.ok() && again.stdout.contains("rul model version 2 of P-101"), "{again}");
    assert_audit_verifies(data);
    let export = mimic(&["audit", "export", "--data", p(data)]);
    let retrains = export.stdout.lines().filter(|l| l.contains("model_retrain") && l.contains("P-101")).count();
    assert_eq!(retrains, 2, "{export}");
}

#[test]
fn training_from_the_store_says_what_is_missing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path();
    write_lives(data);
    let mut cmd = mimic_cmd();
    cmd.args(["train", "rul", "--site"]).arg(site()).args(["--asset", "P-101", "--channels", "P101.nope"]);
    cmd.arg("--data").arg(data);
    let out = run(cmd, Duration::from_secs(60));
    assert!(!out.ok() && out.stderr.contains("`P101.nope` is not a tag"), "{out}");
    // only replacements of the impeller end a life: there are none
    let mut cmd = mimic_cmd();
    cmd.args(["train", "rul", "--site"]).arg(site()).args(["--asset", "P-101", "--part", "impeller"]);
    cmd.args(["--channels", "P101.vibration"]).arg("--data").arg(data);
    let out = run(cmd, Duration::from_secs(60));
    assert!(!out.ok() && out.stdout.contains("0 finished lives"), "{out}");
    assert!(out.stderr.contains("training needs at least"), "{out}");
    assert!(!data.join("models/P-101.rul.json").exists());
}
