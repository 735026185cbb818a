//! Acquisition at scale: 10,000 tags across 100 Modbus TCP devices at 1 Hz, every
//! sample stored. Starts `mimic sim --units 100` and `mimic run` on a generated site as
//! separate processes, lets the daemon settle, then measures the daemon alone over a
//! window: CPU (utime + stime from /proc, as % of one core), RSS (now and peak), and
//! the samples it stored (from `mimic history` afterwards).
//!
//! `cargo bench --bench acquisition` (release build; takes about 90 s).
//! Environment: `MIMIC_ACQ_WINDOW` seconds of measurement (default 60).

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mimic");
const DEVICES: usize = 100;
const TAGS_PER_DEVICE: usize = 100;

struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// 100 devices (unit ids 1..=100 of one simulator), 100 tags each: the 96 channels of
/// the auxiliary bank and 4 process values, polled at 1 s.
fn site(port: u16, data: &Path, devices: usize, tags_per_device: usize) -> String {
    let mut s = format!("[site]\nname = \"acquisition bench\"\ndata_dir = {:?}\n\n", data.display().to_string());
    for d in 1..=devices {
        let _ = write!(
            s,
            "[[device]]\nname = \"plc{d:03}\"\nprotocol = \"modbus-tcp\"\nendpoint = \"127.0.0.1:{port}\"\n\
             unit = {d}\npoll = \"1s\"\ntimeout = \"1s\"\n\n"
        );
        for k in 0..tags_per_device {
            let addr = if k < 96 { 32 + k } else { k - 96 };
            let _ = write!(
                s,
                "[[tag]]\nname = \"D{d:03}.T{k:03}\"\ndevice = \"plc{d:03}\"\naddress = \"ir:{addr}\"\nscale = 0.1\n\n"
            );
        }
    }
    s
}

/// (utime + stime in clock ticks, RSS kB, peak RSS kB) of a process.
fn usage(pid: u32) -> (u64, u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("daemon /proc stat");
    // fields after the command name "(...)": state is field 3; utime 14, stime 15
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f[11].parse::<u64>().unwrap_or(0) + f[12].parse::<u64>().unwrap_or(0);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("daemon /proc status");
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks, kb("VmRSS:"), kb("VmHWM:"))
}

/// Starts `mimic run` on a new site in `dir`; returns it once its first sample is stored,
/// with the milliseconds from spawn (measured here) and from `main` (as it reports).
fn start(port: u16, dir: &Path, devices: usize, per: usize) -> (Kill, f64, u64) {
    use std::io::BufRead;
    let data = dir.join("data");
    let site_path = dir.join("site.toml");
    std::fs::write(&site_path, site(port, &data, devices, per)).expect("write site");
    let spawned = Instant::now();
    let mut child = Command::new(BIN)
        .args(["run", site_path.to_str().expect("utf-8"), "--data", data.to_str().expect("utf-8")])
        .env("MIMIC_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mimic run");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // keep draining stderr for the daemon's whole life
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(ms) = line.strip_prefix("mimic: first sample stored ") {
                let _ = tx.send((spawned.elapsed(), ms.split(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0)));
            }
        }
    });
    let (wall, own) = rx.recv_timeout(Duration::from_secs(60)).expect("the daemon stores a first sample");
    (Kill(child), wall.as_secs_f64() * 1000.0, own)
}

fn main() {
    // criterion-style filters are passed by `cargo bench`; a filter that does not
    // match "acquisition" skips this bench
    if let Some(filter) = std::env::args().skip(1).find(|a| !a.starts_with('-'))
        && !"acquisition".contains(filter.as_str())
    {
        return;
    }
    let window: u64 = std::env::var("MIMIC_ACQ_WINDOW").ok().and_then(|v| v.parse().ok()).unwrap_or(60);
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let port = free_port();
    let _sim = Kill(
        Command::new(BIN)
            .args(["sim", "--port", &port.to_string(), "--units", &DEVICES.to_string()])
            .stdout(Stdio::null())
            .spawn()
            .expect("start mimic sim"),
    );
    std::thread::sleep(Duration::from_millis(500));
    // Start-up: exec to the first durable sample, a small site and the big one, each on
    // a new store (the simulator answers in well under a millisecond on loopback).
    for (devices, per) in [(1, 20), (1, 20), (1, 20), (DEVICES, TAGS_PER_DEVICE)] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (daemon, wall, own) = start(port, dir.path(), devices, per);
        println!(
            "start-up: {} tags on {devices} device(s): first sample stored {wall:.1} ms after spawn ({own} ms after main)",
            devices * per
        );
        drop(daemon);
    }
    let (daemon, _, _) = start(port, tmp.path(), DEVICES, TAGS_PER_DEVICE);
    let pid = daemon.0.id();
    println!("acquisition: {DEVICES} devices x {TAGS_PER_DEVICE} tags at 1 Hz; settling 15 s, then {window} s");
    std::thread::sleep(Duration::from_secs(15));
    let tick_hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let (t0, _, _) = usage(pid);
    let start = Instant::now();
    let mut rss_max = 0;
    while start.elapsed() < Duration::from_secs(window) {
        std::thread::sleep(Duration::from_secs(1));
        rss_max = rss_max.max(usage(pid).1);
    }
    let (t1, rss, hwm) = usage(pid);
    let secs = start.elapsed().as_secs_f64();
    let cpu = (t1 - t0) as f64 / tick_hz / secs * 100.0;
    println!("acquisition: daemon CPU {cpu:.1} % of one core over {secs:.0} s");
    println!(
        "acquisition: daemon RSS {:.1} MiB now, {:.1} MiB at most in the window, peak {:.1} MiB",
        rss as f64 / 1024.0,
        rss_max as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    // one tag's samples over the window, through the daemon's socket
    let out = Command::new(BIN)
        .args(["history", "D050.T010", "--data", data.to_str().expect("utf-8"), "--since", "30s", "--format", "csv"])
        .output()
        .expect("mimic history");
    let rows = String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains("Good")).count();
    println!("acquisition: D050.T010 has {rows} Good samples in the last 30 s (1 Hz: about 30)");
}
