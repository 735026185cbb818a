//! mimic's own OPC UA server against an independent client (asyncua, in
//! tests/peers/opcua_client.py): the demo site polled from `mimic sim`, browsed, read with
//! statuses, subscribed to; history raw (pages, both directions, bounds) and processed
//! over what the daemon stored from the simulator, checked against the raw values;
//! writes that only file requests (no device write until approved), a viewer's and an
//! anonymous write refused, a wrong password refused, counted and audited.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use mimic::config::Site;
use mimic::daemon::Daemon;
use mimic::ipc::Act;
use mimic::users::{Role, Users, users_path};
use serde_json::Value;
use support::binary::{Sim, write_demo_site_polling};
use support::daemon::{act, me, start_with, wait_for};
use support::free_port;
use support::peers::python_cmd;
use support::process::run;

const OLGA: &str = "olga:olga-secret-1";
const VERA: &str = "vera:vera-secret-1";
const ERIK_SECRET: &str = "erik-secret-1";
const SPEED: &str = "P101.speed_sp";
const LEVEL: &str = "T100.level";
/// A noisy measurement: a new sample on most polls.
const FLOW: &str = "P101.flow";

struct Rig {
    d: Daemon,
    _dir: tempfile::TempDir,
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
         anonymous = \"viewer\"\nmax_sessions = 10\n"
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
    Rig { d, _dir: dir, _sim: sim, data, url: format!("opc.tcp://127.0.0.1:{port}/"), ns }
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
    let count = client(&r, Some(VERA), &["processed", FLOW, &p0.to_string(), &p1.to_string(), "2000", "Count"]).await;
    let n: f64 = values(&count).iter().map(|x| x.1).sum();
    let raw_n = all_v.iter().filter(|(t, ..)| *t >= p0 && *t < p1).count();
    assert_eq!(n as usize, raw_n, "{count}");
    let max = client(&r, Some(VERA), &["processed", FLOW, &p0.to_string(), &p1.to_string(), "2000", "Maximum"]).await;
    assert!(values(&max).iter().all(|(_, v, s)| s.contains("BadNoData") || all_v.iter().any(|x| x.1 == *v)));

    let at = client(&r, Some(VERA), &["attime", FLOW, &first.to_string(), &(first + 1).to_string()]).await;
    let av = values(&at);
    assert_eq!(av[0].1, all_v[0].1, "a stored time answers its sample: {at}");
    assert!(av[1].1.is_finite(), "between two samples, interpolated: {at}");

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
    let text: Vec<String> = audit.iter().map(|e| format!("{} {} {}", e.user, e.action.name(), e.detail)).collect();
    assert!(text.iter().any(|t| t.starts_with("olga login_failed")), "{text:#?}");
    assert!(text.iter().any(|t| t.contains("OPC UA session as operator")), "{text:#?}");
    assert!(text.iter().any(|t| t.starts_with("olga write_requested")), "{text:#?}");
    assert!(text.iter().any(|t| t.starts_with("vera ") && t.contains("BadUserAccessDenied")), "{text:#?}");
    r.d.shutdown().await;
}
