//! Modbus TCP throughput: one connection, sequential 10-register reads (one request
//! outstanding), mimic's driver against the demo plant's server, client and server on
//! this machine. Two ways: both on one runtime thread (each round trip is then the CPU
//! cost of both ends, as in the fastest Rust stack's loopback example), and the server on
//! its own thread (each round trip then also pays two cross-thread wake-ups, which on
//! this VM cost more than both ends' work). After criterion's figures, pymodbus's own
//! client runs against the threaded server for comparison.
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

/// CPU time (user + system) this process has used.
fn cpu_time() -> Duration {
    // SAFETY: rusage is plain data (all-zero is valid); getrusage only writes into it.
    let u = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(u.ru_utime) + tv(u.ru_stime)
}

fn client(rt: &tokio::runtime::Runtime, port: u16) -> ModbusTcp {
    let cfg =
        ModbusTcpConfig { endpoint: format!("127.0.0.1:{port}"), unit: 1, timeout: Duration::from_secs(1), max_gap: 4 };
    let mut driver = ModbusTcp::new(cfg, points());
    rt.block_on(driver.connect()).expect("connect");
    driver
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("modbus_tcp");
    g.throughput(Throughput::Elements(1));
    let mut out: Vec<Reading> = Vec::with_capacity(10);

    // Client and server tasks on one current-thread runtime.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let sim = rt
        .block_on(mimic_drivers::sim::serve("127.0.0.1:0".parse().expect("addr"), 1, 1, 1.0))
        .expect("simulator listens");
    let mut driver = client(&rt, sim.local_addr().port());
    let plan = driver.plan(&(0..10).collect::<Vec<_>>());
    g.bench_function("read 10 input registers, client and server on one thread", |b| {
        b.iter(|| {
            out.clear();
            let s = rt.block_on(driver.read(&plan, &mut out)).expect("read");
            assert_eq!(out.len(), 10);
            s
        })
    });
    // CPU cost per request of both ends (less sensitive to a loaded machine than time)
    let (n, cpu0, t0) = (100_000u32, cpu_time(), Instant::now());
    for _ in 0..n {
        out.clear();
        rt.block_on(driver.read(&plan, &mut out)).expect("read");
    }
    let (cpu, wall) = (cpu_time() - cpu0, t0.elapsed());
    println!(
        "one thread: {n} requests in {wall:?} = {:.0} requests/s; CPU {:.2} µs per request (client and server)",
        f64::from(n) / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / f64::from(n)
    );
    drop(driver);
    drop(sim);

    // The server on its own thread.
    let port = server();
    let mut driver = client(&rt, port);
    g.bench_function("read 10 input registers, server on its own thread", |b| {
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
