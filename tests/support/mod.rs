//! The one support module of the integration tests (and of the poll-rate bench): every
//! test file starts with `mod support;` and takes what it needs from here.
//!
//! - [`peers`]: third-party peers over loopback (the Python venv with pymodbus, asyncua
//!   and paho; mosquitto; tools on `PATH`). A missing peer is a test FAILURE with a
//!   message saying how to get it (`./scripts/test.sh` installs everything), never a skip.
//! - [`pty`]: a socat pseudo-terminal pair standing in for a serial cable.
//! - [`process`]: bounded runs of a command and child processes killed on drop.
//! - [`binary`]: the built `mimic` binary: one-off commands, `mimic sim`, and `mimic run`
//!   waited for until its socket is there; the demo site rewritten for a test.
//! - [`daemon`]: a daemon started in-process, `wait_for` a snapshot, acts to its core.
//! - [`live`]: a terminal's side of the socket (subscribed snapshots, one-off requests).
//! - [`mbpoll`]: an independent Modbus master over TCP or RTU.
//! - [`noise`]: deterministic noise for synthetic plant data (also the models bench).
//! - [`tmux`]: a private tmux server for terminal tests.
#![allow(dead_code)]

pub mod binary;
pub mod daemon;
pub mod live;
pub mod mbpoll;
pub mod noise;
pub mod peers;
pub mod process;
pub mod pty;
pub mod tmux;

use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

/// Root of the `mimic` package (the repository root).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A path as `&str`, for argument lists (temporary paths are UTF-8).
pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
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

/// A port that was free a moment ago on 127.0.0.1 (bound to :0, then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// The number that starts the text after the first `marker` in `text` (`"75.0 -> 80.2 %"`
/// after `" -> "` is 80.2); panics naming the text when there is none.
pub fn number_after(text: &str, marker: &str) -> f64 {
    text.split_once(marker)
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number after {marker:?} in {text}"))
}
