//! The wall clock steps while `mimic run` polls `mimic sim`: back by an hour, then
//! forward by a day. The daemon runs under libfaketime (Debian package `faketime`) with
//! the offset in a file it re-reads on every call, and the monotonic clock left alone.
//! Polling must go on across both steps, each step must raise the system alarm and be
//! audited, the audit chain must verify, the store must open with every tag's stored
//! times never going back (no sample lands in the hour before the run started), and
//! queries must still work.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use mimic::ipc::{LiveAlarmState, LiveSnapshot, TagQuality};
use support::binary::{DemoSite, Served, assert_audit_verifies, mimic};
use support::live::{Snapshots, dev, served_timestamps};
use support::p;

const LIMIT: Duration = Duration::from_secs(40);
const TAG: &str = "P101.flow";
const CLOCK_ALARM_ID: u64 = u64::MAX - 1;
const HOUR_MS: i64 = 3_600_000;

/// libfaketime's preload library, or a failure saying how to get it.
fn libfaketime() -> PathBuf {
    let candidates = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
        "/usr/local/lib/faketime/libfaketime.so.1",
    ];
    candidates.iter().map(PathBuf::from).find(|p| p.is_file()).unwrap_or_else(|| {
        panic!(
            "test peer missing: libfaketime not found (looked in {candidates:?}); \
             install the Debian package `faketime` (./scripts/test.sh does)"
        )
    })
}

fn clock_alarm(s: &LiveSnapshot) -> Option<&mimic::ipc::LiveAlarm> {
    s.alarms.iter().find(|a| a.id == CLOCK_ALARM_ID)
}

/// Sets the daemon's clock offset (libfaketime syntax, seconds), atomically.
fn set_offset(file: &Path, offset: &str) {
    let tmp = file.with_extension("tmp");
    std::fs::write(&tmp, format!("{offset}\n")).expect("write offset");
    std::fs::rename(&tmp, file).expect("move offset into place");
}

