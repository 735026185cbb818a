use super::eval::{Asset, BASELINE_S, FaultKind, evaluate, run_one_exchanger};
use super::signature::PUMP_SKID;
use super::*;

fn onset(signal: &str, onset_ms: Option<i64>, score: f64) -> SignalOnset {
    SignalOnset { signal: signal.into(), onset_ms, detected_ms: onset_ms, score, half_ms: None, clarity: 0.0 }
}

/// Within a tie, the signal that made half of its move first leads, then the cleaner move,
/// and only then the bigger share of the score (what a lag or an added noise does to the
/// signals a fault reaches through the process).
#[test]
fn within_a_tie_the_quicker_then_the_cleaner_move_leads() {
    let with = |name: &str, onset_ms: i64, half_ms: i64, clarity: f64, score: f64| SignalOnset {
        half_ms: Some(half_ms),
        clarity,
        ..onset(name, Some(onset_ms), score)
    };
    let r = rank(
        vec![
            with("lagged_big", 1_000, 3_000, 9.0, 0.6),
            with("noisy", 1_000, 1_000, 1.5, 0.3),
            with("root", 1_000, 1_000, 8.0, 0.05),
            with("later", 5_000, 5_000, 20.0, 0.05),
        ],
        1_000,
    );
    let names: Vec<_> = r.iter().map(|s| s.signal.as_str()).collect();
    assert_eq!(names, ["root", "noisy", "lagged_big", "later"]);
}

#[test]
fn ranking_is_by_onset_then_score_within_a_tie() {
    let r = rank(
        vec![
            onset("late", Some(10_000), 0.9),
            onset("never", None, 0.5),
            onset("small_first", Some(1_000), 0.01),
            onset("big_same_time", Some(1_500), 0.3),
            onset("never_small", None, 0.0),
        ],
        1_000,
    );
    let names: Vec<_> = r.iter().map(|s| s.signal.as_str()).collect();
    assert_eq!(names, ["big_same_time", "small_first", "late", "never", "never_small"]);
}

fn specs() -> Vec<SignalSpec> {
    vec![
        SignalSpec { name: "cmd".into(), resolution: 0.1, residual: Residual::Input },
        SignalSpec { name: "a".into(), resolution: 0.01, residual: Residual::Level },
        SignalSpec { name: "fb".into(), resolution: 0.1, residual: Residual::Tracking { command: 0, tau_s: 2.0 } },
    ]
}

#[test]
fn cusum_finds_the_onset_of_a_step_and_not_noise() {
    let mut noise = mimic_drivers::sim::plant::Noise::new(7);
    let healthy: Vec<(i64, Vec<f64>)> =
        (0..200).map(|i| (i * 1000, vec![50.0, 1.0 + 0.05 * noise.normal(), 50.0])).collect();
    let mut m = Monitor::fit(specs(), &healthy, CusumParams::default()).unwrap();
    for i in 200..400 {
        assert!(!m.push(i * 1000, &[50.0, 1.0 + 0.05 * noise.normal(), 50.0]).unwrap(), "false alarm at {i}");
    }
    for i in 400..420 {
        m.push(i * 1000, &[50.0, 1.3 + 0.05 * noise.normal(), 50.0]).unwrap();
    }
    let on = m.onsets();
    let a = on.iter().find(|s| s.signal == "a").unwrap();
    let t = a.onset_ms.unwrap();
    assert!((400_000..=401_000).contains(&t), "onset {t}");
    assert!(a.score > 0.9);
    assert_eq!(on.iter().find(|s| s.signal == "fb").unwrap().onset_ms, None);
}

#[test]
fn a_feedback_that_stops_following_its_command_is_found() {
    let healthy: Vec<(i64, Vec<f64>)> = (0..100).map(|i| (i * 1000, vec![50.0, 1.0, 50.0])).collect();
    let mut m = Monitor::fit(specs(), &healthy, CusumParams::default()).unwrap();
    // The command moves to 60 but the feedback stays at 50.
    for i in 100..110 {
        m.push(i * 1000, &[60.0, 1.0, 50.0]).unwrap();
    }
    let fb = m.onsets().into_iter().find(|s| s.signal == "fb").unwrap();
    assert_eq!(fb.onset_ms, Some(100_000));
    // A feedback that follows does not alarm.
    let mut m = Monitor::fit(specs(), &healthy, CusumParams::default()).unwrap();
    let mut pos = 50.0;
    for i in 100..200 {
        pos += (60.0 - pos) * (1.0 - (-0.5f64).exp());
        assert!(!m.push(i * 1000, &[60.0, 1.0, (pos * 10.0f64).round() / 10.0]).unwrap());
    }
}

