//! The `mimic` command line end to end: `check`, `run` refusing a bad site, a headless
//! `demo` and `history` over its store, and a live `run` daemon against `mimic sim`
//! (history over the socket, socket permissions, clean SIGTERM shutdown).

mod support;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use support::binary::{DemoSite, LIMIT, Served, cmd, demo_site_path, mimic};
use support::process::{Run, run_with_stdin};
use support::{p, poll};

/// A small site with exactly two problems: an unknown device on tag[1] and low > high
/// on tag[2]. Returns the text and the 1-based lines of the two offending values.
fn bad_site() -> (String, usize, usize) {
    let text = r#"[site]
name = "two mistakes"

[[device]]
name = "plc"
protocol = "modbus-tcp"
endpoint = "127.0.0.1:5020"
unit = 1

[[tag]]
name = "A.ok"
device = "plc"
address = "ir:0"

[[tag]]
name = "B.bad_device"
device = "nope"
address = "ir:1"

[[tag]]
name = "C.bad_limits"
device = "plc"
address = "ir:2"
low = 50.0
high = 20.0
"#;
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).expect("needle") + 1;
    (text.to_string(), line_of("device = \"nope\""), line_of("low = 50.0"))
}

/// Checks `out` holds exactly the two diagnostics of [`bad_site`] for `path`.
fn assert_two_diagnostics(out: &str, path: &Path, device_line: usize, low_line: usize, context: &Run) {
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    let diags: Vec<&str> = lines.iter().copied().filter(|l| l.starts_with(p(path))).collect();
    assert_eq!(diags.len(), 2, "expected exactly two `PATH:LINE:COL: field: message` lines: {context}");
    let parsed: Vec<(usize, usize, &str, &str)> = diags
        .iter()
        .map(|l| {
            let rest = l.strip_prefix(p(path)).unwrap().strip_prefix(':').unwrap_or_else(|| panic!("no `:` in {l}"));
            let mut it = rest.splitn(4, ':');
            let line: usize = it.next().unwrap().parse().unwrap_or_else(|e| panic!("line number in {l:?}: {e}"));
            let col: usize = it.next().unwrap().parse().unwrap_or_else(|e| panic!("column in {l:?}: {e}"));
            let field = it.next().unwrap_or_else(|| panic!("field in {l:?}")).trim();
            let msg = it.next().unwrap_or_else(|| panic!("message in {l:?}")).trim();
            assert!(col >= 1, "column is 1-based: {l}");
            (line, col, field, msg)
        })
        .collect();
    let dev = parsed.iter().find(|d| d.2 == "tag[1].device").unwrap_or_else(|| panic!("no tag[1].device: {context}"));
    assert_eq!(dev.0, device_line, "line of the unknown device: {context}");
    assert!(dev.3.contains("nope"), "message names the unknown device: {context}");
    let low = parsed.iter().find(|d| d.2 == "tag[2].low").unwrap_or_else(|| panic!("no tag[2].low: {context}"));
    assert_eq!(low.0, low_line, "line of low > high: {context}");
    assert!(low.3.contains("50") && low.3.contains("20"), "message names both limits: {context}");
}

#[test]
fn check_accepts_the_demo_site() {
    let site = demo_site_path();
    let r = mimic(&["check", p(&site)]);
    assert!(r.ok(), "check of the demo site: {r}");
    assert!(r.stdout.contains(": ok"), "prints ok: {r}");
    assert!(r.stdout.contains("devices") && r.stdout.contains("tags"), "prints counts: {r}");
}

