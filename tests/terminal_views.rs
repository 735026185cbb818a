//! A terminal costs what it shows, end to end against `mimic run` and `mimic sim`: the
//! bytes a terminal with a view receives per second do not grow with the tag count, a
//! view scrolled to the end of 20k tags holds the right rows, and malformed or
//! out-of-range views are refused on their own connection while another terminal
//! carries on.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mimic::ipc::{self, Frame, Reply, ViewSpec, ViewUpdate};
use support::binary::{Served, Sim};
use support::{p, poll};

/// Input registers per simulated unit used here (the sim serves 128 from address 0).
const PER_UNIT: usize = 100;

fn name(k: usize) -> String {
    format!("u{:03}.r{:03}", k / PER_UNIT + 1, k % PER_UNIT)
}

/// A site of `n` u16 tags over `n / PER_UNIT` units of the sim, polled each second.
fn write_site(dir: &Path, endpoint: &str, n: usize) -> (PathBuf, PathBuf) {
    let data = dir.join("data");
    let mut s = format!("[site]\nname = \"views {n}\"\ndata_dir = {:?}\n\n", p(&data));
    for u in 0..n.div_ceil(PER_UNIT) {
        s += &format!(
            "[[device]]\nname = \"d{}\"\nprotocol = \"modbus-tcp\"\nendpoint = \"{endpoint}\"\nunit = {}\ntimeout = \"2s\"\npoll = \"1s\"\n\n",
            u + 1,
            u + 1
        );
    }
    for k in 0..n {
        s += &format!(
            "[[tag]]\nname = \"{}\"\ndevice = \"d{}\"\naddress = \"ir:{}\"\ntype = \"u16\"\n\n",
            name(k),
            k / PER_UNIT + 1,
            k % PER_UNIT
        );
    }
    let path = dir.join("site.toml");
    std::fs::write(&path, s).expect("write site");
    (path, data)
}

/// `mimic run` of a generated site, with its socket up.
fn start(dir: &Path, sim: &Sim, n: usize) -> (Served, PathBuf) {
    let (site, data) = write_site(dir, &sim.endpoint(), n);
    let served = Served::start(&site, &data);
    let sock = served.sock.clone();
    (served, sock)
}

/// A terminal speaking the view protocol, counting the bytes it receives.
struct Viewer {
    w: UnixStream,
    r: BufReader<UnixStream>,
    bytes: u64,
}

impl Viewer {
    fn connect(sock: &Path) -> Viewer {
        let s = UnixStream::connect(sock).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
        let mut v = Viewer { w: s.try_clone().expect("clone"), r: BufReader::new(s), bytes: 0 };
        match v.line() {
            Reply::Hello { proto, .. } => assert_eq!(proto, ipc::PROTO, "the hello names the protocol"),
            other => panic!("expected hello, got {other:?}"),
        }
        v
    }

    fn send(&mut self, bytes: &[u8]) {
        self.w.write_all(bytes).expect("send");
    }

    fn view(&mut self, spec: &ViewSpec) {
        let req = ipc::Request::View { proto: ipc::PROTO, view: spec.clone() };
        let mut line = serde_json::to_vec(&req).expect("json");
        line.push(b'\n');
        self.send(&line);
    }

    /// A JSON reply line (before the first valid view).
    fn line(&mut self) -> Reply {
        let mut line = Vec::new();
        let n = self.r.read_until(b'\n', &mut line).expect("read a reply");
        assert!(n > 0, "the daemon closed the connection");
        serde_json::from_slice(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&line)))
    }

    /// The next binary frame.
    fn frame(&mut self) -> Frame {
        let mut len = [0u8; 4];
        self.r.read_exact(&mut len).expect("frame length");
        let len = u32::from_le_bytes(len) as usize;
        assert!(len <= ipc::MAX_FRAME, "frame of {len} bytes");
        let mut body = vec![0u8; len];
        self.r.read_exact(&mut body).expect("frame body");
        self.bytes += 4 + len as u64;
        ipc::decode_frame(&body).expect("a valid frame")
    }

    fn update(&mut self) -> ViewUpdate {
        loop {
            if let Frame::Update(u) = self.frame() {
                return *u;
            }
        }
    }
}

fn tags_view(first: u64, rows: u32) -> ViewSpec {
    ViewSpec { first, rows, ..ViewSpec::default() }
}

