//! Third-party peers over loopback: the Python peers of `tests/peers` (pymodbus,
//! asyncua, paho) run with the test venv, tools on `PATH` (mbpoll, socat, tmux, mount),
//! and mosquitto.
//!
//! A missing peer is a test FAILURE with a message telling how to get it
//! (`./scripts/test.sh` installs everything), never a skip.

use std::env;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{free_port, repo_root};

/// How long a peer may take to print its `READY <port>` line.
pub const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// Directory holding the Python peer scripts and the typed map.
pub fn peers_dir() -> PathBuf {
    repo_root().join("tests").join("peers")
}

/// The typed Modbus map shared by the Python server and the Rust tests.
pub fn typed_map_path() -> PathBuf {
    peers_dir().join("typed_map.json")
}

/// The Python interpreter of the test venv: `$MIMIC_PYTHON`, else
/// `<repo>/.venv/bin/python`. Panics if it does not exist.
pub fn python() -> PathBuf {
    let path = match env::var_os("MIMIC_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => repo_root().join(".venv").join("bin").join("python"),
    };
    if !path.is_file() {
        panic!("test peer missing: python venv not found at {}; run ./scripts/test.sh", path.display());
    }
    path
}

/// Finds `name` on `PATH` (plus `/usr/sbin` and `/sbin`, where Debian puts
/// daemons such as mosquitto) or panics.
pub fn require_tool(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = env::var_os("PATH").map(|p| env::split_paths(&p).collect()).unwrap_or_default();
    for extra in ["/usr/local/sbin", "/usr/sbin", "/sbin"] {
        let extra = PathBuf::from(extra);
        if !dirs.contains(&extra) {
            dirs.push(extra);
        }
    }
    for dir in dirs {
        let candidate = dir.join(name);
        if is_executable(&candidate) {
            return candidate;
        }
    }
    panic!("test peer missing: {name} not on PATH; run ./scripts/test.sh (installs it)");
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// A running peer process. Killed and waited on when dropped.
pub struct Peer {
    name: String,
    child: Child,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl Peer {
    /// Spawns `cmd` with stdout and stderr piped. Stdout lines are delivered
    /// on the returned channel; stderr is collected (see [`Peer::stderr`]).
    pub fn spawn(name: &str, mut cmd: Command) -> (Peer, mpsc::Receiver<String>) {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("test peer {name}: cannot spawn {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let out_reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The receiver may be gone; keep draining so the peer never blocks.
                let _ = tx.send(line);
            }
        });
        let sink = Arc::clone(&stderr);
        let err_reader = thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match stderr_pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n])),
                }
            }
        });
        let peer = Peer { name: name.to_string(), child, stderr, readers: vec![out_reader, err_reader] };
        (peer, rx)
    }

    /// Waits up to `timeout` for a stdout line `READY <port>`; returns the port.
    /// Panics (with the peer's stderr) if it exits or times out first.
    pub fn wait_ready(&mut self, lines: &mpsc::Receiver<String>, timeout: Duration) -> u16 {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(port) = line.trim().strip_prefix("READY ") {
                        return port
                            .trim()
                            .parse()
                            .unwrap_or_else(|e| panic!("test peer {}: bad READY line {line:?}: {e}", self.name));
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // stdout closed: the peer died. Collect its status and stderr.
                    let status = self.child.wait().ok();
                    let stderr = self.finish_stderr();
                    panic!("test peer {} exited before READY (status {status:?}); stderr:\n{stderr}", self.name);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("test peer {} not READY within {timeout:?}; stderr so far:\n{}", self.name, self.stderr());
                }
            }
        }
    }

    /// Stderr collected so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Process id of the peer.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signal` and waits (bounded, 30 s) for the exit.
    pub fn terminate(&mut self, signal: i32) {
        let pid = i32::try_from(self.id()).expect("pid");
        // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
        unsafe { libc::kill(pid, signal) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.is_running() {
            assert!(
                Instant::now() < deadline,
                "test peer {} (pid {pid}) did not exit after signal {signal}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn finish_stderr(&mut self) -> String {
        for handle in self.readers.drain(..) {
            let _ = handle.join();
        }
        self.stderr()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for handle in self.readers.drain(..) {
            let _ = handle.join();
        }
    }
}

/// Runs a script from `tests/peers` with the venv Python, waits for its
/// `READY <port>` line and returns the peer and the port.
pub fn spawn_python_peer(script: &str, args: &[&str]) -> (Peer, u16) {
    let (mut peer, lines) = Peer::spawn(script, python_cmd(script, args));
    let port = peer.wait_ready(&lines, READY_TIMEOUT);
    (peer, port)
}

/// `python -u tests/peers/SCRIPT ARGS...` with the venv Python, not started yet.
pub fn python_cmd(script: &str, args: &[&str]) -> Command {
    let script_path = peers_dir().join(script);
    assert!(script_path.is_file(), "test peer script missing: {}", script_path.display());
    let mut cmd = Command::new(python());
    cmd.arg("-u").arg(&script_path).args(args);
    cmd
}

/// Starts `tests/peers/modbus_server.py` on 127.0.0.1 with a free port, in
/// `mode` (`normal`, `exception`, `close`, `silent`), serving `map` as unit 1.
pub fn spawn_modbus_server(mode: &str, map: &Path) -> (Peer, u16) {
    spawn_modbus_server_unit(mode, map, 1)
}

/// [`spawn_modbus_server`] serving the typed map (`tests/peers/typed_map.json`).
pub fn typed_modbus_server(mode: &str) -> (Peer, u16) {
    spawn_modbus_server(mode, &typed_map_path())
}

/// Like [`spawn_modbus_server`] with an explicit Modbus unit id.
pub fn spawn_modbus_server_unit(mode: &str, map: &Path, unit: u8) -> (Peer, u16) {
    let map = map.to_str().expect("map path must be UTF-8");
    let unit = unit.to_string();
    spawn_python_peer("modbus_server.py", &["--port", "0", "--map", map, "--mode", mode, "--unit", &unit])
}

/// Starts `tests/peers/modbus_server.py` in `normal` mode, unit 1, answering writes
/// as `writes` says (`accept`, `reject`, `ignore`, `die`).
pub fn spawn_modbus_server_writes(writes: &str, map: &Path) -> (Peer, u16) {
    let map = map.to_str().expect("map path must be UTF-8");
    spawn_python_peer("modbus_server.py", &["--port", "0", "--map", map, "--mode", "normal", "--writes", writes])
}

/// mosquitto on loopback on a free port (no persistence: a restart forgets every session
/// and retained message). Stopped when dropped.
pub struct Broker {
    peer: Option<Peer>,
    pub port: u16,
    conf: PathBuf,
}

impl Broker {
    /// Writes its configuration into `dir` and starts it; returns once it accepts TCP.
    pub fn start(dir: &Path) -> Broker {
        let port = free_port();
        let conf = dir.join("mosquitto.conf");
        let text = format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stderr\n");
        std::fs::write(&conf, text).expect("broker conf");
        let mut b = Broker { peer: None, port, conf };
        b.restart();
        b
    }

    /// Starts it (again) and waits (bounded, 30 s) until it accepts TCP.
    pub fn restart(&mut self) {
        let mut cmd = Command::new(require_tool("mosquitto"));
        cmd.arg("-c").arg(&self.conf);
        let (peer, _lines) = Peer::spawn("mosquitto", cmd);
        self.peer = Some(peer);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not listen on {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM and wait for the exit.
    pub fn stop(&mut self) {
        let mut peer = self.peer.take().expect("broker running");
        peer.terminate(libc::SIGTERM);
    }
}
