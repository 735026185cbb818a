//! Ordering of an appended batch by (tag, ts).
//!
//! A poll batch arrives in poll order (every tag at one time, then the next
//! time), so sorting it is a large share of an append. Tag ids are dense, so a
//! stable counting sort by tag does it in linear time; each tag's run is then
//! already in time order unless samples came out of order.

use super::Sample;

/// The buffers of an append, kept across appends: at 100,000 tags a second's batch is
/// 2.4 MB sorted, two counting tables of 800 KB and a 1.2 MB journal row, and allocating
/// and freeing them anew every second fragments the heap (the RSS crept up while the heap
/// in use stayed flat: see BENCHMARKS).
#[derive(Default)]
pub(super) struct Scratch {
    /// The batch sorted by (tag, ts).
    pub sorted: Vec<Sample>,
    /// The encoded journal row.
    pub row: Vec<u8>,
    start: Vec<usize>,
    next: Vec<usize>,
}

impl Scratch {
    /// Gives back what a burst (a backlog after a stall) grew the buffers to.
    pub(super) fn settle(&mut self, batch_len: usize) {
        keep_capacity(&mut self.sorted, batch_len);
        let row_len = self.row.len();
        keep_capacity(&mut self.row, row_len);
    }
}

/// Shrinks `v` when it holds more than twice what was last `used` (plus a quarter for the
/// next, slightly larger, batch): a reused buffer keeps its size from one second to the
/// next but does not keep a burst's size for the daemon's life.
pub fn keep_capacity<T>(v: &mut Vec<T>, used: usize) {
    if v.capacity() > used.saturating_mul(2).max(1024) {
        v.shrink_to(used + used / 4);
    }
}

/// `batch` stably sorted by (tag, ts): equal keys keep their order.
#[cfg(test)]
pub(super) fn sorted_by_tag_and_time(batch: &[Sample]) -> Vec<Sample> {
    let mut scratch = Scratch::default();
    sort_into(batch, &mut scratch);
    scratch.sorted
}

/// `batch` stably sorted by (tag, ts) into `scratch.sorted`: equal keys keep their order.
pub(super) fn sort_into(batch: &[Sample], scratch: &mut Scratch) {
    let out = &mut scratch.sorted;
    out.clear();
    out.extend_from_slice(batch);
    if batch.is_sorted_by_key(|s| (s.tag, s.ts_ms)) {
        return;
    }
    let max_tag = batch.iter().map(|s| s.tag).max().unwrap_or(0) as usize;
    if max_tag > batch.len().saturating_mul(4).max(1 << 16) {
        // Sparse ids: a comparison sort costs less than the counting table.
        out.sort_by_key(|s| (s.tag, s.ts_ms));
        return;
    }
    let start = &mut scratch.start;
    start.clear();
    start.resize(max_tag + 2, 0);
    for s in batch {
        start[s.tag as usize + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    let next = &mut scratch.next;
    next.clear();
    next.extend_from_slice(start);
    for s in batch {
        // every slot of `out` is overwritten: the counts add up to the batch's length
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_buffer_keeps_a_seconds_size_but_not_a_bursts() {
        let mut v: Vec<u64> = Vec::with_capacity(100_000);
        keep_capacity(&mut v, 60_000);
        assert_eq!(v.capacity(), 100_000, "within twice the use: kept");
        keep_capacity(&mut v, 10_000);
        assert!((12_500..25_000).contains(&v.capacity()), "{}", v.capacity());
        let mut small: Vec<u8> = Vec::with_capacity(1000);
        keep_capacity(&mut small, 0);
        assert_eq!(small.capacity(), 1000, "small buffers are left alone");
    }

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
