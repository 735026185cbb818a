//! Pipelined reads (`max_in_flight` > 1) against scripted devices over an in-memory
//! stream: answers are matched by transaction id in whatever order they come, the window
//! is never exceeded, a refused coalesced block is read point by point afterwards, and an
//! answer to no request in flight drops the link with every unanswered point Bad.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mimic_drivers::modbus::mbap;
use mimic_drivers::modbus::{ByteOrder, DataType, ModbusPoint, ModbusTcp, ModbusTcpConfig, Table};
use mimic_drivers::{Driver, Quality, Reading, Reason};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

fn point(address: u16) -> ModbusPoint {
    ModbusPoint {
        table: Table::InputRegister,
        address,
        dtype: DataType::U16,
        order: ByteOrder::Abcd,
        bit: None,
        scale: 1.0,
        offset: 0.0,
    }
}

/// How the scripted device treats one read request (start, count) it received.
#[derive(Clone, Copy)]
enum Reply {
    /// Register `a` holds `1000 + a`.
    Values,
    /// Exception `code`.
    Exception(u8),
    /// An answer under a transaction id nobody asked for.
    StrangerTid,
    /// The right answer, sent twice (a gateway repeating itself).
    Twice,
}

/// A device that reads whatever requests have arrived, then answers all of them in reverse
/// order. `peak` records the most requests it held unanswered at once.
async fn device(io: DuplexStream, reply: fn(u16, u16) -> Reply, peak: Arc<AtomicUsize>) {
    serve(io, reply, peak, false).await
}

/// Like [`device`]; with `first_only`, of the requests that arrive together only the first is
/// answered and the others are dropped (as pymodbus 3.16 does).
async fn serve(mut io: DuplexStream, reply: fn(u16, u16) -> Reply, peak: Arc<AtomicUsize>, first_only: bool) {
    let mut buf = vec![0u8; 4096];
    let mut filled = 0;
    loop {
        let Ok(n) = io.read(&mut buf[filled..]).await else { return };
        if n == 0 {
            return;
        }
        filled += n;
        let mut frames = Vec::new();
        let mut at = 0;
        while let Ok(Some(len)) = mbap::frame_len(&buf[at..filled]) {
            if filled - at < len {
                break;
            }
            frames.push(buf[at..at + len].to_vec());
            at += len;
        }
        buf.copy_within(at..filled, 0);
        filled -= at;
        peak.fetch_max(frames.len(), Ordering::SeqCst);
        if first_only {
            frames.truncate(1);
        }
        let mut out = Vec::new();
        for f in frames.iter().rev() {
            let (tid, unit, pdu) = mbap::split(f);
            let (start, count) = (u16::from_be_bytes([pdu[1], pdu[2]]), u16::from_be_bytes([pdu[3], pdu[4]]));
            match reply(start, count) {
                Reply::Values => {
                    let words: Vec<u16> = (start..start + count).map(|a| 1000 + a).collect();
                    mbap::encode_registers(&mut out, tid, unit, pdu[0], &words);
                }
                Reply::Exception(code) => mbap::encode_exception(&mut out, tid, unit, pdu[0], code),
                Reply::Twice => {
                    let words: Vec<u16> = (start..start + count).map(|a| 1000 + a).collect();
                    mbap::encode_registers(&mut out, tid, unit, pdu[0], &words);
                    mbap::encode_registers(&mut out, tid, unit, pdu[0], &words);
                }
                Reply::StrangerTid => {
                    mbap::encode_registers(&mut out, tid.wrapping_add(100), unit, pdu[0], &vec![0; usize::from(count)])
                }
            }
        }
        if io.write_all(&out).await.is_err() {
            return;
        }
    }
}

