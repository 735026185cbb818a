//! Key-to-screen latency of terminal views at scale, measured against a running daemon
//! (the daemon's share: a view request until its answer has arrived and is decoded; the
//! terminal adds its render, see `views/benches/render.rs`).
//!
//! ```text
//! cargo run --release --example view_latency -- site 100000 OUT.toml DATA 127.0.0.1:5021 127.0.0.1:5022 ...
//! mimic run OUT.toml &          # with `mimic sim --units 250 --port 5021` etc. serving
//! cargo run --release --example view_latency -- measure DATA/mimic.sock 100000
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use mimic::ipc::{self, Frame, Reply, TagSort, ViewSpec, ViewUpdate};

const PER_UNIT: usize = 100;
const UNITS_PER_SIM: usize = 250;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("site") if args.len() >= 5 => site(args[1].parse().expect("tag count"), &args[2], &args[3], &args[4..]),
        Some("measure") if args.len() == 3 => measure(&args[1], args[2].parse().expect("tag count")),
        _ => eprintln!("usage: view_latency site N OUT.toml DATA ENDPOINT... | measure SOCKET N"),
    }
}

/// A site of `n` u16 tags, 100 per device, 250 devices per simulator endpoint.
fn site(n: usize, out: &str, data: &str, endpoints: &[String]) {
    let mut s = format!("[site]\nname = \"views {n}\"\ndata_dir = {data:?}\n\n");
    let units = n.div_ceil(PER_UNIT);
    for u in 0..units {
        let ep = &endpoints[(u / UNITS_PER_SIM) % endpoints.len()];
        s += &format!(
            "[[device]]\nname = \"d{u}\"\nprotocol = \"modbus-tcp\"\nendpoint = \"{ep}\"\nunit = {}\ntimeout = \"2s\"\npoll = \"1s\"\n\n",
            u % UNITS_PER_SIM + 1
        );
    }
    for k in 0..n {
        let u = k / PER_UNIT;
        s += &format!(
            "[[tag]]\nname = \"u{u:04}.r{:03}\"\ndevice = \"d{u}\"\naddress = \"ir:{}\"\ntype = \"u16\"\n\n",
            k % PER_UNIT,
            k % PER_UNIT
        );
    }
    std::fs::write(out, s).expect("write the site");
}

struct Viewer {
    w: UnixStream,
    r: BufReader<UnixStream>,
}

impl Viewer {
    fn view(&mut self, spec: &ViewSpec) {
        let mut line = serde_json::to_vec(&ipc::Request::View { proto: ipc::PROTO, view: spec.clone() }).expect("json");
        line.push(b'\n');
        self.w.write_all(&line).expect("send");
    }

    fn update(&mut self) -> ViewUpdate {
        loop {
            let mut len = [0u8; 4];
            self.r.read_exact(&mut len).expect("frame length");
            let mut body = vec![0u8; u32::from_le_bytes(len) as usize];
            self.r.read_exact(&mut body).expect("frame");
            if let Frame::Update(u) = ipc::decode_frame(&body).expect("frame") {
                return *u;
            }
        }
    }

    /// Sends a view and waits for its answer (the first update showing it).
    fn time(&mut self, spec: &ViewSpec, is_answer: impl Fn(&ViewUpdate) -> bool) -> f64 {
        let t0 = Instant::now();
        self.view(spec);
        while !is_answer(&self.update()) {}
        t0.elapsed().as_secs_f64() * 1000.0
    }
}

fn report(what: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    println!("{what:<40} n={:>3}  median {:>6.2} ms  max {:>6.2} ms", ms.len(), ms[ms.len() / 2], ms[ms.len() - 1]);
}

fn measure(sock: &str, n: usize) {
    let s = UnixStream::connect(sock).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let mut v = Viewer { w: s.try_clone().expect("clone"), r: BufReader::new(s) };
    let mut hello = String::new();
    v.r.read_line(&mut hello).expect("hello");
    assert!(matches!(serde_json::from_str(&hello), Ok(Reply::Hello { .. })), "{hello}");
    let rows = 60;
    let base = ViewSpec { rows, ..ViewSpec::default() };
    v.view(&base);
    let t0 = Instant::now();
    loop {
        let u = v.update();
        if u.counts.tags == n && u.counts.bad == 0 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "the {n} tags were not all read in 120 s");
    }
    let at = |first: usize| move |u: &ViewUpdate| u.page.offset == first && u.len == rows;
    report(
        "scroll a line (20 times)",
        (1..=20).map(|k| v.time(&ViewSpec { first: k, ..base.clone() }, at(k as usize))).collect(),
    );
    report(
        "page down (20 times)",
        (1..=20).map(|k| v.time(&ViewSpec { first: k * 40, ..base.clone() }, at(k as usize * 40))).collect(),
    );
    let end = n - rows as usize;
    report("to the last page (End)", vec![v.time(&ViewSpec { first: end as u64, ..base.clone() }, at(end))]);
    for sort in [TagSort::Value, TagSort::Quality, TagSort::Age] {
        let spec = ViewSpec { sort, ..base.clone() };
        let first = v.time(&spec, at(0));
        let back = v.time(&base, at(0));
        let again = v.time(&spec, at(0));
        let last = v.time(&ViewSpec { first: end as u64, ..spec.clone() }, at(end));
        report(&format!("sort {sort:?}: first use / again / last page"), vec![first, again, last]);
        let _ = back;
    }
    let mut typed = Vec::new();
    for f in ["u", "u0", "u00", "u001", "u0017", "u0017.r0", "u0017.r05"] {
        typed.push(v.time(&ViewSpec { filter: f.into(), ..base.clone() }, |u| u.page.offset == 0));
    }
    report("filter, a key at a time (u0017.r05)", typed);
    report("filter cleared", vec![v.time(&base, |u| u.page.total == n)]);
}
