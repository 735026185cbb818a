//! Operations against a running twin and after it stopped: the alarm journal
//! (`mimic alarms history`), the reports (`mimic report alarms`, `report shift`), and the audit
//! trail (`mimic audit export|verify|checkpoint`, the scheduled checkpoint copied to
//! `checkpoint_dir`) give the same answers either way; a tampered entry is found either way.
//! A terminal pages the alarm history and gets the figures through the socket, and what no
//! terminal asks (an absurd page size, a huge filter or period) is refused on its connection.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use mimic::alarms::journal::{Change, Page, Query, Record};
use mimic::audit::AUDIT;
use mimic::daemon::STORE_NAME;
use mimic::ipc::{Reply, Request};
use redb::{Database, ReadableTable};
use support::binary::{DemoSite, Served, mimic, mimic_ok};
use support::live::{Asker, Snapshots};
use support::{p, poll};

const LIMIT: Duration = Duration::from_secs(60);

/// The demo site with an alarm that is active at once (suction pressure above -1000),
/// a checkpoint every 2 s copied to `usb`.
fn site(demo: &DemoSite, usb: &Path) -> PathBuf {
    let text = std::fs::read_to_string(&demo.site).expect("site");
    let data_line = format!("data_dir = {:?}", p(&demo.data));
    assert!(text.contains(&data_line), "data_dir line");
    let text = text
        .replace(&data_line, &format!("{data_line}\ncheckpoint_every = \"2s\"\ncheckpoint_dir = {:?}", p(usb)))
        + "\n[[alarm]]\ntag = \"P101.suction_pressure\"\nkind = \"hi\"\nlimit = -1000.0\npriority = \"low\"\n";
    std::fs::write(&demo.site, text).expect("site");
    demo.site.clone()
}

fn history(site: &Path, extra: &[&str]) -> String {
    let mut args = vec!["alarms", "history", "--since", "1h", "--site", p(site)];
    args.extend(extra);
    mimic_ok(&args)
}

fn export(data: &Path) -> Vec<String> {
    mimic_ok(&["audit", "export", "--since", "1h", "--data", p(data)]).lines().map(String::from).collect()
}

