//! Poll rates per protocol (BENCHMARKS.md, "Poll rates per protocol"), against the same
//! real peers as the integration tests:
//!
//! - `opcua-read`: the daemon polling 5 nodes of the asyncua peer with subscriptions
//!   refused (so every poll is one Read service call), poll period 1 ms: polls/s.
//! - `opcua-sub`: the same nodes through a subscription (publishing 50 ms, sampling 5 ms),
//!   the peer changing 3 of them every 5 ms: samples stored per second against the
//!   changes the server makes.
//! - `ascii`: the daemon polling the weigh-scale peer (`Q` → `ST,GS,+0012.34 kg`) over a
//!   socat pty at 9600 8N1, poll period 1 ms: lines/s (a pty does not pace at the baud).
//! - `mqtt`: the Sparkplug B edge node task fed stored-sample batches as fast as it
//!   takes them (10 tags changing per batch), publishing DDATA to mosquitto; a separate
//!   subscriber counts the DDATA messages and metrics that arrive.
//!
//! Each figure is the count in a window of `MIMIC_BENCH_SECS` (default 10) seconds after
//! a settling second. Run: `cargo bench --bench poll_rates [-- opcua-read|opcua-sub|ascii|mqtt]`
//! (needs the test venv, socat and mosquitto, as `./scripts/test.sh` installs them).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use mimic::config::Site;
use mimic::core::Sample;
use mimic::daemon::Daemon;
use mimic::historian::{Historian, HistorianOptions};
use mimic_drivers::Quality;

