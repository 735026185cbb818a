//! Dead and sick devices do not slow the healthy ones: `mimic run` polls two healthy
//! devices (`mimic sim`, units 1 and 2), one that stops answering (a pymodbus server
//! frozen with SIGSTOP after it was polled), one that answers just inside the timeout
//! (`--mode slow`) and one that answers garbage (`--mode garbage`). Over a window of the
//! daemon's own time, each healthy device's poll count must stay within 10% of
//! window / period (counts from the Devices data of the live snapshot, never the wall
//! time of the test), while the sick ones are reported as what they are.

mod support;

use std::path::Path;
use std::time::Duration;

use mimic::ipc::TagQuality;
use support::binary::{Served, Sim};
use support::live::{Snapshots, dev, tag};
use support::peers::{spawn_modbus_server, spawn_python_peer, typed_map_path};

const PERIOD_MS: i64 = 250;
const TIMEOUT_MS: u64 = 500;
const SLOW_MS: u64 = 400;
/// The measuring window, in the daemon's own time.
const WINDOW_MS: i64 = 10_000;

fn site(sim: &Sim, frozen: u16, slow: u16, garbage: u16, data: &Path) -> String {
    let mut s = format!("[site]\nname = \"sick devices\"\ndata_dir = {:?}\n", data.to_str().expect("utf-8 temp path"));
    let devices: [(&str, String, u8, &str); 5] = [
        ("good-a", sim.endpoint(), 1, "ir:0"),
        ("good-b", sim.endpoint(), 2, "ir:0"),
        ("frozen", format!("127.0.0.1:{frozen}"), 1, "hr:0"),
        ("slow", format!("127.0.0.1:{slow}"), 1, "hr:0"),
        ("garbage", format!("127.0.0.1:{garbage}"), 1, "hr:0"),
    ];
    for (name, endpoint, unit, address) in devices {
        s += &format!(
            "\n[[device]]\nname = \"{name}\"\nprotocol = \"modbus-tcp\"\nendpoint = \"{endpoint}\"\nunit = {unit}\n\
             timeout = \"{TIMEOUT_MS}ms\"\npoll = \"{PERIOD_MS}ms\"\n\n[[tag]]\nname = \"{name}.value\"\n\
             device = \"{name}\"\naddress = \"{address}\"\n"
        );
    }
    s
}

#[test]
fn healthy_devices_keep_their_period_beside_dead_slow_and_garbage_ones() {
    let sim = Sim::start(&["--units", "2"]);
    let map = typed_map_path();
    let (frozen, frozen_port) = spawn_modbus_server("normal", &map);
    let slow_ms = SLOW_MS.to_string();
    let (_slow, slow_port) = spawn_python_peer(
        "modbus_server.py",
        &["--port", "0", "--map", map.to_str().expect("utf-8"), "--mode", "slow", "--delay-ms", &slow_ms],
    );
    let (_garbage, garbage_port) = spawn_modbus_server("garbage", &map);

    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let site_path = tmp.path().join("site.toml");
    std::fs::write(&site_path, site(&sim, frozen_port, slow_port, garbage_port, &data)).expect("write site");
    let mut daemon = Served::start(&site_path, &data);
    let mut snaps = Snapshots::attach(&daemon.sock);

    // The device that will stop answering is polled fine first; then it freezes.
    snaps.until(Duration::from_secs(30), "first polls", |s| {
        ["good-a", "good-b", "frozen"].iter().all(|n| dev(s, n).polls >= 3)
    });
    // SAFETY: kill(2) on the pid of our own child peer.
    let rc = unsafe { libc::kill(i32::try_from(frozen.id()).expect("pid"), libc::SIGSTOP) };
    assert_eq!(rc, 0, "SIGSTOP the frozen device");
    let first =
        snaps.until(Duration::from_secs(30), "the frozen device timing out", |s| dev(s, "frozen").timeouts >= 1);

    // Measure over WINDOW_MS of the daemon's time.
    let last = snaps.until(Duration::from_millis(WINDOW_MS as u64 * 4), "the end of the window", |s| {
        ["good-a", "good-b"].iter().all(|n| {
            let (a, b) = (dev(&first, n).last_poll_ms.unwrap_or(0), dev(s, n).last_poll_ms.unwrap_or(0));
            b - a >= WINDOW_MS
        })
    });
    for name in ["good-a", "good-b"] {
        let (a, b) = (dev(&first, name), dev(&last, name));
        let span = b.last_poll_ms.unwrap_or(0) - a.last_poll_ms.unwrap_or(0);
        let polls = b.polls - a.polls;
        let expected = span as f64 / PERIOD_MS as f64;
        let ratio = polls as f64 / expected;
        eprintln!("{name}: {polls} polls in {span} ms (expected {expected:.1}, ratio {ratio:.3})");
        assert!(
            (0.9..=1.1).contains(&ratio),
            "{name}: {polls} polls over {span} ms is not within 10% of one per {PERIOD_MS} ms ({expected:.1})"
        );
        assert_eq!(b.errors, a.errors, "{name} had errors in the window: {b:?}");
        assert!(b.connected, "{name} connected: {b:?}");
    }
    let tag = |n: &str| tag(&last, n);
    assert_eq!(tag("good-a.value").quality, TagQuality::Good);
    assert_eq!(tag("good-b.value").quality, TagQuality::Good);

    // The sick ones are seen for what they are.
    let frozen_dev = dev(&last, "frozen");
    assert!(frozen_dev.timeouts > dev(&first, "frozen").timeouts, "frozen keeps timing out: {frozen_dev:?}");
    assert_ne!(tag("frozen.value").quality, TagQuality::Good, "a frozen device's value is not Good");
    let slow_dev = dev(&last, "slow");
    assert!(slow_dev.polls > dev(&first, "slow").polls, "the slow device is still polled: {slow_dev:?}");
    let latency = slow_dev.latency_ms.unwrap_or(0.0);
    assert!(latency >= SLOW_MS as f64 * 0.9, "the slow device's latency shows ({latency} ms)");
    let garbage_dev = dev(&last, "garbage");
    assert!(garbage_dev.errors > dev(&first, "garbage").errors, "garbage answers count as errors: {garbage_dev:?}");
    assert_ne!(tag("garbage.value").quality, TagQuality::Good, "garbage never reads as Good");

    // SAFETY: as above; let the frozen peer exit normally on drop.
    unsafe { libc::kill(i32::try_from(frozen.id()).expect("pid"), libc::SIGCONT) };
    daemon.stop_cleanly();
}