/// Reads `addresses` (max_gap 0: one request per address unless neighbours) with
/// `max_in_flight` from a scripted device; returns the readings by point, the read's
/// result, whether the driver is still connected, and the device's peak of unanswered
/// requests.
async fn read(
    addresses: &[u16],
    max_gap: u16,
    max_in_flight: u8,
    reply: fn(u16, u16) -> Reply,
) -> (Vec<Reading>, bool, bool, usize) {
    let (client, server) = tokio::io::duplex(4096);
    let peak = Arc::new(AtomicUsize::new(0));
    let dev = tokio::spawn(device(server, reply, peak.clone()));
    let cfg =
        ModbusTcpConfig { endpoint: "test".into(), unit: 1, timeout: Duration::from_secs(2), max_gap, max_in_flight };
    let mut driver = ModbusTcp::new(cfg, addresses.iter().map(|&a| point(a)).collect());
    driver.attach(client);
    let plan = driver.plan(&(0..addresses.len()).collect::<Vec<_>>());
    let mut out = Vec::new();
    let ok = driver.read(&plan, &mut out).await.is_ok();
    let connected = driver.is_connected();
    dev.abort();
    out.sort_by_key(|r| r.point);
    assert_eq!(out.iter().map(|r| r.point).collect::<Vec<_>>(), (0..addresses.len()).collect::<Vec<_>>());
    (out, ok, connected, peak.load(Ordering::SeqCst))
}

#[tokio::test]
async fn answers_in_any_order_are_matched_by_transaction_id_within_the_window() {
    let addresses: Vec<u16> = (0..10).map(|k| k * 10).collect();
    let (out, ok, connected, peak) = read(&addresses, 0, 4, |_, _| Reply::Values).await;
    assert!(ok && connected);
    for (r, a) in out.iter().zip(&addresses) {
        assert_eq!(r.quality, Quality::Good, "{r:?}");
        assert_eq!(r.value, Some(f64::from(1000 + a)), "address {a} got another request's answer");
    }
    assert_eq!(peak, 4, "four requests in flight at most, and the window used");
}

#[tokio::test]
async fn one_in_flight_and_zero_send_one_request_at_a_time() {
    let addresses: Vec<u16> = (0..5).map(|k| k * 10).collect();
    for window in [1, 0] {
        let (out, ok, _, peak) = read(&addresses, 0, window, |_, _| Reply::Values).await;
        assert!(ok && out.iter().all(|r| r.quality == Quality::Good), "window {window}");
        assert_eq!(peak, 1, "window {window}");
    }
}

#[tokio::test]
async fn a_refused_coalesced_block_is_read_point_by_point_after_the_pipeline() {
    // 0..=2 coalesce into one read, which the device refuses (address 1 is a hole in its
    // map); 50 and 60 are reads of their own.
    let (out, ok, connected, _) = read(&[0, 1, 2, 50, 60], 4, 8, |start, count| match (start, count) {
        (1, _) | (0, 3) => Reply::Exception(2),
        _ => Reply::Values,
    })
    .await;
    assert!(ok && connected, "an exception keeps the link");
    let q: Vec<_> = out.iter().map(|r| (r.quality, r.value)).collect();
    assert_eq!(q[0], (Quality::Good, Some(1000.0)));
    assert_eq!(out[1].quality, Quality::Bad(Reason::DeviceException(2)));
    assert_eq!(q[2], (Quality::Good, Some(1002.0)));
    assert_eq!(q[3], (Quality::Good, Some(1050.0)));
    assert_eq!(q[4], (Quality::Good, Some(1060.0)));
}

#[tokio::test]
async fn an_answer_to_no_request_in_flight_drops_the_link_and_nothing_is_good() {
    let addresses: Vec<u16> = (0..6).map(|k| k * 10).collect();
    let (out, ok, connected, _) =
        read(&addresses, 0, 4, |start, _| if start == 20 { Reply::StrangerTid } else { Reply::Values }).await;
    assert!(!ok && !connected, "out of step: the link is dropped");
    // answers taken before the stranger are good and right; none after it is taken
    for (r, a) in out.iter().zip(&addresses) {
        match r.quality {
            Quality::Good => assert_eq!(r.value, Some(f64::from(1000 + a))),
            _ => assert!(r.value.is_none(), "{r:?}"),
        }
    }
    assert!(out.iter().any(|r| r.quality != Quality::Good));
    // the stranger's own request (address 20) and what was sent with it were never answered
    assert!(out[2].quality != Quality::Good && out[2].value.is_none(), "{:?}", out[2]);
}

