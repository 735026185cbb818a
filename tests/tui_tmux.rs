//! The operator terminal end to end, in a real terminal emulator: `tmux`.
//!
//! Each test runs its own tmux server (`tmux -L <unique>`, no user config), drives the
//! terminal with `send-keys` and reads the screen with `capture-pane`. The server is
//! killed by a guard, also when a test fails.

mod support;

use std::time::Duration;

use support::binary::{DemoSite, Served, mimic};
use support::tmux::{Tmux, wrapped};
use support::{number_after, p};

const SCREEN_WAIT: Duration = Duration::from_secs(20);

/// Rows of the screen that look like tag rows (start with a tag name of the demo site).
fn tag_rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .filter(|l| {
            let t = l.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
            ["P101.", "T100.", "FV101."].iter().any(|p| t.starts_with(p))
        })
        .collect()
}

/// True when an SGR sequence in `s` sets a foreground or background colour.
fn has_colour(s: &str) -> bool {
    s.split("\x1b[").skip(1).any(|seq| {
        let Some(end) = seq.find('m') else { return false };
        let params = &seq[..end];
        if !params.chars().all(|c| c.is_ascii_digit() || c == ';') {
            return false;
        }
        params.split(';').filter_map(|p| p.parse::<u32>().ok()).any(|n| {
            (30..=38).contains(&n) || (40..=48).contains(&n) || (90..=97).contains(&n) || (100..=107).contains(&n)
        })
    })
}

fn demo_session(no_color: bool) {
    let tmux = Tmux::new();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let s = "demo";
    let env = if no_color { "NO_COLOR=1" } else { "" };
    tmux.start(s, &wrapped(env, &["demo", "--data", p(&data)]));

    let screen = tmux.wait_screen(s, "the tag table with GOOD values", SCREEN_WAIT, |sc| {
        sc.contains("P101.flow") && sc.contains("GOOD") && sc.contains("LINK OK")
    });
    assert!(screen.contains("[2 Tags]"), "the Tags tab is active first:\n{screen}");
    let coloured = has_colour(&tmux.capture_escapes(s));
    if no_color {
        assert!(!coloured, "NO_COLOR=1 but the screen has colours:\n{}", tmux.capture_escapes(s));
    } else {
        assert!(coloured, "the default theme shows colours:\n{}", tmux.capture_escapes(s));
    }

    tmux.keys(s, &["6"]);
    tmux.wait_screen(s, "the Devices screen with skid-plc UP", SCREEN_WAIT, |sc| {
        sc.contains("[6 Devices]") && sc.contains("skid-plc") && sc.contains("UP")
    });

    tmux.keys(s, &["2"]);
    tmux.wait_screen(s, "the Tags screen", SCREEN_WAIT, |sc| sc.contains("[2 Tags]"));
    tmux.keys(s, &["/"]);
    tmux.type_text(s, "flow");
    tmux.keys(s, &["Enter"]);
    let filtered = tmux.wait_screen(s, "only flow tags", SCREEN_WAIT, |sc| {
        let rows = tag_rows(sc);
        sc.contains("[2 Tags]") && !rows.is_empty() && rows.iter().all(|r| r.to_lowercase().contains("flow"))
    });
    let rows = tag_rows(&filtered);
    assert!(rows.iter().any(|r| r.contains("P101.flow")), "P101.flow listed:\n{filtered}");
    for other in ["P101.speed", "T100.level", "P101.vibration", "FV101.position"] {
        assert!(!filtered.contains(other), "{other} should be filtered out:\n{filtered}");
    }

    tmux.keys(s, &["?"]);
    tmux.wait_screen(s, "the help popup", SCREEN_WAIT, |sc| sc.contains("Help: Tags") && sc.contains("any key closes"));
    tmux.keys(s, &["x"]);
    tmux.wait_screen(s, "the help popup to close", SCREEN_WAIT, |sc| !sc.contains("any key closes"));

    // The filtered list is sorted by name: P101.flow first, then T100.inflow_sp.
    tmux.keys(s, &["Enter"]);
    tmux.wait_screen(s, "the Trend of P101.flow", SCREEN_WAIT, |sc| {
        sc.contains("[3 Trend]") && (sc.contains(" P101.flow [m3/h]") || sc.contains("trend of P101.flow"))
    });
    tmux.wait_screen(s, "the Trend of P101.flow with data", SCREEN_WAIT, |sc| sc.contains(" P101.flow [m3/h]"));

    tmux.keys(s, &["q"]);
    tmux.assert_quit_clean(s);
    assert!(!data.join("mimic.sock").exists(), "the demo removed its socket on quit");
}