#[test]
fn check_and_run_report_every_problem_with_its_position() {
    let tmp = tempfile::tempdir().unwrap();
    let (text, device_line, low_line) = bad_site();
    let path = tmp.path().join("bad.toml");
    std::fs::write(&path, text).unwrap();

    let r = mimic(&["check", p(&path)]);
    assert!(!r.ok(), "check of a bad site must fail: {r}");
    assert_two_diagnostics(&r.stdout, &path, device_line, low_line, &r);

    // `run` refuses the same file before starting anything.
    let data = tmp.path().join("data");
    let r = mimic(&["run", p(&path), "--data", p(&data)]);
    assert!(!r.ok(), "run of a bad site must fail: {r}");
    assert_two_diagnostics(&format!("{}\n{}", r.stdout, r.stderr), &path, device_line, low_line, &r);
    assert!(r.stderr.starts_with("mimic: 2 problem(s) in"), "the count comes first: {r}");
    assert!(r.stderr.contains("nothing was started"), "says nothing was started: {r}");
    assert!(!data.exists(), "run of a bad site created the data dir {}", data.display());

    // A missing file is an error too, not a panic.
    let r = mimic(&["check", p(&tmp.path().join("missing.toml"))]);
    assert!(!r.ok(), "check of a missing file must fail: {r}");
    assert!(!r.stderr.contains("panicked"), "no panic: {r}");
}

/// The number after `prefix` at the start of a line of the output (`samples stored: N`).
fn count_after(r: &Run, prefix: &str) -> u64 {
    r.stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `{prefix}N` line: {r}"))
}

/// The values of `mimic history ... --format csv` as (value, quality), checking the header.
fn csv_rows(r: &Run) -> Vec<(f64, String)> {
    let mut lines = r.stdout.lines();
    assert_eq!(lines.next(), Some("ts_ms,time,value,quality"), "csv header: {r}");
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.splitn(4, ',').collect();
            assert_eq!(cols.len(), 4, "4 columns in {l:?}");
            let ts: i64 = cols[0].parse().unwrap_or_else(|e| panic!("ts_ms in {l:?}: {e}"));
            assert!(ts > 1_600_000_000_000, "plausible epoch ms in {l:?}");
            assert!(cols[1].ends_with('Z') && cols[1].contains('T'), "RFC 3339 time in {l:?}");
            let v: f64 = cols[2].parse().unwrap_or_else(|e| panic!("value in {l:?}: {e}"));
            (v, cols[3].trim_matches('"').to_string())
        })
        .collect()
}

fn assert_plausible_flow(rows: &[(f64, String)], r: &Run) {
    assert!(rows.len() >= 2, "at least 2 samples: {r}");
    let good: Vec<f64> = rows.iter().filter(|(_, q)| q == "Good").map(|(v, _)| *v).collect();
    assert!(good.len() >= 2, "at least 2 Good samples: {r}");
    for v in good {
        assert!((20.0..=120.0).contains(&v), "implausible P101.flow {v} m³/h: {r}");
    }
}

#[test]
fn headless_demo_then_history() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let r = mimic(&["demo", "--headless", "--for", "3s", "--data", p(&data)]);
    assert!(r.ok(), "headless demo: {r}");
    assert!(count_after(&r, "samples stored: ") > 0, "samples stored > 0: {r}");
    assert!(count_after(&r, "device skid-plc: ") > 0, "skid-plc polled: {r}");
    assert!(!data.join("mimic.sock").exists(), "a headless demo leaves no socket");

    // The demo stores an hour of the plant's past before it starts: a window reaching past all of it
    // makes both queries see the same samples however much time passes between them (a `10m`
    // window moves with the clock and cut one sample off the second query on CI).
    let r = mimic(&["history", "P101.flow", "--data", p(&data), "--since", "1d", "--format", "csv"]);
    assert!(r.ok(), "history csv: {r}");
    let rows = csv_rows(&r);
    assert!(rows.len() >= 3600, "the demo's hour of past plus the live run: {} rows", rows.len());
    assert_plausible_flow(&rows, &r);

    let t = mimic(&["history", "P101.flow", "--data", p(&data), "--since", "1d", "--format", "table"]);
    assert!(t.ok(), "history table: {t}");
    let first = t.stdout.lines().next().unwrap_or("");
    assert!(first.contains("time (UTC)") && first.contains("P101.flow") && first.contains("quality"), "header: {t}");
    assert!(t.stdout.contains("Good"), "Good rows: {t}");
    assert!(t.stdout.trim_end().ends_with(&format!("{} samples", rows.len())), "sample count footer: {t}");

    let r = mimic(&["history", "NOPE", "--data", p(&data)]);
    assert!(!r.ok(), "unknown tag must fail: {r}");
    assert!(r.stderr.contains("NOPE"), "the error names the tag: {r}");
    assert!(!r.stderr.contains("panicked"), "no panic: {r}");

    let r = mimic(&["history", "P101.flow", "--data", p(&data), "--since", "garbage"]);
    assert!(!r.ok(), "bad --since must fail: {r}");
    assert!(r.stderr.contains("garbage"), "the error names the bad value: {r}");

    let empty = tmp.path().join("empty");
    let r = mimic(&["history", "P101.flow", "--data", p(&empty)]);
    assert!(!r.ok(), "no store must fail: {r}");
    assert!(r.stderr.contains("no store"), "says there is no store: {r}");
}

