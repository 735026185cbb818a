//! Downsampling of a tag's history into min/max trend columns.
//!
//! Chunks lying entirely inside one column contribute their header summary
//! (no decoding); only chunks straddling a column boundary or the range ends
//! are decoded. Results are exact: the same as folding every sample.

use super::codec::{Decoded, Summary, decode_into, read_summary};
use super::{Column, Historian, Result, TagId, check_count, corrupt};
use redb::ReadableDatabase;

/// Most columns a single call computes.
const MAX_COLUMNS: usize = 1 << 16;

#[derive(Clone, Copy)]
struct Acc {
    min: f64,
    max: f64,
    first_ts: i64,
    first: f64,
    last_ts: i64,
    last: f64,
    count: u64,
    bad: u64,
}

impl Acc {
    const EMPTY: Acc = Acc {
        min: f64::NAN,
        max: f64::NAN,
        first_ts: 0,
        first: f64::NAN,
        last_ts: 0,
        last: f64::NAN,
        count: 0,
        bad: 0,
    };

    #[inline]
    fn add(&mut self, ts: i64, v: f64, quality: u16) {
        if quality != 0 {
            self.bad += 1;
            return;
        }
        if self.count == 0 {
            *self = Acc { min: v, max: v, first_ts: ts, first: v, last_ts: ts, last: v, count: 1, bad: self.bad };
            return;
        }
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if ts < self.first_ts {
            self.first_ts = ts;
            self.first = v;
        }
        if ts >= self.last_ts {
            self.last_ts = ts;
            self.last = v;
        }
        self.count += 1;
    }

    /// Same result as `add` over every sample of the chunk, in order.
    fn add_summary(&mut self, s: &Summary) {
        self.bad += s.bad;
        if s.good() == 0 {
            return;
        }
        if self.count == 0 {
            self.min = s.min;
            self.max = s.max;
            self.first_ts = s.first_ts;
            self.first = s.first;
            self.last_ts = s.last_ts;
            self.last = s.last;
        } else {
            self.min = self.min.min(s.min);
            self.max = self.max.max(s.max);
            if s.first_ts < self.first_ts {
                self.first_ts = s.first_ts;
                self.first = s.first;
            }
            if s.last_ts >= self.last_ts {
                self.last_ts = s.last_ts;
                self.last = s.last;
            }
        }
        self.count += s.good();
    }
}

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
                acc[c].add_summary(&s);
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
