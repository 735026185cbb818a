//! `mimic eval skab` end to end on the real SKAB data: the pooled leaderboard figures of the
//! default anomaly model meet the target (F1 ≥ 0.80 with FAR ≤ 15%).
//!
//! SKAB is GPL evaluation data and is not in this repository: it is read from
//! `../shared/datasets/skab` relative to the repository root (or `MIMIC_SKAB_DIR`).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use support::binary::{cmd as mimic_cmd, mimic};
use support::p;
use support::process::{Run, run};

fn skab_dir() -> PathBuf {
    let dir = std::env::var_os("MIMIC_SKAB_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/skab"));
    assert!(
        dir.join("valve1").is_dir() && dir.join("valve2").is_dir() && dir.join("other").is_dir(),
        "SKAB data not found at {} (expected valve1/, valve2/, other/ from \
         https://github.com/waico/SKAB data/; set MIMIC_SKAB_DIR to another copy)",
        dir.display()
    );
    dir
}

fn figure(out: &Run, key: &str) -> f64 {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no `{key}` figure in the output\n{out}"))
}

#[test]
fn skab_leaderboard_protocol_meets_the_target() {
    let dir = skab_dir();
    let mut cmd = mimic_cmd();
    cmd.arg("eval").arg("skab").arg(&dir);
    let out = run(cmd, Duration::from_secs(300));
    assert!(out.ok(), "{out}");
    assert_eq!(figure(&out, "files "), 34.0, "{out}");
    let (f1, far, mar) = (figure(&out, "F1 "), figure(&out, "FAR "), figure(&out, "MAR "));
    eprintln!("SKAB: F1 {f1:.4} FAR {far:.4} MAR {mar:.4}");
    assert!(f1 >= 0.80, "F1 {f1} below 0.80\n{out}");
    assert!(far <= 0.15, "FAR {far} above 0.15\n{out}");
    assert!(mar < 0.5, "MAR {mar}\n{out}");
}

#[test]
fn a_folder_without_skab_files_is_a_clear_error() {
    let empty = tempfile::tempdir().expect("temp dir");
    let out = mimic(&["eval", "skab", p(empty.path())]);
    assert!(!out.ok(), "{out}");
    assert!(out.stderr.contains("no SKAB files under"), "{out}");
}
