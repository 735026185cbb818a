//! Ordering of an appended batch by (tag, ts).
//!
//! A poll batch arrives in poll order (every tag at one time, then the next
//! time), so sorting it is a large share of an append. Tag ids are dense, so a
//! stable counting sort by tag does it in linear time; each tag's run is then
//! already in time order unless samples came out of order.

use super::Sample;

/// `batch` stably sorted by (tag, ts): equal keys keep their order.
pub(super) fn sorted_by_tag_and_time(batch: &[Sample]) -> Vec<Sample> {
    if batch.is_sorted_by_key(|s| (s.tag, s.ts_ms)) {
        return batch.to_vec();
    }
    let max_tag = batch.iter().map(|s| s.tag).max().unwrap_or(0) as usize;
    if max_tag > batch.len().saturating_mul(4).max(1 << 16) {
        // Sparse ids: a comparison sort costs less than the counting table.
        let mut v = batch.to_vec();
        v.sort_by_key(|s| (s.tag, s.ts_ms));
        return v;
    }
    let mut start = vec![0usize; max_tag + 2];
    for s in batch {
        start[s.tag as usize + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let mut out = batch.to_vec(); // every slot is overwritten below
    let mut next = start.clone();
    for s in batch {
        let slot = &mut next[s.tag as usize];
        out[*slot] = *s;
        *slot += 1;
    }
    for w in start.windows(2) {
        let run = &mut out[w[0]..w[1]];
        if !run.is_sorted_by_key(|s| s.ts_ms) {
            run.sort_by_key(|s| s.ts_ms);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(batch: &[Sample]) -> Vec<Sample> {
        let mut v = batch.to_vec();
        v.sort_by_key(|s| (s.tag, s.ts_ms));
        v
    }

    #[test]
    fn same_as_a_stable_sort() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for (len, tags) in [(0, 1), (1, 1), (50, 3), (1000, 40), (5000, 1000), (300, 10_000_000)] {
            let batch: Vec<Sample> = (0..len)
                .map(|i| Sample {
                    tag: next(tags) as u32,
                    ts_ms: i / 3 - (next(5) as i64 == 0) as i64 * 7, // mostly in order, some late, duplicates
                    value: i as f64,
                    quality: 0,
                })
                .collect();
            let got = sorted_by_tag_and_time(&batch);
            let want = reference(&batch);
            let key = |v: &[Sample]| v.iter().map(|s| (s.tag, s.ts_ms, s.value.to_bits())).collect::<Vec<_>>();
            assert_eq!(key(&got), key(&want), "len {len} tags {tags}");
        }
    }
}
