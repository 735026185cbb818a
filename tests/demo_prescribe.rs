//! The prescriptive model live in `mimic demo`: the demo stores an hour of the plant's past
//! (the operators moving the pump speed) before the daemon starts; cavitation 25 s in pulls
//! the discharge flow below the band of the site's `[[loop]]`; the advisor identifies the
//! speed -> flow model, but once cavitation is diagnosed it never proposes raising the speed
//! (that deepens the cavitation): it files the fault's remedy, a lower speed inside the
//! limits, which waits for approval. And a what-if over the socket of a running daemon on the
//! demo site.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use mimic::ipc::{Reply, Request};
use support::binary::{DemoSite, Served, demo_headless, mimic};
use support::live::ask;
use support::{number_after, p, poll};

#[test]
fn the_demo_recommends_a_setpoint_change_when_a_fault_pulls_the_flow_out_of_its_band() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let args = ["--for", "70s", "--faults", "cavitation@25s+60s", "--rul-units", "3", "--rul-trees", "2"];
    let r = demo_headless(&data, &args, Duration::from_secs(240));
    assert!(r.ok(), "{r}");
    let out = &r.stdout;
    assert!(out.contains("demo history: 3600 s of the plant before start-up stored"), "{r}");
    // The loop's model, identified around the stored speed moves: about 0.93 m3/h per % of
    // speed at 60 % valve opening, first order with a 3 s time constant.
    let lp = out
        .lines()
        .find(|l| l.starts_with("loop P-101 discharge flow: P101.flow"))
        .unwrap_or_else(|| panic!("no loop line:\n{r}"));
    let field = |name: &str| -> f64 {
        let at = lp.find(name).unwrap_or_else(|| panic!("no `{name}` in {lp}")) + name.len();
        lp[at..].split([' ', ',', ';']).find(|s| !s.is_empty()).and_then(|s| s.parse().ok()).unwrap_or(f64::NAN)
    };
    assert!((field("gain ") - 0.93).abs() < 0.05, "{lp}");
    assert!((field("time constant ") - 3.0).abs() <= 1.0, "{lp}");
    assert!(field("R² ") > 0.9, "{lp}");
    assert!(field("mean ") < 62.0, "the cavitation holds the flow below its band: {lp}");
    // Cavitation is diagnosed with its remedies and the move it forbids.
    assert!(out.contains("fault cavitation"), "{r}");
    assert!(out.contains("never raise P101.speed_sp: a faster pump needs more suction head"), "{r}");
    // The remedy: a lower speed, one step inside its limits, pending approval (the daemon
    // never writes it by itself), requested by the models and audited.
    let recs: Vec<&str> = out.lines().filter(|l| l.starts_with("recommendation: request")).collect();
    let rem = recs
        .iter()
        .find(|l| l.contains("remedy declared for cavitation"))
        .unwrap_or_else(|| panic!("no remedy within 70 s:\n{r}"));
    assert!(rem.contains("P101.speed_sp 75.0 -> ") && rem.contains("(pending)"), "{rem}");
    let to = number_after(rem, " -> ");
    assert!((65.0..75.0).contains(&to), "{rem}");
    // No request raising the speed is left pending: one the loop filed before the diagnosis
    // came is withdrawn, and after it the loop's advice is held, saying why.
    for l in &recs {
        let (from, to) = (number_after(l, "P101.speed_sp "), number_after(l, " -> "));
        assert!(!(to > from && l.contains("(pending)")), "a raise is pending: {l}\n{r}");
    }
    assert!(r.stderr.contains("waiting for approval"), "{r}");
    let audit = mimic(&["audit", "export", "--since", "1h", "--data", p(&data)]);
    assert!(
        audit
            .stdout
            .lines()
            .any(|l| l.contains("mimic-models") && l.contains("write_requested") && l.contains("Recommendation")),
        "{audit}"
    );
    assert!(!audit.stdout.contains("write_outcome"), "nothing was written: {audit}");
}

