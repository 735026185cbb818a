//! Anomaly model benchmarks: scoring one sample of one asset (target ≤ 10 µs) and fitting a
//! model on a healthy window, for a SKAB-sized asset (8 signals, 400 rows) and a large one
//! (32 signals, one hour at 1 Hz).
//!
//! Run: `cargo bench --bench models`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use mimic::models::anomaly::{AnomalyConfig, AnomalyModel};

/// Deterministic noise in [-0.5, 0.5).
fn noise(seed: u64) -> f64 {
    let mut h = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 32;
    (h % 10_000) as f64 / 10_000.0 - 0.5
}

/// `signals` correlated plant-like signals driven by two hidden factors plus noise.
fn rows(signals: usize, count: usize, offset: usize) -> Vec<Vec<f64>> {
    (offset..offset + count)
        .map(|i| {
            let f1 = (i as f64 / 97.0).sin() + noise(i as u64 * 7919);
            let f2 = (i as f64 / 31.0).cos() + noise(i as u64 * 104_729);
            (0..signals)
                .map(|s| {
                    let base = 10.0 + s as f64 * 3.0;
                    base + (s % 3) as f64 * f1 + (s % 5) as f64 * 0.3 * f2 + 0.2 * noise((i * signals + s) as u64)
                })
                .collect()
        })
        .collect()
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("sig{i}")).collect()
}

fn bench(c: &mut Criterion) {
    for (signals, train) in [(8usize, 400usize), (32, 3600)] {
        let healthy = rows(signals, train, 0);
        let live = rows(signals, 1000, train);
        let fitted = AnomalyModel::fit(names(signals), &healthy, AnomalyConfig::default()).expect("fit");

        let mut model = fitted.clone();
        let mut i = 0;
        c.bench_function(&format!("anomaly_score_{signals}_signals"), |b| {
            b.iter(|| {
                i = (i + 1) % live.len();
                black_box(model.score(black_box(&live[i])))
            })
        });

        c.bench_function(&format!("anomaly_fit_{signals}_signals_{train}_rows"), |b| {
            b.iter_batched(
                || names(signals),
                |n| black_box(AnomalyModel::fit(n, &healthy, AnomalyConfig::default())),
                BatchSize::SmallInput,
            )
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
