//! mimic as a Sparkplug B edge node against a real broker (mosquitto) and an independent
//! host application (tests/peers/sparkplug_host.py: paho-mqtt and its own protobuf
//! codec). The data source is mimic's demo plant (`mimic sim`), the daemon is
//! `mimic run`, a real process that can be killed.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::binary::{Sim, run_cmd};
use support::live::Snapshots;
use support::peers::{Broker, Peer, READY_TIMEOUT, python_cmd};

const GROUP: &str = "plant";
const NODE: &str = "mimic1";
const DEVICE: &str = "skid-plc";
const WAIT: Duration = Duration::from_secs(30);

fn topic(kind: &str) -> String {
    match kind {
        "NBIRTH" | "NDEATH" | "NCMD" => format!("spBv1.0/{GROUP}/{kind}/{NODE}"),
        _ => format!("spBv1.0/{GROUP}/{kind}/{NODE}/{DEVICE}"),
    }
}

/// The Python host application: every message it saw, decoded by its own codec.
struct Host {
    _peer: Peer,
    lines: mpsc::Receiver<String>,
    seen: Vec<Value>,
}

impl Host {
    /// `primary`: act as that primary host (STATE online after every subscribe).
    fn start(port: u16, client_id: &str, primary: Option<&str>) -> Host {
        let port = port.to_string();
        let mut args = vec!["listen", "--port", &port, "--client-id", client_id];
        if let Some(p) = primary {
            args.extend(["--primary-host-id", p]);
        }
        let (mut peer, lines) = Peer::spawn("sparkplug_host.py", python_cmd("sparkplug_host.py", &args));
        peer.wait_ready(&lines, READY_TIMEOUT);
        Host { _peer: peer, lines, seen: Vec::new() }
    }

    fn pump(&mut self, until: Instant) -> bool {
        let left = until.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(line) => {
                let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("host printed {line:?}: {e}"));
                assert!(v.get("error").is_none(), "the host could not decode a payload: {v}");
                self.seen.push(v);
                true
            }
            Err(_) => false,
        }
    }

    /// Wait for a message on `topic` (index at or after `from`) satisfying `ok`.
    fn wait(&mut self, what: &str, from: usize, topic: &str, ok: impl Fn(&Value) -> bool) -> (usize, Value) {
        let deadline = Instant::now() + WAIT;
        let mut i = from;
        loop {
            while i < self.seen.len() {
                let v = &self.seen[i];
                if v["topic"] == topic && ok(v) {
                    return (i, v.clone());
                }
                i += 1;
            }
            if Instant::now() >= deadline {
                let recent: Vec<String> = self.seen[from.min(self.seen.len())..]
                    .iter()
                    .map(|v| format!("{} {}", v["topic"], v["payload"]["seq"]))
                    .collect();
                panic!("timed out waiting for {what}; seen {} messages, since the mark: {recent:#?}", self.seen.len());
            }
            self.pump(deadline);
        }
    }

    /// Collect everything for `d`.
    fn soak(&mut self, d: Duration) {
        let until = Instant::now() + d;
        while Instant::now() < until {
            self.pump(until);
        }
    }

    fn on(&self, topic: &str) -> Vec<&Value> {
        self.seen.iter().filter(|v| v["topic"] == topic).collect()
    }
}

fn publish(port: u16, args: &[&str]) {
    let port = port.to_string();
    let status =
        python_cmd("sparkplug_host.py", &[&["publish", "--port", &port], args].concat()).status().expect("python runs");
    assert!(status.success(), "publishing {args:?} failed");
}

fn metrics(v: &Value) -> &Vec<Value> {
    v["payload"]["metrics"].as_array().expect("metrics")
}

fn metric<'a>(v: &'a Value, name: &str) -> &'a Value {
    metrics(v).iter().find(|m| m["name"] == name).unwrap_or_else(|| panic!("no metric {name} in {v}"))
}