#[test]
fn a_what_if_over_the_socket_predicts_the_kpi_and_changes_nothing() {
    let DemoSite { sim: _sim, tmp: _tmp, site, data } = DemoSite::start();
    // the plant's past, as `mimic demo` stores it, ending now
    let loaded = mimic::config::Site::load(&site).expect("site");
    let line = mimic::cli::demo_history::import(&data, &loaded, 1, mimic_drivers::now_ms()).expect("history");
    assert!(line.contains("3600 s"), "{line}");

    let daemon = Served::start(&site, &data);
    let sock = daemon.sock.clone();

    // a few live samples after the imported ones
    let w = poll(Duration::from_secs(30), || {
        match ask(&sock, &Request::WhatIf { tag: "P101.speed_sp".into(), value: 80.0 }) {
            Reply::WhatIf(w) if w.kpi_now > 0.0 => Some(w),
            _ => None,
        }
    })
    .unwrap_or_else(|| panic!("no what-if answer"));
    assert_eq!(
        (w.tag.as_str(), w.kpi.as_str(), w.loop_name.as_str()),
        ("P101.speed_sp", "P101.flow", "P-101 discharge flow")
    );
    assert_eq!(w.from, 75.0, "the sim runs at 75 % speed");
    // flow is proportional to speed: 80/75 of the flow now, within the model's error
    let expect = w.kpi_now * 80.0 / 75.0;
    assert!((w.steady_state - expect).abs() < 2.0, "{} vs {expect}: {w:?}", w.steady_state);
    assert!(w.trajectory.len() >= 60 && w.trajectory[0].0 == 0.0, "{:?}", w.trajectory.len());
    let last = w.trajectory.last().map_or(f64::NAN, |p| p.1);
    assert!((last - w.steady_state).abs() < 0.5, "settled within the 60 s horizon: {last}");
    assert!(w.confidence > 0.8 && w.model.contains("time constant") && w.note.is_none(), "{w:?}");
    // outside the limits: predicted, with a note that it cannot be written as is
    match ask(&sock, &Request::WhatIf { tag: "P101.speed_sp".into(), value: 120.0 }) {
        Reply::WhatIf(w) => assert!(w.note.as_deref().is_some_and(|n| n.contains("outside")), "{w:?}"),
        other => panic!("{other:?}"),
    }
    // not a loop's setpoint, or not a number: refused by name
    match ask(&sock, &Request::WhatIf { tag: "FV101.position_sp".into(), value: 50.0 }) {
        Reply::Error { message } => assert!(message.contains("not the setpoint of a [[loop]]"), "{message}"),
        other => panic!("{other:?}"),
    }
    let bad = "{\"req\":\"what_if\",\"tag\":\"P101.speed_sp\",\"value\":\"x\"}\n";
    let stream = UnixStream::connect(&sock).expect("connect");
    let mut w2 = stream.try_clone().expect("clone");
    let mut r2 = BufReader::new(stream);
    let mut l = String::new();
    r2.read_line(&mut l).expect("hello");
    w2.write_all(bad.as_bytes()).expect("send");
    l.clear();
    r2.read_line(&mut l).expect("reply");
    assert!(l.contains("invalid type"), "{l}");
    // a what-if changes nothing: no request, nothing audited as a write
    // and the loop's fit is in the snapshot
    let snap = poll(Duration::from_secs(30), || match ask(&sock, &Request::Subscribe {}) {
        Reply::Snapshot(s) if s.loops.iter().any(|l| l.r2.is_some()) => Some(s),
        _ => None,
    })
    .unwrap_or_else(|| panic!("no loop fit in the snapshot"));
    assert!(snap.requests.is_empty(), "{:?}", snap.requests);
    let lp = &snap.loops[0];
    assert!(lp.gain.is_some_and(|g| (g - 0.93).abs() < 0.05) && lp.status == "inside its band", "{lp:?}");
}
