//! The Modbus TCP driver and the daemon against a real pymodbus server on loopback:
//! stored values match what the server served across every data type and byte order;
//! a device exception marks only its tags Bad and keeps the connection; a server that
//! closes the socket or never answers makes its tags Bad without stalling anyone else.

mod support;

use std::time::Duration;

use mimic::daemon::Daemon;
use mimic::ipc::{LiveSnapshot, TagQuality};
use support::daemon::{start, wait_for};
use support::live::tag;
use support::peers::{Peer, typed_map_path, typed_modbus_server};

struct Point {
    name: String,
    value: f64,
}

/// A site file with one tag per point of the typed map, on the server at `port`.
fn typed_site(port: u16, poll: &str, timeout: &str) -> (String, Vec<Point>) {
    let map: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(typed_map_path()).expect("typed map")).expect("json");
    let mut toml = format!(
        "[site]\nname = \"typed\"\n\n[[device]]\nname = \"peer\"\nprotocol = \"modbus-tcp\"\nendpoint = \"127.0.0.1:{port}\"\n\
         timeout = \"{timeout}\"\npoll = \"{poll}\"\n"
    );
    let mut points = Vec::new();
    for p in map["points"].as_array().expect("points") {
        let name = p["name"].as_str().expect("name");
        toml += &format!(
            "\n[[tag]]\nname = \"{name}\"\ndevice = \"peer\"\naddress = \"{}:{}\"\ntype = \"{}\"\n",
            p["table"].as_str().expect("table"),
            p["address"],
            p["type"].as_str().expect("type")
        );
        if let Some(o) = p.get("order").and_then(|o| o.as_str()) {
            toml += &format!("order = \"{o}\"\n");
        }
        if let Some(b) = p.get("bit") {
            toml += &format!("bit = {b}\n");
        }
        let value = match &p["value"] {
            serde_json::Value::Bool(b) => f64::from(u8::from(*b)),
            v => v.as_f64().expect("number"),
        };
        points.push(Point { name: name.to_string(), value });
    }
    (toml, points)
}

/// The typed-map server in `mode` and a daemon polling it every 200 ms (timeout 1 s),
/// with `device_extra` added to the device's section.
struct Rig {
    _peer: Peer,
    _dir: tempfile::TempDir,
    d: Daemon,
    points: Vec<Point>,
}

async fn rig(mode: &str, device_extra: &str) -> Rig {
    let (_peer, port) = typed_modbus_server(mode);
    let (toml, points) = typed_site(port, "200ms", "1s");
    let toml = toml.replacen("poll = \"200ms\"\n", &format!("poll = \"200ms\"\n{device_extra}"), 1);
    assert!(toml.contains(device_extra), "{toml}");
    let _dir = tempfile::tempdir().expect("tempdir");
    let d = start(&toml, _dir.path()).await;
    Rig { _peer, _dir, d, points }
}

/// The first snapshot with every tag read and at least `polls` polls: it holds what the
/// server serves (see [`assert_served`]).
async fn served_after(d: &Daemon, points: &[Point], polls: u64) -> LiveSnapshot {
    let snap =
        wait_for(d, "every tag read", |s| s.tags.iter().all(|t| t.recv_ms.is_some()) && s.devices[0].polls >= polls)
            .await;
    assert_served(&snap, points);
    snap
}

