//! The `mimic` binary cargo built for these tests: one-off commands, the demo plant
//! (`mimic sim`), and the daemon (`mimic run`) waited for until its socket is there.

use std::ffi::OsStr;
use std::net::TcpStream;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::peers::Peer;
use super::process::{Process, Run, run};
use super::{free_port, poll, repo_root};

/// How long a one-off command may take before it is killed and the test fails (a bound
/// against hangs on a loaded machine, not a timing claim).
pub const LIMIT: Duration = Duration::from_secs(120);

/// How long `mimic run` may take to open its socket.
pub const SOCKET_WAIT: Duration = Duration::from_secs(30);

/// The `mimic` binary.
pub fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mimic"))
}

/// A `Command` for the `mimic` binary, with a quiet log unless `MIMIC_LOG` is set.
pub fn cmd() -> Command {
    let mut cmd = Command::new(path());
    if std::env::var_os("MIMIC_LOG").is_none() {
        cmd.env("MIMIC_LOG", "warn");
    }
    cmd
}

/// `mimic ARGS...` to completion (no stdin), bounded by [`LIMIT`].
pub fn mimic<S: AsRef<OsStr>>(args: &[S]) -> Run {
    let mut c = cmd();
    c.args(args);
    run(c, LIMIT)
}

/// `mimic ARGS...` that must succeed; its stdout.
pub fn mimic_ok<S: AsRef<OsStr>>(args: &[S]) -> String {
    let r = mimic(args);
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy().into_owned()).collect();
    assert!(r.ok(), "mimic {} failed: {r}", shown.join(" "));
    r.stdout
}

/// `mimic audit verify --data DATA` succeeds: the audit chain is intact.
pub fn assert_audit_verifies(data: &Path) {
    let mut c = cmd();
    c.args(["audit", "verify", "--data"]).arg(data);
    let r = run(c, LIMIT);
    assert!(r.ok(), "audit chain of {} does not verify: {r}", data.display());
}

/// `mimic demo --headless --repeat 0 --data DATA ARGS...` with an `info` log (the demo's
/// findings are logged), bounded by `limit`.
pub fn demo_headless(data: &Path, args: &[&str], limit: Duration) -> Run {
    let mut c = cmd();
    c.env("MIMIC_LOG", "info");
    c.args(["demo", "--headless", "--repeat", "0", "--data"]).arg(data).args(args);
    run(c, limit)
}

/// A running `mimic sim`, killed on drop.
pub struct Sim {
    pub peer: Peer,
    pub port: u16,
}

impl Sim {
    /// Starts `mimic sim --port P EXTRA...` on a free port, retrying with another port
    /// if the chosen one was taken meanwhile, and waits until it accepts TCP.
    pub fn start(extra: &[&str]) -> Sim {
        let mut last_err = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let mut c = cmd();
            c.arg("sim").arg("--port").arg(port.to_string()).args(extra);
            let (mut peer, lines) = Peer::spawn("mimic sim", c);
            if let Err(e) = wait_serving(&mut peer, &lines, "serving Modbus TCP on") {
                last_err = e;
                continue;
            }
            let accepting = poll(Duration::from_secs(15), || {
                TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).ok()
            });
            assert!(accepting.is_some(), "mimic sim on port {port} does not accept TCP; stderr:\n{}", peer.stderr());
            return Sim { peer, port };
        }
        panic!("mimic sim did not start after 5 attempts; last error:\n{last_err}");
    }

    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// `mimic sim --rtu DEVICE --units UNITS`, once it says it is serving.
pub fn sim_rtu(dev: &Path, units: u8) -> Peer {
    let mut c = cmd();
    c.arg("sim").arg("--rtu").arg(dev).args(["--units", &units.to_string()]);
    let (mut peer, lines) = Peer::spawn("mimic sim --rtu", c);
    wait_serving(&mut peer, &lines, "serving Modbus RTU on").unwrap_or_else(|e| panic!("{e}"));
    peer
}

/// Waits (bounded, 15 s) for the sim's `banner` line; `Err` with its stderr if it exited
/// first.
fn wait_serving(peer: &mut Peer, lines: &mpsc::Receiver<String>, banner: &str) -> Result<(), String> {
    let limit = Duration::from_secs(15);
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(banner) => return Ok(()),
            Ok(_) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Give the stderr reader a moment to collect the reason.
                thread::sleep(Duration::from_millis(200));
                return Err(format!("mimic sim exited before serving; stderr:\n{}", peer.stderr()));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("mimic sim printed no banner within {limit:?}; stderr:\n{}", peer.stderr())
            }
        }
    }
}

