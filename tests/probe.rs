//! `mimic probe modbus` against real peers: a sparse pymodbus TCP map (holes answering
//! illegal data address, a table answering illegal function, a float32, text), a pymodbus
//! RTU server over a socat pty pair, and the demo plant of `mimic sim`. Each probe must
//! find exactly the valid ranges, never write (the TCP peer dies on the first write), and
//! propose a fragment `mimic check` accepts (also as a `[[template]]`, `--as-template`).
//! Dead endpoints and units fail with a clear message after a bounded number of requests.

mod support;

use std::path::Path;

use support::binary::mimic;
use support::peers::{peers_dir, spawn_python_peer, typed_modbus_server};
use support::pty::serial_peer;

/// Wrap the proposal in a minimal site, check it with `mimic check`, return the site.
fn checked_site(fragment: &str, dir: &Path) -> mimic::config::Site {
    let path = dir.join("probed-site.toml");
    std::fs::write(&path, format!("[site]\nname = \"probed\"\n\n{fragment}")).unwrap();
    let out = mimic(&["check", path.to_str().unwrap()]);
    assert!(out.ok(), "mimic check refused the proposal:\n{out}\n{fragment}");
    mimic::config::Site::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn tag_addresses(site: &mimic::config::Site) -> Vec<String> {
    site.tags
        .iter()
        .map(|t| match &t.address {
            mimic::config::Address::Modbus(p) => format!("{}:{}", p.table.short(), p.address),
            other => panic!("not a Modbus address: {other:?}"),
        })
        .collect()
}

fn expected(table: &str, ranges: &[(u16, u16)]) -> Vec<String> {
    ranges.iter().flat_map(|&(a, b)| (a..=b).map(move |x| format!("{table}:{x}"))).collect()
}

#[test]
fn a_sparse_tcp_map_is_found_exactly_without_a_single_write() {
    let map = peers_dir().join("sparse_map.json");
    let map = map.to_str().unwrap();
    // --writes die: the peer exits on the first write request it sees
    let (mut peer, port) = spawn_python_peer(
        "modbus_server.py",
        &["--port", "0", "--map", map, "--illegal-function", "ir", "--writes", "die"],
    );
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("proposal.toml");
    let target = format!("tcp://127.0.0.1:{port}");
    let out = mimic(&[
        "probe",
        "modbus",
        &target,
        "--unit",
        "1",
        "--count",
        "100",
        "--pause",
        "1ms",
        "--name",
        "plc",
        "--out",
        out_file.to_str().unwrap(),
    ]);
    let err = out.stderr.clone();
    assert!(out.ok(), "probe failed:\n{err}");
    assert!(peer.is_running(), "the peer saw a write request; stderr:\n{}", peer.stderr());
    assert!(err.contains("  hr   0..=2, 7..=13, 36..=37, 39..=64 (38 registers)"), "{err}");
    assert!(err.contains("  ir   not supported (illegal function)"), "{err}");
    assert!(err.contains("  coil 0..=31 (32 bits)"), "{err}");
    assert!(err.contains("  di   0..=31 (32 bits)"), "{err}");
    assert!(err.contains("2 illegal data address ×") && err.contains("1 illegal function × 1"), "{err}");
    assert!(err.contains(" 0 timeouts"), "{err}");

    // pymodbus answers only the first of several requests sent at once
    assert!(err.contains("reads sent at once answered (keep max_in_flight = 1)"), "{err}");
    let fragment = std::fs::read_to_string(&out_file).unwrap();
    assert!(fragment.contains("# max_in_flight: keep 1, it answered"), "{fragment}");
    assert!(peer.is_running(), "the burst wrote nothing; stderr:\n{}", peer.stderr());
    assert!(fragment.contains("endpoint = \"127.0.0.1:"), "{fragment}");
    assert!(fragment.contains("# hr:8..=9 as f32 (ABCD) = 12.5: likely a float"), "{fragment}");
    assert!(fragment.contains("# hr:44..=48 reads as text \"ACME PUMP\""), "{fragment}");
    assert!(fragment.contains("name = \"hr_00012\"\ndevice = \"plc\"\naddress = \"hr:12\"\n# read 65531 (0xFFFB)"));
    assert!(fragment.contains("address = \"coil:3\"\n# read 1"), "{fragment}");
    let site = checked_site(&fragment, dir.path());
    let mut want = expected("hr", &[(0, 2), (7, 13), (36, 37), (39, 64)]);
    want.extend(expected("coil", &[(0, 31)]));
    want.extend(expected("di", &[(0, 31)]));
    assert_eq!(tag_addresses(&site), want);
}

#[test]
fn dead_endpoints_and_units_fail_with_a_clear_message() {
    // nothing listening
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let out = mimic(&["probe", "modbus", &format!("tcp://127.0.0.1:{port}"), "--timeout", "500ms"]);
    let err = out.stderr.clone();
    assert!(!out.ok());
    assert!(err.contains(&format!("cannot reach modbus-tcp 127.0.0.1:{port} unit 1")), "{err}");
    assert!(out.stdout.is_empty(), "no proposal for a dead device");

    // a server that accepts and never answers: three requests, then a clear stop
    let (_silent, port) = typed_modbus_server("silent");
    let out = mimic(&["probe", "modbus", &format!("tcp://127.0.0.1:{port}"), "--timeout", "300ms"]);
    let err = out.stderr.clone();
    assert!(!out.ok());
    assert!(err.contains(&format!("modbus-tcp 127.0.0.1:{port} unit 1 does not answer")), "{err}");
    assert!(err.contains("3 request(s) in a row failed") && err.contains("no answer within the timeout"), "{err}");

    // a live server asked for a unit it does not have (pymodbus answers exception 4)
    let (_server, port) = typed_modbus_server("normal");
    let out = mimic(&["probe", "modbus", &format!("tcp://127.0.0.1:{port}"), "--unit", "9", "--pause", "1ms"]);
    let err = out.stderr.clone();
    assert!(!out.ok());
    assert!(err.contains("unit 9 does not answer") && err.contains("3 request(s) in a row failed"), "{err}");
}

#[test]
fn rtu_units_are_probed_over_a_serial_line() {
    let (pair, _peer) = serial_peer("modbus_rtu_server.py", &["--units", "1"]);
    let target = format!("rtu://{}", pair.b.display());
    let base = ["--baud", "19200", "--parity", "N", "--count", "64", "--pause", "0ms", "--timeout", "300ms"];
    let mut args = vec!["probe", "modbus", &target, "--unit", "1", "--name", "vfd"];
    args.extend(base);
    let out = mimic(&args);
    let err = out.stderr.clone();
    assert!(out.ok(), "probe failed:\n{err}");
    for t in ["hr  ", "ir  ", "coil", "di  "] {
        let unit = if t.starts_with("hr") || t.starts_with("ir") { "registers" } else { "bits" };
        assert!(err.contains(&format!("  {t} 0..=31 (32 {unit})")), "{t}: {err}");
    }
    let fragment = out.stdout.clone();
    assert!(fragment.contains("protocol = \"modbus-rtu\"") && fragment.contains("parity = \"N\""), "{fragment}");
    assert!(!fragment.contains("max_in_flight") && !err.contains("pipelining"), "a serial line: one at a time");
    // unit 1: register i holds 100 + i
    assert!(fragment.contains("address = \"hr:5\"\n# read 105 (0x0069)"), "{fragment}");
    let dir = tempfile::tempdir().unwrap();
    let site = checked_site(&fragment, dir.path());
    assert_eq!(site.tags.len(), 4 * 32);

    // a unit nobody answers for on the same line
    let mut args = vec!["probe", "modbus", &target, "--unit", "9"];
    args.extend(base);
    let out = mimic(&args);
    let err = out.stderr.clone();
    assert!(!out.ok());
    assert!(err.contains("unit 9 does not answer") && err.contains("baud rate, parity and wiring"), "{err}");
}

#[test]
fn the_demo_plant_is_found() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sim = rt.block_on(mimic_drivers::sim::serve("127.0.0.1:0".parse().unwrap(), 1, 1, 1.0)).unwrap();
    let target = format!("tcp://{}", sim.local_addr());
    let out = mimic(&["probe", "modbus", &target, "--count", "300", "--pause", "0ms", "--tag-prefix", "skid."]);
    let err = out.stderr.clone();
    assert!(out.ok(), "probe failed:\n{err}");
    assert!(err.contains("  hr   0..=15 (16 registers)"), "{err}");
    assert!(err.contains("  ir   0..=127 (128 registers)"), "{err}");
    assert!(err.contains("  coil 0..=7 (8 bits)"), "{err}");
    assert!(err.contains("  di   0..=7 (8 bits)"), "{err}");
    assert!(err.contains("pipelining: 8 of a burst of 8 reads sent at once answered\n"), "{err}");
    let fragment = out.stdout.clone();
    assert!(fragment.contains("name = \"skid.ir_00014\""), "{fragment}");
    assert!(fragment.contains("\nmax_in_flight = 8 "), "the demo plant answers bursts: {fragment}");
    let dir = tempfile::tempdir().unwrap();
    let site = checked_site(&fragment, dir.path());
    assert_eq!(site.tags.len(), 16 + 128 + 8 + 8);

    // --as-template: the same tags, from a [[template]] and one [[instance]] of it
    let out = mimic(&[
        "probe",
        "modbus",
        &target,
        "--count",
        "300",
        "--pause",
        "0ms",
        "--tag-prefix",
        "skid.",
        "--as-template",
        "skid",
    ]);
    assert!(out.ok(), "probe --as-template failed:\n{}", out.stderr);
    let templated = out.stdout.clone();
    assert!(templated.contains("\n[[template]]\nname = \"skid\"\n"), "{templated}");
    assert!(!templated.contains("[[tag]]"), "{templated}");
    let from_template = checked_site(&templated, dir.path());
    assert_eq!(from_template.tags, site.tags, "the template proposes the same tags");
    drop(sim);
}
