//! A tag's open samples: committed in journal rows, not yet flushed into a block, kept
//! in memory so queries see them. Encoded as they come, about 2 bytes a sample for a
//! 1 Hz register signal (a `Vec<Sample>` costs 24), since every tag holds up to a flush
//! period of them (60 samples at 1 Hz) all the time.
//!
//! Per sample: the zigzag delta-of-delta of its timestamp (varint), then a control
//! varint `payload << 4 | has_quality << 3 | mode`, then the quality code (varint) when
//! not Good. Mode 1..=7: the value and the previous one are both exactly `n / 10^k`
//! with `k = mode - 1`, and `payload` is the zigzag delta of their `n`; mode 0: the
//! value's eight bytes follow. Exact for every f64 (NaN, -0.0 and infinities take
//! mode 0).

use super::Sample;
use super::TagId;
use super::bits::{CodecError, Reader, put_var, unzigzag, zigzag};

const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
/// Most bytes one sample takes: two varints of up to 10 bytes, a value, a quality.
const MAX_SAMPLE_BYTES: usize = 10 + 10 + 8 + 3;
/// Largest magnitude of a scaled integer (keeps `n as f64` exact).
const MAX_SCALED: f64 = 9_007_199_254_740_992.0; // 2^53

/// The open samples of one tag, in arrival order.
#[derive(Clone, Debug, Default)]
pub(super) struct OpenRun {
    bytes: Vec<u8>,
    last_ts: i64,
    last_dt: i64,
    last: f64,
    len: u32,
}

impl OpenRun {
    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets every sample (a flush has written them). The buffer is kept for the next
    /// flush period's samples, about as many at a steady rate (100,000 tags: no 100,000
    /// frees and regrowths a flush), unless it is far larger than these took.
    pub(super) fn clear(&mut self) {
        let mut bytes = std::mem::take(&mut self.bytes);
        let used = bytes.len();
        bytes.clear();
        if bytes.capacity() > 2 * used + 2 * MAX_SAMPLE_BYTES {
            bytes.shrink_to(used + used / 4);
        }
        *self = OpenRun { bytes, ..OpenRun::default() };
    }

    /// Newest timestamp, if any.
    pub(super) fn max_ts(&self) -> Option<i64> {
        // Not `last_ts`: samples may come out of order.
        if self.is_empty() { None } else { self.iter(0).map(|s| s.ts_ms).max() }
    }

    pub(super) fn push(&mut self, s: &Sample) {
        // Grown by a quarter, not doubled: every tag holds a flush period of samples all
        // the time, and doubling left up to half of each buffer unused.
        if self.bytes.capacity() - self.bytes.len() < MAX_SAMPLE_BYTES {
            self.bytes.reserve_exact((self.bytes.capacity() / 4).max(MAX_SAMPLE_BYTES));
        }
        let dt = s.ts_ms.wrapping_sub(self.last_ts);
        put_var(&mut self.bytes, zigzag(dt.wrapping_sub(self.last_dt)));
        put_value(&mut self.bytes, self.last, s.value, s.quality);
        self.last_ts = s.ts_ms;
        self.last_dt = dt;
        self.last = s.value;
        self.len += 1;
    }

    /// The samples, in arrival order, as `tag`'s.
    pub(super) fn iter(&self, tag: TagId) -> impl Iterator<Item = Sample> + '_ {
        let mut r = Reader { buf: &self.bytes, pos: 0 };
        let (mut ts, mut dt, mut last) = (0i64, 0i64, 0f64);
        (0..self.len).map(move |_| {
            // The bytes were written by `push` in this process: they always decode.
            let s = next(&mut r, &mut ts, &mut dt, &mut last).unwrap_or((0, f64::NAN, u16::MAX));
            Sample { tag, ts_ms: s.0, value: s.1, quality: s.2 }
        })
    }

    /// Appends the samples to `out`, as `tag`'s.
    pub(super) fn extend_into(&self, tag: TagId, out: &mut Vec<Sample>) {
        out.reserve(self.len());
        out.extend(self.iter(tag));
    }
}

/// Writes `value` (given the previous value `prev`; 0.0 for none) and `quality`: a control
/// varint `payload << 4 | has_quality << 3 | mode`, the value's eight bytes in mode 0,
/// then the quality code when not Good (see the module). Also the journal's format.
pub(super) fn put_value(out: &mut Vec<u8>, prev: f64, value: f64, quality: u16) {
    let (mode, payload) = match decimal_delta(prev, value) {
        Some((k, delta)) if zigzag(delta) <= u64::MAX >> 4 => (u64::from(k) + 1, zigzag(delta)),
        _ => (0, 0),
    };
    let has_quality = u64::from(quality != 0);
    put_var(out, payload << 4 | has_quality << 3 | mode);
    if mode == 0 {
        out.extend_from_slice(&value.to_le_bytes());
    }
    if quality != 0 {
        put_var(out, u64::from(quality));
    }
}