/// Every tag of the typed map holds what the server serves, but the one inside the server's
/// exception range: only that one is Bad.
fn assert_served(snap: &LiveSnapshot, points: &[Point]) {
    for p in points {
        let t = tag(snap, &p.name);
        if p.name == "hr_exc_u16" {
            assert_eq!(t.quality, TagQuality::Bad, "{}", p.name);
            assert_eq!(t.reason.as_deref(), Some("device exception 2"));
            continue;
        }
        assert_eq!(t.quality, TagQuality::Good, "{}: {:?}", p.name, t.reason);
        assert_eq!(t.value, Some(p.value), "{} decoded wrong", p.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_values_match_what_the_server_served() {
    let Rig { _peer, _dir, d, points } = rig("normal", "").await;

    let snap = served_after(&d, &points, 2).await;
    let dev = &snap.devices[0];
    assert!(dev.connected, "an exception keeps the connection");
    assert_eq!(dev.reconnects, 0);
    assert!(dev.exceptions >= 1);

    // The historian holds the same values, with their quality.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let store = d.store_status.lock().expect("status").clone();
    assert!(store.samples as usize >= points.len(), "{store:?}");
    {
        let h = d.historian.read().expect("historian");
        for p in &points {
            let id = h.lookup(&p.name).expect("lookup").expect("tag in store");
            let samples = h.query(id, 0, i64::MAX).expect("query");
            assert!(!samples.is_empty(), "{} has no stored samples", p.name);
            let last = samples.last().expect("sample");
            if p.name == "hr_exc_u16" {
                assert_ne!(last.quality, 0);
                assert!(last.value.is_nan());
            } else {
                assert_eq!(last.quality, 0, "{}", p.name);
                assert_eq!(last.value, p.value, "{} stored wrong", p.name);
            }
        }
    }
    d.shutdown().await;
}

/// The same map read with every block a request of its own and eight requests in flight on
/// the one connection, from pyModbusTCP (it answers pipelined requests one by one, in
/// order); a refused block is read point by point once the pipeline is drained.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_reads_match_what_the_server_served() {
    let Rig { _peer, _dir, d, points } = rig("pipeline", "max_gap = 0\nmax_in_flight = 8\n").await;
    let snap = served_after(&d, &points, 3).await;
    let dev = &snap.devices[0];
    assert!(dev.connected && dev.reconnects == 0, "the pipeline stayed in step: {dev:?}");
    d.shutdown().await;
}

/// pymodbus answers only the first request of a pipelined burst: a site that asks a device
/// like that for several requests in flight gets one poll of timeouts (never a value taken
/// from another request's answer), then the driver polls it one request at a time and every
/// tag holds what the server serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_drops_pipelined_requests_is_polled_one_at_a_time_after_one_timeout() {
    let Rig { _peer, _dir, d, points } = rig("normal", "max_gap = 0\nmax_in_flight = 4\n").await;
    // Without the fall-back every poll would answer its first block and time out on the
    // rest: all tags Good at once means the device is polled one request at a time.
    let snap = wait_for(&d, "a timeout, then every tag read again", |s| {
        let dev = &s.devices[0];
        dev.timeouts >= 1
            && dev.connected
            && s.tags.iter().all(|t| t.quality == TagQuality::Good || t.name == "hr_exc_u16")
    })
    .await;
    assert_served(&snap, &points);
    let dev = &snap.devices[0];
    assert!(dev.timeouts >= 1, "the burst timed out: {dev:?}");
    // Nothing stored from the burst is another request's value.
    {
        let h = d.historian.read().expect("historian");
        for p in points.iter().filter(|p| p.name != "hr_exc_u16") {
            let id = h.lookup(&p.name).expect("lookup").expect("tag in store");
            for s in h.query(id, 0, i64::MAX).expect("query").iter().filter(|s| s.quality == 0) {
                assert_eq!(s.value, p.value, "{}: a Good sample must be its own", p.name);
            }
        }
    }
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_refused_marks_tags_bad_and_keeps_the_link() {
    let Rig { _peer, _dir, d, points: _ } = rig("exception", "").await;
    let snap = wait_for(&d, "two polls", |s| s.devices[0].polls >= 2).await;
    assert!(
        snap.tags.iter().all(|t| t.quality == TagQuality::Bad && t.reason.as_deref() == Some("device exception 2"))
    );
    assert!(snap.devices[0].connected);
    assert_eq!(snap.devices[0].reconnects, 0);
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_closes_the_socket_gives_comm_failures_and_reconnects() {
    let Rig { _peer, _dir, d, points: _ } = rig("close", "").await;
    let snap = wait_for(&d, "a reconnect after the peer closed", |s| s.devices[0].reconnects >= 1).await;
    assert!(
        snap.tags.iter().all(|t| t.quality == TagQuality::Bad),
        "{:?}",
        snap.tags.iter().map(|t| &t.reason).collect::<Vec<_>>()
    );
    assert!(snap.devices[0].errors >= 1);
    assert!(snap.devices[0].last_error.is_some());
    d.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_device_times_out_and_never_delays_the_others() {
    let (_peer, silent_port) = typed_modbus_server("silent");
    let sim = mimic_drivers::sim::serve("127.0.0.1:0".parse().expect("addr"), 1, 7, 1.0).await.expect("sim");
    let toml = format!(
        "[site]\nname = \"mixed\"\n\n\
         [[device]]\nname = \"good\"\nprotocol = \"modbus-tcp\"\nendpoint = \"{}\"\ntimeout = \"500ms\"\npoll = \"100ms\"\n\n\
         [[device]]\nname = \"dead\"\nprotocol = \"modbus-tcp\"\nendpoint = \"127.0.0.1:{silent_port}\"\ntimeout = \"700ms\"\npoll = \"100ms\"\n\n\
         [[tag]]\nname = \"flow\"\ndevice = \"good\"\naddress = \"ir:0\"\nscale = 0.1\n\n\
         [[tag]]\nname = \"level\"\ndevice = \"good\"\naddress = \"ir:4\"\nscale = 0.1\n\n\
         [[tag]]\nname = \"x\"\ndevice = \"dead\"\naddress = \"hr:0\"\n",
        sim.local_addr()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let d = start(&toml, dir.path()).await;
    let first = wait_for(&d, "the dead device's first timeout", |s| s.devices[1].timeouts >= 1).await;
    let (good0, at0) = (first.devices[0].polls, std::time::Instant::now());
    let later = wait_for(&d, "more timeouts", |s| s.devices[1].timeouts >= first.devices[1].timeouts + 3).await;
    let window = at0.elapsed().as_secs_f64();
    let good_polls = (later.devices[0].polls - good0) as f64;
    let nominal = window / 0.1;
    assert!(
        good_polls >= 0.8 * nominal,
        "healthy device polled {good_polls} times in {window:.2}s (nominal {nominal:.0}) while its neighbour timed out"
    );
    assert_eq!(tag(&later, "x").quality, TagQuality::Bad);
    assert_eq!(tag(&later, "x").reason.as_deref(), Some("timeout"));
    assert_eq!(tag(&later, "flow").quality, TagQuality::Good);
    d.shutdown().await;
}