/// A running `mimic run SITE --data DATA` whose socket is there; killed on drop. Derefs
/// to its [`Process`] (`assert_running`, `signal_and_wait`).
pub struct Served {
    pub process: Process,
    /// `DATA/mimic.sock`.
    pub sock: PathBuf,
}

impl Served {
    /// `mimic run SITE --data DATA`, waited for (bounded by [`SOCKET_WAIT`]) until its
    /// socket is there; panics with its output if it exits first.
    pub fn start(site: &Path, data: &Path) -> Served {
        Served::start_with(site, data, |_| {})
    }

    /// Like [`Served::start`], with `tweak` applied to the command first (environment).
    pub fn start_with(site: &Path, data: &Path, tweak: impl FnOnce(&mut Command)) -> Served {
        let mut process = Process::spawn(run_cmd(site, data, tweak));
        let sock = data.join(mimic::ipc::SOCKET_NAME);
        let up = poll(SOCKET_WAIT, || {
            process.assert_running("mimic run");
            sock.exists().then_some(())
        });
        assert!(up.is_some(), "no socket at {} within {SOCKET_WAIT:?}", sock.display());
        Served { process, sock }
    }

    /// SIGTERM; the daemon must exit with status 0 within 30 s, without a panic.
    pub fn stop_cleanly(&mut self) -> Run {
        let stopped = self.process.signal_and_wait(libc::SIGTERM, Duration::from_secs(30));
        assert_eq!(stopped.code, Some(0), "clean stop after SIGTERM: {stopped}");
        assert!(!stopped.stderr.contains("panicked"), "no panic: {stopped}");
        stopped
    }
}

/// The command line `mimic run SITE --data DATA`, with `tweak` applied.
pub fn run_cmd(site: &Path, data: &Path, tweak: impl FnOnce(&mut Command)) -> Command {
    let mut c = cmd();
    c.arg("run").arg(site).arg("--data").arg(data);
    tweak(&mut c);
    c
}

impl Deref for Served {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.process
    }
}

impl DerefMut for Served {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.process
    }
}

/// A `mimic sim` and the demo site pointed at it, in a fresh temporary directory `tmp`
/// (`tmp/site.toml`, data in `tmp/data`). Everything goes when it is dropped.
pub struct DemoSite {
    pub sim: Sim,
    pub tmp: tempfile::TempDir,
    pub site: PathBuf,
    pub data: PathBuf,
}

impl DemoSite {
    pub fn start() -> DemoSite {
        let sim = Sim::start(&[]);
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = tmp.path().join("data");
        let site = write_demo_site(tmp.path(), &sim.endpoint(), &data);
        DemoSite { sim, tmp, site, data }
    }
}

/// The demo site file of the repository.
pub fn demo_site_path() -> PathBuf {
    repo_root().join("profiles").join("demo-site.toml")
}

/// Writes a copy of the demo site into `dir` with the device endpoint pointed at
/// `endpoint` and `data_dir` pointed at `data`; returns its path.
pub fn write_demo_site(dir: &Path, endpoint: &str, data: &Path) -> PathBuf {
    let text = std::fs::read_to_string(demo_site_path()).expect("read demo site");
    assert!(text.contains("endpoint = \"127.0.0.1:5020\""), "demo site endpoint line changed");
    assert!(text.contains("data_dir = \"../mimic-data\""), "demo site data_dir line changed");
    let text = text
        .replace("endpoint = \"127.0.0.1:5020\"", &format!("endpoint = \"{endpoint}\""))
        .replace("data_dir = \"../mimic-data\"", &format!("data_dir = {:?}", data.to_str().expect("utf-8 path")));
    let path = dir.join("site.toml");
    std::fs::write(&path, text).expect("write site copy");
    path
}

/// Like [`write_demo_site`], with every device polled every `period` (`"200ms"`).
pub fn write_demo_site_polling(dir: &Path, endpoint: &str, data: &Path, period: &str) -> PathBuf {
    let site = write_demo_site(dir, endpoint, data);
    let text = std::fs::read_to_string(&site).expect("site copy");
    assert!(text.contains("poll = \"1s\""), "demo site poll line changed");
    std::fs::write(&site, text.replace("poll = \"1s\"", &format!("poll = \"{period}\""))).expect("site copy");
    site
}
