//! A terminal's side of a running daemon's socket: a subscribed connection handing out
//! live snapshots, and one-off requests.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use mimic::ipc::{LiveDevice, LiveSnapshot, LiveTag, Reply, Request};

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

/// The tag `name` of a snapshot.
pub fn tag<'a>(s: &'a LiveSnapshot, name: &str) -> &'a LiveTag {
    s.tags.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no tag {name} in the snapshot"))
}

/// The device `name` of a snapshot.
pub fn dev<'a>(s: &'a LiveSnapshot, name: &str) -> &'a LiveDevice {
    s.devices.iter().find(|d| d.name == name).unwrap_or_else(|| panic!("no device {name} in the snapshot"))
}

/// One request on a fresh connection (after the daemon's hello); its reply. `None` when
/// the socket is not (or no longer) there or the reply does not parse.
pub fn try_ask(sock: &Path, req: &Request, timeout: Duration) -> Option<Reply> {
    let stream = UnixStream::connect(sock).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    let mut w = stream.try_clone().ok()?;
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).ok()?; // hello
    let mut text = serde_json::to_string(req).ok()?;
    text.push('\n');
    w.write_all(text.as_bytes()).ok()?;
    line.clear();
    r.read_line(&mut line).ok()?;
    serde_json::from_str::<Reply>(&line).ok()
}

/// One request on a fresh connection; its reply. Panics when the daemon does not answer.
pub fn ask(sock: &Path, req: &Request) -> Reply {
    try_ask(sock, req, Duration::from_secs(30))
        .unwrap_or_else(|| panic!("no reply to {req:?} from the daemon at {}", sock.display()))
}

/// Stored timestamps of `tag` as the live daemon serves them (committed samples only).
/// `None` when the socket is not (or no longer) there or the reply is not history.
pub fn served_timestamps(sock: &Path, tag: &str) -> Option<Vec<i64>> {
    let req = Request::History { tag: tag.into(), from_ms: 0, to_ms: i64::MAX };
    match try_ask(sock, &req, Duration::from_secs(5))? {
        Reply::History { samples, .. } => Some(samples.iter().map(|s| s.ts_ms).collect()),
        _ => None,
    }
}

/// One connection kept for several requests, as a script or a terminal keeps it: each
/// request's reply is read before the next is sent.
pub struct Asker {
    w: UnixStream,
    r: BufReader<UnixStream>,
}

impl Asker {
    /// Connects and reads the daemon's hello.
    pub fn connect(sock: &Path) -> Asker {
        let stream = UnixStream::connect(sock).unwrap_or_else(|e| panic!("connect {}: {e}", sock.display()));
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("read timeout");
        let mut a = Asker { w: stream.try_clone().expect("clone"), r: BufReader::new(stream) };
        let mut hello = String::new();
        a.r.read_line(&mut hello).expect("hello");
        a
    }

    /// Sends `line` as it is (plus its newline); the reply.
    pub fn ask_line(&mut self, line: &str) -> Reply {
        self.w.write_all(format!("{line}\n").as_bytes()).expect("send");
        let mut reply = String::new();
        let n = self.r.read_line(&mut reply).expect("read the reply");
        assert!(n > 0, "the daemon closed the connection after {line}");
        serde_json::from_str(&reply).unwrap_or_else(|e| panic!("reply {reply}: {e}"))
    }

    pub fn ask(&mut self, req: &Request) -> Reply {
        self.ask_line(&serde_json::to_string(req).expect("request json"))
    }
}