#[test]
fn live_daemon_serves_history_and_stops_cleanly() {
    let DemoSite { sim: _sim, tmp: _tmp, site, data } = DemoSite::start();
    let check = mimic(&["check", p(&site)]);
    assert!(check.ok(), "the rewritten site is valid: {check}");

    let mut daemon = Served::start(&site, &data);
    let sock = daemon.sock.clone();

    let meta = std::fs::metadata(&sock).unwrap();
    assert!(meta.file_type().is_socket(), "{} is a socket", sock.display());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660, "socket mode is owner/group only");

    // While the daemon holds the store, history goes over the socket. Wait for samples.
    let mut last = None;
    let rows = poll(Duration::from_secs(20), || {
        let r = mimic(&["history", "P101.flow", "--data", p(&data), "--since", "1m", "--format", "csv"]);
        assert!(r.ok(), "history while the daemon runs: {r}");
        let rows = csv_rows(&r);
        let enough = rows.iter().filter(|(_, q)| q == "Good").count() >= 2;
        last = Some(r);
        enough.then_some(rows)
    });
    let last = last.unwrap();
    let rows = rows.unwrap_or_else(|| panic!("fewer than 2 Good samples after 20 s: {last}"));
    assert_plausible_flow(&rows, &last);
    let live = mimic(&["history", "P101.flow", "--data", p(&data), "--since", "1m"]);
    assert!(live.ok(), "history table while the daemon runs: {live}");
    let unknown = mimic(&["history", "NOPE", "--data", p(&data), "--since", "1m"]);
    assert!(!unknown.ok(), "unknown tag via the daemon must fail: {unknown}");
    assert!(unknown.stderr.contains("NOPE"), "names the tag: {unknown}");

    // User management while the daemon holds the store: the daemon audits the change.
    let mut add = cmd();
    add.args(["user", "add", "una", "--full-name", "Una User", "--role", "viewer", "--secret-stdin"]);
    add.args(["--data", p(&data)]);
    let added = run_with_stdin(add, "una-secret-1\n", LIMIT);
    assert!(added.ok() && added.stdout.contains("1 user-management change(s) audited"), "{added}");

    daemon.stop_cleanly();
    assert!(!sock.exists(), "socket removed on shutdown");
    let audit = mimic(&["audit", "export", "--since", "1h", "--data", p(&data)]);
    assert!(audit.stdout.lines().any(|l| l.contains("user_add") && l.contains("user una added")), "{audit}");

    // Straight from the store now; the daemon's samples are all there.
    let r = mimic(&["history", "P101.flow", "--data", p(&data), "--since", "10m", "--format", "csv"]);
    assert!(r.ok(), "history from the store after shutdown: {r}");
    let after = csv_rows(&r);
    assert_plausible_flow(&after, &r);
    assert!(after.len() >= rows.len(), "store has at least what the daemon served ({} < {})", after.len(), rows.len());
}
