use super::*;
use crate::historian::{Historian, HistorianOptions};
use crate::models::prescribe::learn::{MAX_FACTOR, apply, correct_gain};

fn store() -> (tempfile::TempDir, Historian) {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = Historian::open(&dir.path().join("store.redb"), HistorianOptions::default()).expect("store");
    (dir, h)
}

fn err(u: (f64, f64), y_from: f64, pred: f64, obs: f64) -> PredictionError {
    PredictionError {
        manipulated: "sp".into(),
        controlled: "flow".into(),
        request: 1,
        ts_ms: 0,
        u_from: u.0,
        u_to: u.1,
        y_from,
        y_predicted: pred,
        y_observed: obs,
        seq: 0,
    }
}

#[test]
fn events_models_and_errors_round_trip_with_per_key_numbering() {
    let (_d, h) = store();
    let db = h.database();
    assert!(all_lives(db).unwrap().is_empty(), "a fresh store reads as empty");
    assert!(commission(db, "P-101", 1_000).unwrap());
    assert!(!commission(db, "P-101", 1_500).unwrap(), "commissioning is recorded once");

    let txn = db.begin_write().unwrap();
    let a = maintenance_event("P-101", "part-replaced", "bearing", "worn\x1b[31m, replaced", "eve", 2_000).unwrap();
    let a = record_event(&txn, &a).unwrap();
    let b = record_event(&txn, &maintenance_event("P-101", "inspection", "", "", "sam", 3_000).unwrap()).unwrap();
    let c = record_event(&txn, &maintenance_event("T-100", "other", "", "drained", "sam", 4_000).unwrap()).unwrap();
    let mv = ModelVersion {
        asset: "P-101".into(),
        kind: "anomaly".into(),
        version: 0,
        trained_ms: 5,
        by: "eve".into(),
        accuracy: vec![("threshold".into(), 4.2)],
        note: "n".into(),
    };
    let m1 = record_model(&txn, &mv).unwrap();
    let m2 = record_model(&txn, &mv).unwrap();
    let e1 = record_error(&txn, &err((50.0, 60.0), 40.0, 49.0, 52.0)).unwrap();
    txn.commit().unwrap();
    assert_eq!((a.seq, b.seq, c.seq), (2, 3, 1), "P-101 has its commissioning as event 1");
    assert_eq!((m1.version, m2.version, e1.seq), (1, 2, 1));
    assert_eq!(a.note, "worn [31m, replaced", "control characters become spaces");

    let lives = all_lives(db).unwrap();
    assert_eq!(lives.len(), 2);
    let p = &lives[0];
    assert_eq!(p.asset, "P-101");
    assert_eq!(p.commissioned_ms(), Some(1_000));
    assert_eq!(p.events.len(), 3);
    assert_eq!(p.models.len(), 2);
    assert_eq!(p.rebase_at(), Some(2_000), "the replaced part, not the later inspection, starts the present life");
    assert_eq!(p.last_maintenance().map(|e| e.kind), Some(EventKind::Inspection));
    assert_eq!(lives[1].rebase_at(), None, "an 'other' event does not re-base");

    let r = report(db, Some("T-100"), &["T-100.level".into()]).unwrap();
    assert_eq!((r.lives.len(), r.errors.len()), (1, 0));
    let r = report(db, None, &[]).unwrap();
    assert_eq!(r.errors, vec![e1]);
    assert_eq!(errors(db, Some(("sp", "flow"))).unwrap().len(), 1);
    assert!(errors(db, Some(("sp", "other"))).unwrap().is_empty());
}

#[test]
fn bad_events_are_refused_with_the_reason() {
    let e = maintenance_event("P", "replaced", "x", "", "u", 0).unwrap_err().to_string();
    assert!(e.contains("unknown maintenance kind `replaced`"), "{e}");
    let e = maintenance_event("P", "part-replaced", "  ", "", "u", 0).unwrap_err().to_string();
    assert!(e.contains("names the part"), "{e}");
    let long = "x".repeat(MAX_NOTE + 1);
    let e = maintenance_event("P", "inspection", "", &long, "u", 0).unwrap_err().to_string();
    assert!(e.contains("at most 500"), "{e}");
    assert!(maintenance_event("P", "commissioned", "", "", "u", 0).is_err(), "commissioning comes from the site file");
    assert_eq!(clean_text("note", " a\t\tb\u{202e}c \n", 10).unwrap(), "a b c");
}

#[test]
fn one_mismatch_moves_the_gain_three_quarters_of_the_way_and_the_sign_is_kept() {
    // the model said 1.0 per unit; the plant moved 2.0 per unit
    let c = correct_gain(1.0, &[err((50.0, 60.0), 40.0, 50.0, 60.0)]);
    assert_eq!(c.used, 1);
    assert!((c.gain - (0.35 + 2.0) / 1.35).abs() < 1e-12, "{c:?}");
    // no usable observation: the model's gain
    assert_eq!(correct_gain(1.0, &[err((50.0, 50.0), 40.0, 40.0, 45.0)]).gain, 1.0);
    assert_eq!(correct_gain(1.0, &[]).gain, 1.0);
    // repeated evidence converges on the plant's gain
    let many: Vec<_> = (0..12).map(|_| err((50.0, 60.0), 40.0, 50.0, 60.0)).collect();
    assert!((correct_gain(1.0, &many).gain - 2.0).abs() < 0.05);
    // an opposite-signed or huge observation cannot turn the model around or blow it up
    let c = correct_gain(1.0, &[err((50.0, 60.0), 40.0, 50.0, -400.0)]);
    assert!((c.gain - 0.2).abs() < 1e-12, "clamped at x0.2, still positive: {c:?}");
    let c = correct_gain(-0.5, &[err((50.0, 60.0), 40.0, 35.0, 4_000.0)]);
    assert!(c.gain < 0.0, "{c:?}");
    let c = correct_gain(1.0, &[err((50.0, 60.0), 40.0, 50.0, 4_000.0)]);
    assert!((c.gain - MAX_FACTOR).abs() < 1e-12, "{c:?}");
    // newer changes weigh more: the plant changed from gain 1 to gain 3
    let mut drift: Vec<_> = (0..5).map(|_| err((50.0, 60.0), 40.0, 50.0, 50.0)).collect();
    drift.extend((0..3).map(|_| err((50.0, 60.0), 40.0, 50.0, 70.0)));
    assert!(correct_gain(1.0, &drift).gain > 2.0);
}

#[test]
fn applying_a_correction_scales_the_gain_and_keeps_the_dynamics() {
    use crate::models::prescribe::{Arx, Fit};
    let model = Arx { ts_s: 1.0, delay: 2, a: vec![0.8], b: vec![0.2], c: 3.0 };
    let fit = Fit { r2: 0.9, nrmse: 0.1, samples: 100, ..Fit::of(model) };
    let c = correct_gain(fit.model.gain(), &[err((50.0, 60.0), 40.0, 50.0, 60.0)]);
    let f = apply(&fit, &c);
    assert!((f.model.gain() - c.gain).abs() < 1e-9, "{} vs {}", f.model.gain(), c.gain);
    assert_eq!((f.model.a.clone(), f.model.delay), (fit.model.a.clone(), fit.model.delay));
}