#[test]
fn demo_terminal_in_tmux() {
    demo_session(false);
}

#[test]
fn demo_terminal_in_tmux_no_color() {
    demo_session(true);
}

#[test]
fn two_terminals_attached_to_one_daemon() {
    let tmux = Tmux::new();
    let DemoSite { sim: _sim, tmp: _tmp, site, data } = DemoSite::start();
    let mut daemon = Served::start(&site, &data);

    let sessions = ["tui-a", "tui-b"];
    for s in sessions {
        tmux.start(s, &wrapped("", &["tui", "--data", p(&data)]));
    }
    for s in sessions {
        let first = tmux.wait_screen(s, "live tag values", SCREEN_WAIT, |sc| {
            sc.contains("LINK OK") && tag_rows(sc).iter().any(|r| r.contains("P101.flow") && r.contains("GOOD"))
        });
        // Live: the header clock moves with every snapshot from the daemon.
        let header = first.lines().next().unwrap_or("").to_string();
        tmux.wait_screen(s, "a newer snapshot", SCREEN_WAIT, |sc| {
            sc.lines().next().is_some_and(|h| h != header && h.contains("LINK OK"))
        });
    }
    daemon.assert_running("mimic run");
    for s in sessions {
        tmux.keys(s, &["q"]);
    }
    for s in sessions {
        tmux.assert_quit_clean(s);
    }
    // The daemon outlives its terminals.
    daemon.assert_running("mimic run after the terminals quit");
    daemon.stop_cleanly();
}

/// An idle terminal locks itself, hides the plant, and unlocks only with its user's own
/// secret; a wrong secret is refused on the lock screen.
#[test]
fn an_idle_terminal_locks_and_unlocks_with_the_users_secret() {
    let tmux = Tmux::new();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let me = support::daemon::me();
    let users = mimic::users::users_path(&data);
    mimic::users::Users::modify(&users, true, |u| {
        u.add("lena", "Lena Lock", mimic::users::Role::Operator, Some(&me), "lena-secret-1")?;
        Ok(())
    })
    .expect("users file");
    let out = mimic(&["user", "policy", "--idle-lock", "3s", "--data", p(&data)]);
    assert!(out.ok() && out.stdout.contains("idle lock 3s"), "mimic user policy: {out}");

    let s = "lock";
    tmux.start(s, &wrapped("", &["demo", "--data", p(&data)]));
    tmux.wait_screen(s, "the tag table", SCREEN_WAIT, |sc| sc.contains("P101.flow") && sc.contains("GOOD"));
    let locked = tmux.wait_screen(s, "the lock screen", SCREEN_WAIT, |sc| sc.contains("Locked"));
    assert!(!locked.contains("P101.") && !locked.contains("GOOD"), "values hidden:\n{locked}");
    assert!(locked.contains("Terminal of") && locked.contains("locked after 3s idle"), "{locked}");
    // keys other than Enter and q do nothing
    tmux.keys(s, &["2", "Tab"]);
    tmux.keys(s, &["Enter"]);
    tmux.wait_screen(s, "the unlock prompt", SCREEN_WAIT, |sc| sc.contains("Unlock terminal"));
    tmux.type_text(s, "not-my-secret");
    tmux.keys(s, &["Enter"]);
    let refused = tmux.wait_screen(s, "the refusal", SCREEN_WAIT, |sc| sc.contains("Not unlocked"));
    assert!(refused.contains("Locked") && !refused.contains("P101."), "{refused}");
    tmux.keys(s, &["Enter"]);
    tmux.wait_screen(s, "the unlock prompt again", SCREEN_WAIT, |sc| sc.contains("Unlock terminal"));
    tmux.type_text(s, "lena-secret-1");
    tmux.keys(s, &["Enter"]);
    let back =
        tmux.wait_screen(s, "the plant again", SCREEN_WAIT, |sc| sc.contains("P101.flow") && sc.contains("GOOD"));
    assert!(back.contains("[2 Tags]"), "back where the user left it:\n{back}");
    tmux.keys(s, &["q"]);
    tmux.assert_quit_clean(s);
    // the failed attempt and the unlock are in the audit log
    let audit = mimic(&["audit", "export", "--data", p(&data)]);
    assert!(audit.ok(), "{audit}");
    assert!(audit.stdout.contains("unlocked terminal"), "unlock audited:\n{}", audit.stdout);
    assert!(audit.stdout.contains("login_failed"), "wrong secret audited:\n{}", audit.stdout);
}