fn next(r: &mut Reader<'_>, ts: &mut i64, dt: &mut i64, last: &mut f64) -> Result<(i64, f64, u16), CodecError> {
    *dt = dt.wrapping_add(unzigzag(r.var()?));
    *ts = ts.wrapping_add(*dt);
    let (value, quality) = get_value(r, *last)?;
    *last = value;
    Ok((*ts, value, quality))
}

/// Reads a value and quality written by [`put_value`] with the same `prev`.
pub(super) fn get_value(r: &mut Reader<'_>, prev: f64) -> Result<(f64, u16), CodecError> {
    let control = r.var()?;
    let mode = (control & 7) as usize;
    let value = if mode == 0 {
        r.f64()?
    } else {
        let scale = POW10[mode - 1];
        let n = (prev * scale).round() as i64;
        n.wrapping_add(unzigzag(control >> 4)) as f64 / scale
    };
    let quality = if control & 8 != 0 {
        u16::try_from(r.var()?).map_err(|_| CodecError("open quality out of range"))?
    } else {
        0
    };
    Ok((value, quality))
}

/// `n` of `v = n / 10^k`, if that is exact (what the decoder computes, bit for bit).
fn scaled(v: f64, k: usize) -> Option<i64> {
    let scale = POW10[k];
    let n = (v * scale).round();
    let exact = n.is_finite() && n.abs() < MAX_SCALED && ((n as i64) as f64 / scale).to_bits() == v.to_bits();
    exact.then_some(n as i64)
}

/// The smallest k for which `prev` and `v` are both exact decimals, and the delta of
/// their scaled integers.
fn decimal_delta(prev: f64, v: f64) -> Option<(u8, i64)> {
    (0..POW10.len()).find_map(|k| {
        let (a, b) = (scaled(prev, k)?, scaled(v, k)?);
        Some((k as u8, b.checked_sub(a)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(samples: &[Sample]) -> OpenRun {
        let mut run = OpenRun::default();
        for s in samples {
            run.push(s);
        }
        let back: Vec<Sample> = run.iter(samples.first().map_or(0, |s| s.tag)).collect();
        assert_eq!(back.len(), samples.len());
        for (a, b) in samples.iter().zip(&back) {
            assert_eq!((a.ts_ms, a.value.to_bits(), a.quality), (b.ts_ms, b.value.to_bits(), b.quality));
        }
        run
    }

    #[test]
    fn open_samples_round_trip_bit_exactly() {
        let odd = [
            1.5,
            f64::NAN,
            -0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            -1e-300,
            0.1 + 0.2,
            9_007_199_254_740_993.0,
            57.3,
            57.4,
            -3.0,
            f64::MAX,
            f64::MIN_POSITIVE,
        ];
        let samples: Vec<Sample> = odd
            .iter()
            .enumerate()
            .map(|(i, &value)| Sample {
                tag: 3,
                ts_ms: [1_795_000_000_000, -5, i64::MAX, i64::MIN, 0][i % 5].wrapping_add(i as i64),
                value,
                quality: [0, 192, u16::MAX, 0][i % 4],
            })
            .collect();
        round_trip(&samples);
        round_trip(&[]);
    }

    #[test]
    fn a_register_signal_costs_about_two_bytes_a_sample() {
        let samples: Vec<Sample> = (0..60)
            .map(|i| Sample {
                tag: 1,
                ts_ms: 1_795_000_000_000 + i * 1000,
                value: (500.0 + f64::from((i as i32 * 7) % 5)) / 10.0,
                quality: 0,
            })
            .collect();
        let run = round_trip(&samples);
        assert!(run.bytes.len() <= 2 * 60 + 16, "{} bytes for 60 samples", run.bytes.len());
        assert_eq!(run.max_ts(), Some(1_795_000_059_000));
    }

    #[test]
    fn the_buffer_grows_by_a_quarter_and_serves_the_next_period() {
        let sample = |i: i64| Sample {
            tag: 1,
            ts_ms: 1_795_000_000_000 + i * 1000,
            value: (500.0 + f64::from((i as i32 * 7) % 5)) / 10.0,
            quality: 0,
        };
        let mut run = OpenRun::default();
        for i in 0..60 {
            run.push(&sample(i));
        }
        let (len, cap) = (run.bytes.len(), run.bytes.capacity());
        assert!(cap <= len + len / 4 + MAX_SAMPLE_BYTES, "{cap} bytes held for {len}");
        run.clear();
        assert!(run.is_empty() && run.iter(1).next().is_none() && run.max_ts().is_none());
        assert_eq!(run.bytes.capacity(), cap, "kept for the next period");
        for i in 60..120 {
            run.push(&sample(i));
        }
        assert_eq!(run.bytes.capacity(), cap, "as many samples fit without growing");
        assert_eq!(
            run.iter(1).map(|s| s.ts_ms).collect::<Vec<_>>(),
            (60..120).map(|i| sample(i).ts_ms).collect::<Vec<_>>()
        );
        // A burst once does not keep a big buffer for good.
        for i in 120..2000 {
            run.push(&sample(i));
        }
        run.clear();
        run.push(&sample(2000));
        run.clear();
        assert!(run.bytes.capacity() <= 4 * MAX_SAMPLE_BYTES, "{} bytes kept", run.bytes.capacity());
    }
}
