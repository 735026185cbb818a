//! mimic's own OPC UA server against an independent client (asyncua, in
//! tests/peers/opcua_client.py): the demo site polled from `mimic sim`, browsed, read with
//! statuses, subscribed to; history raw (pages, both directions, bounds) and processed
//! over what the daemon stored from the simulator, checked against the raw values;
//! writes that only file requests (no device write until approved), a viewer's and an
//! anonymous write refused, a wrong password refused, counted and audited; alarm events
//! of a limit crossed through the simulator, acknowledged over OPC UA as the session's user.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use mimic::config::Site;
use mimic::daemon::Daemon;
use mimic::ipc::{Act, LiveAlarmState};
use mimic::users::{Role, Users, users_path};
use serde_json::Value;
use support::binary::{Sim, mimic_ok, write_demo_site_polling};
use support::daemon::{act, me, start_with, wait_for};
use support::free_port;
use support::peers::python_cmd;
use support::process::run;

const OLGA: &str = "olga:olga-secret-1";
const VERA: &str = "vera:vera-secret-1";
const ERIK_SECRET: &str = "erik-secret-1";
const SPEED: &str = "P101.speed_sp";
const LEVEL: &str = "T100.level";
/// Monitored items one subscription may hold.
const MAX_ITEMS: usize = 1_500;
/// The asset folder of the speed setpoint (its opaque NodeId's text).
const P101_FOLDER: &str = "folder:Demo plant - pump skid/utilities/water-supply/P-101";
/// An alarm of the test site: the speed setpoint over 90 %.
const SPEED_LIMIT: f64 = 90.0;
const SPEED_MESSAGE: &str = "Pump speed setpoint very high";
/// A noisy measurement: a new sample on most polls.
const FLOW: &str = "P101.flow";

struct Rig {
    d: Daemon,
    dir: tempfile::TempDir,
    _sim: Sim,
    data: PathBuf,
    url: String,
    ns: String,
}

/// The demo site polled every 200 ms from `mimic sim`, with an OPC UA server on a free
/// port (None and Basic256Sha256 endpoints, anonymous viewers); users olga (operator),
/// vera (viewer) and erik (engineer, this test's OS account: he approves).
async fn rig() -> Rig {
    let sim = Sim::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let site_path = write_demo_site_polling(dir.path(), &sim.endpoint(), &data, "200ms");
    let port = free_port();
    let mut text = std::fs::read_to_string(&site_path).expect("site");
    text.push_str(&format!(
        "\n[opcua_server]\nbind = \"127.0.0.1:{port}\"\nsecurity = [\"none\", \"basic256sha256-sign-encrypt\"]\n\
         anonymous = \"viewer\"\nmax_sessions = 10\nmax_monitored_items = {MAX_ITEMS}\n\n\
         [[alarm]]\ntag = \"{SPEED}\"\nkind = \"hi\"\nlimit = {SPEED_LIMIT}\npriority = \"high\"\n\
         message = \"{SPEED_MESSAGE}\"\n"
    ));
    std::fs::write(&site_path, &text).expect("site");
    std::fs::create_dir_all(&data).expect("data dir");
    let me = me();
    Users::modify(&users_path(&data), true, |u| {
        u.add("olga", "Olga Operator", Role::Operator, Some("olga-account"), "olga-secret-1")?;
        u.add("vera", "Vera Viewer", Role::Viewer, Some("vera-account"), "vera-secret-1")?;
        u.add("erik", "Erik Engineer", Role::Engineer, Some(&me), ERIK_SECRET)?;
        Ok(())
    })
    .expect("users file");
    let site = Site::parse(&site_path, &text).expect("site valid");
    let ns = mimic::north::opcua::namespace_uri(&site);
    let d = start_with(&text, &site_path, &data, false).await;
    wait_for(&d, "the tags read Good", |s| s.tags.iter().all(|t| t.value.is_some())).await;
    let listening = tokio::task::spawn_blocking(move || {
        support::poll(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).ok())
    });
    assert!(listening.await.expect("poll").is_some(), "the OPC UA server listens on {port}");
    Rig { d, dir, _sim: sim, data, url: format!("opc.tcp://127.0.0.1:{port}/"), ns }
}

