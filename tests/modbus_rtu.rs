//! Modbus RTU against a real pymodbus serial server (RTU framer) over a socat pty pair:
//! several units on one line read right through the daemon; a silent unit goes Bad
//! (timeout) without taking the other units' rate; a unit whose answers are corrupted
//! (bad CRC, leading garbage, junk) is counted, recovers on the next clean answer, and
//! never disturbs its neighbour; writes are read back. Serial settings are validated.
//!
//! A pty neither paces bytes at the baud rate nor carries parity: these tests use 8N1
//! and assert behaviour, not wire timing (the rate is measured by the `rtu_rate` bench).

mod support;

use std::path::Path;
use std::time::Duration;

use mimic::config::Site;
use mimic::ipc::TagQuality;
use mimic_drivers::device::run_device;
use mimic_drivers::modbus::{ByteOrder, DataType, ModbusPoint, Table};
use mimic_drivers::rtu::{LineConfig, LineHandle, ModbusRtu, ModbusRtuConfig};
use mimic_drivers::serial::{Parity, SerialSettings};
use mimic_drivers::{DeviceEvent, Driver, PollGroup, Quality, Reason, WriteOutcome};
use support::daemon::{start, wait_for};
use support::live::tag;
use support::peers::Peer;
use support::pty::{PtyPair, pty_pair, serial_peer};
use tokio::sync::mpsc;

/// Start the RTU peer on end `a` of a fresh pty pair.
fn rtu_peer(units: &str, garbage: Option<u8>) -> (PtyPair, Peer) {
    let garbage = garbage.map(|g| g.to_string());
    let mut args = vec!["--units", units];
    if let Some(g) = &garbage {
        args.extend(["--garbage-unit", g.as_str()]);
    }
    serial_peer("modbus_rtu_server.py", &args)
}

