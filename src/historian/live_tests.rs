//! The live write path over simulated weeks: what the daemon's writer does (one small
//! append per poll period, retention on its hourly cadence), with simulated time.

use super::*;

const MIN_MS: i64 = 60_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// A slow plant-like signal quantised to 0.1 (a scaled register).
fn value(tag: TagId, i: i64) -> f64 {
    let wobble = ((i * 7 + i64::from(tag) * 13) % 5) as f64 - 2.0;
    ((500.0 + f64::from(tag) + 200.0 * (i as f64 / 500.0).sin() + wobble).round()) / 10.0
}

/// 40 tags, one sample each every 5 simulated minutes, retention 2 days, 4 weeks: once
/// retention drops what passes its age, the file stops growing (redb reuses the pages
/// freed by retention and by merges), and the samples kept stay those of the last days.
#[test]
fn retention_keeps_a_live_store_bounded_over_weeks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("weeks.redb");
    let retention = 2 * DAY_MS;
    let o = HistorianOptions {
        retention: Some(Duration::from_millis(retention as u64)),
        chunk_target: 256,
        flush_appends: 12,
        merge_every: 4,
        ..Default::default()
    };
    let mut h = Historian::open(&path, o).unwrap();
    let tags: Vec<TagId> = (0..40).collect();
    let step = 5 * MIN_MS;
    let t0 = 1_790_000_000_000i64;
    let weeks = 4;
    let mut peak_by_week = vec![0u64; weeks];
    let mut batch = Vec::with_capacity(tags.len());
    let steps = weeks as i64 * 7 * DAY_MS / step;
    for i in 0..steps {
        let now = t0 + i * step;
        batch.clear();
        batch.extend(tags.iter().map(|&tag| Sample { tag, ts_ms: now, value: value(tag, i), quality: 0 }));
        h.append(&batch).unwrap();
        if (now - t0) % HOUR_MS == 0 {
            h.apply_retention(now).unwrap();
            let week = ((now - t0) / (7 * DAY_MS)) as usize;
            let st = h.stats().unwrap();
            peak_by_week[week] = peak_by_week[week].max(st.file_bytes);
            // Never much more than the retention's worth of samples (plus what waits in
            // blocks and the chunk that straddles the cutoff) is kept.
            let kept_max = tags.len() as u64 * ((retention + DAY_MS) / step) as u64;
            assert!(st.samples <= kept_max, "day {}: {} samples kept", (now - t0) / DAY_MS, st.samples);
        }
    }
    // Retention kicks in on day 2: from the second week on the file no longer grows.
    eprintln!("peak file size by week: {peak_by_week:?}");
    for w in 2..weeks {
        assert!(
            peak_by_week[w] <= peak_by_week[1],
            "week {} grew the file: {} > {} bytes (by week: {peak_by_week:?})",
            w + 1,
            peak_by_week[w],
            peak_by_week[1]
        );
    }
    // What is kept is the last two days, every sample of them.
    let end = t0 + (steps - 1) * step;
    let got = h.query(7, end - retention + HOUR_MS, end + 1).unwrap();
    assert_eq!(got.len() as i64, (retention - HOUR_MS) / step + 1);
    assert!(h.query(7, t0, end - retention - DAY_MS).unwrap().is_empty());
}
