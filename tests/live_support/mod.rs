//! A terminal's view of a running daemon for end-to-end tests: a subscribed socket
//! connection handing out live snapshots, and one-off history requests.
//!
//! Use from a test file with `mod live_support;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use mimic::ipc::{LiveDevice, LiveSnapshot, Reply, Request};

/// A subscribed terminal connection that hands out live snapshots.
pub struct Snapshots {
    lines: BufReader<UnixStream>,
}

impl Snapshots {
    pub fn attach(sock: &Path) -> Snapshots {
        let stream = UnixStream::connect(sock).unwrap_or_else(|e| panic!("connect {}: {e}", sock.display()));
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
        let mut w = stream.try_clone().expect("clone");
        w.write_all(b"{\"req\":\"subscribe\"}\n").expect("subscribe");
        Snapshots { lines: BufReader::new(stream) }
    }

    pub fn next(&mut self) -> LiveSnapshot {
        loop {
            let mut line = String::new();
            let n = self.lines.read_line(&mut line).expect("read from the daemon");
            assert!(n > 0, "the daemon closed the socket");
            if let Ok(Reply::Snapshot(s)) = serde_json::from_str::<Reply>(&line) {
                return *s;
            }
        }
    }

    /// The first snapshot for which `f` holds; panics after `limit`.
    pub fn until(&mut self, limit: Duration, what: &str, f: impl Fn(&LiveSnapshot) -> bool) -> LiveSnapshot {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.next();
            if f(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "{what} not seen within {limit:?}; last store {:?}, devices: {:#?}",
                s.store,
                s.devices
            );
        }
    }
}

/// The device `name` of a snapshot.
pub fn dev<'a>(s: &'a LiveSnapshot, name: &str) -> &'a LiveDevice {
    s.devices.iter().find(|d| d.name == name).unwrap_or_else(|| panic!("no device {name} in the snapshot"))
}

/// Stored timestamps of `tag` as the live daemon serves them (committed samples only).
/// `None` when the socket is not (or no longer) there or the reply is not history.
pub fn served_timestamps(sock: &Path, tag: &str) -> Option<Vec<i64>> {
    let stream = UnixStream::connect(sock).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut w = stream.try_clone().ok()?;
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).ok()?; // hello
    let req = Request::History { tag: tag.into(), from_ms: 0, to_ms: i64::MAX };
    let mut text = serde_json::to_string(&req).ok()?;
    text.push('\n');
    w.write_all(text.as_bytes()).ok()?;
    line.clear();
    r.read_line(&mut line).ok()?;
    match serde_json::from_str::<Reply>(&line).ok()? {
        Reply::History { samples, .. } => Some(samples.iter().map(|s| s.ts_ms).collect()),
        _ => None,
    }
}