#[test]
fn alarms_and_audit_answer_the_same_with_the_twin_running_and_stopped() {
    let demo = DemoSite::start();
    let usb = demo.tmp.path().join("usb");
    let site = site(&demo, &usb);
    let mut served = Served::start(&site, &demo.data);

    // the alarm is raised and journaled; the CLI reads the journal through the socket
    let raised = poll(LIMIT, || {
        let out = history(&site, &["--tag", "P101.suction_pressure", "--state", "raised", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json array");
        (!v.as_array().expect("array").is_empty()).then_some(v)
    })
    .expect("the alarm raised in the journal");
    let first = &raised[0];
    assert_eq!(first["place"]["tag"], "P101.suction_pressure");
    assert_eq!(first["priority"], "low");
    assert_eq!(first["change"], "raised");
    assert!(first["value"].is_number(), "{first}");
    // filters combine: the same tag at another priority is nothing
    let none = history(&site, &["--tag", "P101.suction_pressure", "--priority", "high", "--format", "csv"]);
    assert_eq!(none.lines().count(), 1, "only the header: {none}");
    let table = history(&site, &["--state", "raised"]);
    assert!(table.contains("P101.suction_pressure") && table.contains("raised"), "{table}");

    let report = mimic_ok(&["report", "alarms", "--since", "1h", "--site", p(&site), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&report).expect("report json");
    assert!(report["site"]["raised"].as_u64().unwrap_or(0) >= 1, "{report}");
    let text = mimic_ok(&["report", "alarms", "--since", "1h", "--site", p(&site)]);
    assert!(text.contains("alarms per 10 min") && text.contains("target"), "{text}");
    let shift = mimic_ok(&["report", "shift", "--since", "1h", "--site", p(&site), "--format", "markdown"]);
    assert!(shift.starts_with("# Shift report") && shift.contains("P101.suction_pressure HI"), "{shift}");
    // the demo's one device, up all along, its samples Good (the sim answers every poll)
    let device = shift.lines().find(|l| l.starts_with("- skid-plc: ")).unwrap_or_else(|| panic!("{shift}"));
    assert!(device.contains("never down") && device.contains("% Good of"), "{device}");

    // a scheduled checkpoint appears in the checkpoint directory
    let copied = usb.join("mimic-checkpoints.jsonl");
    poll(LIMIT, || copied.exists().then_some(())).expect("a scheduled checkpoint copied to checkpoint_dir");
    let lines = std::fs::read_to_string(&copied).expect("copy");
    assert!(lines.lines().count() >= 2, "a header and a checkpoint: {lines}");

    // audit while running, through the socket
    let verified = mimic_ok(&["audit", "verify", "--site", p(&site), "--checkpoints", p(&copied)]);
    assert!(verified.contains("audit chain OK") && verified.contains("exported checkpoints OK"), "{verified}");
    let out_file = demo.tmp.path().join("cps.jsonl");
    let cp = mimic_ok(&["audit", "checkpoint", "--data", p(&demo.data), "--out", p(&out_file)]);
    assert!(cp.contains("checkpoints written"), "{cp}");
    let running = export(&demo.data);
    assert!(!running.is_empty());
    let history_running = history(&site, &["--format", "csv"]);

    served.stop_cleanly();

    // stopped: the same entries (the daemon may have added some while stopping), the same
    // journal, the chain and the exported checkpoints verify from the file
    let stopped = export(&demo.data);
    assert_eq!(stopped[..running.len()], running[..], "export running == stopped");
    let history_stopped = history(&site, &["--format", "csv"]);
    let lines_running: Vec<&str> = history_running.lines().collect();
    assert_eq!(history_stopped.lines().take(lines_running.len()).collect::<Vec<_>>(), lines_running);
    let verified = mimic_ok(&["audit", "verify", "--data", p(&demo.data), "--checkpoints", p(&out_file)]);
    assert!(verified.contains("audit chain OK") && verified.contains("exported checkpoints OK"), "{verified}");

    // a tampered entry is found, stopped and running
    {
        let db = Database::open(demo.data.join(STORE_NAME)).expect("store");
        let txn = db.begin_write().expect("txn");
        {
            let mut t = txn.open_table(AUDIT).expect("entries");
            let mut b = t.get(2).expect("get").expect("entry 2").value().to_vec();
            let n = b.len();
            b[n - 40] ^= 1;
            t.insert(2, b.as_slice()).expect("insert");
        }
        txn.commit().expect("commit");
    }
    let o = mimic(&["audit", "verify", "--data", p(&demo.data)]);
    assert_eq!(o.code, Some(1), "{o}");
    assert!(o.stdout.contains("audit chain BROKEN at entry 2"), "{o}");
    let mut served = Served::start(&site, &demo.data);
    let o = mimic(&["audit", "verify", "--site", p(&site)]);
    assert_eq!(o.code, Some(1), "{o}");
    assert!(o.stdout.contains("audit chain BROKEN at entry 2"), "running: {o}");
    served.stop_cleanly();
}

/// Alarms active as soon as their tags have a value (limits far below any value), at three
/// priorities.
const ALWAYS: [(&str, &str); 4] =
    [("P101.suction_pressure", "low"), ("P101.speed", "medium"), ("FV101.position", "high"), ("P101.flow", "low")];

fn history_query(limit: u32, after: Option<(i64, u64)>) -> Request {
    let now = mimic::time::now_ms();
    let query =
        Query { from_ms: now - 3_600_000, to_ms: now + 60_000, after, newest_first: true, limit, ..Default::default() };
    Request::AlarmHistory { query }
}

fn page(reply: Reply) -> Page {
    match reply {
        Reply::AlarmHistory(p) => p,
        other => panic!("expected a page of the journal, got {other:?}"),
    }
}

fn refusal(reply: Reply) -> String {
    match reply {
        Reply::Error { message } => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_terminal_pages_the_alarm_history_and_gets_the_figures_through_the_socket() {
    let demo = DemoSite::start();
    let mut text = std::fs::read_to_string(&demo.site).expect("site");
    for (tag, priority) in ALWAYS {
        text += &format!("\n[[alarm]]\ntag = \"{tag}\"\nkind = \"hi\"\nlimit = -1000.0\npriority = \"{priority}\"\n");
    }
    std::fs::write(&demo.site, text).expect("site");
    let served = Served::start(&demo.site, &demo.data);
    let mut conn = Asker::connect(&served.sock);

    let raised = |p: &Page| p.records.iter().filter(|r| r.change == Change::Raised).count();
    let all = poll(LIMIT, || Some(page(conn.ask(&history_query(100, None)))).filter(|p| raised(p) >= ALWAYS.len()))
        .expect("the four alarms raised in the journal");
    assert!(all.next.is_none(), "one page holds them all");

    // page by page, one record a page: the same records, newest first, each once
    let mut paged = Vec::new();
    let mut after = None;
    for _ in 0..=all.records.len() + 1 {
        let p = page(conn.ask(&history_query(1, after)));
        assert!(p.records.len() <= 1, "a page of one");
        paged.extend(p.records);
        after = p.next;
        if after.is_none() {
            break;
        }
    }
    let seqs = |rs: &[Record]| rs.iter().map(|r| r.seq).collect::<Vec<_>>();
    assert_eq!(seqs(&paged)[..all.records.len()], seqs(&all.records)[..], "paging gives the same records in order");
    assert!(paged.windows(2).all(|w| (w[0].ts_ms, w[0].seq) > (w[1].ts_ms, w[1].seq)), "newest first");

    // filters combine, as the terminal's search reads them
    let now = mimic::time::now_ms();
    let s = mimic::alarms::search::parse("prio:high state:raised since:1h", now).expect("search");
    let query = Query { from_ms: s.from_ms, to_ms: s.to_ms, filter: s.filter, limit: 50, ..Default::default() };
    let high = page(conn.ask(&Request::AlarmHistory { query }));
    assert!(!high.records.is_empty());
    assert!(
        high.records.iter().all(|r| r.place.tag.as_deref() == Some("FV101.position") && r.change == Change::Raised)
    );

    // the figures of the last hour: the four annunciations, per priority, per 10 minutes
    let report = match conn.ask(&Request::AlarmReport { from_ms: now - 3_600_000, to_ms: now }) {
        Reply::AlarmReport(r) => r,
        other => panic!("expected figures, got {other:?}"),
    };
    assert!(report.site.raised >= 4, "{:?}", report.site);
    assert!(report.site.by_priority[0] >= 2 && report.site.by_priority[1] >= 1 && report.site.by_priority[2] >= 1);
    assert_eq!(report.per_10min.len(), 6);
    assert_eq!(report.per_10min.iter().map(|&n| u64::from(n)).sum::<u64>(), report.site.raised);

    // what no terminal asks is refused on its connection, by field; the connection goes on
    let e = refusal(conn.ask(&history_query(100_000, None)));
    assert_eq!(e, "alarm_history.limit: 100000 is not in 1..=5000");
    let mut huge = history_query(10, None);
    if let Request::AlarmHistory { query } = &mut huge {
        query.filter.text = Some("x".repeat(10_000));
    }
    assert_eq!(refusal(conn.ask(&huge)), "alarm_history.filter.text: longer than 256 characters");
    let e = refusal(conn.ask(&Request::AlarmReport { from_ms: i64::MIN, to_ms: i64::MAX }));
    assert!(e.starts_with("alarm_report: a period of") && e.ends_with("at most 400"), "{e}");
    let e = refusal(conn.ask_line(r#"{"req":"alarm_history","query":{"from_ms":0,"to_ms":1,"limit":-1}}"#));
    assert!(e.contains("invalid value: integer `-1`"), "{e}");
    let e = refusal(conn.ask(&Request::DeviceSummary { from_ms: 0, to_ms: now }));
    assert!(e.starts_with("device_summary: a period of") && e.ends_with("at most 31"), "{e}");
    assert_eq!(raised(&page(conn.ask(&history_query(100, None)))), raised(&all), "the connection still answers");

    // what a shift report asks: the alarms still active now, and each device's hour in one answer
    let active = page(conn.ask(&Request::AlarmsActive { at_ms: mimic::time::now_ms() + 1 }));
    let mut tags: Vec<&str> = active.records.iter().filter_map(|r| r.place.tag.as_deref()).collect();
    tags.sort_unstable();
    assert!(ALWAYS.iter().all(|(t, _)| tags.contains(t)), "{tags:?}");
    let devices = match conn.ask(&Request::DeviceSummary { from_ms: now - 3_600_000, to_ms: now }) {
        Reply::DeviceSummary { devices } => devices,
        other => panic!("expected the devices' summary, got {other:?}"),
    };
    assert_eq!(devices.len(), 1, "the demo's one device");
    assert!(devices[0].samples > 0 && devices[0].good > 0, "{:?}", devices[0]);
}

/// A flood (here more than 2 alarms in 20 s) holds back a low alarm and releases it when it
/// ends, still active: `mimic alarms history --state` shows both changes with their reasons,
/// and the figures count the flood and what it held back.
#[test]
fn a_flood_holds_back_a_low_alarm_journaled_and_releases_it_when_it_ends() {
    let demo = DemoSite::start();
    let mut text = std::fs::read_to_string(&demo.site).expect("site");
    for tag in ["P101.speed", "FV101.position", "P101.flow"] {
        text += &format!("\n[[alarm]]\ntag = \"{tag}\"\nkind = \"hi\"\nlimit = -1000.0\npriority = \"high\"\n");
    }
    text += "\n[[alarm]]\ntag = \"P101.suction_pressure\"\nkind = \"hi\"\nlimit = -1000.0\npriority = \"low\"\n";
    text += "on_delay = \"3s\"\n\n[site.flood]\nlimit = 2\nend_below = 2\nwindow = \"20s\"\n";
    std::fs::write(&demo.site, text).expect("site");
    let mut served = Served::start(&demo.site, &demo.data);
    let low = |state: &str| {
        let out = history(&demo.site, &["--tag", "P101.suction_pressure", "--state", state, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out).expect("json array");
        v.as_array().cloned().unwrap_or_default()
    };
    let note = |v: &serde_json::Value| v["note"].as_str().unwrap_or_default().to_string();

    let held = poll(LIMIT, || Some(low("flood_held")).filter(|v| !v.is_empty())).expect("the low alarm held back");
    assert_eq!((held[0]["priority"].as_str(), held[0]["state"].as_str()), (Some("low"), Some("normal")));
    assert!(note(&held[0]).starts_with("held back: alarm flood at utilities"), "{}", held[0]);
    assert!(low("raised").is_empty(), "held back: never raised (annunciated)");
    let table = history(&demo.site, &["--state", "suppressed"]);
    assert!(table.contains("P101.suction_pressure") && table.contains("flood_held"), "{table}");

    // the three high alarms leave the 20 s window: fewer than 2 remain, the flood is over
    let released =
        poll(LIMIT, || Some(low("released")).filter(|v| !v.is_empty())).expect("released by the flood's end");
    assert_eq!(released[0]["state"].as_str(), Some("unack_active"), "still active: annunciated");
    assert!(note(&released[0]).starts_with("released: alarm flood at utilities over, still active"), "{}", released[0]);
    assert!(released[0]["ts_ms"].as_i64() > held[0]["ts_ms"].as_i64());

    let report = mimic_ok(&["report", "alarms", "--since", "1h", "--site", p(&demo.site), "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&report).expect("report json");
    assert!(report["site"]["floods"].as_u64() >= Some(1), "{}", report["site"]);
    assert!(report["site"]["flood_held"].as_u64() >= Some(1), "{}", report["site"]);
    served.stop_cleanly();
}

/// A checkpoint directory that cannot be written (below a file: even root cannot create it)
/// raises the system alarm on the scheduled checkpoint; once a copy succeeds it clears.
#[test]
fn a_checkpoint_that_cannot_be_copied_raises_the_system_alarm_until_a_copy_succeeds() {
    let demo = DemoSite::start();
    let blocker = demo.tmp.path().join("not-a-dir");
    std::fs::write(&blocker, "a file where the directory would go").expect("blocker");
    let usb = blocker.join("usb");
    let text = std::fs::read_to_string(&demo.site).expect("site");
    let data_line = format!("data_dir = {:?}", p(&demo.data));
    let text =
        text.replace(&data_line, &format!("{data_line}\ncheckpoint_every = \"1s\"\ncheckpoint_dir = {:?}", p(&usb)));
    std::fs::write(&demo.site, text).expect("site");
    let mut served = Served::start(&demo.site, &demo.data);
    let mut snaps = Snapshots::attach(&served.sock);
    let copy_alarm = |s: &mimic::ipc::LiveSnapshot| {
        s.alarms.iter().find(|a| a.message.contains("audit checkpoints cannot be copied")).cloned()
    };
    let s = snaps.until(LIMIT, "the checkpoint-copy system alarm", |s| copy_alarm(s).is_some());
    let alarm = copy_alarm(&s).expect("alarm");
    assert!(alarm.message.contains("not-a-dir/usb"), "it names the directory: {}", alarm.message);
    assert_eq!(alarm.priority, mimic::ipc::LivePriority::Medium);

    // the directory can be made: the next scheduled copy succeeds and the alarm goes
    std::fs::remove_file(&blocker).expect("remove the blocker");
    snaps.until(LIMIT, "the alarm cleared by a successful copy", |s| copy_alarm(s).is_none());
    assert!(usb.join("mimic-checkpoints.jsonl").exists(), "the checkpoints copied");
    drop(snaps);
    served.stop_cleanly();
}
