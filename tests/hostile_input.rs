//! Hostile input at the daemon's edges, end to end against `mimic run` and `mimic sim`:
//! malformed, overlong, invalid UTF-8 and abruptly ended requests on the Unix socket are
//! refused (or the connection just ends) while another terminal keeps receiving its
//! snapshots; a site file with escape sequences or invalid UTF-8 is refused by `check`.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mimic::ipc::Reply;
use support::binary::{DemoSite, Served, mimic};
use support::live::Snapshots;
use support::process::Run;
use support::{p, poll};

const LIMIT: Duration = Duration::from_secs(30);

/// A raw client: sends bytes, reads reply lines.
struct Raw {
    w: UnixStream,
    r: BufReader<UnixStream>,
}

impl Raw {
    fn connect(sock: &Path) -> Raw {
        let s = UnixStream::connect(sock).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
        let mut raw = Raw { w: s.try_clone().expect("clone"), r: BufReader::new(s) };
        match raw.reply() {
            Reply::Hello { .. } => raw,
            other => panic!("expected hello, got {other:?}"),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).expect("send");
    }

    fn reply(&mut self) -> Reply {
        for _ in 0..20 {
            let mut line = Vec::new();
            let n = self.r.read_until(b'\n', &mut line).expect("read a reply");
            assert!(n > 0, "the daemon closed the connection");
            let reply: Reply = serde_json::from_slice(&line)
                .unwrap_or_else(|e| panic!("reply is not JSON ({e}): {:?}", String::from_utf8_lossy(&line)));
            if !matches!(reply, Reply::Snapshot(_)) {
                return reply;
            }
        }
        panic!("only snapshots came back: a request was taken for a subscription")
    }

    /// Sends `bytes` and expects an error reply (within the read timeout: a request taken
    /// for a subscription would only bring snapshots, so stop after a few of them).
    fn refused(&mut self, what: &str, bytes: &[u8]) -> String {
        self.send(bytes);
        match self.reply() {
            Reply::Error { message } => message,
            other => panic!("{what}: expected an error reply, got {other:?}"),
        }
    }

    /// Like [`Raw::refused`], and the refusal says `needle`.
    fn refused_saying(&mut self, what: &str, bytes: &[u8], needle: &str) {
        let m = self.refused(what, bytes);
        assert!(m.contains(needle), "{what}: the refusal does not say {needle:?}: {m}");
    }

    /// The connection still works: a valid request is answered.
    fn still_serves(&mut self, what: &str) {
        self.send(b"{\"req\":\"history\",\"tag\":\"P101.flow\",\"from_ms\":0,\"to_ms\":9223372036854775807}\n");
        match self.reply() {
            Reply::History { tag, .. } => assert_eq!(tag, "P101.flow"),
            other => panic!("after {what}: expected history, got {other:?}"),
        }
    }
}