/// Bytes per second a terminal on the Tags screen (48 rows) receives, once every tag is read.
fn bytes_per_second(sock: &Path, n: usize) -> f64 {
    let mut v = Viewer::connect(sock);
    v.view(&tags_view(0, 48));
    // every tag read at least once (the counters say no tag is Bad any more)
    let read = poll(Duration::from_secs(60), || {
        let u = v.update();
        (u.counts.tags == n && u.counts.bad == 0).then_some(())
    });
    assert!(read.is_some(), "the {n} tags were not all read within 60 s");
    let (t0, b0) = (Instant::now(), v.bytes);
    while t0.elapsed() < Duration::from_secs(8) {
        v.update();
    }
    (v.bytes - b0) as f64 / t0.elapsed().as_secs_f64()
}

#[test]
fn a_terminal_receives_what_it_shows_whatever_the_tag_count() {
    let sim = Sim::start(&["--units", "200"]);
    let mut rates = Vec::new();
    for n in [2_000, 20_000] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let (_daemon, sock) = start(tmp.path(), &sim, n);
        let rate = bytes_per_second(&sock, n);
        eprintln!("{n} tags: {rate:.0} bytes/s to a terminal on the Tags screen");
        rates.push(rate);
        if n == 20_000 {
            // scrolled to the end: the last 48 names in name order, with values
            let mut v = Viewer::connect(&sock);
            v.view(&tags_view(n as u64 - 48, 48));
            let u = v.update();
            assert_eq!((u.page.offset, u.page.total, u.len), (n - 48, n, 48));
            let mut names: Vec<String> = (0..n).map(name).collect();
            names.sort();
            let got: Vec<&str> = u.rows.iter().map(|(_, t)| t.name.as_str()).collect();
            let want: Vec<&str> = names[n - 48..].iter().map(String::as_str).collect();
            assert_eq!(got, want, "the rows at the end of the list");
            assert!(u.rows.iter().all(|(_, t)| t.value.is_some()), "the last rows carry values");
            // descending by name: the same rows, reversed, at the top (updates of the
            // previous view may still be on their way: the answer follows them)
            v.view(&ViewSpec { desc: true, ..tags_view(0, 48) });
            let reversed: Vec<&str> = want.iter().rev().copied().collect();
            let answered = (0..20).any(|_| {
                let u = v.update();
                u.page.offset == 0 && u.rows.iter().map(|(_, t)| t.name.as_str()).eq(reversed.iter().copied())
            });
            assert!(answered, "no answer with the last 48 names, reversed, at the top");
        }
    }
    assert!(rates[1] <= 1.2 * rates[0], "bytes/s grew with the tags: {:.0} at 2k, {:.0} at 20k", rates[0], rates[1]);
}

