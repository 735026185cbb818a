//! The historian's live write path, time-accelerated: `tags` tags at 1 Hz, one
//! `Historian::append` per simulated second (what the daemon's writer commits each
//! second, durable), `apply_retention` every simulated hour (the writer's cadence), with
//! the daemon's store options. Simulated time runs as fast as the disk allows.
//!
//! Run: `cargo bench --bench historian_live` (10,000 tags for 2 simulated hours).
//! `MIMIC_LIVE_TAGS`, `MIMIC_LIVE_SECS` (simulated seconds), `MIMIC_LIVE_RETENTION_S`
//! (the site's retention; none by default) and `MIMIC_LIVE_DIR` change it. Every
//! `MIMIC_LIVE_REPORT_S` simulated seconds (default 600) it prints the file size, the
//! samples stored, bytes per stored sample, and the heap the historian holds per tag
//! (a counting allocator: heap in use after the append minus before the store opened).
//! Timestamps are a real daemon's: each device (100 tags) polls on its own 1 s grid and
//! stamps the samples on receipt, 1 to `MIMIC_LIVE_JITTER_MS` (default 20; 0 = exact
//! seconds) ms after the grid point. `MIMIC_LIVE_CHUNK_BYTES` and `MIMIC_LIVE_CHUNK_TARGET`
//! set the store's chunk size options (default: the daemon's).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mimic::historian::{Historian, HistorianOptions, Sample};

#[path = "support/plant.rs"]
mod plant;
use plant::{T0, plant_value};

#[path = "support/counting.rs"]
mod counting;
use counting::{Counting, HEAP};

#[global_allocator]
static GLOBAL: Counting = Counting;

fn env_or(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// When device `device`'s poll of second `i` is stamped, in ms after the second: its grid
/// phase (0-999 ms) plus a latency of 1 to `jitter` ms (0 = exactly on the second).
fn poll_offset(device: u64, i: i64, jitter: i64) -> i64 {
    if jitter == 0 {
        return 0;
    }
    let mut h = device.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 31;
    h = h.wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^= h >> 29;
    let phase = (device.wrapping_mul(7919) % 1000) as i64;
    phase + 1 + (h % jitter as u64) as i64
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that names another bench skips this one.
    if std::env::args().skip(1).any(|a| !a.starts_with("--") && !"historian_live".contains(&a)) {
        return;
    }
    let tags = env_or("MIMIC_LIVE_TAGS", 10_000).clamp(1, 1_000_000) as u32;
    let secs = env_or("MIMIC_LIVE_SECS", 7_200).max(1);
    let report = env_or("MIMIC_LIVE_REPORT_S", 600).max(1);
    let jitter = env_or("MIMIC_LIVE_JITTER_MS", 20).clamp(0, 999);
    let retention = std::env::var("MIMIC_LIVE_RETENTION_S").ok().and_then(|v| v.parse::<u64>().ok());
    let dir = std::env::var_os("MIMIC_LIVE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/live-store"));
    std::fs::create_dir_all(&dir).expect("create the live store's folder");
    let path = dir.join(format!("live-{tags}.redb"));
    let _ = std::fs::remove_file(&path);
    let heap0 = HEAP.load(Ordering::Relaxed);
    // The daemon's options (daemon::STORE_CACHE_BYTES is 4 MiB).
    let d = HistorianOptions::default();
    let opts = HistorianOptions {
        retention: retention.map(Duration::from_secs),
        cache_bytes: 4 << 20,
        chunk_bytes: env_or("MIMIC_LIVE_CHUNK_BYTES", d.chunk_bytes as i64).max(1) as usize,
        chunk_target: env_or("MIMIC_LIVE_CHUNK_TARGET", d.chunk_target as i64).max(1) as usize,
        ..d
    };
    let mut h = Historian::open(&path, opts).expect("open the live store");
    let names: Vec<String> = (0..tags).map(|t| format!("unit{:03}.signal{:03}", t / 100, t % 100)).collect();
    let ids = h.tag_ids(&names).expect("tag ids");
    println!(
        "live store: {tags} tags at 1 Hz for {secs} simulated s, poll jitter 1-{jitter} ms, retention {}",
        retention.map_or("none".into(), |r| format!("{r} s"))
    );
    let t = Instant::now();
    let mut batch: Vec<Sample> = Vec::with_capacity(tags as usize);
    let mut max_file = 0u64;
    for i in 0..secs {
        let now = T0 + i * 1000;
        batch.clear();
        batch.extend(ids.iter().enumerate().map(|(t, &tag)| {
            let ts_ms = now + poll_offset(t as u64 / 100, i, jitter);
            Sample { tag, ts_ms, value: plant_value(tag, i), quality: 0 }
        }));
        h.append(&batch).expect("append");
        if i % 3600 == 3599 {
            h.apply_retention(now).expect("retention");
        }
        if i % report == report - 1 || i == secs - 1 {
            let heap = HEAP.load(Ordering::Relaxed) - heap0;
            let st = h.stats().expect("stats");
            max_file = max_file.max(st.file_bytes);
            println!(
                "t={:>7} s  file {:>7.2} MB  samples {:>11}  {:>5.2} B/sample (tables {:.2})  open {:>8}  \
                 pending blocks {:>7}  heap {:>7.1} MiB = {:>5} B/tag  wall {:>5.0} s\n          \
                 chunks {:.2} MB, blocks {:.2} MB, journal {:.2} MB; values {:.2} MB = {:.2} B/sample",
                i + 1,
                st.file_bytes as f64 / 1e6,
                st.samples,
                st.file_bytes as f64 / st.samples.max(1) as f64,
                st.table_bytes as f64 / st.samples.max(1) as f64,
                st.open_samples,
                st.pending_blocks,
                heap as f64 / 1048576.0,
                heap / tags as isize,
                t.elapsed().as_secs_f64(),
                st.chunk_table_bytes as f64 / 1e6,
                st.block_table_bytes as f64 / 1e6,
                st.journal_bytes as f64 / 1e6,
                st.value_bytes as f64 / 1e6,
                st.value_bytes as f64 / st.samples.max(1) as f64,
            );
        }
    }
    println!(
        "live store: {} simulated s in {:.0} s wall; largest file {:.2} MB",
        secs,
        t.elapsed().as_secs_f64(),
        max_file as f64 / 1e6
    );
}
