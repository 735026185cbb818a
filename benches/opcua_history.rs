//! The OPC UA server's history work over a real store (the server's side of a
//! HistoryRead, without the wire): one tag over one day at 1 Hz (86,400 values) read
//! raw in continuation pages of 10,000, and processed into 1,440 one-minute averages.
//!
//! Run: `cargo bench --bench opcua_history`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use mimic::historian::{Historian, HistorianOptions, Sample};
use mimic::north::opcua::history::{Aggregate, ProcCursor, RawCursor, Store};

#[path = "support/plant.rs"]
mod plant;
use plant::{DAY_MS, T0, series};

fn day_store() -> (tempfile::TempDir, Historian) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = Historian::open(&dir.path().join("h.redb"), HistorianOptions::default()).expect("store");
    let tag = h.tag_id("P101.speed").expect("tag");
    let mut day: Vec<Sample> = Vec::new();
    series(tag, 0, 86_400, &mut day);
    h.import(tag, &day).expect("import");
    (dir, h)
}

fn history(c: &mut Criterion) {
    let (_dir, h) = day_store();
    let tag = h.lookup("P101.speed").expect("lookup").expect("tag");
    let src = Store { h: &h, tag };
    let mut g = c.benchmark_group("opcua_history");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("raw_86400_values_in_pages", |b| {
        b.iter(|| {
            let mut cursor = RawCursor::new(Some(T0), Some(T0 + DAY_MS), 0, false).expect("cursor");
            let mut n = 0;
            loop {
                let (values, done) = cursor.page(&src).expect("page");
                n += values.len();
                if done {
                    break;
                }
            }
            assert_eq!(n, 86_400);
            black_box(n)
        })
    });
    g.bench_function("processed_1440_minute_averages", |b| {
        b.iter(|| {
            let mut cursor = ProcCursor::new(Aggregate::Average, T0, T0 + DAY_MS, 60_000).expect("cursor");
            let (values, done) = cursor.page(&src).expect("page");
            assert!(done);
            assert_eq!(values.len(), 1_440);
            black_box(values)
        })
    });
    g.finish();
}

criterion_group!(benches, history);
criterion_main!(benches);
