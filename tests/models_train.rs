//! `mimic train anomaly` end to end: history of the demo site's pump P-101 written to a store,
//! the command fits the asset's model on a healthy window and writes
//! `DATA/models/P-101.anomaly.json`, which loads and scores: quiet on healthy samples, alarmed
//! when the pressure stops following the flow.

mod support;

use std::path::{Path, PathBuf};

use mimic::historian::{Historian, HistorianOptions, Sample};
use mimic::models::anomaly::asset::AssetModel;
use support::binary::{demo_site_path, mimic};
use support::noise::noise;
use support::process::Run;

const T0: i64 = 1_760_000_000_000;

/// A healthy value of tag number `k` at second `i`: every tag follows one flow-like factor.
fn healthy(k: usize, i: usize) -> f64 {
    let flow = 50.0 + 5.0 * (i as f64 / 60.0).sin() + noise(i as u64);
    (1.0 + k as f64) * flow * 0.1 + 0.05 * noise((i * 31 + k) as u64 + 7)
}

fn site() -> PathBuf {
    demo_site_path()
}

/// `mimic train anomaly DEMO_SITE --asset ASSET --from FROM --to TO --data DATA`.
fn train(data: &Path, asset: &str, from: &str, to: &str) -> Run {
    let site = site();
    let data = data.to_str().expect("utf-8 path");
    mimic(&[
        "train",
        "anomaly",
        site.to_str().expect("utf-8 path"),
        "--asset",
        asset,
        "--from",
        from,
        "--to",
        to,
        "--data",
        data,
    ])
}

fn pump_tags() -> Vec<String> {
    let site = mimic::config::Site::load(&site()).expect("demo site loads");
    let asset = site.assets.iter().position(|a| a.name == "P-101").expect("P-101");
    site.tags.iter().filter(|t| t.asset == Some(asset)).map(|t| t.name.clone()).collect()
}

fn write_history(data: &Path, tags: &[String], seconds: usize) {
    let mut h = Historian::open(&data.join("store.redb"), HistorianOptions::default()).expect("store");
    let ids: Vec<u32> = tags.iter().map(|t| h.tag_id(t).expect("tag id")).collect();
    let mut batch = Vec::new();
    for i in 0..seconds {
        for (k, &tag) in ids.iter().enumerate() {
            batch.push(Sample { tag, ts_ms: T0 + i as i64 * 1000, value: healthy(k, i), quality: 0 });
        }
    }
    h.append(&batch).expect("append");
}

#[test]
fn trains_an_asset_model_from_stored_history() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path();
    let tags = pump_tags();
    assert!(tags.len() >= 3, "{tags:?}");
    write_history(data, &tags, 900);
    let out = train(data, "P-101", &mimic::cli::format_ts(T0), &mimic::cli::format_ts(T0 + 600_000));
    assert!(out.ok(), "{out}");
    let path = data.join("models/P-101.anomaly.json");
    assert!(out.stdout.contains("on 600 rows"), "{out}");
    assert!(out.stdout.contains("anomaly model version 1 of P-101 recorded with its figures (audited)"), "{out}");
    let trained = AssetModel::load(&path).expect("model file");
    assert_eq!(trained.asset, "P-101");
    assert_eq!(trained.step_ms, 1000);
    assert_eq!(trained.model.signals, tags);

    let mut model = trained.model;
    for i in 600..900 {
        let s: Vec<f64> = (0..tags.len()).map(|k| healthy(k, i)).collect();
        assert!(!model.score(&s).alarm, "healthy second {i}");
    }
    let raised = (900..1000).any(|i| {
        let mut s: Vec<f64> = (0..tags.len()).map(|k| healthy(k, i)).collect();
        s[1] *= 0.8;
        model.score(&s).alarm
    });
    assert!(raised, "a broken relation between the pump's signals raises no alarm");
}

#[test]
fn training_refuses_an_unknown_asset_and_an_empty_window() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let data = tmp.path();
    write_history(data, &pump_tags(), 60);
    let out = train(data, "P-999", "1h", "0s");
    assert!(!out.ok() && out.stderr.contains("no asset `P-999`"), "{out}");
    let out = train(data, "P-101", &mimic::cli::format_ts(T0), &mimic::cli::format_ts(T0 + 20_000));
    assert!(!out.ok() && out.stderr.contains("at least"), "{out}");
    assert!(!data.join("models/P-101.anomaly.json").exists());
}