#[test]
fn malformed_requests_are_refused_without_affecting_other_terminals() {
    let DemoSite { sim: _sim, tmp: _tmp, site, data } = DemoSite::start();
    let mut daemon = Served::start(&site, &data);
    let sock = daemon.sock.clone();

    // The bystander: a subscribed terminal counting the snapshots it receives.
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (received, stop, sock) = (received.clone(), stop.clone(), sock.clone());
        std::thread::spawn(move || {
            let mut snaps = Snapshots::attach(&sock);
            let mut last_ms = 0;
            while !stop.load(Ordering::SeqCst) {
                let s = snaps.next();
                assert!(s.now_ms >= last_ms, "snapshots go forward");
                last_ms = s.now_ms;
                received.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let counted = poll(LIMIT, || (received.load(Ordering::SeqCst) >= 2).then_some(()));
    assert!(counted.is_some(), "the bystander receives snapshots");

    let mut raw = Raw::connect(&sock);
    raw.refused_saying("garbage", b"hello daemon\n", "malformed");
    raw.still_serves("garbage");
    raw.refused("invalid UTF-8", b"{\"req\":\"history\",\"tag\":\"\xff\xfe\xc0\x80\",\"from_ms\":0,\"to_ms\":1}\n");
    raw.still_serves("invalid UTF-8");
    raw.refused("raw invalid UTF-8", b"\xff\xff\xff\x00\x01\x1b[2J\n");
    raw.refused("NUL bytes", b"\0\0\0\0\n");
    raw.refused_saying(
        "unknown field",
        b"{\"req\":\"history\",\"tag\":\"a\",\"from_ms\":0,\"to_ms\":1,\"evil\":1}\n",
        "unknown field `evil`",
    );
    // Requests without fields of their own refuse stray ones too (no subscription, no act).
    raw.refused_saying("unknown field on subscribe", b"{\"req\":\"subscribe\",\"evil\":1}\n", "unknown field `evil`");
    raw.refused_saying(
        "unknown field on an act without fields",
        b"{\"req\":\"act\",\"act\":{\"act\":\"users_changed\",\"evil\":1}}\n",
        "unknown field `evil`",
    );
    raw.refused_saying(
        "unknown field beside an act",
        b"{\"req\":\"act\",\"act\":{\"act\":\"ack_alarm\",\"id\":1},\"x\":0}\n",
        "unknown field `x`",
    );
    raw.refused_saying(
        "wrong type in an act",
        b"{\"req\":\"act\",\"act\":{\"act\":\"ack_alarm\",\"id\":\"1\"}}\n",
        "invalid type: string \"1\"",
    );
    raw.refused_saying(
        "negative column count",
        b"{\"req\":\"trend\",\"tag\":\"a\",\"from_ms\":0,\"to_ms\":1,\"columns\":-3}\n",
        "invalid value",
    );
    raw.still_serves("unknown fields and wrong types");
    raw.refused("unknown request", b"{\"req\":\"shutdown\"}\n");
    raw.refused_saying(
        "wrong types",
        b"{\"req\":\"history\",\"tag\":7,\"from_ms\":\"x\",\"to_ms\":[]}\n",
        "invalid type",
    );
    raw.refused(
        "number overflow",
        b"{\"req\":\"history\",\"tag\":\"a\",\"from_ms\":1e999,\"to_ms\":99999999999999999999999}\n",
    );
    let deep = format!("{}{}\n", "[".repeat(20_000), "]".repeat(20_000));
    raw.refused("deep nesting", deep.as_bytes());
    raw.still_serves("deep nesting");
    // An act without being a configured user is refused by the core, not a crash.
    let m = raw.refused(
        "act of an unknown user",
        b"{\"req\":\"act\",\"act\":{\"act\":\"approve\",\"id\":1,\"secret\":\"x\"}}\n",
    );
    assert!(!m.is_empty());
    // 8 MiB without a newline, then the newline: refused as too long, nothing buffered past the limit.
    let mut big = vec![b'x'; 8 << 20];
    big.push(b'\n');
    raw.refused_saying("overlong line", &big, "request too long: more than 65536 bytes");
    raw.still_serves("overlong line");
    // Many bad lines at once: each gets its own refusal, in order.
    raw.send(&b"nope\n".repeat(200));
    for _ in 0..200 {
        assert!(matches!(raw.reply(), Reply::Error { .. }));
    }
    raw.still_serves("a burst of bad lines");

    // Abrupt ends: a half line then close; a client that never reads its replies.
    {
        let mut s = UnixStream::connect(&sock).expect("connect");
        s.write_all(b"{\"req\":\"hist").expect("half a line");
    }
    let mut deaf = UnixStream::connect(&sock).expect("connect");
    deaf.write_all(b"{\"req\":\"subscribe\"}\n").expect("subscribe");
    deaf.write_all(&b"nope\n".repeat(10_000)).expect("flood");

    // The bystander kept receiving all along, and still does.
    let before = received.load(Ordering::SeqCst);
    let t0 = Instant::now();
    let more = poll(LIMIT, || (received.load(Ordering::SeqCst) >= before + 4).then_some(()));
    assert!(more.is_some(), "the bystander stopped receiving snapshots");
    eprintln!("bystander: {} snapshots, 4 more in {:?} after the abuse", received.load(Ordering::SeqCst), t0.elapsed());
    let mut fresh = Raw::connect(&sock);
    fresh.still_serves("everything");
    drop(deaf);
    let mut sink = Vec::new();
    let _ = raw.r.get_mut().set_read_timeout(Some(Duration::from_millis(10)));
    let _ = raw.r.read_to_end(&mut sink);

    stop.store(true, Ordering::SeqCst);
    assert!(watcher.join().is_ok(), "the bystander's checks hold");
    daemon.stop_cleanly();
}

#[test]
fn site_files_with_escape_sequences_or_invalid_utf8_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let check = |name: &str, bytes: &[u8]| -> Run {
        let path = tmp.path().join(name);
        std::fs::write(&path, bytes).expect("write site");
        mimic(&["check", p(&path)])
    };
    let base = "[site]\nname = \"x\"\n\n[[device]]\nname = \"plc\"\nprotocol = \"modbus-tcp\"\n\
                endpoint = \"127.0.0.1:5020\"\nunit = 1\n\n[[tag]]\nname = \"T\"\ndevice = \"plc\"\naddress = \"ir:0\"\n";
    let ok = check("ok.toml", base.as_bytes());
    assert!(ok.ok(), "the base site is valid: {ok}");
    // Names (which diagnostics and logs quote) must be free of control characters...
    let esc = base.replace("name = \"T\"", "name = \"T\\u001b[2J\\u009b31m\"");
    let r = check("esc.toml", esc.as_bytes());
    assert!(!r.ok(), "escape sequences in a tag name are refused: {r}");
    assert!(r.stdout.contains("control characters"), "{r}");
    assert!(!r.stdout.contains('\x1b') && !r.stderr.contains('\x1b'), "no escape reaches the output: {r}");
    // ...free text is kept as written and defused where it is shown (the views' sanitising).
    let desc = format!("{base}description = \"pump\\u001b[2J\"\n");
    let r = check("desc.toml", desc.as_bytes());
    assert!(r.ok(), "a description is free text: {r}");
    assert!(!r.stdout.contains('\x1b') && !r.stderr.contains('\x1b'), "no escape reaches the output: {r}");
    let mut bad = base.as_bytes().to_vec();
    bad.extend_from_slice(b"description = \"\xff\xfe\x1b[2J\"\n");
    let r = check("utf8.toml", &bad);
    assert!(!r.ok(), "invalid UTF-8 is refused: {r}");
    assert!(!r.stderr.contains("panicked") && !r.stdout.contains("panicked"), "no panic: {r}");
    assert!(!r.stdout.contains('\x1b') && !r.stderr.contains('\x1b'), "no escape reaches the output: {r}");
}
