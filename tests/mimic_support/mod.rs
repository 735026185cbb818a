//! Helpers for the end-to-end tests that drive the built `mimic` binary: bounded command
//! runs, free ports, a `mimic sim` child, bounded polls.
//!
//! Use from a test file with `mod common; mod mimic_support;`.
#![allow(dead_code)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::Peer;

/// The `mimic` binary cargo built for these tests.
pub fn mimic() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mimic"))
}

/// A `Command` for the `mimic` binary, with a quiet log unless `MIMIC_LOG` is set.
pub fn mimic_cmd() -> Command {
    let mut cmd = Command::new(mimic());
    if std::env::var_os("MIMIC_LOG").is_none() {
        cmd.env("MIMIC_LOG", "warn");
    }
    cmd
}

/// The result of a bounded command run.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}", self.code, self.stdout, self.stderr)
    }
}

fn drain(mut r: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Runs `cmd` to completion with no stdin; kills it and panics after `limit`.
pub fn run(cmd: Command, limit: Duration) -> Run {
    run_with_stdin(cmd, "", limit)
}

/// Runs `cmd` to completion with `input` as its stdin; kills it and panics after `limit`.
pub fn run_with_stdin(mut cmd: Command, input: &str, limit: Duration) -> Run {
    cmd.stdin(if input.is_empty() { Stdio::null() } else { Stdio::piped() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let desc = format!("{cmd:?}");
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot spawn {desc}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write;
        // a command that exits before reading is judged by its output, not by the pipe
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = drain(child.stdout.take().expect("piped stdout"));
    let err = drain(child.stderr.take().expect("piped stderr"));
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                let (o, e) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
                panic!("{desc} did not finish within {limit:?}\n--- stdout ---\n{o}\n--- stderr ---\n{e}");
            }
            Err(e) => panic!("waiting for {desc}: {e}"),
        }
    };
    Run { code: status.code(), stdout: out.join().unwrap_or_default(), stderr: err.join().unwrap_or_default() }
}

/// A port that was free a moment ago on 127.0.0.1 (bound to :0, then released).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// Polls `f` every 100 ms until it returns `Some`, or `None` after `limit`.
pub fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(Duration::from_millis(100));
    }
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
            let mut cmd = mimic_cmd();
            cmd.arg("sim").arg("--port").arg(port.to_string()).args(extra);
            let (mut peer, lines) = Peer::spawn("mimic sim", cmd);
            match wait_serving(&mut peer, &lines, Duration::from_secs(15)) {
                Ok(()) => {}
                Err(e) => {
                    last_err = e;
                    continue;
                }
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

/// Waits for the sim's banner line; `Err` with its stderr if it exited first.
fn wait_serving(peer: &mut Peer, lines: &mpsc::Receiver<String>, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains("serving Modbus TCP on") => return Ok(()),
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

/// A child process that is killed and reaped on drop (for daemons the test wants to
/// signal and wait for itself).
pub struct Daemon {
    pub child: Child,
    out: Option<thread::JoinHandle<String>>,
    err: Option<thread::JoinHandle<String>>,
}

impl Daemon {
    pub fn spawn(mut cmd: Command) -> Daemon {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let desc = format!("{cmd:?}");
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot spawn {desc}: {e}"));
        let out = drain(child.stdout.take().expect("piped stdout"));
        let err = drain(child.stderr.take().expect("piped stderr"));
        Daemon { child, out: Some(out), err: Some(err) }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits i32")
    }

    /// Panics (with the output so far) if the process has exited.
    pub fn assert_running(&mut self, what: &str) {
        if let Ok(Some(status)) = self.child.try_wait() {
            let (o, e) = self.collect();
            panic!("{what} exited early ({status})\n--- stdout ---\n{o}\n--- stderr ---\n{e}");
        }
    }

    /// Sends `sig` and waits up to `limit` for the exit; returns the exit code and output.
    pub fn signal_and_wait(&mut self, sig: i32, limit: Duration) -> Run {
        // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({}, {sig}) failed: {}", self.pid(), std::io::Error::last_os_error());
        let status = poll(limit, || self.child.try_wait().ok().flatten());
        let Some(status) = status else {
            let _ = self.child.kill();
            let _ = self.child.wait();
            let (o, e) = self.collect();
            panic!(
                "process did not exit within {limit:?} after signal {sig}\n--- stdout ---\n{o}\n--- stderr ---\n{e}"
            );
        };
        let (stdout, stderr) = self.collect();
        Run { code: status.code(), stdout, stderr }
    }

    fn collect(&mut self) -> (String, String) {
        let o = self.out.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        let e = self.err.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        (o, e)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo site file of the repository.
pub fn demo_site_path() -> PathBuf {
    crate::common::repo_root().join("profiles").join("demo-site.toml")
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