/// The what-if in the demo's terminal: `w` on the pump speed setpoint (a `[[loop]]`'s), a
/// value typed, the twin's prediction of the flow shown; Enter then asks for the write,
/// which waits for approval on the Recommendations screen.
#[test]
fn a_what_if_in_the_terminal_predicts_the_flow_then_asks_for_the_write() {
    let tmux = Tmux::new();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let s = "whatif";
    tmux.start(s, &wrapped("", &["demo", "--data", p(&data), "--faults", "none", "--rul-units", "3"]));
    tmux.wait_screen(s, "the tag table", SCREEN_WAIT, |sc| sc.contains("P101.flow") && sc.contains("GOOD"));
    tmux.keys(s, &["/"]);
    tmux.type_text(s, "speed_sp");
    tmux.keys(s, &["Enter"]);
    tmux.wait_screen(s, "only the speed setpoint", SCREEN_WAIT, |sc| {
        let rows = tag_rows(sc);
        rows.len() == 1 && rows[0].contains("P101.speed_sp")
    });
    tmux.keys(s, &["w"]);
    let form =
        tmux.wait_screen(s, "the what-if form", SCREEN_WAIT, |sc| sc.contains("What-if") && sc.contains("Value:"));
    assert!(form.contains("P101.speed_sp → P101.flow (band 62..78)"), "{form}");
    tmux.type_text(s, "80");
    tmux.keys(s, &["Enter"]);
    let answer = tmux.wait_screen(s, "the prediction", SCREEN_WAIT, |sc| sc.contains("at steady state"));
    assert!(
        answer.contains("What-if: P-101 discharge flow") && answer.contains("P101.speed_sp 75.0 → 80.0 %"),
        "{answer}"
    );
    let line = answer.lines().find(|l| l.contains("P101.flow now")).unwrap_or_else(|| panic!("{answer}"));
    // flow ∝ speed: about 69.7 → 74.4 m3/h
    let ss = number_after(line, " → ");
    assert!((ss - 74.4).abs() < 1.5, "{line}");
    assert!(answer.contains("inside its band") && answer.contains("time constant"), "{answer}");
    tmux.keys(s, &["Enter"]);
    tmux.wait_screen(s, "the request", SCREEN_WAIT, |sc| sc.contains("waits for approval"));
    tmux.keys(s, &["5"]);
    let recs = tmux.wait_screen(s, "the pending request", SCREEN_WAIT, |sc| {
        sc.contains("[5 Recommendations]") && sc.contains("P101.speed_sp") && sc.contains("pending")
    });
    assert!(recs.contains("manual entry"), "{recs}");
    tmux.keys(s, &["q"]);
    tmux.assert_quit_clean(s);
}

/// The Alarms screen's past in a real terminal against a real daemon: `H` shows the
/// journal's newest page (the demo's always-active alarm raised), a search narrows it, `K`
/// shows the figures beside their targets with the priority mix.
#[test]
fn the_alarm_history_and_figures_in_the_terminal() {
    let tmux = Tmux::new();
    let demo = DemoSite::start();
    let text = std::fs::read_to_string(&demo.site).expect("site")
        + "\n[[alarm]]\ntag = \"P101.suction_pressure\"\nkind = \"hi\"\nlimit = -1000.0\npriority = \"low\"\n";
    std::fs::write(&demo.site, text).expect("site");
    let mut daemon = Served::start(&demo.site, &demo.data);
    let s = "tui-history";
    tmux.start_sized(s, 100, 30, &wrapped("", &["tui", "--data", p(&demo.data)]));
    tmux.wait_screen(s, "the terminal", SCREEN_WAIT, |sc| sc.contains("LINK OK"));
    tmux.keys(s, &["4", "H"]);
    tmux.wait_screen(s, "the raised alarm in the history", SCREEN_WAIT, |sc| {
        sc.contains("History (newest first)")
            && sc.lines().any(|l| l.contains("raised") && l.contains("P101.suction_pressure"))
    });
    tmux.keys(s, &["/"]);
    tmux.type_text(s, "prio:critical");
    tmux.keys(s, &["Enter"]);
    tmux.wait_screen(s, "nothing at critical", SCREEN_WAIT, |sc| {
        sc.contains("search: prio:critical") && sc.contains("No alarm state change matches")
    });
    tmux.keys(s, &["K"]);
    tmux.wait_screen(s, "the figures", SCREEN_WAIT, |sc| {
        sc.contains("alarms per 10 min") && sc.contains("≤ 1 acc., ≤ 2 man.") && sc.contains("Priority mix")
    });
    tmux.keys(s, &["q"]);
    tmux.assert_quit_clean(s);
    daemon.stop_cleanly();
}
