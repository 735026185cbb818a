//! Unit tests of the model, the eigen-solver and the SKAB parser on hand-made data.

use std::path::Path;

use super::linalg::symmetric_eigen;
use super::model::{AnomalyConfig, AnomalyModel, FitError};
use super::skab;

/// Deterministic noise in [-0.5, 0.5).
fn noise(seed: u64) -> f64 {
    let mut h = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 32;
    (h % 10_000) as f64 / 10_000.0 - 0.5
}

/// Three signals: a flow, a pressure that follows it, an independent temperature.
fn healthy(i: usize) -> Vec<f64> {
    let flow = 30.0 + 2.0 * noise(i as u64 * 3);
    vec![flow, 0.1 * flow + 0.05 * noise(i as u64 * 3 + 1), 60.0 + 0.5 * noise(i as u64 * 3 + 2)]
}

fn names() -> Vec<String> {
    ["flow", "pressure", "temperature"].map(String::from).to_vec()
}

fn fitted() -> AnomalyModel {
    let rows: Vec<Vec<f64>> = (0..400).map(healthy).collect();
    AnomalyModel::fit(names(), &rows, AnomalyConfig::default()).expect("fit")
}

#[test]
fn eigen_of_a_known_matrix() {
    // [[2,1],[1,2]]: eigenvalues 3 and 1, vectors (1,1)/√2 and (1,-1)/√2.
    let (values, vectors) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
    assert!((values[0] - 3.0).abs() < 1e-12 && (values[1] - 1.0).abs() < 1e-12, "{values:?}");
    let s = std::f64::consts::FRAC_1_SQRT_2;
    assert!((vectors[0].abs() - s).abs() < 1e-12 && (vectors[0] - vectors[1]).abs() < 1e-12);
    assert!((vectors[2] + vectors[3]).abs() < 1e-12);
}

#[test]
fn eigen_reconstructs_a_random_symmetric_matrix() {
    let n = 6;
    let mut a = vec![0.0; n * n];
    for i in 0..n {
        for j in i..n {
            a[i * n + j] = noise((i * n + j) as u64);
            a[j * n + i] = a[i * n + j];
        }
    }
    let (values, vectors) = symmetric_eigen(&a, n);
    for i in 0..n {
        for j in 0..n {
            let r: f64 = (0..n).map(|k| values[k] * vectors[k * n + i] * vectors[k * n + j]).sum();
            assert!((r - a[i * n + j]).abs() < 1e-9, "({i},{j}) {r} vs {}", a[i * n + j]);
        }
    }
    assert!(values.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn healthy_data_raises_no_alarm() {
    let mut m = fitted();
    for i in 400..2000 {
        let v = m.score(&healthy(i));
        assert!(!v.alarm, "sample {i}: {v:?}");
    }
}

#[test]
fn a_broken_relation_alarms_and_names_its_signal() {
    let mut m = fitted();
    for i in 400..500 {
        m.score(&healthy(i));
    }
    // The pressure no longer follows the flow: 10% low, each signal still in its own range.
    let mut first = None;
    let mut last = None;
    for i in 500..600 {
        let mut s = healthy(i);
        s[1] *= 0.9;
        let v = m.score(&s);
        if v.alarm && first.is_none() {
            first = Some(i);
        }
        last = Some(v);
    }
    let first = first.expect("the anomaly raises the alarm");
    assert!(first < 540, "raised late, at {first}");
    let v = last.expect("scored");
    let top = v.contributions.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i);
    assert_eq!(top, Some(1), "{v:?}");
    assert!((v.contributions.iter().sum::<f64>() - v.score).abs() < 1e-9 * v.score.abs().max(1.0));
    // Back to normal: the alarm clears.
    let cleared = (600..700).any(|i| !m.score(&healthy(i)).alarm);
    assert!(cleared);
}

#[test]
fn one_spike_is_not_an_alarm() {
    // A wild sample (a glitch 30 times the normal level) on one signal, then one on another.
    let mut m = fitted();
    for i in 400..600 {
        let mut s = healthy(i);
        if i == 450 {
            s[0] = 1000.0;
        }
        if i == 520 {
            s[1] = -50.0;
        }
        let v = m.score(&s);
        assert!(!v.alarm, "sample {i}: {v:?}");
    }
}

#[test]
fn json_round_trip_scores_the_same() {
    let mut a = fitted();
    let text = serde_json::to_string(&a).expect("serialise");
    let mut b: AnomalyModel = serde_json::from_str(&text).expect("deserialise");
    for i in 400..450 {
        let s = healthy(i);
        let (x, y) = (a.score(&s), b.score(&s));
        assert!((x.score - y.score).abs() <= 1e-9 * x.score.abs().max(1.0), "{x:?} vs {y:?}");
        assert_eq!((x.alarm, x.threshold), (y.alarm, y.threshold));
    }
}

#[test]
fn fit_refuses_bad_windows() {
    let rows: Vec<Vec<f64>> = (0..400).map(healthy).collect();
    let few = AnomalyModel::fit(names(), &rows[..30], AnomalyConfig::default());
    assert!(matches!(few, Err(FitError::TooFewRows { rows: 30, needed: 35 })), "{few:?}");
    let mut ragged = rows.clone();
    ragged[7].pop();
    assert!(matches!(
        AnomalyModel::fit(names(), &ragged, AnomalyConfig::default()),
        Err(FitError::RaggedRow { row: 7, got: 2, expected: 3 })
    ));
    let mut nan = rows.clone();
    nan[9][2] = f64::NAN;
    assert!(matches!(AnomalyModel::fit(names(), &nan, AnomalyConfig::default()), Err(FitError::NotFinite { row: 9 })));
    assert!(matches!(AnomalyModel::fit(Vec::new(), &rows, AnomalyConfig::default()), Err(FitError::NoSignals)));
    let bad = AnomalyConfig { quantile: 1.5, ..AnomalyConfig::default() };
    assert!(matches!(AnomalyModel::fit(names(), &rows, bad), Err(FitError::Config(_))));
}

#[test]
fn a_constant_signal_does_not_break_the_model() {
    let rows: Vec<Vec<f64>> = (0..400).map(|i| vec![healthy(i)[0], 5.0]).collect();
    let mut m =
        AnomalyModel::fit(vec!["flow".into(), "setpoint".into()], &rows, AnomalyConfig::default()).expect("fit");
    let v = m.score(&[30.0, 5.0]);
    assert!(v.score.is_finite() && v.threshold.is_finite() && !v.alarm, "{v:?}");
}

#[test]
fn skab_parser_reads_signals_and_labels() {
    let text = "datetime;A;B;anomaly;changepoint\n\
                2020-03-09 10:14:33;1.5;2;0.0;0.0\n\
                2020-03-09 10:14:34;1.25;-3e-1;1.0;1.0\n";
    let f = skab::parse(Path::new("x.csv"), text).expect("parse");
    assert_eq!(f.signals, ["A", "B"]);
    assert_eq!(f.rows, [vec![1.5, 2.0], vec![1.25, -0.3]]);
    assert_eq!(f.anomaly, [false, true]);
}

#[test]
fn skab_parser_reports_the_bad_line() {
    let text = "datetime;A;anomaly\nt;1;0\nt;x;0\n";
    let e = skab::parse(Path::new("f.csv"), text).expect_err("bad number");
    assert_eq!(e.to_string(), "f.csv: line 3: column A: not a number");
    let e = skab::parse(Path::new("f.csv"), "datetime;A\nt;1\n").expect_err("no label");
    assert!(e.to_string().contains("no `anomaly` column"), "{e}");
}