#[test]
fn bad_inputs_are_errors() {
    assert!(matches!(Monitor::fit(specs(), &[], CusumParams::default()), Err(DiagnosisError::ShortBaseline { .. })));
    let healthy: Vec<(i64, Vec<f64>)> = (0..100).map(|i| (i * 1000, vec![50.0, 1.0, 50.0])).collect();
    let mut m = Monitor::fit(specs(), &healthy, CusumParams::default()).unwrap();
    assert_eq!(m.push(0, &[1.0]), Err(DiagnosisError::RowWidth { got: 1, want: 3 }));
    let bad =
        vec![SignalSpec { name: "x".into(), resolution: 1.0, residual: Residual::Tracking { command: 9, tau_s: 1.0 } }];
    assert!(matches!(Monitor::fit(bad, &healthy, CusumParams::default()), Err(DiagnosisError::BadCommand { .. })));
    assert!(Signatures::parse("[[fault]]\nname = \"x\"\ncause = \"y\"\nfirst = []\n").is_err());
    assert!(Signatures::parse("[[fault]]\nname = \"x\"\ncause = \"y\"\nfirst = [\"a\"]\nfrist = 1\n").is_err());
}

#[test]
fn signatures_match_the_ranking() {
    let sig = Signatures::parse(PUMP_SKID).unwrap();
    assert_eq!(sig.fault.len(), 4);
    let d = Diagnosis::new(
        vec![onset("P101.flow", Some(5_000), 0.9), onset("P101.discharge_pressure", None, 0.1)],
        1000,
        &sig,
    );
    assert_eq!(d.fault.as_deref(), Some("sensor_drift"));
    let d = Diagnosis::new(
        vec![onset("P101.flow", Some(5_000), 0.5), onset("P101.discharge_pressure", Some(5_000), 0.4)],
        1000,
        &sig,
    );
    assert_eq!(d.fault, None, "pressure moved with the flow: not a drifting transmitter");
    assert!(d.moved_first(4_000)[0].starts_with("P101.flow at +1.0 s"));
}

/// The harness on a fixed seed with 16 injections (4 per fault) and 4 healthy runs.
/// Cavitation moves suction, discharge pressure, vibration and flow in the same sample and
/// the flow's move is by far the largest; from the data alone its root (suction pressure)
/// leads the tie when it made its move at once and cleanly (the flow follows through its
/// lag, the vibration and discharge pressure carry the cavitation's noise); its cause is
/// named by the signature, whose `first` signal then leads the tied onsets.
#[test]
fn diagnosis_finds_the_root_signal_of_injected_faults() {
    let sig = Signatures::parse(PUMP_SKID).unwrap();
    let r = evaluate(Asset::PumpSkid, 16, 4, 11, &sig, BASELINE_S).unwrap();
    assert_eq!(r.healthy.false_alarms, 0, "{:?}", r.healthy);
    for (f, t) in &r.per_fault {
        assert_eq!(t.detected, t.injections, "{f:?}: {t:?}");
        if *f != FaultKind::Cavitation {
            assert!(t.rate(t.top1) >= 0.9, "{f:?}: {t:?}");
        }
    }
    assert!(r.overall.rate(r.overall.top3) >= 0.7, "{:?}", r.overall);
    assert!(r.overall.rate(r.overall.cause) >= 0.9, "{:?}", r.overall);
    // Signature tie-breaking only ever helps where the data tie, and never hurts.
    assert!(r.overall.top1 >= r.overall.top1_data, "{:?}", r.overall);
    assert!(r.overall.rate(r.overall.top1_data) >= 0.8, "data alone: {:?}", r.overall);
    let cav = &r.per_fault.iter().find(|(f, _)| *f == FaultKind::Cavitation).expect("cavitation").1;
    assert!(cav.rate(cav.top1) >= 0.75, "cavitation's root leads its tie: {cav:?}");
}

#[test]
fn signature_ties_reorder_only_simultaneous_onsets() {
    let sig = Signatures::parse(PUMP_SKID).unwrap();
    let tied = vec![
        onset("P101.vibration", Some(5_000), 0.5),
        onset("P101.suction_pressure", Some(5_000), 0.1),
        onset("P101.discharge_pressure", Some(5_000), 0.3),
        onset("P101.flow", Some(6_000), 0.1),
    ];
    let d = Diagnosis::with_signature_ties(tied.clone(), 1000, &sig);
    assert_eq!((d.ranked[0].signal.as_str(), d.fault.as_deref()), ("P101.suction_pressure", Some("cavitation")));
    assert_eq!(Diagnosis::new(tied.clone(), 1000, &sig).ranked[0].signal, "P101.vibration");
    // a really earlier onset stays first
    let mut early = tied;
    early[0].onset_ms = Some(2_000);
    let d = Diagnosis::with_signature_ties(early, 1000, &sig);
    assert_eq!(d.ranked[0].signal, "P101.vibration");
}

