//! Downsampling of a tag's history into min/max trend columns, and raw queries bounded
//! by count ([`Historian::query_limited`]).
//!
//! Chunks lying entirely inside one column contribute their header summary
//! (no decoding); only chunks straddling a column boundary or the range ends
//! are decoded. Results are exact: the same as folding every sample.

use super::codec::{Acc, Decoded, decode_into, read_summary};
use super::tables::{CHUNKS, ChunkKey};
use super::{Column, Historian, Result, Sample, TagId, check_count, corrupt};
use redb::ReadableDatabase;

/// Most columns a single call computes.
const MAX_COLUMNS: usize = 1 << 16;

/// Column geometry: column i covers [start(i), start(i+1)) with
/// start(i) = from + ceil(span*i/n), so that col(ts) = floor((ts-from)*n/span).
struct Grid {
    from: i64,
    span: i128,
    n: i128,
}

impl Grid {
    #[inline]
    fn col(&self, ts: i64) -> usize {
        ((i128::from(ts) - i128::from(self.from)) * self.n / self.span) as usize
    }
    #[inline]
    fn start(&self, i: usize) -> i64 {
        (i128::from(self.from) + (self.span * i as i128 + self.n - 1) / self.n) as i64
    }
}

pub(super) fn downsample(h: &Historian, tag: TagId, from: i64, to: i64, columns: usize) -> Result<Vec<Column>> {
    if columns == 0 || from >= to {
        return Ok(Vec::new());
    }
    let span = i128::from(to) - i128::from(from);
    let n = columns.min(MAX_COLUMNS).min(usize::try_from(span).unwrap_or(usize::MAX));
    let grid = Grid { from, span, n: n as i128 };
    let mut acc = vec![Acc::EMPTY; n];
    let mut d = Decoded::default();
    let txn = h.db.begin_read()?;
    h.scan(&txn, tag, from, to, |key, bytes| {
        if key.min_ts >= from && key.max_ts < to {
            let c = grid.col(key.min_ts);
            if c == grid.col(key.max_ts) {
                let s = read_summary(bytes).map_err(|e| corrupt(key, e))?;
                if s.count != u64::from(key.count) || s.min_ts != key.min_ts {
                    return Err(corrupt(key, super::codec::CodecError("summary differs from key")));
                }
                acc[c].merge(&s.fold);
                return Ok(());
            }
        }
        d.clear();
        decode_into(bytes, &mut d).map_err(|e| corrupt(key, e))?;
        check_count(key, &d)?;
        // Samples are sorted within a chunk: walk columns instead of dividing.
        let (mut c, mut lo, mut hi) = (usize::MAX, 0i64, 0i64);
        for i in 0..d.len() {
            let ts = d.ts[i];
            if ts < from || ts >= to {
                continue;
            }
            if c == usize::MAX || ts < lo || ts >= hi {
                c = grid.col(ts);
                lo = grid.start(c);
                hi = if c + 1 == n { to } else { grid.start(c + 1) };
            }
            acc[c].add(ts, d.values[i], d.quality[i]);
        }
        Ok(())
    })?;
    for s in h.open_of(tag) {
        if s.ts_ms >= from && s.ts_ms < to {
            acc[grid.col(s.ts_ms)].add(s.ts_ms, s.value, s.quality);
        }
    }
    Ok(acc
        .iter()
        .enumerate()
        .filter(|(_, a)| a.count + a.bad > 0)
        .map(|(i, a)| Column {
            start_ms: grid.start(i),
            end_ms: if i + 1 == n { to } else { grid.start(i + 1) },
            min: a.min,
            max: a.max,
            first: a.first,
            last: a.last,
            count: a.count,
            bad: a.bad,
        })
        .collect())
}

/// Which end of a range a count-limited query keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    Oldest,
    Newest,
}

impl Historian {
    /// The `max` oldest (or newest) samples of `tag` with `from_ms <= ts < to_ms`,
    /// sorted by ts. A timestamp is never split: every sample at the last time kept is
    /// kept, so the answer can be longer than `max`; shorter means the range holds no
    /// more. Only the chunks that can hold them are decoded (and the tag's pending blocks
    /// and open samples, a bounded few), so the cost follows `max`, not the range.
    pub fn query_limited(&self, tag: TagId, from_ms: i64, to_ms: i64, max: usize, keep: Keep) -> Result<Vec<Sample>> {
        limited(self, tag, from_ms, to_ms, max, keep)
    }
}