fn bd_seq(v: &Value) -> u64 {
    metric(v, "bdSeq")["value"].as_u64().expect("bdSeq is a number")
}

/// The demo plant, the daemon and the site it runs.
struct Plant {
    _sim: Sim,
    mimic: Option<Peer>,
    data: PathBuf,
    site: mimic::config::Site,
}

fn start_plant(dir: &Path, broker_port: u16, extra: &str) -> Plant {
    let sim = Sim::start(&[]);
    let addr = sim.endpoint();
    let demo = include_str!("../profiles/demo-site.toml").replace("127.0.0.1:5020", &addr);
    let text = format!(
        "{demo}\n[mqtt]\nbroker = \"127.0.0.1:{broker_port}\"\ngroup_id = \"{GROUP}\"\n\
         edge_node_id = \"{NODE}\"\nkeepalive = \"1s\"\n{extra}"
    );
    let site_path = dir.join("site.toml");
    std::fs::write(&site_path, &text).expect("site file");
    let site = mimic::config::Site::parse(&site_path, &text).unwrap_or_else(|e| panic!("test site invalid:\n{e}"));
    let data = dir.join("data");
    let cmd = run_cmd(&site_path, &data, |c| {
        c.env("MIMIC_LOG", "info");
    });
    let (mimic, _lines) = Peer::spawn("mimic run", cmd);
    Plant { _sim: sim, mimic: Some(mimic), data, site }
}

fn tag_names(site: &mimic::config::Site) -> BTreeSet<String> {
    site.tags.iter().map(|t| t.name.clone()).collect()
}

/// Alias → tag name, from a DBIRTH.
fn aliases(dbirth: &Value) -> BTreeMap<u64, String> {
    metrics(dbirth)
        .iter()
        .map(|m| {
            (m["alias"].as_u64().expect("every metric has an alias"), m["name"].as_str().expect("name").to_string())
        })
        .collect()
}

/// Sequence numbers of the node's messages from `from` on must count 0..=255 without gaps.
fn assert_seq_continuous(host: &Host, from: usize) {
    let mut expect: Option<u64> = None;
    for v in &host.seen[from..] {
        let t = v["topic"].as_str().unwrap_or_default();
        if !t.starts_with(&format!("spBv1.0/{GROUP}/")) || t.contains("CMD") || t.contains("NDEATH") {
            continue;
        }
        let seq = v["payload"]["seq"].as_u64().unwrap_or_else(|| panic!("no seq in {v}"));
        if t.contains("/NBIRTH/") {
            assert_eq!(seq, 0, "NBIRTH starts at 0");
        } else if let Some(e) = expect {
            assert_eq!(seq, e, "seq gap at {v}");
        }
        expect = Some((seq + 1) % 256);
    }
}

/// Report by exception: no live DDATA repeats a metric's last reported value and quality.
fn assert_by_exception(host: &Host, from: usize) {
    let mut last: BTreeMap<u64, (Value, Value)> = BTreeMap::new();
    for v in &host.seen[from..] {
        let birth = v["topic"] == topic("DBIRTH");
        if !birth && v["topic"] != topic("DDATA") {
            continue;
        }
        for m in metrics(v).iter().filter(|m| m["is_historical"] != true) {
            let a = m["alias"].as_u64().expect("alias");
            let now = (m["value"].clone(), m["properties"]["Quality"].clone());
            assert!(birth || last.get(&a) != Some(&now), "alias {a} reported again unchanged: {m}");
            last.insert(a, now);
        }
    }
}

/// Pending requests seen through the daemon's socket, as a terminal sees them.
fn requests(data: &Path) -> Vec<mimic::ipc::LiveRequest> {
    Snapshots::attach(&data.join(mimic::ipc::SOCKET_NAME)).next().requests
}

