//! Historian benchmarks: durable ingest, size on disk (vs a naive one row per
//! sample layout), and trend downsampling over 1 and 30 days.
//!
//! Run: `cargo bench --bench historian`. Size figures are printed to stdout.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mimic::historian::{Historian, HistorianOptions};
use redb::{Database, TableDefinition};

#[path = "support/plant.rs"]
mod plant;
use plant::{DAY_MS, T0, batch};

fn ingest(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Historian::open(&dir.path().join("ingest.redb"), HistorianOptions::default()).unwrap();
    let mut next_sec = 0i64;
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("append_100k_samples_1000_tags_durable", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let batch = batch(1000, next_sec, 100);
                next_sec += 100;
                let t = Instant::now();
                h.append(&batch).unwrap();
                total += t.elapsed();
            }
            total
        })
    });
    g.finish();
    let st = h.stats().unwrap();
    println!(
        "ingest store: {} samples, {} chunks ({} pending), {:.3} bytes/sample (file)",
        st.samples,
        st.chunks,
        st.pending_blocks,
        st.file_bytes as f64 / st.samples as f64
    );
}

const NAIVE: TableDefinition<(u32, i64), (f64, u16)> = TableDefinition::new("naive");

fn size_on_disk(_c: &mut Criterion) {
    // The naive layout is slow to fill, so it gets the first `naive_tags` tags
    // of the same data (bytes per sample do not depend on the tag count).
    let (tags, hours, naive_tags) = (300u32, 6i64, 100u32);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("size.redb");
    let mut h = Historian::open(&path, HistorianOptions::default()).unwrap();
    let step = 600;
    let t = Instant::now();
    for start in (0..hours * 3600).step_by(step as usize) {
        h.append(&batch(tags, start, step)).unwrap();
    }
    let ingest_s = t.elapsed().as_secs_f64();
    let st = h.stats().unwrap();
    drop(h);

    let naive_path = dir.path().join("naive.redb");
    let db = Database::create(&naive_path).unwrap();
    let t = Instant::now();
    for start in (0..hours * 3600).step_by(step as usize) {
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(NAIVE).unwrap();
            for s in batch(naive_tags, start, step) {
                table.insert((s.tag, s.ts_ms), (s.value, s.quality)).unwrap();
            }
        }
        txn.commit().unwrap();
    }
    let naive_s = t.elapsed().as_secs_f64();
    drop(db);
    let naive_bytes = std::fs::metadata(&naive_path).unwrap().len();
    let naive_n = (i64::from(naive_tags) * hours * 3600) as f64;
    let n = st.samples as f64;
    println!(
        "size: {tags} tags x {hours} h at 1 Hz = {} samples, batches of {step} s\n  \
         historian: file {} B = {:.3} B/sample, historian tables {} B = {:.3} B/sample \
         ({} chunks, {} pending blocks), ingest {:.2} s\n  \
         naive row per sample ({naive_tags} tags): file {} B = {:.3} B/sample, ingest {:.2} s",
        st.samples,
        st.file_bytes,
        st.file_bytes as f64 / n,
        st.table_bytes,
        st.table_bytes as f64 / n,
        st.chunks,
        st.pending_blocks,
        ingest_s,
        naive_bytes,
        naive_bytes as f64 / naive_n,
        naive_s
    );
}

fn trend(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Historian::open(&dir.path().join("trend.redb"), HistorianOptions::default()).unwrap();
    let t = Instant::now();
    for day in 0..30 {
        h.append(&batch(1, day * 86_400, 86_400)).unwrap();
    }
    let st = h.stats().unwrap();
    println!(
        "trend store: {} samples in {} chunks, {:.3} B/sample, built in {:.2} s",
        st.samples,
        st.chunks,
        st.file_bytes as f64 / st.samples as f64,
        t.elapsed().as_secs_f64()
    );
    let mut g = c.benchmark_group("trend");
    g.bench_function("downsample_30d_200_columns", |b| {
        b.iter(|| black_box(h.downsample(0, T0, T0 + 30 * DAY_MS, 200).unwrap()))
    });
    g.bench_function("downsample_1d_200_columns", |b| {
        b.iter(|| black_box(h.downsample(0, T0 + 10 * DAY_MS, T0 + 11 * DAY_MS, 200).unwrap()))
    });
    g.bench_function("query_1h_raw", |b| {
        b.iter(|| black_box(h.query(0, T0 + DAY_MS, T0 + DAY_MS + 3_600_000).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, size_on_disk, ingest, trend);
criterion_main!(benches);
