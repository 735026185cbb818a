//! Modbus RTU line rate: back-to-back 10-register reads through the line task, against a
//! slave that emulates wire time on a socat pty pair (a pty itself moves bytes at once).
//!
//! The emulated slave takes the arrival of a request's first byte as the start of its
//! transmission, answers once the request would have finished on the wire plus the 3.5
//! character gap, and releases the 25-byte answer when its last byte would have arrived.
//! It also measures the master's silence between the end of each answer and the next
//! request, and counts any gap shorter than the standard's. Result: transactions per
//! second against the theoretical rate `1 / (t(8) + gap + t(25) + gap)`.
//!
//! Run: `cargo bench -p mimic-drivers --bench rtu_rate` (needs socat).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mimic_drivers::rtu::frame::{Request, crc16};
use mimic_drivers::rtu::line::standard_gap;
use mimic_drivers::rtu::{Answer, LineConfig, LineHandle};
use mimic_drivers::serial::{Parity, SerialSettings};

fn spin_until(t: Instant) {
    loop {
        let now = Instant::now();
        if now >= t {
            return;
        }
        if t - now > Duration::from_millis(2) {
            std::thread::sleep(t - now - Duration::from_millis(1));
        } else {
            std::hint::spin_loop();
        }
    }
}

struct SlaveReport {
    transactions: u64,
    min_gap: Option<Duration>,
    gap_sum: Duration,
    gaps: u32,
    short_gaps: u64,
    /// How late the emulated slave released its answers (scheduling on this machine).
    late_sum: Duration,
}

/// The wire-time slave: unit 1, FC3, 10 registers.
fn slave(path: PathBuf, s: SerialSettings, stop: Arc<AtomicBool>) -> SlaveReport {
    let mut port = std::fs::OpenOptions::new().read(true).write(true).open(&path).expect("open slave end");
    let gap = standard_gap(&s);
    let mut report = SlaveReport {
        transactions: 0,
        min_gap: None,
        gap_sum: Duration::ZERO,
        gaps: 0,
        short_gaps: 0,
        late_sum: Duration::ZERO,
    };
    let mut answer_end: Option<Instant> = None;
    let mut buf = [0u8; 64];
    let mut req: Vec<u8> = Vec::new();
    let mut first: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        let n = match port.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let now = Instant::now();
        if req.is_empty() {
            first = Some(now);
            if let Some(end) = answer_end {
                // master's silence: from our answer's last byte to its request's first
                let g = now.saturating_duration_since(end);
                report.min_gap = Some(report.min_gap.map_or(g, |m| m.min(g)));
                report.gap_sum += g;
                report.gaps += 1;
                if g < gap {
                    report.short_gaps += 1;
                }
            }
        }
        req.extend_from_slice(&buf[..n]);
        if req.len() < 8 {
            continue;
        }
        let start = first.unwrap_or(now);
        let mut resp = vec![1u8, 3, 20];
        for i in 0..10u16 {
            resp.extend((1000 + i).to_be_bytes());
        }
        let crc = crc16(&resp);
        resp.extend(crc.to_le_bytes());
        let end = start + s.wire_time(8) + gap + s.wire_time(resp.len());
        spin_until(end);
        // the master's silence is measured from when the answer really left (taken just
        // before the write: a pause after it could only make a gap look longer)
        let released = Instant::now();
        if port.write_all(&resp).is_err() {
            break;
        }
        report.late_sum += released.saturating_duration_since(end);
        answer_end = Some(released);
        report.transactions += 1;
        req.clear();
    }
    report
}

fn socat(dir: &Path) -> Child {
    let (a, b) = (dir.join("a"), dir.join("b"));
    let child = Command::new("socat")
        .arg(format!("pty,raw,echo=0,link={}", a.display()))
        .arg(format!("pty,raw,echo=0,link={}", b.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("socat (apt-get install socat)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(a.exists() && b.exists()) {
        assert!(Instant::now() < deadline, "socat made no pty pair");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn run(baud: u32, parity: Parity, seconds: f64) {
    let dir = std::env::temp_dir().join(format!("mimic-rtu-rate-{}-{baud}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut socat = socat(&dir);
    let s = SerialSettings { port: dir.join("b").display().to_string(), baud, data_bits: 8, parity, stop_bits: 1 };
    let stop = Arc::new(AtomicBool::new(false));
    let slave_thread = {
        let (path, s, stop) = (dir.join("a"), s.clone(), stop.clone());
        std::thread::spawn(move || slave(path, s, stop))
    };
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (n, elapsed) = rt.block_on(async {
        let line = LineHandle::spawn(LineConfig { serial: s.clone(), frame_gap: None });
        let req = Request::Read { function: 3, start: 0, count: 10 };
        // warm-up (opens the port)
        let _ = line.transact(1, req.clone(), Duration::from_secs(1)).await;
        let t0 = Instant::now();
        let mut n = 0u64;
        while t0.elapsed().as_secs_f64() < seconds {
            let ex = line.transact(1, req.clone(), Duration::from_millis(500)).await;
            assert!(matches!(ex.result, Ok(Answer::Data(ref d)) if d.len() == 20), "{:?}", ex.result);
            n += 1;
        }
        (n, t0.elapsed())
    });
    stop.store(true, Ordering::Relaxed);
    drop(rt);
    let _ = socat.kill();
    let _ = socat.wait();
    let report = slave_thread.join().expect("slave thread");
    let _ = std::fs::remove_dir_all(&dir);

    let gap = standard_gap(&s);
    let theory = 1.0 / (s.wire_time(8) + gap + s.wire_time(25) + gap).as_secs_f64();
    let rate = n as f64 / elapsed.as_secs_f64();
    println!(
        "rtu_rate {baud} 8{}1: {rate:.1} transactions/s = {:.1}% of theoretical {theory:.1}/s \
         ({n} in {:.2}s; slave saw {}; master gap (incl. pty relay both ways) min {:?} mean {:?} \
         vs standard {gap:?}; {} shorter; slave answers late by {:?} on average)",
        parity.letter(),
        100.0 * rate / theory,
        elapsed.as_secs_f64(),
        report.transactions,
        report.min_gap.unwrap_or_default(),
        report.gap_sum.checked_div(report.gaps).unwrap_or_default(),
        report.short_gaps,
        report.late_sum.checked_div(u32::try_from(report.transactions).unwrap_or(u32::MAX)).unwrap_or_default(),
    );
}

fn main() {
    // `cargo test --benches` runs benches with `--bench` absent: keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let secs = if quick { 0.5 } else { 5.0 };
    run(19200, Parity::Even, secs);
    run(115_200, Parity::Even, secs);
}