#[test]
fn births_report_by_exception_rebirth_dcmd_is_only_a_request_and_the_will_is_ndeath() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::start(dir.path());
    let mut host = Host::start(broker.port, "host-basic", None);
    let mut plant = start_plant(dir.path(), broker.port, "");

    let (nb_at, nb) = host.wait("NBIRTH", 0, &topic("NBIRTH"), |_| true);
    assert_eq!(nb["payload"]["seq"], 0);
    assert_eq!(metric(&nb, "bdSeq")["datatype"], 4, "bdSeq is Int64");
    assert_eq!(metric(&nb, "Node Control/Rebirth")["value"], false);
    let bd = bd_seq(&nb);
    let (_, db) = host.wait("DBIRTH", nb_at, &topic("DBIRTH"), |_| true);
    let names: BTreeSet<String> = metrics(&db).iter().map(|m| m["name"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(names, tag_names(&plant.site), "DBIRTH has every tag of the device");
    let alias = aliases(&db);
    assert_eq!(alias.len(), metrics(&db).len(), "aliases are unique");
    for m in metrics(&db) {
        assert!(m["datatype"] == 10 || m["datatype"] == 11, "Double or Boolean: {m}");
        assert!(m["properties"]["Quality"].is_u64(), "quality property: {m}");
    }

    // by exception: data by alias only, fewer metrics than the birth, unchanged setpoints absent
    // (the replay of what was stored before the birth is historical: live data only here)
    let is_live = |v: &Value| metrics(v).iter().all(|m| m["is_historical"] != true);
    let mut at = nb_at;
    for _ in 0..4 {
        let (i, dd) = host.wait("live DDATA", at + 1, &topic("DDATA"), is_live);
        at = i;
        for m in metrics(&dd) {
            assert!(m.get("name").is_none(), "DDATA uses aliases: {m}");
            assert!(alias.contains_key(&m["alias"].as_u64().expect("alias")), "unknown alias in {m}");
            assert!(m["timestamp"].is_u64());
        }
        assert!(metrics(&dd).len() < alias.len(), "a DDATA reports only what changed: {dd}");
    }
    let sp_alias = alias.iter().find(|(_, n)| *n == "P101.speed_sp").map(|(a, _)| *a).expect("speed_sp");
    assert_by_exception(&host, nb_at);

    // rebirth on request: same bdSeq, seq back to 0, then every DBIRTH again
    let before = host.seen.len();
    publish(broker.port, &["--kind", "rebirth", "--topic", &topic("NCMD")]);
    let (rb_at, rb) = host.wait("NBIRTH after Rebirth", before, &topic("NBIRTH"), |_| true);
    assert_eq!(bd_seq(&rb), bd, "a rebirth keeps the session's bdSeq");
    host.wait("DBIRTH after Rebirth", rb_at, &topic("DBIRTH"), |_| true);

    // DCMD: a pending request on the approvals list, never a write
    publish(broker.port, &["--kind", "dcmd", "--topic", &topic("DCMD"), "--metric", "P101.speed_sp", "--value", "42"]);
    let deadline = Instant::now() + WAIT;
    let req = loop {
        let reqs = requests(&plant.data);
        if let Some(r) = reqs.into_iter().find(|r| r.tag == "P101.speed_sp") {
            break r;
        }
        assert!(Instant::now() < deadline, "the DCMD never became a request");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(req.proposed, 42.0);
    assert_eq!(req.status, "pending");
    assert!(req.title.contains("Sparkplug DCMD"), "source shown: {}", req.title);
    host.soak(Duration::from_secs(3));
    assert!(
        host.seen
            .iter()
            .filter(|v| v["topic"] == topic("DDATA"))
            .all(|v| metrics(v).iter().all(|m| m["alias"] != sp_alias || m["value"] != 42.0)),
        "the setpoint never became 42: nothing was written"
    );
    let still = requests(&plant.data).into_iter().find(|r| r.id == req.id).expect("the request is still listed");
    assert_eq!(still.status, "pending", "it waits for a person's signature");
    assert_seq_continuous(&host, nb_at);
    assert_by_exception(&host, nb_at);

    // kill -9: the broker publishes the will, NDEATH with this session's bdSeq
    let before = host.seen.len();
    plant.mimic.as_mut().expect("running").terminate(libc::SIGKILL);
    let (_, death) = host.wait("NDEATH (the will)", before, &topic("NDEATH"), |_| true);
    assert_eq!(bd_seq(&death), bd);
    assert!(death["payload"].get("seq").is_none(), "NDEATH carries no seq");
}

#[test]
fn a_broker_restart_loses_no_sample_and_replays_history_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut broker = Broker::start(dir.path());
    // the host is the primary host: after the restart mimic births only once the host is
    // back (subscribed) and says so, as Sparkplug 3.0 intends, so the host misses nothing
    let mut host = Host::start(broker.port, "host-restart", Some("scada"));
    let mut plant = start_plant(dir.path(), broker.port, "primary_host_id = \"scada\"\n");
    let (nb_at, nb) = host.wait("NBIRTH", 0, &topic("NBIRTH"), |_| true);
    let bd = bd_seq(&nb);
    let (_, db) = host.wait("DBIRTH", nb_at, &topic("DBIRTH"), |_| true);
    let alias = aliases(&db);
    host.soak(Duration::from_secs(3));

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        restart_body(&mut broker, &mut host, &mut plant, nb_at, bd, &db, &alias)
    }));
    if let Err(e) = result {
        eprintln!("mimic's log:\n{}", plant.mimic.as_ref().map(|m| m.stderr()).unwrap_or_default());
        std::panic::resume_unwind(e);
    }
}

