//! Arbitrary device answers through the real Modbus TCP read path: the driver is attached
//! to an in-memory stream whose other end answers each request with the next chunk of the
//! input. It must never panic, must give exactly one reading per planned point, and a Good
//! reading must carry a value.
//!
//! Input: 4 header bytes choose the points (table, type, byte order, count, spacing) and how
//! many reads are pipelined, then
//! frames `[len][flags][bytes...]`: `len` bytes are sent as the answer to one request;
//! `flags & 1` copies the request's transaction id into the answer (so that the fuzzer
//! reaches the PDU decoding without guessing ids), `flags & 2` splits the answer in two
//! writes. When the frames run out, the stream closes (`flags & 4` of the last frame:
//! stays open and silent, so the read times out on the paused clock).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use mimic_drivers::Driver;
use mimic_drivers::modbus::{ByteOrder, DataType, ModbusPoint, ModbusTcp, ModbusTcpConfig, Table};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn points(h: &[u8; 4]) -> Vec<ModbusPoint> {
    let table =
        [Table::HoldingRegister, Table::InputRegister, Table::Coil, Table::DiscreteInput][usize::from(h[0] % 4)];
    let types =
        [DataType::U16, DataType::I16, DataType::U32, DataType::I32, DataType::F32, DataType::F64, DataType::Bool];
    let orders = [ByteOrder::Abcd, ByteOrder::Cdab, ByteOrder::Badc, ByteOrder::Dcba];
    let n = usize::from(h[1] % 6) + 1;
    let mut address = u16::from(h[3]) * 8;
    (0..n)
        .map(|i| {
            let dtype =
                if table.is_bits() { DataType::Bool } else { types[(usize::from(h[1] >> 3) + i) % types.len()] };
            let order = orders[(usize::from(h[2]) + i) % orders.len()];
            let bit = (dtype == DataType::Bool && !table.is_bits()).then_some((h[2] >> 2) % 16);
            let p = ModbusPoint { table, address, dtype, order, bit, scale: 1.0, offset: 0.0 };
            address = address.saturating_add(dtype.registers() + u16::from(h[2] >> 6));
            p
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((head, mut rest)) = data.split_first_chunk::<4>() else { return };
    let pts = points(head);
    let count = pts.len();
    // reads pipelined 1..=4 at a time (the points' spacing makes one block or several)
    let max_in_flight = 1 + (head[0] >> 2) % 4;
    let cfg = ModbusTcpConfig {
        endpoint: "fuzz".into(),
        unit: 1,
        timeout: Duration::from_millis(500),
        max_gap: 4,
        max_in_flight,
    };
    let mut frames = Vec::new();
    let mut keep_open = false;
    while let [len, flags, tail @ ..] = rest {
        let take = usize::from(*len).min(tail.len());
        frames.push((*flags, tail[..take].to_vec()));
        keep_open = flags & 4 != 0;
        rest = &tail[take..];
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().expect("runtime");
    rt.block_on(async move {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let device = tokio::spawn(async move {
            let mut req = [0u8; 300];
            for (flags, mut frame) in frames {
                let Ok(n) = server.read(&mut req).await else { return };
                if n == 0 {
                    return;
                }
                if flags & 1 != 0 && n >= 2 && frame.len() >= 2 {
                    frame[..2].copy_from_slice(&req[..2]);
                }
                let cut = if flags & 2 != 0 { frame.len() / 2 } else { frame.len() };
                if server.write_all(&frame[..cut]).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
                if server.write_all(&frame[cut..]).await.is_err() {
                    return;
                }
            }
            if keep_open {
                std::future::pending::<()>().await;
            }
        });
        let mut driver = ModbusTcp::new(cfg, pts);
        driver.attach(client);
        let plan = driver.plan(&(0..count).collect::<Vec<_>>());
        let mut out = Vec::new();
        let _ = driver.read(&plan, &mut out).await;
        assert_eq!(out.len(), count, "one reading per point: {out:?}");
        let mut seen: Vec<usize> = out.iter().map(|r| r.point).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..count).collect::<Vec<_>>(), "each point exactly once");
        for r in &out {
            assert_eq!(r.quality.is_good(), r.value.is_some(), "Good readings carry a value: {r:?}");
        }
        device.abort();
    });
});
