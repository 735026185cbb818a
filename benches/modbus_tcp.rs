//! Modbus TCP throughput: one connection, 10-register reads, mimic's driver against the
//! demo plant's server, client and server on this machine. Two ways: both on one runtime
//! thread (each round trip is then the CPU cost of both ends, as in the fastest Rust
//! stack's loopback example), and the server on its own thread (each round trip then also
//! pays two cross-thread wake-ups, which on this VM cost more than both ends' work).
//! Each way with one request in flight at a time, and pipelined: a poll of 16 blocks of
//! 10 registers with `max_in_flight` 16 (one write carries the 16 requests, the server
//! answers them in one write). After criterion's figures, pymodbus's own client (one
//! request at a time) runs against the threaded server for comparison.
//!
//! `cargo bench --bench modbus_tcp` (the pymodbus yardstick needs the test venv:
//! `./scripts/test.sh` creates it; `MIMIC_PYTHON` overrides its path).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mimic_drivers::modbus::tcp::{ModbusTcp, ModbusTcpConfig};
use mimic_drivers::modbus::{ByteOrder, DataType, ModbusPoint, ReadBlock, Table};
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

/// Blocks of one pipelined poll.
const PIPELINE: u8 = 16;

fn client(rt: &tokio::runtime::Runtime, port: u16, max_in_flight: u8) -> ModbusTcp {
    let cfg = ModbusTcpConfig {
        endpoint: format!("127.0.0.1:{port}"),
        unit: 1,
        timeout: Duration::from_secs(1),
        max_gap: 4,
        max_in_flight,
    };
    let mut driver = ModbusTcp::new(cfg, points());
    rt.block_on(driver.connect()).expect("connect");
    driver
}

/// A poll of `blocks` reads of the same 10 input registers (each its own request).
fn pipelined_plan(blocks: u8) -> Vec<ReadBlock> {
    (0..blocks).map(|_| ReadBlock::new(Table::InputRegister, 0, 10, (0..10).collect()).expect("block")).collect()
}

/// Requests per second and CPU per request (both ends when they share the process) over
/// 100,000 requests, outside criterion: less sensitive to a loaded machine than time.
fn rate(rt: &tokio::runtime::Runtime, driver: &mut ModbusTcp, plan: &Vec<ReadBlock>, label: &str) {
    let mut out: Vec<Reading> = Vec::with_capacity(10 * plan.len());
    let polls = 100_000 / plan.len() as u32;
    let n = polls * plan.len() as u32;
    let (cpu0, t0) = (cpu_time(), Instant::now());
    for _ in 0..polls {
        out.clear();
        rt.block_on(driver.read(plan, &mut out)).expect("read");
    }
    let (cpu, wall) = (cpu_time() - cpu0, t0.elapsed());
    println!(
        "{label}: {n} requests in {wall:?} = {:.0} requests/s; CPU {:.2} µs per request (this process)",
        f64::from(n) / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / f64::from(n)
    );
}

/// The floor of one request in flight on this machine: no Modbus and no runtime, a 12-byte
/// request and a 29-byte answer ping-ponged over loopback by plain blocking sockets on one
/// thread (the four system calls of a round trip and nothing else).
fn loopback_floor() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut client = std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (mut server, _) = listener.accept().expect("accept");
    client.set_nodelay(true).expect("nodelay");
    server.set_nodelay(true).expect("nodelay");
    let (mut req, mut ans) = ([0u8; 12], [0u8; 29]);
    let n = 100_000u32;
    let t0 = Instant::now();
    for _ in 0..n {
        client.write_all(&req).expect("send");
        server.read_exact(&mut req).expect("recv");
        server.write_all(&ans).expect("send");
        client.read_exact(&mut ans).expect("recv");
    }
    let wall = t0.elapsed();
    println!(
        "loopback floor, one request in flight (plain sockets, one thread, no Modbus): {:.0} round trips/s",
        f64::from(n) / wall.as_secs_f64()
    );
}

/// One in flight, then 16, against the server at `port`: criterion's figure and the rate.
fn pair(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &tokio::runtime::Runtime,
    port: u16,
    place: &str,
    out: &mut Vec<Reading>,
) {
    for (name, in_flight) in [("one in flight", 1), ("16 in flight", PIPELINE)] {
        let mut driver = client(rt, port, in_flight);
        let plan = if in_flight == 1 { driver.plan(&(0..10).collect::<Vec<_>>()) } else { pipelined_plan(PIPELINE) };
        g.throughput(Throughput::Elements(plan.len() as u64));
        g.bench_function(format!("read 10 input registers, {name}, {place}"), |b| {
            b.iter(|| {
                out.clear();
                let s = rt.block_on(driver.read(&plan, out)).expect("read");
                assert_eq!(out.len(), 10 * plan.len());
                s
            })
        });
        rate(rt, &mut driver, &plan, &format!("{place}, {name} (CPU of both ends)"));
    }
}

fn bench(c: &mut Criterion) {
    loopback_floor();
    let mut g = c.benchmark_group("modbus_tcp");
    let mut out: Vec<Reading> = Vec::with_capacity(10 * usize::from(PIPELINE));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    // Client and server tasks on one current-thread runtime.
    let sim = rt
        .block_on(mimic_drivers::sim::serve("127.0.0.1:0".parse().expect("addr"), 1, 1, 1.0))
        .expect("simulator listens");
    pair(&mut g, &rt, sim.local_addr().port(), "client and server on one thread", &mut out);
    drop(sim);
    // The server on its own thread.
    let port = server();
    pair(&mut g, &rt, port, "server on its own thread", &mut out);
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
            let rate = text.trim().trim_start_matches("RATE").trim();
            println!(
                "pymodbus client (one request at a time), same server: {rate} requests/s ({:?})",
                started.elapsed()
            );
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