fn device(name: &str, port: &Path, unit: u8, timeout: &str, poll: &str) -> String {
    format!(
        "[[device]]\nname = \"{name}\"\nprotocol = \"modbus-rtu\"\nport = \"{}\"\nbaud = 19200\nparity = \"N\"\n\
         unit = {unit}\ntimeout = \"{timeout}\"\npoll = \"{poll}\"\n\n",
        port.display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_on_one_line_read_right_and_a_silent_unit_costs_only_its_timeout() {
    let (pair, _peer) = rtu_peer("1,2", None);
    let mut toml = "[site]\nname = \"rtu\"\n\n".to_string();
    toml += &device("u1", &pair.b, 1, "500ms", "200ms");
    toml += &device("u2", &pair.b, 2, "500ms", "200ms");
    toml += &device("dead", &pair.b, 9, "300ms", "200ms");
    toml += "[[tag]]\nname = \"u1.hr0\"\ndevice = \"u1\"\naddress = \"hr:0\"\n\n\
             [[tag]]\nname = \"u1.ir5\"\ndevice = \"u1\"\naddress = \"ir:5\"\nscale = 0.1\n\n\
             [[tag]]\nname = \"u1.coil3\"\ndevice = \"u1\"\naddress = \"coil:3\"\n\n\
             [[tag]]\nname = \"u2.pair\"\ndevice = \"u2\"\naddress = \"hr:4\"\ntype = \"u32\"\n\n\
             [[tag]]\nname = \"dead.x\"\ndevice = \"dead\"\naddress = \"hr:0\"\n";
    let dir = tempfile::tempdir().expect("tempdir");
    let d = start(&toml, dir.path()).await;

    let snap = wait_for(&d, "every live unit read and the dead one timed out", |s| {
        ["u1.hr0", "u1.ir5", "u1.coil3", "u2.pair"].iter().all(|n| tag(s, n).quality == TagQuality::Good)
            && tag(s, "dead.x").reason.as_deref() == Some("timeout")
    })
    .await;
    assert_eq!(tag(&snap, "u1.hr0").value, Some(100.0));
    assert_eq!(tag(&snap, "u1.ir5").value, Some(10.5));
    assert_eq!(tag(&snap, "u1.coil3").value, Some(1.0));
    assert_eq!(tag(&snap, "u2.pair").value, Some((204u32 * 65536 + 205) as f64));
    assert_eq!(snap.devices[0].protocol, "modbus-rtu");
    assert!(snap.devices[0].endpoint.contains("unit 1"), "{}", snap.devices[0].endpoint);

    // Once the dead unit is backed off, the live units keep their rate.
    let first = wait_for(&d, "three timeouts of the dead unit", |s| s.devices[2].timeouts >= 3).await;
    let (p1, p2, at0) = (first.devices[0].polls, first.devices[1].polls, std::time::Instant::now());
    let later = wait_for(&d, "two more timeouts", |s| s.devices[2].timeouts >= first.devices[2].timeouts + 2).await;
    let window = at0.elapsed().as_secs_f64();
    let nominal = window / 0.2;
    for (name, polls) in [("u1", later.devices[0].polls - p1), ("u2", later.devices[1].polls - p2)] {
        assert!(
            polls as f64 >= 0.7 * nominal,
            "{name} polled {polls} times in {window:.2}s (nominal {nominal:.0}) beside a silent unit"
        );
    }
    assert_eq!(tag(&later, "dead.x").quality, TagQuality::Bad);
    assert_eq!(tag(&later, "dead.x").reason.as_deref(), Some("timeout"));
    assert_eq!(tag(&later, "u1.hr0").quality, TagQuality::Good);
    assert_eq!(later.devices[0].timeouts, 0);
    d.shutdown().await;
}

fn point(table: Table, address: u16) -> ModbusPoint {
    ModbusPoint { table, address, dtype: DataType::U16, order: ByteOrder::Abcd, bit: None, scale: 1.0, offset: 0.0 }
}

/// 19200 8N1 on `port`.
fn serial_8n1(port: &Path) -> SerialSettings {
    SerialSettings {
        port: port.to_str().expect("utf-8").into(),
        baud: 19200,
        data_bits: 8,
        parity: Parity::None,
        stop_bits: 1,
    }
}

fn line(pair: &PtyPair) -> LineHandle {
    LineHandle::spawn(LineConfig { serial: serial_8n1(&pair.b), frame_gap: None })
}

fn rtu(line: &LineHandle, unit: u8, points: Vec<ModbusPoint>) -> ModbusRtu {
    let cfg = ModbusRtuConfig { port: "pty".into(), unit, timeout: Duration::from_millis(400), max_gap: 4 };
    ModbusRtu::new(cfg, line.clone(), points)
}

/// Collect events from two device tasks until `n` polls of device 1.
async fn collect(rx: &mut mpsc::Receiver<DeviceEvent>, n: u64) -> (Vec<DeviceEvent>, Vec<DeviceEvent>) {
    let (mut d0, mut d1) = (Vec::new(), Vec::new());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while d1.last().is_none_or(|e: &DeviceEvent| e.stats.polls < n) {
        let ev = tokio::time::timeout_at(deadline, rx.recv()).await.expect("events in time").expect("tasks alive");
        if ev.device == 0 { d0.push(ev) } else { d1.push(ev) }
    }
    (d0, d1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_crc_errors_are_counted_and_the_next_clean_answer_recovers() {
    let (pair, _peer) = rtu_peer("1", Some(3));
    let line = line(&pair);
    let (tx, mut rx) = mpsc::channel(256);
    let mut tasks = Vec::new();
    for (dev, unit) in [(0usize, 1u8), (1, 3)] {
        let driver = rtu(&line, unit, vec![point(Table::HoldingRegister, 2), point(Table::HoldingRegister, 3)]);
        let groups = vec![PollGroup { period: Duration::from_millis(50), points: vec![0, 1] }];
        let (_wtx, wrx) = mpsc::channel(1);
        tasks.push(tokio::spawn(run_device(dev, driver, groups, tx.clone(), wrx)));
    }
    let (clean, noisy) = collect(&mut rx, 12).await;
    for t in &tasks {
        t.abort();
    }

    // The neighbour never saw a bad value nor any noise.
    assert!(!clean.is_empty());
    for e in &clean {
        for r in &e.readings {
            assert_eq!(r.quality, Quality::Good, "unit 1: {r:?}");
            assert_eq!(r.value, Some(102.0 + r.point as f64));
        }
        assert_eq!(e.stats.garbled, 0);
    }
    // The noisy unit: good readings (clean and behind garbage) and decode errors, counted.
    let readings: Vec<_> = noisy.iter().flat_map(|e| &e.readings).collect();
    let good = readings.iter().filter(|r| r.quality.is_good()).count();
    let bad = readings.iter().filter(|r| r.quality == Quality::Bad(Reason::DecodeError)).count();
    assert!(good >= 4 && bad >= 4, "good {good}, bad {bad}: {readings:?}");
    for r in readings.iter().filter(|r| r.quality.is_good()) {
        assert_eq!(r.value, Some(302.0 + r.point as f64), "a corrupted answer was believed");
    }
    // after a Bad poll, a later clean answer makes the unit Good again
    let polls: Vec<bool> = noisy.iter().map(|e| e.readings.iter().all(|r| r.quality.is_good())).collect();
    let first_bad = polls.iter().position(|g| !g).expect("some bad poll");
    assert!(polls[first_bad..].contains(&true), "never recovered: {polls:?}");
    let stats = &noisy.last().expect("events").stats;
    assert!(stats.garbled >= 6, "every corrupted answer is counted: {stats:?}");
    assert!(stats.errors >= stats.garbled);
    assert_eq!(stats.timeouts, 0, "garbage is not a timeout: {stats:?}");
    let msg = stats.last_error.as_deref().unwrap_or("");
    assert!(msg.chars().all(|c| !c.is_control()), "{msg:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_go_to_the_right_unit_and_are_read_back() {
    let (pair, _peer) = rtu_peer("1,2", None);
    let line = line(&pair);
    let mut p = point(Table::HoldingRegister, 10);
    p.dtype = DataType::U32;
    let mut u2 = rtu(&line, 2, vec![p, point(Table::Coil, 4), point(Table::InputRegister, 0)]);
    let mut u1 = rtu(&line, 1, vec![point(Table::HoldingRegister, 10)]);
    u2.connect().await.expect("unit 2 answers");
    u1.connect().await.expect("unit 1 answers");
    assert_eq!(u2.write(0, 70000.0, 0.0).await, WriteOutcome::Confirmed { read_back: 70000.0 });
    assert_eq!(u2.write(1, 1.0, 0.0).await, WriteOutcome::Confirmed { read_back: 1.0 });
    assert!(matches!(u2.write(2, 1.0, 0.0).await, WriteOutcome::Invalid { .. }), "ir is read-only");
    let plan = u1.plan(&[0]);
    let mut out = Vec::new();
    u1.read(&plan, &mut out).await.expect("read");
    assert_eq!(out[0].value, Some(110.0), "unit 1 untouched by unit 2's write");

    let mut dead = rtu(&line, 7, vec![point(Table::HoldingRegister, 0)]);
    assert!(dead.connect().await.is_err());
}

#[test]
fn serial_settings_are_validated_with_their_place() {
    let text = "[site]\nname = \"t\"\n\n\
        [[device]]\nname = \"a\"\nprotocol = \"modbus-rtu\"\nport = \"/dev/ttyUSB0\"\nparity = \"X\"\nunit = 0\n\n\
        [[device]]\nname = \"b\"\nprotocol = \"modbus-rtu\"\nport = \"/dev/ttyUSB0\"\nbaud = 9600\nframe_gap = \"1ms\"\n\n\
        [[device]]\nname = \"c\"\nprotocol = \"modbus-rtu\"\nport = \"/dev/ttyUSB1\"\nendpoint = \"x:1\"\nstop_bits = 3\n\n\
        [[device]]\nname = \"d\"\nprotocol = \"modbus-tcp\"\nendpoint = \"127.0.0.1:502\"\nbaud = 9600\n\n\
        [[device]]\nname = \"e\"\nprotocol = \"modbus-rtu\"\nport = \"/dev/ttyUSB1\"\nparity = \"O\"\nunit = 2\n\n\
        [[device]]\nname = \"f\"\nprotocol = \"modbus-rtu\"\nport = \"/dev/ttyUSB1\"\nparity = \"O\"\nunit = 2\n";
    let errs = Site::parse(Path::new("site.toml"), text).expect_err("invalid");
    let got: Vec<String> = errs.0.iter().map(|e| format!("{}:{} {}: {}", e.line, e.col, e.path, e.message)).collect();
    let want = [
        "8:10 device[0].parity: `X` is not N, E or O",
        "9:8 device[0].unit: unit id 0 is outside 1..=247 on a serial line",
        "14:8 device[1].port: line settings differ from device `a` on the same port \
         (/dev/ttyUSB0 9600 8E1 4.010416ms gap vs /dev/ttyUSB0 19200 8E1 2.005208ms gap)",
        "16:13 device[1].frame_gap: 1ms is shorter than the standard's 4.010416ms at 9600 baud",
        "22:12 device[2].endpoint: a serial device has a `port`, not an `endpoint`",
        "23:13 device[2].stop_bits: 3 is not one of 1, 2",
        "29:8 device[3].baud: does not apply to a modbus-tcp device",
        "34:8 device[4].port: line settings differ from device `c` on the same port \
         (/dev/ttyUSB1 19200 8O1 2.005208ms gap vs /dev/ttyUSB1 19200 8E1 2.005208ms gap)",
        "41:8 device[5].port: line settings differ from device `c` on the same port \
         (/dev/ttyUSB1 19200 8O1 2.005208ms gap vs /dev/ttyUSB1 19200 8E1 2.005208ms gap)",
        "43:8 device[5].unit: unit 2 is already device `e` on this port",
    ];
    assert_eq!(got, want, "\n{}", got.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_reads_the_demo_plant_served_over_rtu() {
    let pair = pty_pair();
    let sim = mimic_drivers::sim::serve_rtu(&serial_8n1(&pair.a), 2, 1, 1.0).expect("RTU simulator");
    let mut toml = "[site]\nname = \"rtu sim\"\n\n".to_string();
    toml += &device("p1", &pair.b, 1, "500ms", "200ms");
    toml += &device("p2", &pair.b, 2, "500ms", "200ms");
    for u in ["p1", "p2"] {
        toml += &format!(
            "[[tag]]\nname = \"{u}.speed\"\ndevice = \"{u}\"\naddress = \"ir:6\"\nscale = 0.1\n\n\
             [[tag]]\nname = \"{u}.vibration\"\ndevice = \"{u}\"\naddress = \"ir:8\"\ntype = \"f32\"\n\n"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = start(&toml, dir.path()).await;
    let snap = wait_for(&d, "both pumps read", |s| s.tags.iter().all(|t| t.quality == TagQuality::Good)).await;
    for u in ["p1", "p2"] {
        assert_eq!(tag(&snap, &format!("{u}.speed")).value, Some(75.0));
        let vib = tag(&snap, &format!("{u}.vibration")).value.expect("vibration");
        assert!((0.5..=5.0).contains(&vib), "{u} vibration {vib}");
    }
    assert_eq!(sim.units(), 2);
    d.shutdown().await;
}
