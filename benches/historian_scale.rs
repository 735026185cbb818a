//! Historian at scale: a store holding 1,000 tags x 30 days at 1 Hz (2.59 billion
//! samples) is generated once, then trend and raw queries are timed against it.
//!
//! Run: `cargo bench --bench historian_scale`. The store is generated into
//! `target/scale-store/` (or `$MIMIC_SCALE_DIR`) on the first run and reused while
//! its parameters match; `MIMIC_SCALE_TAGS` and `MIMIC_SCALE_DAYS` shrink it for a
//! quick look. Generation uses [`Historian::import`] (history already complete goes
//! straight into compacted chunks), one durable commit per tag; the file size,
//! bytes per sample and generation rate are printed to stdout.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use mimic::historian::{Historian, HistorianOptions, TagId};

#[path = "support/plant.rs"]
mod plant;
use plant::{DAY_MS, T0, series};

fn env_or(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Scale {
    tags: u32,
    days: i64,
    path: PathBuf,
}

fn scale() -> Scale {
    let tags = env_or("MIMIC_SCALE_TAGS", 1000).clamp(1, 100_000) as u32;
    let days = env_or("MIMIC_SCALE_DAYS", 30).clamp(2, 3650);
    let dir = std::env::var_os("MIMIC_SCALE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/scale-store"));
    std::fs::create_dir_all(&dir).expect("create the scale store's folder");
    Scale { tags, days, path: dir.join(format!("scale-{tags}x{days}d.redb")) }
}

/// Generates the store unless a complete one with the same parameters exists.
fn generate(s: &Scale) {
    let done = s.path.with_extension("complete");
    if done.exists() && s.path.exists() {
        return;
    }
    let _ = std::fs::remove_file(&s.path);
    let mut h = Historian::open(&s.path, HistorianOptions::default()).expect("open the scale store");
    let secs = s.days * 86_400;
    let mut buf = Vec::new();
    let t = Instant::now();
    for tag in 0..s.tags {
        let id = h.tag_id(&format!("unit{:03}.signal{:02}", tag / 10, tag % 10)).expect("tag id");
        series(id, 0, secs, &mut buf);
        h.import(id, &buf).expect("import");
        if tag % 100 == 99 {
            let done_samples = u64::from(tag + 1) * secs as u64;
            eprintln!(
                "scale store: {} of {} tags, {:.1} M samples/s",
                tag + 1,
                s.tags,
                done_samples as f64 / t.elapsed().as_secs_f64() / 1e6
            );
        }
    }
    let gen_s = t.elapsed().as_secs_f64();
    let total = u64::from(s.tags) * secs as u64;
    println!(
        "scale store generated: {total} samples in {gen_s:.0} s ({:.2} M samples/s, import, one durable commit per tag)",
        total as f64 / gen_s / 1e6
    );
    drop(h);
    std::fs::write(&done, format!("{} tags x {} days\n", s.tags, s.days)).expect("mark the store complete");
}

fn scale_queries(c: &mut Criterion) {
    let s = scale();
    generate(&s);
    let t = Instant::now();
    let h = Historian::open(&s.path, HistorianOptions::default()).expect("open the scale store");
    let open_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let st = h.stats().expect("stats");
    let stats_s = t.elapsed().as_secs_f64();
    println!(
        "scale store: {} tags x {} days = {} samples in {} chunks; file {:.2} GB = {:.3} B/sample; \
         open {open_ms:.1} ms; full key scan (stats) {stats_s:.2} s",
        s.tags,
        s.days,
        st.samples,
        st.chunks,
        st.file_bytes as f64 / 1e9,
        st.file_bytes as f64 / st.samples as f64
    );
    let end = T0 + s.days * DAY_MS;
    // A different tag each iteration, so each query finds its own chunks cold in
    // redb's cache (the OS page cache may still hold them).
    let mut next = 0u32;
    let mut tag = move || {
        next = next.wrapping_mul(2_654_435_761).wrapping_add(7919) % s.tags;
        next as TagId
    };
    let mut g = c.benchmark_group("scale");
    g.bench_function("downsample_30d_200_columns", |b| {
        b.iter(|| black_box(h.downsample(tag(), end - 30.min(s.days) * DAY_MS, end, 200).expect("downsample")))
    });
    g.bench_function("downsample_1d_200_columns", |b| {
        b.iter(|| black_box(h.downsample(tag(), end - 2 * DAY_MS, end - DAY_MS, 200).expect("downsample")))
    });
    g.bench_function("query_1h_raw", |b| {
        b.iter(|| black_box(h.query(tag(), end - DAY_MS, end - DAY_MS + 3_600_000).expect("query")))
    });
    g.finish();
}

criterion_group!(benches, scale_queries);
criterion_main!(benches);
