//! The OPC UA driver, the daemon and `mimic browse` against a real asyncua server on
//! loopback (tests/peers/opcua_server.py): subscription values with their source
//! timestamps, status codes as quality, the Read fallback when the server refuses
//! subscriptions, recovery from a server restart without losing a notification,
//! typed writes with read-back, Basic256Sha256 with certificate trust, user names,
//! browsing with tag emission, and a healthy site without security logging no ERROR.

mod support;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use mimic::config::Site;
use mimic::ipc::TagQuality;
use mimic_drivers::device::{Driver, run_device};
use mimic_drivers::opcua::{Identity, OpcUa, OpcUaConfig, OpcUaPoint, PasswordSource, Security};
use mimic_drivers::{DeviceEvent, PollGroup, Quality, Reading, Reason, WriteOutcome};
use support::binary::{Served, mimic_ok};
use support::daemon::{start, stored_at_least};
use support::live::{Snapshots, tag};
use support::peers::{Peer, python_cmd};

/// The asyncua server can take long to build its address space on a loaded machine.
const SERVER_READY: Duration = Duration::from_secs(180);
/// 2024-01-01T00:00:00Z: the peer stamps node ns=2;i=1001 with this + value seconds.
const STAMP_EPOCH_MS: i64 = 1_704_067_200_000;

struct Server {
    peer: Peer,
    lines: mpsc::Receiver<String>,
    port: u16,
}

fn spawn_server(args: &[String]) -> Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (mut peer, lines) = Peer::spawn("opcua_server.py", python_cmd("opcua_server.py", &args));
    let port = peer.wait_ready(&lines, SERVER_READY);
    Server { peer, lines, port }
}

fn url(port: u16) -> String {
    format!("opc.tcp://127.0.0.1:{port}/mimic/")
}

/// Scratch space under the target directory (the shared server outlives any TempDir).
fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("opcua-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// One server for the tests that do not stop it: every security mode, user alice.
/// It exits by itself when this test process ends.
fn shared() -> &'static Mutex<Server> {
    static SHARED: OnceLock<Mutex<Server>> = OnceLock::new();
    SHARED.get_or_init(|| {
        let pki = scratch("server-pki");
        let args = ["--port", "0", "--security", "all", "--user", "alice:wonderland", "--pki"];
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        args.push(pki.display().to_string());
        Mutex::new(spawn_server(&args))
    })
}

fn shared_port() -> u16 {
    shared().lock().unwrap_or_else(|p| p.into_inner()).port
}

fn cfg(port: u16, security: Security, pki: &Path, identity: Identity) -> OpcUaConfig {
    OpcUaConfig {
        endpoint: url(port),
        security,
        pki: pki.to_path_buf(),
        identity,
        timeout: Duration::from_secs(10),
        publishing: Duration::from_millis(200),
    }
}

fn point(node: &str) -> OpcUaPoint {
    OpcUaPoint { node: node.into(), sampling: Duration::from_millis(100), deadband: 0.0 }
}

fn points(nodes: &[&str]) -> Vec<OpcUaPoint> {
    nodes.iter().map(|n| point(n)).collect()
}

