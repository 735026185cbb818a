//! Device answers found by fuzzing (`fuzz/src/bin/modbus_response.rs`), replayed through
//! the real read path over an in-memory stream: none may panic, and a point whose answer
//! does not fit is Bad, never Good.

use std::time::Duration;

use mimic_drivers::Driver;
use mimic_drivers::modbus::{ByteOrder, DataType, ModbusPoint, ModbusTcp, ModbusTcpConfig, Table};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn point(table: Table, address: u16) -> ModbusPoint {
    ModbusPoint { table, address, dtype: DataType::U16, order: ByteOrder::Abcd, bit: None, scale: 1.0, offset: 0.0 }
}

/// Reads `points` from a device that answers the first request with `answer(request)`.
async fn read_with(points: Vec<ModbusPoint>, answer: fn(&[u8]) -> Vec<u8>) -> Vec<mimic_drivers::Reading> {
    let n = points.len();
    let (client, mut server) = tokio::io::duplex(4096);
    let device = tokio::spawn(async move {
        let mut req = [0u8; 300];
        let k = server.read(&mut req).await.unwrap_or(0);
        let _ = server.write_all(&answer(&req[..k])).await;
        std::future::pending::<()>().await;
    });
    let cfg = ModbusTcpConfig {
        endpoint: "test".into(),
        unit: 1,
        timeout: Duration::from_secs(2),
        max_gap: 4,
        max_in_flight: 1,
    };
    let mut driver = ModbusTcp::new(cfg, points);
    driver.attach(client);
    let plan = driver.plan(&(0..n).collect::<Vec<_>>());
    let mut out = Vec::new();
    let _ = driver.read(&plan, &mut out).await;
    device.abort();
    assert_eq!(out.len(), n, "one reading per point");
    out
}

#[tokio::test]
async fn a_read_answered_with_fewer_registers_is_bad_not_a_panic() {
    // Four input registers asked for; the answer (right transaction id) carries none.
    let out = read_with((0..4).map(|a| point(Table::InputRegister, a)).collect(), |req| {
        let mut a = req[..2].to_vec();
        a.extend_from_slice(&[0, 0, 0, 3, req.get(6).copied().unwrap_or(1), 4, 0]);
        a
    })
    .await;
    assert!(out.iter().all(|r| !r.quality.is_good() && r.value.is_none()), "{out:?}");
}

#[tokio::test]
async fn a_read_answered_with_more_registers_is_not_taken_as_good_values_for_the_wrong_addresses() {
    // Two holding registers asked for; the answer carries three.
    let out = read_with(vec![point(Table::HoldingRegister, 0), point(Table::HoldingRegister, 1)], |req| {
        let mut a = req[..2].to_vec();
        a.extend_from_slice(&[0, 0, 0, 9, req.get(6).copied().unwrap_or(1), 3, 6, 0, 1, 0, 2, 0, 3]);
        a
    })
    .await;
    for r in &out {
        assert!(r.quality.is_good() == r.value.is_some(), "{r:?}");
    }
}