/// Runs the client (bounded), returns its JSON answer.
async fn client(r: &Rig, user: Option<&str>, args: &[&str]) -> Value {
    let mut a: Vec<String> = vec!["--url".into(), r.url.clone(), "--ns".into(), r.ns.clone()];
    if let Some(u) = user {
        a.extend(["--user".into(), u.into()]);
    }
    a.extend(args.iter().map(|s| s.to_string()));
    let out = tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        run(python_cmd("opcua_client.py", &a), Duration::from_secs(120))
    })
    .await
    .expect("client ran");
    let line = out.stdout.lines().last().unwrap_or_default().to_string();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("client answer not JSON ({e}):\n{out}"))
}

fn now_ms() -> i64 {
    mimic_drivers::now_ms()
}

fn values(v: &Value) -> Vec<(i64, f64, String)> {
    v["values"]
        .as_array()
        .unwrap_or_else(|| panic!("no values: {v}"))
        .iter()
        .map(|x| (x["ts"].as_i64().unwrap_or(0), x["value"].as_f64().unwrap_or(f64::NAN), x["status"].to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn browse_read_subscribe_and_history_over_simulated_data() {
    let r = rig().await;
    let t0 = now_ms();

    let b = client(&r, Some(OLGA), &["browse"]).await;
    let paths: Vec<&str> = b["nodes"].as_array().expect("nodes").iter().filter_map(|n| n["path"].as_str()).collect();
    let site = "Objects/Demo plant - pump skid";
    for want in [
        format!("{site}/utilities/water-supply/P-101/{SPEED}"),
        format!("{site}/utilities/water-supply/P-101/{SPEED}/EURange"),
        format!("{site}/utilities/water-supply/T-100/{LEVEL}/EngineeringUnits"),
    ] {
        assert!(paths.contains(&want.as_str()), "{want} not browsed; got {paths:#?}");
    }

    // mimic's own OPC UA client command finds the same tree
    let pw = r.dir.path().join("olga.password");
    std::fs::write(&pw, "olga-secret-1").expect("password file");
    let (url, pki) = (r.url.clone(), r.dir.path().join("browse-pki"));
    let tree = tokio::task::spawn_blocking(move || {
        let args = [url.as_str(), "--pki", support::p(&pki), "--user", "olga", "--password-file", support::p(&pw)];
        mimic_ok(&[&["browse"], &args[..]].concat())
    })
    .await
    .expect("mimic browse");
    let ns_index = b["ns_index"].as_u64().expect("ns index");
    for want in [
        "Demo plant - pump skid  ns=".to_string(),
        "water-supply  ns=".to_string(),
        format!("{SPEED}  ns={ns_index};s={SPEED}  Double rw  = "),
        format!("{LEVEL}  ns={ns_index};s={LEVEL}  Double r  = "),
        "[0 .. 100]".to_string(),
    ] {
        assert!(tree.contains(&want), "mimic browse lacks {want:?}:\n{tree}");
    }

    // a folder's references two at a time through BrowseNext: the same, in the same order
    let paged = client(&r, Some(OLGA), &["pages", P101_FOLDER, "2"]).await;
    let whole = paged["whole"].as_array().expect("whole");
    assert!(whole.iter().any(|n| n == SPEED) && whole.iter().any(|n| n == "water-supply"), "{paged}");
    assert_eq!(paged["paged"], paged["whole"], "{paged}");
    assert_eq!(paged["pages"].as_u64(), Some(whole.len().div_ceil(2) as u64), "{paged}");

    // a browse path to a tag and to its property (TranslateBrowsePathsToNodeIds)
    let path = ["Demo plant - pump skid", "utilities", "water-supply", "P-101", SPEED];
    let child = client(&r, Some(OLGA), &[&["child"][..], &path].concat()).await;
    assert_eq!(child["node"], format!("ns={ns_index};s={SPEED}"), "{child}");
    let units = client(&r, Some(OLGA), &[&["child"][..], &path, &["EngineeringUnits"]].concat()).await;
    assert!(units["node"].as_str().is_some_and(|n| n.starts_with(&format!("ns={ns_index};b="))), "{units}");

    let read = client(&r, Some(OLGA), &["read", SPEED, LEVEL]).await;
    let sp = &read[SPEED];
    assert_eq!(sp["status"], "Good", "{read}");
    assert_eq!(sp["data_type"], "i=11", "Double: {read}");
    assert_eq!(sp["eu_range"], serde_json::json!([0.0, 100.0]));
    assert_eq!(sp["units"], "%");
    assert_eq!(sp["historizing"], true);
    assert_eq!(sp["description"], "Pump speed setpoint");
    let (access, user_access) = (sp["access"].as_u64().unwrap_or(0), sp["user_access"].as_u64().unwrap_or(0));
    assert_eq!(access & 0b111, 0b111, "CurrentRead | CurrentWrite | HistoryRead: {read}");
    assert_eq!(user_access & 0b10, 0b10, "an operator may write: {read}");
    let lv = &read[LEVEL];
    assert_eq!(lv["access"].as_u64().unwrap_or(0) & 0b10, 0, "a measurement is not writable: {read}");
    assert!(lv["ts"].as_i64().unwrap_or(0) > t0 - 60_000, "SourceTimestamp is the sample's time: {read}");
    let anon = client(&r, None, &["read", SPEED]).await;
    assert_eq!(anon[SPEED]["user_access"].as_u64().unwrap_or(9) & 0b10, 0, "a viewer never sees CurrentWrite");

    let sub = client(&r, Some(VERA), &["subscribe", FLOW, "3"]).await;
    let changes = sub["changes"].as_array().expect("changes");
    assert!(changes.len() >= 3, "the flow changes on most polls: {sub}");
    assert!(changes.iter().all(|c| c["status"] == "Good"), "{sub}");

    // history: what the daemon stored from the simulator, through the store
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (from, to) = (t0 - 60_000, now_ms() - 1_500);
    let all = client(&r, Some(VERA), &["raw", FLOW, &from.to_string(), &to.to_string(), "0", "false"]).await;
    let all_v = values(&all);
    assert!(all_v.len() >= 10, "{all}");
    assert!(all_v.windows(2).all(|w| w[0].0 < w[1].0), "forward, in time order");
    let paged = client(&r, Some(VERA), &["raw", FLOW, &from.to_string(), &to.to_string(), "4", "false"]).await;
    assert_eq!(values(&paged), all_v, "four at a time through continuation points");
    assert_eq!(paged["pages"].as_u64(), Some(all_v.len().div_ceil(4) as u64), "{paged}");
    let back =
        client(&r, Some(VERA), &["raw", FLOW, &(to - 1).to_string(), &(from - 1).to_string(), "0", "false"]).await;
    let mut rev = values(&back);
    rev.reverse();
    assert_eq!(rev, all_v, "start after end: the same values, newest first");
    let (first, last) = (all_v[0].0, all_v[all_v.len() - 1].0);
    let bounded =
        client(&r, Some(VERA), &["raw", FLOW, &(first - 1).to_string(), &(last + 1).to_string(), "0", "true"]).await;
    let bv = values(&bounded);
    assert!(bv[0].0 < first || bv[0].2.contains("BadBoundNotFound"), "a start bound: {bounded}");

    // processed: one average per 2 s, as computed from the raw values
    let (p0, p1) = (first - first.rem_euclid(2_000), last - last.rem_euclid(2_000));
    let avg = client(&r, Some(VERA), &["processed", FLOW, &p0.to_string(), &p1.to_string(), "2000", "Average"]).await;
    let got = values(&avg);
    assert_eq!(got.len() as i64, (p1 - p0) / 2_000, "{avg}");
    for (ts, v, status) in &got {
        let inside: Vec<f64> = all_v.iter().filter(|(t, ..)| t >= ts && *t < ts + 2_000).map(|x| x.1).collect();
        if inside.is_empty() {
            assert!(status.contains("BadNoData"), "{avg}");
            continue;
        }
        let want = inside.iter().sum::<f64>() / inside.len() as f64;
        assert!((v - want).abs() < 1e-9, "average at {ts}: {v} vs {want} from {inside:?}");
    }
    // start after end: time runs backwards, intervals (t - 2 s, t] newest first
    let back = client(&r, Some(VERA), &["processed", FLOW, &p1.to_string(), &p0.to_string(), "2000", "Count"]).await;
    let times: Vec<i64> = values(&back).iter().map(|x| x.0).collect();
    assert_eq!(times, (0..got.len() as i64).map(|i| p1 - i * 2_000).collect::<Vec<_>>(), "{back}");
    let back_n: f64 = values(&back).iter().map(|x| x.1).sum();
    let raw_back = all_v.iter().filter(|(t, ..)| *t > p0 && *t <= p1).count();
    assert_eq!(back_n as usize, raw_back, "{back}");
    let count = client(&r, Some(VERA), &["processed", FLOW, &p0.to_string(), &p1.to_string(), "2000", "Count"]).await;
    let n: f64 = values(&count).iter().map(|x| x.1).sum();
    let raw_n = all_v.iter().filter(|(t, ..)| *t >= p0 && *t < p1).count();
    assert_eq!(n as usize, raw_n, "{count}");
    // Maximum: each interval's largest raw value, at the time of that sample
    let max = client(&r, Some(VERA), &["processed", FLOW, &p0.to_string(), &p1.to_string(), "2000", "Maximum"]).await;
    let got_max = values(&max);
    assert_eq!(got_max.len(), got.len(), "{max}");
    for (i, (ts, v, status)) in got_max.iter().enumerate() {
        let start = p0 + i as i64 * 2_000;
        let inside: Vec<&(i64, f64, String)> =
            all_v.iter().filter(|(t, ..)| *t >= start && *t < start + 2_000).collect();
        let Some(want) = inside.iter().map(|x| x.1).reduce(f64::max) else {
            assert!(status.contains("BadNoData"), "{max}");
            continue;
        };
        assert_eq!(*v, want, "maximum of [{start}, +2 s): {max}");
        assert!(inside.iter().any(|x| x.0 == *ts && x.1 == want), "at the time of the extreme: {max}");
    }

    let at = client(&r, Some(VERA), &["attime", FLOW, &first.to_string(), &(first + 1).to_string()]).await;
    let av = values(&at);
    assert_eq!(av[0].1, all_v[0].1, "a stored time answers its sample: {at}");
    let ((t0, v0, _), (t1, v1, _)) = (&all_v[0], &all_v[1]);
    let line = v0 + (v1 - v0) * (first + 1 - t0) as f64 / (t1 - t0) as f64;
    assert!((av[1].1 - line).abs() < 1e-9, "between two samples, on the line between them ({line}): {at}");

    let wrong = client(&r, Some(VERA), &["raw", FLOW, "-", "-", "0", "false"]).await;
    assert!(wrong["status"].as_str().unwrap_or("").contains("BadInvalidTimestampArgument"), "{wrong}");
    r.d.shutdown().await;
}

fn failed_attempts(data: &Path, user: &str) -> u32 {
    Users::load(&users_path(data)).expect("users").get(user).expect("user").failed_attempts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_wait_for_approval_and_logins_are_checked() {
    let r = rig().await;

    let wrong = client(&r, Some("olga:not-her-secret"), &["read", SPEED]).await;
    assert!(wrong["error"].as_str().is_some(), "a wrong password is refused: {wrong}");
    assert_eq!(failed_attempts(&r.data, "olga"), 1, "and counted towards the lock-out: {wrong}");
    let nobody = client(&r, Some("mallory:x"), &["read", SPEED]).await;
    assert!(nobody["error"].as_str().is_some(), "{nobody}");

    let before =
        wait_for(&r.d, "a speed setpoint", |s| s.tags.iter().any(|t| t.name == SPEED && t.value.is_some())).await;
    let sp0 = before.tags.iter().find(|t| t.name == SPEED).and_then(|t| t.value).expect("speed");
    let target = if (sp0 - 60.0).abs() < 1.0 { 62.0 } else { 60.0 };

    let viewer = client(&r, Some(VERA), &["write", SPEED, &target.to_string()]).await;
    assert_eq!(viewer["status"], "BadUserAccessDenied", "{viewer}");
    let anon = client(&r, None, &["write", SPEED, &target.to_string()]).await;
    assert_eq!(anon["status"], "BadUserAccessDenied", "{anon}");
    let out = client(&r, Some(OLGA), &["write", SPEED, "150"]).await;
    assert_eq!(out["status"], "BadOutOfRange", "{out}");
    let ro = client(&r, Some(OLGA), &["write", LEVEL, "1"]).await;
    assert_eq!(ro["status"], "BadNotWritable", "{ro}");
    assert_eq!(failed_attempts(&r.data, "olga"), 0, "her good login reset the count");

    let ok = client(&r, Some(OLGA), &["write", SPEED, &target.to_string()]).await;
    assert_eq!(ok["status"], "GoodCompletesAsynchronously", "{ok}");
    let pending = wait_for(&r.d, "the pending request", |s| s.requests.iter().any(|q| q.tag == SPEED)).await;
    let req = pending.requests.iter().find(|q| q.tag == SPEED).expect("request");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let still = client(&r, Some(VERA), &["read", SPEED]).await;
    assert!(
        (still[SPEED]["value"].as_f64().unwrap_or(f64::NAN) - sp0).abs() < 0.5,
        "no write before approval: {still}"
    );

    let id = req.id;
    act(&r.d, &me(), Act::Approve { id, secret: ERIK_SECRET.into() }).await.expect("erik approves");
    wait_for(&r.d, "the written setpoint read back", |s| {
        s.tags.iter().any(|t| t.name == SPEED && t.value.is_some_and(|v| (v - target).abs() < 0.05))
    })
    .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after = client(&r, Some(VERA), &["read", SPEED]).await;
    assert!((after[SPEED]["value"].as_f64().unwrap_or(f64::NAN) - target).abs() < 0.05, "{after}");

    let audit = mimic::audit::newest(r.d.historian.read().expect("store").database(), 500).expect("audit");
    let text: Vec<String> =
        audit.iter().map(|e| format!("{} {} {}", e.note.user, e.note.action.name(), e.note.detail)).collect();
    assert!(text.iter().any(|t| t.starts_with("olga login_failed")), "{text:#?}");
    assert!(text.iter().any(|t| t.contains("OPC UA session as operator")), "{text:#?}");
    assert!(text.iter().any(|t| t.starts_with("olga write_requested")), "{text:#?}");
    assert!(text.iter().any(|t| t.starts_with("vera ") && t.contains("BadUserAccessDenied")), "{text:#?}");
    r.d.shutdown().await;
}

/// A setpoint written through the simulator (requested by olga, approved by erik) and
/// read back.
async fn drive(r: &Rig, tag: &str, value: f64) {
    act(&r.d, "olga-account", Act::RequestWrite { tag: tag.into(), value }).await.expect("olga asks");
    let mine = |q: &&mimic::ipc::LiveRequest| q.tag == tag && q.proposed == value;
    let s = wait_for(&r.d, "the request", |s| s.requests.iter().any(|q| mine(&q))).await;
    let id = s.requests.iter().filter(mine).map(|q| q.id).max().expect("request");
    act(&r.d, &me(), Act::Approve { id, secret: ERIK_SECRET.into() }).await.expect("erik approves");
    wait_for(&r.d, "the read-back", |s| {
        s.tags.iter().any(|t| t.name == tag && t.value.is_some_and(|v| (v - value).abs() < 0.05))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alarm_events_and_acknowledge() {
    let r = rig().await;
    // olga subscribes to the Server object's events and acknowledges the first alarm
    let a = ["--url", &r.url, "--ns", &r.ns, "--user", OLGA, "events", "40", "ack", SPEED, "folder", P101_FOLDER];
    let (peer, lines) = support::peers::Peer::spawn("asyncua events", python_cmd("opcua_client.py", &a));
    let first = lines.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("{}", peer.stderr()));
    assert!(first.contains("subscribed"), "{first}");

    drive(&r, SPEED, SPEED_LIMIT + 5.0).await;
    wait_for(&r.d, "the alarm", |s| s.alarms.iter().any(|x| x.place.tag == SPEED)).await;
    wait_for(&r.d, "the acknowledgement from OPC UA", |s| {
        s.alarms.iter().any(|x| x.place.tag == SPEED && x.state == LiveAlarmState::AckActive)
    })
    .await;
    drive(&r, SPEED, 60.0).await;
    let line = tokio::task::spawn_blocking(move || lines.recv_timeout(Duration::from_secs(90)))
        .await
        .expect("events")
        .unwrap_or_else(|_| panic!("no events answer: {}", peer.stderr()));
    let out: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("events not JSON ({e}): {line}"));
    assert_eq!(out["ack"], "Good", "{out}");
    let events: Vec<&Value> =
        out["events"].as_array().expect("events").iter().filter(|e| e["source"] == SPEED).collect();
    let states: Vec<(&str, &str)> =
        events.iter().map(|e| (e["active"].as_str().unwrap_or(""), e["acked"].as_str().unwrap_or(""))).collect();
    assert_eq!(
        states,
        [("True", "False"), ("True", "True"), ("False", "True")],
        "raised, acknowledged, returned: {out}"
    );
    assert!(events.iter().all(|e| e["severity"] == 700), "high priority is severity 700: {out}");
    let at_asset: Vec<&Value> =
        out["folder_events"].as_array().expect("folder events").iter().filter(|e| e["source"] == SPEED).collect();
    assert_eq!(at_asset, events, "the asset folder notifies the same events: {out}");
    assert_eq!(events[0]["message"], SPEED_MESSAGE, "{out}");
    assert!(events[1]["message"].as_str().unwrap_or("").contains("olga"), "who acknowledged: {out}");

    // a viewer may not; an acknowledged alarm is not acknowledged twice; junk is no event
    let id = out["acked_event"].as_str().expect("event id");
    let vera = client(&r, Some(VERA), &["ack", id]).await;
    assert_eq!(vera["status"], "BadUserAccessDenied", "{vera}");
    let again = client(&r, Some(OLGA), &["ack", id]).await;
    assert_eq!(again["status"], "BadConditionBranchAlreadyAcked", "{again}");
    let junk = client(&r, Some(OLGA), &["ack", "00ff"]).await;
    assert_eq!(junk["status"], "BadEventIdUnknown", "{junk}");

    let audit = mimic::audit::newest(r.d.historian.read().expect("store").database(), 500).expect("audit");
    let text: Vec<String> =
        audit.iter().map(|e| format!("{} {} {}", e.note.user, e.note.action.name(), e.note.detail)).collect();
    assert!(text.iter().any(|t| t.starts_with("olga alarm_ack")), "audited as olga's: {text:#?}");
    r.d.shutdown().await;
}

/// The certificate files in a folder of the server's PKI.
fn certificates(r: &Rig, folder: &str) -> Vec<PathBuf> {
    let dir = r.data.join("opcua-server-pki").join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "der"))
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn client_certificates_untrusted_refused_then_trusted() {
    let r = rig().await;
    let pki = r.dir.path().join("client-pki");
    let cert = pki.to_str().expect("utf-8 path");
    assert!(certificates(&r, "rejected").is_empty() && certificates(&r, "trusted").is_empty());

    let refused = client(&r, Some(OLGA), &["--cert", cert, "read", SPEED]).await;
    assert!(refused["error"].is_string(), "an unknown client certificate is refused: {refused}");
    let rejected = certificates(&r, "rejected");
    assert_eq!(rejected.len(), 1, "and kept in rejected/ for an engineer to trust: {rejected:?}");

    // trusting it: moved from rejected/ to trusted/
    let name = rejected[0].file_name().expect("file name");
    std::fs::rename(&rejected[0], r.data.join("opcua-server-pki/trusted").join(name)).expect("trust");
    let ok = client(&r, Some(OLGA), &["--cert", cert, "read", SPEED]).await;
    assert_eq!(ok[SPEED]["status"], "Good", "Basic256Sha256 sign-and-encrypt with a trusted certificate: {ok}");
    assert!(certificates(&r, "rejected").is_empty(), "nothing more refused");

    // another certificate is still refused while the trusted one goes on working
    let other = r.dir.path().join("other-pki");
    let refused = client(&r, Some(OLGA), &["--cert", other.to_str().expect("utf-8"), "read", SPEED]).await;
    assert!(refused["error"].is_string(), "{refused}");
    assert_eq!(certificates(&r, "rejected").len(), 1);
    r.d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_requests_get_bad_statuses_and_the_server_carries_on() {
    let r = rig().await;
    let n = (MAX_ITEMS + 700).to_string();
    let h = client(&r, Some(VERA), &["hostile", FLOW, &n]).await;
    // 5,000 nodes is past the decoder's array limit (1,000 per call is the most served)
    let huge = h["huge_browse"].as_str().unwrap_or("");
    assert!(["BadDecodingError", "BadTooManyOperations"].contains(&huge), "{h}");
    // a call that would pass the limit is refused whole; the subscription keeps what it had
    let (good, over) = (
        h["monitored"]["Good"].as_u64().unwrap_or(0),
        h["monitored"]["BadTooManyMonitoredItems"].as_u64().unwrap_or(0),
    );
    assert!(good <= MAX_ITEMS as u64 && good >= 1_000, "{h}");
    assert_eq!(good + over, MAX_ITEMS as u64 + 700, "every item answered: {h}");
    // ten years: what there is, in bounded pages
    assert_eq!(h["raw_10y"]["status"], "Good", "{h}");
    assert!(h["raw_10y"]["values"].as_u64().unwrap_or(0) > 0, "{h}");
    assert_eq!(h["processed_10y"]["status"], "Good", "{h}");
    assert_eq!(h["processed_10y"]["values"], 10_000, "one page of averages: {h}");
    assert_eq!(h["processed_10y"]["continuation"], true, "{h}");
    assert_eq!(h["released_cp"], "BadContinuationPointInvalid", "{h}");
    assert_eq!(h["forged_cp"], "BadContinuationPointInvalid", "{h}");
    for bad in ["unknown_tag", "foreign_ns"] {
        assert_eq!(h[bad]["read"], "BadNodeIdUnknown", "{h}");
        assert_eq!(h[bad]["history"], "BadNodeIdUnknown", "{h}");
    }
    // refused with a Bad status (BadDecodingError), or the connection closed first; never
    // a timeout or Good
    let oversized = h["oversized_browse"].as_str().unwrap_or("");
    assert!(
        oversized.starts_with("Bad") || oversized.contains("Connection"),
        "a request past the message size is refused: {h}"
    );
    // the server and the daemon carry on
    let read = client(&r, Some(OLGA), &["read", FLOW]).await;
    assert_eq!(read[FLOW]["status"], "Good", "{read}");
    wait_for(&r.d, "fresh values", |s| s.tags.iter().all(|t| t.value.is_some())).await;
    r.d.shutdown().await;
}