#[test]
fn malformed_views_are_refused_on_their_connection_only() {
    let sim = Sim::start(&["--units", "10"]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_daemon, sock) = start(tmp.path(), &sim, 1_000);
    // the bystander: a terminal with a view, receiving updates
    let mut bystander = Viewer::connect(&sock);
    bystander.view(&tags_view(0, 20));
    bystander.update();

    let mut raw = Viewer::connect(&sock);
    let view = |fields: &str| {
        format!(
            "{{\"req\":\"view\",\"proto\":{},\"view\":{{{fields},\"filter\":\"\",\"sort\":\"name\",\"desc\":false,\"trend_tags\":[],\"alarm\":null}}}}\n",
            ipc::PROTO
        )
    };
    let mut refused = |what: &str, line: &str, says: &str| {
        raw.send(line.as_bytes());
        match raw.line() {
            Reply::Error { message } => assert!(message.contains(says), "{what}: {message}"),
            other => panic!("{what}: expected an error, got {other:?}"),
        }
    };
    refused("negative row", &view("\"screen\":\"tags\",\"first\":-1,\"rows\":20"), "invalid value: integer `-1`");
    refused(
        "absurd count",
        &view("\"screen\":\"tags\",\"first\":0,\"rows\":4000000000"),
        "view.rows: 4000000000 is more than",
    );
    refused("unknown screen", &view("\"screen\":\"secrets\",\"first\":0,\"rows\":20"), "unknown variant `secrets`");
    refused("missing field", "{\"req\":\"view\",\"proto\":2,\"view\":{\"screen\":\"tags\"}}\n", "missing field");
    refused(
        "another protocol",
        &view("\"screen\":\"tags\",\"first\":0,\"rows\":20")
            .replace(&format!("\"proto\":{}", ipc::PROTO), "\"proto\":9"),
        "protocol 9 is not spoken here",
    );
    let long = view("\"screen\":\"tags\",\"first\":0,\"rows\":20").replace("\"filter\":\"\"", "\"filter\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"");
    refused("long filter", &long, "view.filter: longer than 256 characters");
    let huge = view("\"screen\":\"tags\",\"first\":0,\"rows\":20")
        .replace("\"filter\":\"\"", &format!("\"filter\":\"{}\"", "x".repeat(1 << 20)));
    refused("a filter of 1 MB", &huge, "request too long");
    refused("a view that is not an object", "{\"req\":\"view\",\"proto\":2,\"view\":[1,2]}\n", "a JSON object");
    // the same connection then takes a valid view (and from then on speaks frames)
    raw.view(&tags_view(980, 20));
    let u = raw.update();
    assert_eq!((u.page.offset, u.len), (980, 20));
    // beyond the end: the window is empty, not an error (updates of the previous view may
    // still be on their way: the answer follows them)
    raw.view(&tags_view(5_000, 20));
    let answered = (0..20).any(|_| {
        let u = raw.update();
        (u.page.offset, u.page.total, u.len) == (1_000, 1_000, 0)
    });
    assert!(answered, "no empty window at the end of the list for a view beyond it");
    // a bad view once in frames: the error comes as a frame, the connection stays
    raw.send(view("\"screen\":\"tags\",\"first\":0,\"rows\":100000").as_bytes());
    let e = loop {
        if let Frame::Reply(json) = raw.frame() {
            break json;
        }
    };
    assert!(e.contains("view.rows"), "{e}");

    // the bystander carried on all along
    let t0 = Instant::now();
    let v0 = bystander.update().version;
    let later = poll(Duration::from_secs(20), || {
        let u = bystander.update();
        (u.version > v0).then_some(())
    });
    assert!(later.is_some(), "the bystander stopped receiving updates");
    eprintln!("bystander: updates go on ({:?})", t0.elapsed());
}

/// A terminal on the Alarms screen's History and KPI panes: with its view up (frames), a
/// page of the journal and the figures come as replies in frames, a page no bigger than
/// asked; an absurd page is refused on that connection, and the view's updates go on.
#[test]
fn the_alarm_history_and_figures_come_to_a_terminal_in_frames() {
    use mimic::alarms::journal::Query;
    let sim = Sim::start(&["--units", "2"]);
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_daemon, sock) = start(tmp.path(), &sim, 100);
    let mut v = Viewer::connect(&sock);
    v.view(&ViewSpec { screen: ipc::ViewScreen::Alarms, ..ViewSpec::default() });
    v.update();
    let mut ask = |req: &ipc::Request| -> Reply {
        v.send(format!("{}\n", serde_json::to_string(req).expect("json")).as_bytes());
        loop {
            if let Frame::Reply(json) = v.frame() {
                break serde_json::from_str(&json).expect("a reply");
            }
        }
    };
    let now = mimic::time::now_ms();
    let query = Query { from_ms: now - 86_400_000, to_ms: now + 1, newest_first: true, limit: 16, ..Query::default() };
    match ask(&ipc::Request::AlarmHistory { query: query.clone() }) {
        Reply::AlarmHistory(p) => assert!(p.records.len() <= 16 && p.next.is_none(), "{p:?}"),
        other => panic!("expected a page, got {other:?}"),
    }
    match ask(&ipc::Request::AlarmReport { from_ms: now - 86_400_000, to_ms: now }) {
        Reply::AlarmReport(r) => assert_eq!(r.per_10min.len(), 144),
        other => panic!("expected the figures, got {other:?}"),
    }
    match ask(&ipc::Request::AlarmHistory { query: Query { limit: 1_000_000, ..query } }) {
        Reply::Error { message } => assert_eq!(message, "alarm_history.limit: 1000000 is not in 1..=5000"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let v0 = v.update().version;
    assert!(poll(Duration::from_secs(20), || (v.update().version > v0).then_some(())).is_some(), "updates go on");
}
