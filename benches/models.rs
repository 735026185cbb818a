//! Model benchmarks.
//!
//! - Anomaly: scoring one sample of one asset (target ≤ 10 µs) and fitting a model on a
//!   healthy window, for a SKAB-sized asset (8 signals, 400 rows) and a large one (32 signals,
//!   one hour at 1 Hz).
//! - Remaining life, per asset per cycle, as the daemon's models worker runs it: turning one
//!   cycle of samples into a row ([`Cycler`], the demo's 4 channels × 10 samples of 1 Hz) and
//!   predicting from the whole present life (features of the last cycle, then the ensemble),
//!   for the demo's ensemble (4 channels, 3 members × 80 trees) at 100, 1 000 and 10 000 cycles
//!   of history, and a C-MAPSS-sized one (14 channels, 5 members × 200 trees) at 200 cycles.
//!
//! Run: `cargo bench --bench models` (`-- rul` for the remaining-life ones only).

use std::hint::black_box;

#[path = "../tests/support/noise.rs"]
mod noise;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use mimic::models::anomaly::{AnomalyConfig, AnomalyModel};
use mimic::models::rul::asset::Cycler;
use mimic::models::rul::{RulModel, RunToFailure, TrainOptions};
use noise::noise;

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

/// Run to failure number `u` of a `channels`-channel asset: a wear that grows as the cube of
/// age lifts every channel (some up, some down) over noise; lives of 150 to 350 cycles.
fn run_to_failure(u: usize, channels: usize) -> RunToFailure {
    let len = 150 + (u * 53) % 200;
    let rows = (0..len)
        .map(|t| {
            let wear = (t as f64 / len as f64).powi(3);
            (0..channels)
                .map(|c| {
                    let sign = if c % 3 == 0 { -1.0 } else { 1.0 };
                    10.0 + c as f64
                        + sign * (1.0 + c as f64 * 0.1) * wear
                        + 0.1 * noise((u * 100_003 + t * 101 + c) as u64)
                })
                .collect()
        })
        .collect();
    RunToFailure { rows }
}

fn rul_model(channels: usize, units: usize, members: usize, trees: usize) -> RulModel {
    let runs: Vec<RunToFailure> = (0..units).map(|u| run_to_failure(u, channels)).collect();
    let names = (0..channels).map(|c| format!("ch{c}")).collect();
    let opts = TrainOptions { members, trees, ..TrainOptions::default() };
    RulModel::train(names, &runs, &opts, "bench").expect("trains")
}

/// `cycles` rows of a long life (the wear of run 0, stretched).
fn history(channels: usize, cycles: usize) -> Vec<Vec<f64>> {
    let base = run_to_failure(0, channels).rows;
    (0..cycles).map(|i| base[i * base.len() / cycles.max(1)].clone()).collect()
}

fn bench_rul(c: &mut Criterion) {
    // the demo's: 4 channels, 3 members x 80 trees, 30 runs to failure
    let demo = rul_model(4, 30, 3, 80);
    for cycles in [100usize, 1_000, 10_000] {
        let h = history(4, cycles);
        c.bench_function(&format!("rul_predict_demo_4ch_3x80_{cycles}_cycles"), |b| {
            b.iter(|| black_box(demo.predict(black_box(&h)).expect("predicts")))
        });
    }
    // C-MAPSS-sized: 14 channels, the default 5 members x 200 trees
    let big = rul_model(14, 80, 5, 200);
    let h = history(14, 200);
    c.bench_function("rul_predict_cmapss_14ch_5x200_200_cycles", |b| {
        b.iter(|| black_box(big.predict(black_box(&h)).expect("predicts")))
    });
    // one 10 s cycle of 4 tags sampled at 1 Hz into a row (40 samples)
    let per_tag: Vec<Vec<(i64, f64, bool)>> =
        (0..4).map(|t| (0..10).map(|s| (s * 1000 + 100, 10.0 + t as f64 + noise(s as u64), true)).collect()).collect();
    c.bench_function("rul_cycler_one_cycle_4ch_10_samples", |b| {
        b.iter_batched(
            Cycler::default,
            |mut cy| {
                cy.push_span(0, 10_000, 1, black_box(&per_tag));
                black_box(cy)
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench, bench_rul
}
criterion_main!(benches);
