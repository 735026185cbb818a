//! Proves the Modbus test peer works in each of its modes, using hand-built
//! Modbus TCP frames over plain std TCP (no Modbus library involved).

mod support;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

const UNIT: u8 = 1;

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to test peer");
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream
}

/// Sends FC3 (read holding registers) and returns the raw response PDU
/// (function code onwards) after checking the MBAP header.
fn read_holding_pdu(stream: &mut TcpStream, tid: u16, address: u16, count: u16) -> Vec<u8> {
    let mut frame = Vec::with_capacity(12);
    frame.extend_from_slice(&tid.to_be_bytes()); // transaction id
    frame.extend_from_slice(&0u16.to_be_bytes()); // protocol id
    frame.extend_from_slice(&6u16.to_be_bytes()); // length: unit + 5-byte PDU
    frame.push(UNIT);
    frame.push(0x03);
    frame.extend_from_slice(&address.to_be_bytes());
    frame.extend_from_slice(&count.to_be_bytes());
    stream.write_all(&frame).unwrap();

    let mut header = [0u8; 7];
    stream.read_exact(&mut header).expect("MBAP header");
    assert_eq!(u16::from_be_bytes([header[0], header[1]]), tid, "transaction id");
    assert_eq!(u16::from_be_bytes([header[2], header[3]]), 0, "protocol id");
    assert_eq!(header[6], UNIT, "unit id");
    let len = u16::from_be_bytes([header[4], header[5]]) as usize;
    let mut pdu = vec![0u8; len - 1];
    stream.read_exact(&mut pdu).expect("PDU");
    pdu
}

fn read_holding(stream: &mut TcpStream, tid: u16, address: u16, count: u16) -> Vec<u16> {
    let pdu = read_holding_pdu(stream, tid, address, count);
    assert_eq!(pdu[0], 0x03, "expected a normal FC3 response, got {pdu:02X?}");
    assert_eq!(pdu[1] as usize, 2 * count as usize, "byte count");
    pdu[2..].chunks(2).map(|w| u16::from_be_bytes([w[0], w[1]])).collect()
}

fn typed_map() -> Value {
    let text = std::fs::read_to_string(support::peers::typed_map_path()).expect("read typed map");
    serde_json::from_str(&text).expect("typed map is JSON")
}

fn point<'a>(map: &'a Value, name: &str) -> &'a Value {
    map["points"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("point {name} not in typed map"))
}

fn expected_registers(p: &Value) -> Vec<u16> {
    p["registers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| u16::from_str_radix(w.as_str().unwrap().trim_start_matches("0x"), 16).unwrap())
        .collect()
}

#[test]
fn normal_mode_serves_the_typed_map() {
    let map = typed_map();
    let (_peer, port) = support::peers::typed_modbus_server("normal");
    let mut s = connect(port);

    // Every holding-register point outside the exception range answers the
    // words documented in the map.
    let mut tid = 1;
    for p in map["points"].as_array().unwrap() {
        if p["table"] != "hr" || p["type"] == "bool" || p["name"] == "hr_exc_u16" {
            continue;
        }
        let want = expected_registers(p);
        let addr = p["address"].as_u64().unwrap() as u16;
        let got = read_holding(&mut s, tid, addr, want.len() as u16);
        assert_eq!(got, want, "registers of {}", p["name"]);
        tid += 1;
    }

    // f32 DCBA 1.0 decodes back to the engineering value.
    let p = point(&map, "hr_f32_dcba");
    let regs = read_holding(&mut s, 100, p["address"].as_u64().unwrap() as u16, 2);
    let [d, c] = regs[0].to_be_bytes();
    let [b, a] = regs[1].to_be_bytes();
    assert_eq!(f32::from_be_bytes([a, b, c, d]) as f64, p["value"].as_f64().unwrap());

    // An address inside "exception_ranges" answers exception 2 ...
    let p = point(&map, "hr_exc_u16");
    let pdu = read_holding_pdu(&mut s, 101, p["address"].as_u64().unwrap() as u16, 1);
    assert_eq!(pdu, vec![0x83, 0x02], "exception response for {}", p["name"]);
    // ... and the connection stays usable.
    let p = point(&map, "hr_u16_ab");
    let got = read_holding(&mut s, 102, p["address"].as_u64().unwrap() as u16, 1);
    assert_eq!(got, expected_registers(p));
}

#[test]
fn exception_mode_answers_illegal_data_address() {
    let (_peer, port) = support::peers::typed_modbus_server("exception");
    let mut s = connect(port);
    for tid in 1..=2 {
        let pdu = read_holding_pdu(&mut s, tid, 0, 2);
        assert_eq!(pdu, vec![0x03 | 0x80, 0x02]);
    }
}

#[test]
fn close_mode_closes_on_request() {
    let (_peer, port) = support::peers::typed_modbus_server("close");
    let mut s = connect(port);
    s.write_all(&[0, 1, 0, 0, 0, 6, UNIT, 3, 0, 0, 0, 1]).unwrap();
    let mut buf = [0u8; 16];
    match s.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        other => panic!("expected the peer to close the connection, got {other:?}"),
    }
}

#[test]
fn silent_mode_never_answers() {
    let (mut peer, port) = support::peers::typed_modbus_server("silent");
    let mut s = connect(port);
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    s.write_all(&[0, 1, 0, 0, 0, 6, UNIT, 3, 0, 0, 0, 1]).unwrap();
    let mut buf = [0u8; 16];
    match s.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected no answer within 1 s, got {other:?}"),
    }
    assert!(peer.is_running(), "silent peer died: {}", peer.stderr());
}

#[test]
fn missing_map_fails_with_stderr() {
    let result = std::panic::catch_unwind(|| {
        support::peers::spawn_modbus_server("normal", std::path::Path::new("/nonexistent/map.json"))
    });
    let msg = match result {
        Ok(_) => panic!("server with a missing map must not become READY"),
        Err(e) => e.downcast_ref::<String>().cloned().unwrap_or_default(),
    };
    assert!(msg.contains("exited before READY"), "{msg}");
    assert!(msg.contains("bad map"), "{msg}");
}