/// The oil cooler, with no signatures: fouling shows first in the oil outlet temperature,
/// which rises; the water outlet falls (less duty); the inlets and the flows do not move.
#[test]
fn a_fault_of_another_asset_is_refused_not_run_as_healthy() {
    let sig = Signatures::parse(PUMP_SKID).unwrap();
    let e =
        super::eval::run_one(Some(FaultKind::Fouling), 1, &sig, BASELINE_S).expect_err("a cooler fault on the skid");
    assert!(e.to_string().contains("`fouling` is a fault of the oil cooler"), "{e}");
    let e = run_one_exchanger(Some(FaultKind::Cavitation), 1, 0.0, BASELINE_S).expect_err("a skid fault on the cooler");
    assert!(matches!(e, DiagnosisError::NotOnAsset { fault: "cavitation", .. }), "{e}");
}

#[test]
fn exchanger_fouling_moves_the_oil_outlet_first() {
    let o = run_one_exchanger(Some(FaultKind::Fouling), 3, 0.0, BASELINE_S).unwrap();
    assert!(!o.false_alarm(), "{o:?}");
    let d = o.data_only.as_ref().expect("fouling detected");
    assert_eq!(d.ranked[0].signal, "E201.hot_out_temp", "{:?}", d.moved_first(o.fault_ms));
    let moved = |s: &str| d.ranked.iter().any(|r| r.signal == s && r.onset_ms.is_some());
    for quiet in ["E201.hot_in_temp", "E201.cold_in_temp", "E201.hot_flow", "E201.cold_flow", "FV202.position"] {
        assert!(!moved(quiet), "{quiet} moved: {:?}", d.moved_first(o.fault_ms));
    }
    let h = run_one_exchanger(None, 3, 0.0, BASELINE_S).unwrap();
    assert!(h.detected_ms.is_none(), "healthy run alarmed: {h:?}");
}

/// White residuals keep their spread; a slowly wandering one (AR(1), ρ 0.8) is widened by
/// about √(1.8/0.2) = 3, so its CUSUM does not take the wander for a shift; white noise over
/// a wander lasting minutes (a 120 s AR(1) at a tenth of a degree under 0.06 K of noise) is
/// widened by its wander's long-run spread, not by what its lag-1 correlation suggests.
#[test]
fn autocorrelated_baselines_widen_the_cusum_spread() {
    let mut noise = mimic_drivers::sim::plant::Noise::new(5);
    let factor = |r: &[f64]| {
        let mean = r.iter().sum::<f64>() / r.len() as f64;
        let var = r.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (r.len() - 1) as f64;
        ((var + cusum::slow_variance(r, mean, var)) / var).sqrt()
    };
    let white: Vec<f64> = (0..2000).map(|_| noise.normal()).collect();
    assert!(factor(&white) < 1.1, "{}", factor(&white));
    let mut x = 0.0;
    let ar: Vec<f64> = (0..2000)
        .map(|_| {
            x = 0.8 * x + noise.normal();
            x
        })
        .collect();
    assert!((factor(&ar) - 3.0).abs() < 0.5, "{}", factor(&ar));
    let a = (-1.0f64 / 120.0).exp();
    let mut w = 0.1 * noise.normal();
    let slow: Vec<f64> = (0..300)
        .map(|_| {
            w = a * w + 0.1 * (1.0 - a * a).sqrt() * noise.normal();
            w + 0.06 * noise.normal()
        })
        .collect();
    let mean = slow.iter().sum::<f64>() / slow.len() as f64;
    let var = slow.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (slow.len() - 1) as f64;
    let rho = slow.windows(2).map(|w| (w[0] - mean) * (w[1] - mean)).sum::<f64>() / (slow.len() - 1) as f64 / var;
    let quick = ((1.0 + rho) / (1.0 - rho)).sqrt();
    assert!(factor(&slow) > 1.5 * quick, "{} against the lag-1 factor {quick}", factor(&slow));
}

/// Inlet temperatures wandering for minutes (σ 0.1 K, 120 s): a 5 min baseline is 2.5 of the
/// wander's correlation times and often catches it quiet, so the CUSUM later alarms on the
/// wander itself; the daemon's 10 min baseline sees it (seed 2: 7 of 20 healthy runs alarm
/// with 5 min, none with 10).
#[test]
fn a_baseline_spanning_the_wander_keeps_healthy_runs_quiet() {
    let none = Signatures::default();
    let alarms = |baseline_s| {
        let r = evaluate(Asset::Exchanger { wander_k: 0.1 }, 0, 20, 2, &none, baseline_s).unwrap();
        r.healthy.false_alarms
    };
    assert_eq!(BASELINE_S, 600);
    assert!(alarms(BASELINE_S) <= 1, "{}", alarms(BASELINE_S));
    assert!(alarms(300) >= 5, "{}", alarms(300));
}