#[tokio::test]
async fn a_repeated_answer_is_never_taken_for_the_next_request_and_drops_the_link() {
    // with one in flight and with four: the repeat of an answer sits in the buffer when the
    // next request goes out; its id was answered already, so the stream is out of step
    for window in [1, 4] {
        let addresses: Vec<u16> = (0..6).map(|k| k * 10).collect();
        let (out, ok, connected, _) =
            read(&addresses, 0, window, |start, _| if start == 0 { Reply::Twice } else { Reply::Values }).await;
        assert!(!ok && !connected, "window {window}: out of step, the link is dropped");
        for (r, a) in out.iter().zip(&addresses) {
            match r.quality {
                Quality::Good => assert_eq!(r.value, Some(f64::from(1000 + a)), "window {window}"),
                _ => assert!(r.value.is_none(), "{r:?}"),
            }
        }
        // the answers to the requests of the first burst are right and taken; what was sent
        // after the repeat never is
        let burst = usize::from(window);
        assert!(out[..burst].iter().all(|r| r.quality == Quality::Good), "window {window}: {out:?}");
        assert!(out[burst..].iter().all(|r| r.quality != Quality::Good), "window {window}: {out:?}");
    }
}

#[tokio::test]
async fn transaction_ids_wrap_around_without_a_mix_up() {
    // 7,000 polls of ten requests, sixteen in flight: the ids pass 65535 back to 0
    let (client, server) = tokio::io::duplex(4096);
    let peak = Arc::new(AtomicUsize::new(0));
    let dev = tokio::spawn(device(server, |_, _| Reply::Values, peak.clone()));
    let cfg = ModbusTcpConfig {
        endpoint: "test".into(),
        unit: 1,
        timeout: Duration::from_secs(2),
        max_gap: 0,
        max_in_flight: 16,
    };
    let addresses: Vec<u16> = (0..10).map(|k| k * 10).collect();
    let mut driver = ModbusTcp::new(cfg, addresses.iter().map(|&a| point(a)).collect());
    driver.attach(client);
    let plan = driver.plan(&(0..addresses.len()).collect::<Vec<_>>());
    let mut out = Vec::new();
    for poll in 0..7_000 {
        out.clear();
        driver.read(&plan, &mut out).await.unwrap_or_else(|e| panic!("poll {poll}: {e}"));
        for r in &out {
            assert_eq!(r.value, Some(f64::from(1000 + addresses[r.point])), "poll {poll}");
        }
    }
    dev.abort();
}

#[tokio::test]
async fn a_device_that_answers_only_the_first_of_a_burst_is_polled_one_at_a_time_after() {
    let addresses: Vec<u16> = (0..4).map(|k| k * 10).collect();
    let cfg = ModbusTcpConfig {
        endpoint: "test".into(),
        unit: 1,
        timeout: Duration::from_millis(200),
        max_gap: 0,
        max_in_flight: 4,
    };
    let mut driver = ModbusTcp::new(cfg, addresses.iter().map(|&a| point(a)).collect());
    let plan = driver.plan(&(0..addresses.len()).collect::<Vec<_>>());
    let mut polls = Vec::new();
    for _ in 0..2 {
        // a fresh connection each poll, as the device task reconnects after a timeout
        let (client, server) = tokio::io::duplex(4096);
        let peak = Arc::new(AtomicUsize::new(0));
        let dev = tokio::spawn(serve(server, |_, _| Reply::Values, peak.clone(), true));
        driver.attach(client);
        let mut out = Vec::new();
        let ok = driver.read(&plan, &mut out).await.is_ok();
        dev.abort();
        out.sort_by_key(|r| r.point);
        polls.push((ok, out, peak.load(Ordering::SeqCst), driver.in_flight()));
    }
    let (ok, out, peak, after) = &polls[0];
    assert!(!ok && *peak == 4 && *after == 1, "the burst: {polls:?}");
    assert_eq!(out.iter().filter(|r| r.quality == Quality::Good).count(), 1, "only the first answered: {out:?}");
    assert!(out.iter().all(|r| r.quality != Quality::Good || r.value == Some(f64::from(1000 + addresses[r.point]))));
    let (ok, out, peak, _) = &polls[1];
    assert!(*ok && *peak == 1, "then one at a time: {polls:?}");
    for r in out {
        assert_eq!((r.quality, r.value), (Quality::Good, Some(f64::from(1000 + addresses[r.point]))));
    }
}