#[test]
fn polling_order_and_audit_survive_wall_clock_steps() {
    let preload = libfaketime();
    let DemoSite { sim: _sim, tmp, site, data } = DemoSite::start();
    let offset = tmp.path().join("faketime");
    set_offset(&offset, "+0");
    let start_ms = mimic_drivers::now_ms();

    let mut daemon = Served::start_with(&site, &data, |cmd| {
        cmd.env("LD_PRELOAD", &preload)
            .env("FAKETIME_TIMESTAMP_FILE", &offset)
            .env("FAKETIME_NO_CACHE", "1")
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    });
    let sock = daemon.sock.clone();
    let mut snaps = Snapshots::attach(&sock);
    let before = snaps.until(LIMIT, "polls and commits", |s| dev(s, "skid-plc").polls >= 3 && s.store.samples > 0);
    assert!(clock_alarm(&before).is_none(), "no clock alarm before any step");
    assert!(before.now_ms >= start_ms - 1000, "the daemon's clock is not offset yet");

    // Back by an hour.
    set_offset(&offset, "-3600");
    let back = snaps.until(LIMIT, "the clock alarm of the step back", |s| {
        clock_alarm(s).is_some_and(|a| a.message.contains("stepped back by"))
    });
    let alarm = clock_alarm(&back).expect("alarm");
    assert!(back.now_ms < start_ms, "the daemon's clock went back: {} vs {start_ms}", back.now_ms);
    assert!(alarm.message.contains("Uncertain (time adjusted)"), "{alarm:?}");
    assert_eq!(alarm.state, LiveAlarmState::UnackActive);
    assert!(back.alarm_summary.unacked >= 1, "counted: {:?}", back.alarm_summary);
    let (polls, stored) = (dev(&back, "skid-plc").polls, back.store.samples);
    let after_back = snaps.until(LIMIT, "polling and storing after the step back", |s| {
        dev(s, "skid-plc").polls >= polls + 5 && s.store.samples > stored + 5
    });
    assert!(
        after_back.tags.iter().any(|t| t.name == TAG && t.quality == TagQuality::Good),
        "live values stay Good (only stored times are adjusted)"
    );

    // Forward by a day (from the hour back).
    set_offset(&offset, "+82800");
    let fwd = snaps.until(LIMIT, "the clock alarm of the step forward", |s| {
        clock_alarm(s).is_some_and(|a| a.message.contains("stepped forward by"))
    });
    assert!(fwd.now_ms > start_ms + 22 * HOUR_MS, "the daemon's clock went forward");
    assert!(
        !fwd.tags.iter().any(|t| t.name == TAG && t.stale),
        "a day forward does not make values stale (their age is real time)"
    );
    let (polls, stored) = (dev(&fwd, "skid-plc").polls, fwd.store.samples);
    snaps.until(LIMIT, "polling and storing after the step forward", |s| {
        dev(s, "skid-plc").polls >= polls + 5 && s.store.samples > stored + 5
    });
    // Queries still work through the running daemon.
    let served = served_timestamps(&sock, TAG).expect("history over the socket");
    assert!(served.is_sorted(), "served in time order");
    assert!(served.iter().any(|&t| t > start_ms + 22 * HOUR_MS), "samples after the step forward are served");

    daemon.stop_cleanly();

    // The audit chain verifies across the steps, and records both.
    assert_audit_verifies(&data);
    let x = mimic(&["audit", "export", "--since", "2000-01-01T00:00:00Z", "--data", p(&data)]);
    assert!(x.ok(), "audit export: {x}");
    let entries: Vec<serde_json::Value> =
        x.stdout.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let steps: Vec<&serde_json::Value> = entries.iter().filter(|e| e["action"] == "clock_step").collect();
    assert_eq!(steps.len(), 2, "two steps audited: {steps:#?}");
    assert!(steps[0]["detail"].as_str().is_some_and(|d| d.contains("stepped back by")), "{:?}", steps[0]);
    assert!(steps[1]["detail"].as_str().is_some_and(|d| d.contains("stepped forward by")), "{:?}", steps[1]);
    let seqs: Vec<u64> = entries.iter().map(|e| e["seq"].as_u64().expect("seq")).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "entries in sequence: {seqs:?}");
    // The step back's entry is stamped an hour before entries that precede it in the chain.
    let config_load = entries.iter().find(|e| e["action"] == "config_load").expect("config load entry");
    assert!(steps[0]["ts_ms"].as_i64() < config_load["ts_ms"].as_i64(), "stamps went back, the chain did not");

    // The store opens; the tag's stored times never went back: nothing before the run
    // started, the samples of the hour back stored after the last earlier one, flagged.
    let h = mimic(&[
        "history",
        TAG,
        "--data",
        p(&data),
        "--since",
        "2000-01-01T00:00:00Z",
        "--until",
        "2100-01-01T00:00:00Z",
        "--format",
        "csv",
    ]);
    assert!(h.ok(), "the store opens after the steps: {h}");
    let rows: Vec<(i64, String)> = h
        .stdout
        .lines()
        .skip(1)
        .map(|l| {
            let ts = l.split(',').next().and_then(|t| t.parse().ok()).expect("ts_ms column");
            (ts, l.to_string())
        })
        .collect();
    let early: Vec<&(i64, String)> = rows.iter().filter(|(t, _)| *t < start_ms - 1000).collect();
    assert!(early.is_empty(), "samples stored with times from before the run (went back): {early:?}");
    let adjusted: Vec<i64> =
        rows.iter().filter(|(_, l)| l.contains("time adjusted after a clock step")).map(|(t, _)| *t).collect();
    let normal_before = rows.iter().filter(|(t, l)| *t < start_ms + HOUR_MS && l.contains("Good")).count();
    let after_fwd = rows.iter().filter(|(t, _)| *t > start_ms + 22 * HOUR_MS).count();
    eprintln!(
        "{TAG}: {} stored; {normal_before} before the step back, {} adjusted after it, {after_fwd} after the step forward",
        rows.len(),
        adjusted.len()
    );
    assert!(normal_before >= 3, "samples before the step back: {}", h.stdout);
    assert!(adjusted.len() >= 5, "samples during the hour back are stored, flagged: {}", h.stdout);
    assert!(after_fwd >= 5, "samples after the step forward: {}", h.stdout);
    // Adjusted samples sit in the milliseconds after the last sample before the step.
    let first_adjusted = adjusted.first().copied().expect("adjusted");
    let last_before = rows.iter().map(|(t, _)| *t).filter(|&t| t < first_adjusted).max().expect("a sample before");
    assert!(
        adjusted.iter().all(|&t| t > last_before && t <= last_before + 10_000),
        "adjusted stamps follow the last one before the step: {last_before} then {adjusted:?}"
    );
}