fn restart_body(
    broker: &mut Broker,
    host: &mut Host,
    plant: &mut Plant,
    nb_at: usize,
    bd: u64,
    db: &Value,
    alias: &BTreeMap<u64, String>,
) {
    let outage_from = mimic_drivers::now_ms();
    broker.stop();
    std::thread::sleep(Duration::from_secs(4));
    let outage_to = mimic_drivers::now_ms();
    broker.restart();

    let (nb2_at, nb2) = host.wait("NBIRTH after the restart", nb_at + 1, &topic("NBIRTH"), |_| true);
    assert_eq!(bd_seq(&nb2), (bd + 1) % 256, "a new session has the next bdSeq");
    host.wait("historical data", nb2_at, &topic("DDATA"), |v| metrics(v).iter().any(|m| m["is_historical"] == true));
    host.soak(Duration::from_secs(4));
    assert_seq_continuous(host, nb2_at);

    // the replay is in time order and covers the outage
    let mut hist_ts: Vec<u64> = Vec::new();
    for v in &host.seen[nb2_at..] {
        if v["topic"] == topic("DDATA") {
            hist_ts.extend(
                metrics(v).iter().filter(|m| m["is_historical"] == true).filter_map(|m| m["timestamp"].as_u64()),
            );
        }
    }
    assert!(hist_ts.is_sorted(), "historical data replayed in time order");
    let in_outage = hist_ts.iter().filter(|&&t| (t as i64) > outage_from && (t as i64) < outage_to).count();
    assert!(in_outage > 0, "samples taken while the broker was down were replayed");

    // graceful stop, then every stored sample must be reconstructible by the host
    let stop_at = mimic_drivers::now_ms();
    plant.mimic.as_mut().expect("running").terminate(libc::SIGTERM);
    let mut received: BTreeMap<String, BTreeMap<u64, (Option<f64>, u64)>> = BTreeMap::new();
    for v in host.seen.iter().filter(|v| v["topic"] == topic("DDATA") || v["topic"] == topic("DBIRTH")) {
        for m in metrics(v) {
            let Some(name) = m["alias"].as_u64().and_then(|a| alias.get(&a)) else { continue };
            let ts = m["timestamp"].as_u64().expect("timestamp");
            let value = m["value"].as_f64().or_else(|| m["value"].as_bool().map(|b| f64::from(u8::from(b))));
            let q = m["properties"]["Quality"].as_u64().expect("quality");
            received.entry(name.clone()).or_default().insert(ts, (value, q));
        }
    }
    let mut hist = mimic::historian::Historian::open(
        &plant.data.join(mimic::daemon::STORE_NAME),
        mimic::historian::HistorianOptions::default(),
    )
    .expect("store opens after shutdown");
    let first_birth = db["payload"]["timestamp"].as_i64().expect("birth time");
    let mut checked = 0;
    let mut missing = Vec::new();
    for name in tag_names(&plant.site) {
        let id = hist.tag_id(&name).expect("tag id");
        let got = received.get(&name).cloned().unwrap_or_default();
        // the last second before the stop may still be in flight
        for s in hist.query(id, first_birth, stop_at - 2000).expect("query") {
            checked += 1;
            let value = if s.quality >> 14 == 2 { None } else { Some(s.value) };
            let q = match s.quality >> 14 {
                0 => 192,
                1 => 64,
                _ => 0,
            };
            let same = |r: &(Option<f64>, u64)| {
                r.1 == q
                    && match (r.0, value) {
                        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                        (None, None) => true,
                        _ => false,
                    }
            };
            let exact = got.get(&(s.ts_ms as u64)).is_some_and(same);
            // by exception: an unchanged value is implied by the last report before it
            let implied = got.range(..s.ts_ms as u64).next_back().is_some_and(|(_, r)| same(r));
            if !exact && !implied {
                missing.push(format!("{name}@{}", s.ts_ms));
            }
        }
    }
    assert!(checked > 100, "the run stored enough samples to mean something ({checked})");
    assert!(missing.is_empty(), "{} of {checked} stored samples never reached the host: {missing:?}", missing.len());
}