fn limited(h: &Historian, tag: TagId, from: i64, to: i64, max: usize, keep: Keep) -> Result<Vec<Sample>> {
    let mut out = Vec::new();
    if from >= to || max == 0 {
        return Ok(out);
    }
    let txn = h.db.begin_read()?;
    let mut d = Decoded::default();
    let mut take = |key: ChunkKey, bytes: &[u8], out: &mut Vec<Sample>| -> Result<()> {
        d.clear();
        decode_into(bytes, &mut d).map_err(|e| corrupt(key, e))?;
        check_count(key, &d)?;
        let inside = (0..d.len()).filter(|&i| d.ts[i] >= from && d.ts[i] < to);
        out.extend(inside.map(|i| Sample { tag, ts_ms: d.ts[i], value: d.values[i], quality: d.quality[i] }));
        Ok(())
    };
    let span = h.tags.get(tag).map_or(0, |s| s.max_span);
    let table = txn.open_table(CHUNKS)?;
    let range = table.range(ChunkKey::lower(tag, from.saturating_sub(span))..ChunkKey::lower(tag, to))?;
    let chunks: Box<dyn Iterator<Item = _>> = match keep {
        Keep::Oldest => Box::new(range),
        Keep::Newest => Box::new(range.rev()),
    };
    for item in chunks {
        let (k, v) = item?;
        let key = ChunkKey::from_tuple(k.value());
        if key.max_ts < from {
            continue;
        }
        if out.len() >= max && enough(&mut out, max, keep, key.min_ts, span) {
            break;
        }
        take(key, v.value(), &mut out)?;
    }
    h.scan_pending(&txn, tag, from..to, |key, bytes| take(key, bytes, &mut out))?;
    out.extend(h.open_of(tag).filter(|s| s.ts_ms >= from && s.ts_ms < to));
    out.sort_by_key(|s| s.ts_ms);
    keep.trim(&mut out, max);
    Ok(out)
}

impl Keep {
    /// Keep the `max` oldest or newest of `samples` (sorted by ts), with every sample at
    /// the last time kept (a timestamp is never split).
    pub fn trim(self, samples: &mut Vec<Sample>, max: usize) {
        if samples.len() <= max {
            return;
        }
        if max == 0 {
            samples.clear();
            return;
        }
        match self {
            Keep::Oldest => {
                let last = samples[max - 1].ts_ms;
                samples.truncate(samples.partition_point(|s| s.ts_ms <= last));
            }
            Keep::Newest => {
                let first = samples[samples.len() - max].ts_ms;
                samples.drain(..samples.partition_point(|s| s.ts_ms < first));
            }
        }
    }
}

/// Whether the chunks after one starting at `min_ts` (in the walk's order) can no longer
/// change which `max` samples are kept. Sorts `out`.
fn enough(out: &mut [Sample], max: usize, keep: Keep, min_ts: i64, span: i64) -> bool {
    out.sort_by_key(|s| s.ts_ms);
    match keep {
        // later chunks start at or after `min_ts`
        Keep::Oldest => min_ts > out[max - 1].ts_ms,
        // earlier chunks end at most `span` after their start, itself at most `min_ts`
        Keep::Newest => min_ts.saturating_add(span) < out[out.len() - max].ts_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::super::HistorianOptions;
    use super::*;

    /// Samples of two tags, with late and repeated times, stored through journal,
    /// blocks and merged chunks.
    fn store(dir: &std::path::Path) -> (Historian, Vec<Sample>) {
        let opts = HistorianOptions { chunk_target: 16, flush_appends: 4, merge_every: 3, ..Default::default() };
        let mut h = Historian::open(&dir.join("h.redb"), opts).expect("open");
        let (mut all, mut ts, mut x) = (Vec::new(), 0i64, 7u64);
        for _ in 0..200 {
            let mut batch = Vec::new();
            for _ in 0..12 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                ts += (x % 3) as i64 * 500;
                let t = match x % 17 {
                    0 => ts - (x % 9_000) as i64,
                    1 => batch.last().map_or(ts, |s: &Sample| s.ts_ms),
                    _ => ts,
                };
                batch.push(Sample { tag: (x % 2) as u32, ts_ms: t, value: (x % 1000) as f64, quality: 0 });
            }
            h.append(&batch).expect("append");
            all.extend_from_slice(&batch);
        }
        (h, all)
    }

    #[test]
    fn a_limited_query_is_the_oldest_or_newest_part_of_the_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (h, all) = store(dir.path());
        let end = all.iter().map(|s| s.ts_ms).max().unwrap_or(0) + 1;
        let key = |v: &[Sample]| {
            let mut k: Vec<(i64, u64)> = v.iter().map(|s| (s.ts_ms, s.value.to_bits())).collect();
            k.sort_unstable();
            k
        };
        for (from, to) in [(0, end), (end / 3, end / 2), (end / 2, end / 2 + 700), (end, end + 10)] {
            let whole = h.query(1, from, to).expect("query");
            for max in [1, 2, 5, 40, 333, whole.len(), whole.len() + 1] {
                let oldest = h.query_limited(1, from, to, max, Keep::Oldest).expect("oldest");
                let newest = h.query_limited(1, from, to, max, Keep::Newest).expect("newest");
                assert!(oldest.is_sorted_by_key(|s| s.ts_ms) && newest.is_sorted_by_key(|s| s.ts_ms));
                let n = oldest.len();
                assert!(n >= max.min(whole.len()), "{from}..{to} max {max}: {n}");
                if n > max {
                    assert_eq!(whole[max - 1].ts_ms, whole[n - 1].ts_ms, "only ties past max");
                }
                assert_eq!(key(&oldest), key(&whole[..n]), "oldest {from}..{to} max {max}");
                let m = newest.len();
                assert!(m >= max.min(whole.len()), "{from}..{to} max {max}: {m}");
                assert_eq!(key(&newest), key(&whole[whole.len() - m..]), "newest {from}..{to} max {max}");
            }
        }
    }
}