fn window() -> Duration {
    let secs = std::env::var("MIMIC_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10u64);
    Duration::from_secs(secs)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

async fn daemon(toml: &str, site_path: &Path, data: &Path) -> Daemon {
    support::daemon::start_with(toml, site_path, data, false).await
}

type Snapshots = tokio::sync::watch::Receiver<Arc<mimic::ipc::LiveSnapshot>>;

/// At the next published snapshot: when, polls of device 0, samples stored, errors.
async fn counters(d: &Daemon, rx: &mut Snapshots) -> (Instant, u64, u64, u64) {
    rx.borrow_and_update();
    let _ = rx.changed().await;
    let at = Instant::now();
    let snap = rx.borrow().clone();
    let polls = snap.devices.first().map_or(0, |x| x.polls);
    let errors = snap.devices.first().map_or(0, |x| x.errors + x.timeouts);
    let stored = d.store_status.lock().map(|s| s.samples).unwrap_or(0);
    (at, polls, stored, errors)
}

/// Polls of device 0 and samples stored per second over the window (after one settling
/// second), and errors in the window.
async fn measure(d: &Daemon) -> (f64, f64, u64) {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut rx = d.snapshots.clone();
    let (t0, p0, s0, e0) = counters(d, &mut rx).await;
    tokio::time::sleep(window()).await;
    let (t1, p1, s1, e1) = counters(d, &mut rx).await;
    let secs = (t1 - t0).as_secs_f64();
    ((p1 - p0) as f64 / secs, (s1 - s0) as f64 / secs, e1 - e0)
}

const UA_TAGS: &str = "[[tag]]\nname = \"speed\"\ndevice = \"ua\"\naddress = \"ns=2;s=Pump.Speed\"\n\n\
    [[tag]]\nname = \"temp\"\ndevice = \"ua\"\naddress = \"ns=2;s=Pump.Temperature\"\n\n\
    [[tag]]\nname = \"count\"\ndevice = \"ua\"\naddress = \"ns=2;s=Pump.Count\"\n\n\
    [[tag]]\nname = \"mode\"\ndevice = \"ua\"\naddress = \"ns=2;s=Pump.Mode\"\n\n\
    [[tag]]\nname = \"sp\"\ndevice = \"ua\"\naddress = \"ns=2;s=Pump.Setpoint\"\n";

async fn opcua(subscribe: bool) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pki = dir.path().join("peer-pki");
    let pki = pki.to_str().expect("utf-8");
    let mut args = vec!["--port", "0", "--pki", pki, "--tick-ms", "5"];
    if !subscribe {
        args.push("--no-subscriptions");
    }
    let (_peer, port) = support::peers::spawn_python_peer("opcua_server.py", &args);
    let (poll, extra) = if subscribe { ("50ms", "sampling = \"5ms\"\n") } else { ("1ms", "") };
    let mut toml = format!(
        "[site]\nname = \"bench\"\n\n[[device]]\nname = \"ua\"\nprotocol = \"opcua\"\n\
         endpoint = \"opc.tcp://127.0.0.1:{port}/mimic/\"\ntimeout = \"2s\"\npoll = \"{poll}\"\n\n"
    );
    for t in UA_TAGS.split("\n\n") {
        toml += &format!("{t}\n{extra}\n");
    }
    let d = daemon(&toml, &dir.path().join("site.toml"), &dir.path().join("data")).await;
    let (polls, stored, errors) = measure(&d).await;
    if subscribe {
        println!(
            "opcua-sub: {stored:.0} samples stored/s from the subscription (server changes 3 nodes every 5 ms = 600/s \
             at most; {errors} errors); load {}",
            load()
        );
    } else {
        println!("opcua-read: {polls:.0} polls/s (one Read of 5 nodes each, {errors} errors); load {}", load());
    }
    d.shutdown().await;
}

async fn ascii() {
    let (pair, _peer) = support::pty::serial_peer("ascii_instrument.py", &["--kind", "scale"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = support::repo_root().join("profiles/instruments/weigh-scale.toml");
    let toml = format!(
        "[site]\nname = \"bench\"\n\n[[device]]\nname = \"scale\"\nprotocol = \"ascii\"\nport = \"{}\"\nbaud = 9600\n\
         profile = \"{}\"\ntimeout = \"1s\"\npoll = \"1ms\"\n\n[[tag]]\nname = \"weight\"\ndevice = \"scale\"\n\
         address = \"weight\"\n",
        pair.b.display(),
        profile.display()
    );
    let d = daemon(&toml, &dir.path().join("site.toml"), &dir.path().join("data")).await;
    let (polls, _, errors) = measure(&d).await;
    // Q\r\n (3) + ST,GS,+0012.34 kg\r\n (19) = 22 characters of 10 bits at 9600 baud
    let theory = 9600.0 / (22.0 * 10.0);
    println!(
        "ascii: {polls:.0} lines/s (poll and answer; {errors} errors); a paced 9600 8N1 line allows {theory:.1}/s; load {}",
        load()
    );
    d.shutdown().await;
}

async fn mqtt() {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

    let dir = tempfile::tempdir().expect("tempdir");
    let broker = support::peers::Broker::start(dir.path());
    let port = broker.port;

    let mut toml = "[site]\nname = \"bench\"\n\n[[device]]\nname = \"plc\"\nprotocol = \"modbus-tcp\"\n\
                    endpoint = \"127.0.0.1:1\"\n\n"
        .to_string();
    for i in 0..10 {
        toml += &format!("[[tag]]\nname = \"t{i}\"\ndevice = \"plc\"\naddress = \"hr:{i}\"\n\n");
    }
    toml += &format!("[mqtt]\nbroker = \"127.0.0.1:{port}\"\ngroup_id = \"bench\"\nedge_node_id = \"node\"\n");
    let site = Arc::new(Site::parse(&dir.path().join("site.toml"), &toml).unwrap_or_else(|e| panic!("{e}")));
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let mut hist = Historian::open(&data.join("store.redb"), HistorianOptions::default()).expect("historian");
    let ids: Vec<_> = site.tags.iter().map(|t| hist.tag_id(&t.name).expect("tag id")).collect();
    let historian = Arc::new(RwLock::new(hist));
    let (core, cx) =
        mimic::north::sparkplug::link(&site, &historian, &Arc::new(ids), data.clone()).expect("mqtt section");
    let node = tokio::spawn(mimic::north::sparkplug::run(cx));
    let writes = core.writes;

    // the subscriber: counts DDATA messages and their metrics
    let mut opts = MqttOptions::new("bench-host", "127.0.0.1", port);
    opts.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut events) = AsyncClient::new(opts, 1024);
    client.subscribe("spBv1.0/bench/DDATA/#", QoS::AtMostOnce).await.expect("subscribe");
    let counts = Arc::new(std::sync::Mutex::new((0u64, 0u64)));
    let sink = counts.clone();
    let sub = tokio::spawn(async move {
        while let Ok(ev) = events.poll().await {
            if let Event::Incoming(Packet::Publish(p)) = ev
                && let Ok(payload) = mimic::north::sparkplug::payload::decode(&p.payload)
                && let Ok(mut c) = sink.lock()
            {
                c.0 += 1;
                c.1 += payload.metrics.len() as u64;
            }
        }
    });
    // feed: one batch = every tag with a new value, as a device poll gives it
    let samples = core.samples;
    let feeder = tokio::spawn(async move {
        let mut n = 0u64;
        loop {
            n += 1;
            let ts = mimic_drivers::now_ms();
            let batch: Vec<Sample> = (0..10)
                .map(|tag| Sample { tag, ts_ms: ts, value: (n * 10 + tag as u64) as f64, quality: Quality::Good })
                .collect();
            if samples.send(batch).await.is_err() {
                break;
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let start = *counts.lock().expect("counts");
    let t0 = Instant::now();
    tokio::time::sleep(window()).await;
    let end = *counts.lock().expect("counts");
    let secs = t0.elapsed().as_secs_f64();
    let msgs = (end.0 - start.0) as f64 / secs;
    let metrics = (end.1 - start.1) as f64 / secs;
    println!("mqtt: {msgs:.0} DDATA messages/s, {metrics:.0} metrics/s arriving at a subscriber; load {}", load());
    feeder.abort();
    sub.abort();
    node.abort();
    drop(writes);
}

fn main() {
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let want = |name: &str| only.is_empty() || only.iter().any(|o| name.starts_with(o.as_str()));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(async {
        if want("opcua-read") {
            opcua(false).await;
        }
        if want("opcua-sub") {
            opcua(true).await;
        }
        if want("ascii") {
            ascii().await;
        }
        if want("mqtt") {
            mqtt().await;
        }
    });
}
