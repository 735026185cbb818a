//! A pair of connected pseudo-terminals made by socat, standing in for a serial cable.
//!
//! `socat pty,raw,echo=0,link=DIR/a pty,raw,echo=0,link=DIR/b`: bytes written to one end
//! come out of the other. A pty does not pace bytes at the baud rate and cannot carry
//! parity, so tests use `N` and say nothing about wire timing.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::peers::{Peer, require_tool, spawn_python_peer};

pub struct PtyPair {
    /// One end, for the peer.
    pub a: PathBuf,
    /// The other end, for mimic.
    pub b: PathBuf,
    _socat: Peer,
    _dir: tempfile::TempDir,
}

/// Start socat and wait (bounded) until both links exist.
pub fn pty_pair() -> PtyPair {
    let socat = require_tool("socat");
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let mut cmd = Command::new(socat);
    cmd.arg("-d")
        .arg("-d")
        .arg(format!("pty,raw,echo=0,link={}", a.display()))
        .arg(format!("pty,raw,echo=0,link={}", b.display()));
    let (mut peer, _lines) = Peer::spawn("socat", cmd);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(a.exists() && b.exists()) {
        if Instant::now() > deadline || !peer.is_running() {
            panic!("socat did not create the pty pair within 10 s; stderr:\n{}", peer.stderr());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    PtyPair { a, b, _socat: peer, _dir: dir }
}

/// Starts the Python peer `script` of `tests/peers` on end `a` of a fresh pair
/// (`--device A ARGS...`); mimic takes end `b`.
pub fn serial_peer(script: &str, args: &[&str]) -> (PtyPair, Peer) {
    let pair = pty_pair();
    let a = pair.a.to_str().expect("utf-8 path").to_string();
    let mut all = vec!["--device", a.as_str()];
    all.extend_from_slice(args);
    let (peer, _) = spawn_python_peer(script, &all);
    (pair, peer)
}
