//! The shift report's Devices section: an 8-hour shift of a site with `MIMIC_SHIFT_TAGS`
//! tags (default 200) on 4 devices, one sample a second each, one device down for 20
//! minutes. Timed two ways over the same store:
//!
//! * **per tag over the socket** (what `mimic report shift --site` did before the daemon
//!   summarised): for each tag the daemon's `History` answer (the query, each sample as a
//!   `HistSample` with its quality's reason as text, the reply as JSON) and the report's side
//!   (the JSON parsed back, every sample judged);
//! * **one request** (now): `historian::devices::summarize` as the daemon runs it for
//!   `Request::DeviceSummary`, and its JSON reply.
//!
//! Run: `cargo run --example shift_devices` (figures in BENCHMARKS.md).

use std::time::Instant;

use mimic::historian::devices::{self, DeviceSummary};
use mimic::historian::{Historian, HistorianOptions, Sample};
use mimic::ipc::{Reply, TagQuality};
use mimic_drivers::{Quality, Reason};

const DEVICES: usize = 4;
const SHIFT_S: i64 = 8 * 3600;

fn site_text(tags: usize) -> String {
    let mut t = String::from("[site]\nname = \"bench\"\n");
    for d in 0..DEVICES {
        t += &format!("[[device]]\nname = \"plc{d}\"\nprotocol = \"modbus-tcp\"\nendpoint = \"127.0.0.1:502\"\n");
    }
    for i in 0..tags {
        t += &format!("[[tag]]\nname = \"t{i}\"\ndevice = \"plc{}\"\naddress = \"hr:{}\"\n", i % DEVICES, i / DEVICES);
    }
    t
}

fn main() {
    let tags: usize = std::env::var("MIMIC_SHIFT_TAGS").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let site = mimic::config::Site::parse(std::path::Path::new("bench.toml"), &site_text(tags)).expect("site");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = Historian::open(&dir.path().join("store.redb"), HistorianOptions::default()).expect("store");
    let names: Vec<String> = site.tags.iter().map(|t| t.name.clone()).collect();
    let ids = h.tag_ids(&names).expect("ids");
    let from = 1_790_000_000_000;
    let to = from + SHIFT_S * 1000;
    let (good, cut) = (Quality::Good.to_code(), Quality::Bad(Reason::CommFailure).to_code());
    let t0 = Instant::now();
    let mut batch = Vec::with_capacity(60 * tags);
    for s in 0..SHIFT_S {
        for (i, &tag) in ids.iter().enumerate() {
            let down = i % DEVICES == 1 && (3 * 3600..3 * 3600 + 1200).contains(&s);
            let quality = if down { cut } else { good };
            batch.push(Sample { tag, ts_ms: from + s * 1000, value: (s % 100) as f64 + i as f64, quality });
        }
        if batch.len() >= 60 * tags {
            h.append(&batch).expect("append");
            batch.clear();
        }
    }
    h.append(&batch).expect("append");
    h.flush_journal().expect("flush");
    let samples = SHIFT_S as usize * tags;
    println!("store: {tags} tags x 8 h, {samples} samples written in {:.1} s", t0.elapsed().as_secs_f64());

    let mut old = f64::MAX;
    let mut new = f64::MAX;
    let mut summary = Vec::new();
    for round in 0..3 {
        let t = Instant::now();
        let (mut n, mut good_n, mut cut_n, mut bytes) = (0u64, 0u64, 0u64, 0usize);
        for (i, &id) in ids.iter().enumerate() {
            let reply = Reply::History {
                tag: site.tags[i].name.clone(),
                samples: h.query(id, from, to).expect("query").iter().map(mimic::daemon::socket::hist_sample).collect(),
            };
            let json = serde_json::to_string(&reply).expect("json");
            bytes += json.len();
            let Ok(Reply::History { samples, .. }) = serde_json::from_str::<Reply>(&json) else { panic!("reply") };
            for s in &samples {
                n += 1;
                good_n += u64::from(s.quality == TagQuality::Good);
                cut_n += u64::from(s.quality == TagQuality::Bad);
            }
        }
        old = old.min(t.elapsed().as_secs_f64());
        assert_eq!((n, good_n + cut_n), (samples as u64, samples as u64));

        let t = Instant::now();
        summary = devices::summarize(&site, to, |i| h.query(ids[i], from, to)).expect("summary");
        let json = serde_json::to_string(&Reply::DeviceSummary { devices: summary.clone() }).expect("json");
        new = new.min(t.elapsed().as_secs_f64());
        if round == 0 {
            println!("  JSON over the socket: per tag {bytes} bytes, one request {} bytes", json.len());
        }
    }
    println!("devices section, per tag over the socket (before): best of 3 {old:.2} s");
    println!("devices section, one DeviceSummary request (now): best of 3 {new:.2} s");
    for d in &summary {
        println!("  {}: {}", d.name, DeviceSummary::summary(d));
    }
    assert_eq!(summary[1].outages, 1);
    assert_eq!(summary[1].down_ms, 1_200_000);
}