/// Read every 200 ms until `done` holds for everything read so far (bounded).
async fn read_until(d: &mut OpcUa, what: &str, done: impl Fn(&[Reading]) -> bool) -> Vec<Reading> {
    let plan = d.plan(&(0..d.points().len()).collect::<Vec<_>>());
    let mut all = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut out = Vec::new();
        let r = d.read(&plan, &mut out).await;
        assert!(r.is_ok(), "read failed: {r:?}");
        all.extend(out);
        if done(&all) {
            return all;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}; read so far: {all:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn of(readings: &[Reading], point: usize) -> Vec<Reading> {
    readings.iter().filter(|r| r.point == point).copied().collect()
}

/// How many different values of `point` were read.
fn distinct(readings: &[Reading], point: usize) -> usize {
    let mut v: Vec<u64> = of(readings, point).iter().filter_map(|r| r.value).map(f64::to_bits).collect();
    v.sort_unstable();
    v.dedup();
    v.len()
}

fn last(readings: &[Reading], point: usize) -> Reading {
    *readings.iter().rev().find(|r| r.point == point).unwrap_or_else(|| panic!("no reading of point {point}"))
}

const NODES: [&str; 10] = [
    "ns=2;s=Pump.Speed",
    "ns=2;s=Pump.Temperature",
    "ns=2;s=Pump.Count",
    "ns=2;s=Pump.Mode",
    "ns=2;s=Pump.Running",
    "ns=2;s=Pump.Name",
    "ns=2;s=Pump.Broken",
    "ns=2;s=Pump.Doubtful",
    "ns=2;i=1001",
    "ns=2;s=Pump.NoSuchNode",
];

/// What every data type, status and timestamp of the peer must look like.
fn check_values(all: &[Reading]) {
    let speeds: Vec<f64> = of(all, 0).iter().filter_map(|r| r.value).collect();
    assert!(speeds.windows(2).all(|w| w[1] >= w[0]) && speeds.len() >= 3, "Speed rises: {speeds:?}");
    assert!(speeds.iter().all(|&v| v >= 1000.0 && v.fract() == 0.0), "{speeds:?}");
    let temp = last(all, 1);
    assert_eq!(temp.quality, Quality::Good);
    assert!(temp.value.is_some_and(|v| (20.0..=21.75).contains(&v) && (v * 4.0).fract() == 0.0), "{temp:?}");
    assert!(last(all, 2).value.is_some_and(|v| v >= 1.0), "Int32 count");
    assert_eq!((last(all, 3).value, last(all, 3).quality), (Some(3.0), Quality::Good), "UInt16");
    assert_eq!((last(all, 4).value, last(all, 4).quality), (Some(1.0), Quality::Good), "Boolean");
    assert_eq!(last(all, 5).quality, Quality::Bad(Reason::DecodeError), "a String is not a number");
    assert_eq!(last(all, 6).quality, Quality::Bad(Reason::DeviceFlag), "BadSensorFailure");
    assert_eq!(last(all, 6).value, None);
    let doubtful = last(all, 7);
    assert_eq!((doubtful.value, doubtful.quality), (Some(42.0), Quality::Uncertain(Reason::DeviceFlag)));
    assert_eq!(last(all, 9).quality, Quality::Bad(Reason::DeviceException(2)), "BadNodeIdUnknown");
    // The server's source timestamp is kept: value v was stamped 2024-01-01 + v s.
    let stamped = of(all, 8);
    assert!(stamped.len() >= 2);
    for r in &stamped {
        let v = r.value.expect("stamped value");
        assert_eq!(r.source_ms, Some(STAMP_EPOCH_MS + (v as i64) * 1000), "{r:?}");
        assert!(r.recv_ms > STAMP_EPOCH_MS + 365 * 86_400_000, "receive time is now, not the source time");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_delivers_values_with_source_timestamps_and_quality() {
    let port = shared_port();
    let pki = scratch("sub-pki");
    let mut d = OpcUa::new(cfg(port, Security::None, &pki, Identity::Anonymous), points(&NODES));
    d.connect().await.expect("connect (None, anonymous)");
    assert_eq!(d.monitored_count(), NODES.len() - 1, "every existing node is a monitored item");
    let all = read_until(&mut d, "three Speed changes and two stamped values", |all| {
        distinct(all, 0) >= 3 && distinct(all, 8) >= 2
    })
    .await;
    check_values(&all);

    // Values come from the subscription: once every subscribed point has a value, a
    // read makes one Read call only for the node that could not be monitored.
    let plan = d.plan(&(0..NODES.len() - 1).collect::<Vec<_>>());
    let mut out = Vec::new();
    let summary = d.read(&plan, &mut out).await.expect("read");
    assert_eq!(summary.requests, 0, "no Read service call: {out:?}");
    assert!(plan.iter().all(|p| out.iter().any(|r| r.point == *p)), "every point has a reading");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_subscriptions_the_driver_reads_and_a_write_into_a_dying_server_is_unknown() {
    let server = spawn_server(&["--port".into(), "0".into(), "--no-subscriptions".into()]);
    let pki = scratch("poll-pki");
    let mut nodes = NODES.to_vec();
    nodes.push("ns=2;s=Pump.Fatal");
    let mut d = OpcUa::new(cfg(server.port, Security::None, &pki, Identity::Anonymous), points(&nodes));
    d.connect().await.expect("connect");
    assert_eq!(d.monitored_count(), 0, "the server refused the subscription");
    let all = read_until(&mut d, "three Speed values and two stamped values by reading", |all| {
        distinct(all, 0) >= 3 && distinct(all, 8) >= 2
    })
    .await;
    check_values(&all);
    let plan = d.plan(&[0, 1]);
    let summary = d.read(&plan, &mut Vec::new()).await.expect("read");
    assert_eq!(summary.requests, 1, "one Read call per poll");

    // The server dies on this write before answering: nobody knows if it landed.
    let fatal = nodes.len() - 1;
    match d.write(fatal, 1.0, 0.0).await {
        WriteOutcome::Unknown { read_back: None, .. } | WriteOutcome::Timeout { read_back: None } => {}
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
    let mut out = Vec::new();
    assert!(d.read(&plan, &mut out).await.is_err(), "the link is gone");
    assert!(out.iter().all(|r| r.quality == Quality::Bad(Reason::CommFailure)), "{out:?}");
    drop(server);
}

/// The counter's distinct samples (a repeat of the same value at the same source time
/// is the same sample: the driver repeats unchanged values between notifications).
fn samples(events: &[DeviceEvent]) -> Vec<f64> {
    let mut out: Vec<(f64, Option<i64>)> = Vec::new();
    for r in events.iter().flat_map(|e| of(&e.readings, 0)).filter(|r| r.quality == Quality::Good) {
        let s = (r.value.unwrap_or(f64::NAN), r.source_ms);
        if out.last() != Some(&s) {
            out.push(s);
        }
    }
    out.into_iter().map(|(v, _)| v).collect()
}

async fn next(rx: &mut tokio::sync::mpsc::Receiver<DeviceEvent>) -> Option<DeviceEvent> {
    tokio::time::timeout(Duration::from_secs(90), rx.recv()).await.ok().flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restart_is_recovered_without_losing_a_notification() {
    let first = spawn_server(&["--port".into(), "0".into()]);
    let port = first.port;
    let pki = scratch("restart-pki");
    let nodes = ["ns=2;s=Pump.Count", "ns=2;s=Pump.Speed"];
    let mut config = cfg(port, Security::None, &pki, Identity::Anonymous);
    config.timeout = Duration::from_secs(3);
    let driver = OpcUa::new(config, points(&nodes));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<DeviceEvent>(1024);
    let (_wtx, wrx) = tokio::sync::mpsc::channel(4);
    let groups = vec![PollGroup { period: Duration::from_millis(300), points: vec![0, 1] }];
    let task = tokio::spawn(run_device(0, driver, groups, tx, wrx));

    let mut events: Vec<DeviceEvent> = Vec::new();
    // First life: at least ten counts.
    loop {
        let ev = next(&mut rx).await.expect("device events");
        events.push(ev);
        let counts: Vec<f64> = events.iter().flat_map(|e| of(&e.readings, 0)).filter_map(|r| r.value).collect();
        if counts.len() >= 10 {
            break;
        }
    }
    let before_kill = events.len();
    drop(first); // SIGKILL: the server crashes
    loop {
        let ev = next(&mut rx).await.expect("device events");
        let down = ev.readings.iter().any(|r| r.quality == Quality::Bad(Reason::CommFailure));
        events.push(ev);
        if down {
            break;
        }
    }
    let first_life = samples(&events);
    // Nothing lost: every change of the counter reached mimic, in order.
    assert!(
        first_life.windows(2).all(|w| w[1] == w[0] + 1.0),
        "counter notifications are consecutive (events before kill: {before_kill}): {first_life:?}"
    );

    let second = spawn_server(&["--port".into(), port.to_string()]);
    let ready = std::time::Instant::now();
    let restarted_at = events.len();
    let mut second_life;
    loop {
        let ev = next(&mut rx).await.expect("device events after the restart");
        let stats = ev.stats.clone();
        events.push(ev);
        second_life = samples(&events[restarted_at..]);
        if second_life.len() >= 5 {
            eprintln!("5 counts from the restarted server {:?} after it was ready", ready.elapsed());
            assert!(stats.connected && stats.reconnects >= 1, "{stats:?}");
            break;
        }
    }
    assert!(
        second_life.windows(2).all(|w| w[1] == w[0] + 1.0),
        "the re-created subscription delivers every change: {second_life:?}"
    );
    assert!(events.len() > restarted_at);
    task.abort();
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_carry_the_node_type_and_are_read_back() {
    let port = shared_port();
    let pki = scratch("write-pki");
    let nodes = [
        "ns=2;s=Pump.Setpoint",
        "ns=2;s=Pump.Limit",
        "ns=2;s=Pump.Stages",
        "ns=2;s=Pump.Enable",
        "ns=2;s=Pump.ReadOnly",
        "ns=2;s=Pump.Sticky",
        "ns=2;s=Pump.Name",
    ];
    let mut d = OpcUa::new(cfg(port, Security::None, &pki, Identity::Anonymous), points(&nodes));
    assert!(matches!(d.write(0, 1.0, 0.0).await, WriteOutcome::Invalid { .. }), "not connected: nothing sent");
    d.connect().await.expect("connect");
    // The server refuses a variant of another type (BadTypeMismatch): these land only
    // because each is sent as the node's own type.
    assert_eq!(d.write(0, 1500.5, 0.0).await, WriteOutcome::Confirmed { read_back: 1500.5 }, "Double");
    match d.write(1, 3.7, 0.0).await {
        WriteOutcome::Confirmed { read_back } => assert_eq!(read_back, f64::from(3.7f32), "Float"),
        other => panic!("Float write: {other:?}"),
    }
    assert_eq!(d.write(2, 5.0, 0.0).await, WriteOutcome::Confirmed { read_back: 5.0 }, "Int32");
    assert_eq!(d.write(3, 1.0, 0.0).await, WriteOutcome::Confirmed { read_back: 1.0 }, "Boolean");
    assert!(matches!(d.write(2, 2.5, 0.0).await, WriteOutcome::Invalid { .. }), "2.5 is no Int32: not sent");
    match d.write(4, 1.0, 0.0).await {
        WriteOutcome::RejectedStatus { status } => assert!(status.starts_with("Bad"), "{status}"),
        other => panic!("read-only node: {other:?}"),
    }
    assert_eq!(d.write(5, 9.0, 0.0).await, WriteOutcome::Mismatch { wrote: 9.0, read_back: 5.0 });
    assert!(matches!(d.write(6, 1.0, 0.0).await, WriteOutcome::Invalid { .. }), "a String node is not written");
    // The connection is still fine.
    let mut out = Vec::new();
    d.read(&d.plan(&[0, 2]), &mut out).await.expect("read after writes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_modes_trust_only_known_servers_and_users_log_in() {
    let port = shared_port();
    let pki = scratch("secure-pki");
    let nodes = ["ns=2;s=Pump.Speed", "ns=2;s=Pump.Mode"];
    // Unknown server certificate: refused, saved in rejected/, with advice.
    let mut d = OpcUa::new(cfg(port, Security::SignAndEncrypt, &pki, Identity::Anonymous), points(&nodes));
    let err = d.connect().await.expect_err("an untrusted server is refused").to_string();
    assert!(err.contains("not trusted") && err.contains("trusted"), "{err}");
    assert!(pki.join("own/cert.der").is_file(), "the client made its own certificate");
    let rejected: Vec<PathBuf> =
        std::fs::read_dir(pki.join("rejected")).expect("rejected/").flatten().map(|e| e.path()).collect();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    // The operator trusts it (under any file name) and the next connect works.
    std::fs::copy(&rejected[0], pki.join("trusted").join("peer.der")).expect("trust");
    std::fs::remove_file(&rejected[0]).expect("un-reject");
    for security in [Security::SignAndEncrypt, Security::Sign] {
        let mut d = OpcUa::new(cfg(port, security, &pki, Identity::Anonymous), points(&nodes));
        d.connect().await.unwrap_or_else(|e| panic!("{security:?} after trusting: {e}"));
        let all =
            read_until(&mut d, "a Good Mode", |all| all.iter().any(|r| r.point == 1 && r.value == Some(3.0))).await;
        assert_eq!(last(&all, 1).quality, Quality::Good);
    }

    // User names: the right password logs in, a wrong one is refused by name.
    let pw = pki.join("alice.pw");
    std::fs::write(&pw, "wonderland\n").expect("password file");
    let alice = Identity::User { name: "alice".into(), password: PasswordSource::File(pw.clone()) };
    let mut d = OpcUa::new(cfg(port, Security::SignAndEncrypt, &pki, alice), points(&nodes));
    d.connect().await.expect("alice logs in");
    {
        let server = shared().lock().unwrap_or_else(|p| p.into_inner());
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            match server.lines.recv_timeout(Duration::from_millis(200)) {
                Ok(l) if l.trim() == "LOGIN alice" => break,
                _ => assert!(std::time::Instant::now() < deadline, "the server never saw alice log in"),
            }
        }
        assert!(server.peer.stderr().len() < 1_000_000);
    }
    std::fs::write(&pw, "guess").expect("password file");
    let alice = Identity::User { name: "alice".into(), password: PasswordSource::File(pw) };
    let mut d = OpcUa::new(cfg(port, Security::None, &pki, alice), points(&nodes));
    let err = d.connect().await.expect_err("a wrong password is refused").to_string();
    assert!(err.contains("refused user `alice`"), "{err}");
    assert!(!err.contains("guess"), "the password never appears in messages: {err}");
}

fn mimic_browse(args: &[&str]) -> String {
    mimic_ok(&[&["browse"], args].concat())
}

#[test]
fn browse_prints_the_tree_and_emits_tags_that_load() {
    let port = shared_port();
    let pki = scratch("browse-pki");
    let pki_arg = pki.display().to_string();
    let tree = mimic_browse(&[&url(port), "--pki", &pki_arg]);
    for want in [
        "Objects  i=85",
        "Plant  ns=2;s=Plant",
        "Pump  ns=2;s=Pump",
        "Speed  ns=2;s=Pump.Speed  Double r  = ",
        "Setpoint  ns=2;s=Pump.Setpoint  Double rw  = ",
        "[0 .. 3000]",
        "Name  ns=2;s=Pump.Name  String r  = \"P-101\"",
        "Stamped  ns=2;i=1001  Double r",
        "Mode  ns=2;s=Pump.Mode  UInt16 r  = 3",
    ] {
        assert!(tree.contains(want), "tree lacks {want:?}:\n{tree}");
    }
    assert!(!tree.contains("Server  i=2253"), "namespace 0 is left out by default:\n{tree}");

    let tags = mimic_browse(&[&url(port), "--pki", &pki_arg, "--emit-tags", "plc"]);
    let site = format!(
        "[site]\nname = \"browsed\"\n\n[[device]]\nname = \"plc\"\nprotocol = \"opcua\"\nendpoint = \"{}\"\n\n{tags}",
        url(port)
    );
    let dir = scratch("browse-site");
    let site =
        Site::parse(&dir.join("site.toml"), &site).unwrap_or_else(|e| panic!("emitted tags do not load:\n{e}\n{tags}"));
    let find =
        |name: &str| site.tags.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no tag {name}:\n{tags}"));
    let sp = find("Plant.Pump.Setpoint");
    assert!(sp.writable && sp.low == Some(0.0) && sp.high == Some(3000.0), "{sp:?}");
    assert!(!find("Plant.Pump.Speed").writable);
    assert!(matches!(&find("Plant.Lab.Stamped").address, mimic::config::Address::OpcUa(p) if p.node == "ns=2;i=1001"));
    assert!(site.tags.iter().all(|t| t.name != "Plant.Pump.Name"), "a String is no tag");
    assert!(tags.contains("Plant.Pump.Name ns=2;s=Pump.Name: String is not a number"), "{tags}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_stores_subscription_values_at_their_source_time() {
    let port = shared_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = format!(
        "[site]\nname = \"ua\"\n\n[[device]]\nname = \"plc\"\nprotocol = \"opcua\"\nendpoint = \"{}\"\npoll = \"200ms\"\n\n\
         [[tag]]\nname = \"stamped\"\ndevice = \"plc\"\naddress = \"ns=2;i=1001\"\nsampling = \"100ms\"\n\n\
         [[tag]]\nname = \"broken\"\ndevice = \"plc\"\naddress = \"ns=2;s=Pump.Broken\"\n",
        url(port)
    );
    let d = start(&toml, dir.path()).await;
    let samples = stored_at_least(&d, "stamped", 3, Duration::from_millis(500)).await;
    for s in &samples {
        assert_eq!(s.quality, 0);
        assert_eq!(s.ts_ms, STAMP_EPOCH_MS + (s.value as i64) * 1000, "stored at the source time: {s:?}");
    }
    let mut ts: Vec<i64> = samples.iter().map(|s| s.ts_ms).collect();
    ts.dedup();
    assert_eq!(ts.len(), samples.len(), "each source sample stored once: {samples:?}");
    let snap = d.snapshots.borrow().clone();
    let broken = tag(&snap, "broken");
    assert_eq!(broken.quality, TagQuality::Bad);
    assert_eq!(snap.devices[0].protocol, "opcua");
    d.shutdown().await;
}

/// `mimic run` of a healthy site with one OPC UA device at `security = "none"`, its stderr
/// not a terminal: values arrive Good and the log holds no ERROR, no WARN (the library's
/// complaints about the certificate a client without security does not have are not
/// problems) and no escape bytes.
#[test]
fn a_healthy_site_without_security_logs_no_error_or_warning() {
    let port = shared_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let site = dir.path().join("site.toml");
    let toml = format!(
        "[site]\nname = \"ua\"\ndata_dir = {:?}\n\n[[device]]\nname = \"plc\"\nprotocol = \"opcua\"\nendpoint = \"{}\"\n\
         security = \"none\"\npoll = \"200ms\"\n\n[[tag]]\nname = \"stamped\"\ndevice = \"plc\"\naddress = \"ns=2;i=1001\"\n",
        data.to_str().expect("utf-8 path"),
        url(port)
    );
    std::fs::write(&site, toml).expect("site");
    // the log as a user gets it (the test kit quietens it to warn)
    let mut served = Served::start_with(&site, &data, |c| {
        c.env("MIMIC_LOG", "info");
    });
    let mut snaps = Snapshots::attach(&served.sock);
    snaps.until(Duration::from_secs(60), "Good values", |s| {
        s.tags.iter().all(|t| t.quality == TagQuality::Good && t.value.is_some())
    });
    drop(snaps);
    let run = served.stop_cleanly();
    assert!(run.stderr.contains("session up"), "{run}");
    let noisy: Vec<&str> = run.stderr.lines().filter(|l| l.contains(" ERROR ") || l.contains(" WARN ")).collect();
    assert!(noisy.is_empty(), "a healthy site logs no ERROR or WARN: {noisy:#?}");
    assert!(!run.stderr.contains('\u{1b}'), "no escape bytes when stderr is not a terminal: {run}");
}