#[test]
fn births_wait_for_the_primary_host_and_its_offline_state_kills_the_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let broker = Broker::start(dir.path());
    let mut host = Host::start(broker.port, "host-state", None);
    let plant = start_plant(dir.path(), broker.port, "primary_host_id = \"scada\"\n");
    let state_topic = "spBv1.0/STATE/scada";

    // connected but silent: no birth without the primary host
    let deadline = Instant::now() + WAIT;
    while !plant.mimic.as_ref().expect("running").stderr().contains("sparkplug: connected") {
        assert!(Instant::now() < deadline, "mimic never connected to the broker");
        std::thread::sleep(Duration::from_millis(100));
    }
    host.soak(Duration::from_secs(3));
    assert!(host.on(&topic("NBIRTH")).is_empty(), "no NBIRTH before the primary host is online");

    publish(broker.port, &["--kind", "state", "--topic", state_topic, "--online", "true"]);
    let (nb_at, nb) = host.wait("NBIRTH once the host is online", 0, &topic("NBIRTH"), |_| true);
    let bd = bd_seq(&nb);
    host.wait("DBIRTH", nb_at, &topic("DBIRTH"), |_| true);
    host.wait("the data gathered while waiting", nb_at, &topic("DDATA"), |v| {
        metrics(v).iter().any(|m| m["is_historical"] == true)
    });

    let before = host.seen.len();
    std::thread::sleep(Duration::from_millis(20)); // a STATE timestamp strictly newer
    publish(broker.port, &["--kind", "state", "--topic", state_topic, "--online", "false"]);
    let (death_at, death) = host.wait("NDEATH when the host goes offline", before, &topic("NDEATH"), |_| true);
    assert_eq!(bd_seq(&death), bd);
    host.soak(Duration::from_secs(3));
    assert!(
        host.seen[death_at..].iter().all(|v| v["topic"] != topic("NBIRTH")),
        "no rebirth while the host is offline"
    );

    publish(broker.port, &["--kind", "state", "--topic", state_topic, "--online", "true"]);
    let (_, nb2) = host.wait("NBIRTH when the host returns", death_at, &topic("NBIRTH"), |_| true);
    assert_ne!(bd_seq(&nb2), bd, "a new session, a new bdSeq");
}
