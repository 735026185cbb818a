//! Modbus TCP throughput: one connection, sequential 10-register reads (one request
//! outstanding), mimic's driver against the demo plant's server, client and server on
//! this machine, each on its own thread. After criterion's figure, pymodbus's own
//! client runs against the same server for comparison.
//!
//! `cargo bench --bench modbus_tcp` (the pymodbus yardstick needs the test venv:
//! `./scripts/test.sh` creates it; `MIMIC_PYTHON` overrides its path).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mimic_drivers::modbus::tcp::{ModbusTcp, ModbusTcpConfig};
use mimic_drivers::modbus::{ByteOrder, DataType, ModbusPoint, Table};
use mimic_drivers::{Driver, Reading};

/// The demo plant's server on its own thread and runtime; returns its port.
fn server() -> u16 {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("server runtime");
        rt.block_on(async move {
            let sim = mimic_drivers::sim::serve("127.0.0.1:0".parse().expect("addr"), 1, 1, 1.0)
                .await
                .expect("simulator listens");
            tx.send(sim.local_addr().port()).expect("port to the bench");
            std::future::pending::<()>().await;
        });
    });
    rx.recv().expect("server started")
}

fn points() -> Vec<ModbusPoint> {
    (0..10)
        .map(|a| ModbusPoint {
            table: Table::InputRegister,
            address: a,
            dtype: DataType::U16,
            order: ByteOrder::Abcd,
            bit: None,
            scale: 1.0,
            offset: 0.0,
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let port = server();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("client runtime");
    let cfg =
        ModbusTcpConfig { endpoint: format!("127.0.0.1:{port}"), unit: 1, timeout: Duration::from_secs(1), max_gap: 4 };
    let mut driver = ModbusTcp::new(cfg, points());
    rt.block_on(driver.connect()).expect("connect");
    let plan = driver.plan(&(0..10).collect::<Vec<_>>());
    let mut out: Vec<Reading> = Vec::with_capacity(10);
    let mut g = c.benchmark_group("modbus_tcp");
    g.throughput(Throughput::Elements(1));
    g.bench_function("read 10 input registers (one request)", |b| {
        b.iter(|| {
            out.clear();
            let s = rt.block_on(driver.read(&plan, &mut out)).expect("read");
            assert_eq!(out.len(), 10);
            s
        })
    });
    g.finish();

    // The yardstick: pymodbus's client, same server, same request.
    let python = std::env::var_os("MIMIC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/modbus_rate_client.py");
    let started = Instant::now();
    match std::process::Command::new(&python).arg(&script).args(["--port", &port.to_string()]).output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            println!("pymodbus client, same server: {} requests/s ({:?})", text.trim(), started.elapsed());
        }
        Ok(out) => println!("pymodbus client failed: {}", String::from_utf8_lossy(&out.stderr)),
        Err(e) => {
            println!("pymodbus client not run ({}: {e}); run ./scripts/test.sh to create the venv", python.display())
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
