//! Chunk encoding: one self-describing byte string per chunk.
//!
//! Layout (integers in the header are LEB128 varints, signed ones zigzag-mapped first):
//!
//! ```text
//! u8   format version (2; version 1 is still read, see `codec_v1`)
//! u8   value mode: 0..=6 = decimal with k digits, 0xFF = Gorilla XOR
//! var  count                     var  bad (samples with quality != 0)
//! zz   min_ts                    var  max_ts - min_ts
//! if count - bad > 0:  f64 min, f64 max,
//!                      var first_ts - min_ts, f64 first, var last_ts - min_ts, f64 last
//! var  length of the timestamp section, var length of the value section
//! timestamps: bit stream: the first ts, the chunk's period, then each next ts as its
//!             residual from the poll grid, packed in groups (see `pack`)
//! values:     decimal: value = n / 10^k bit-exactly; zz n0 (7-bit width + bits), then
//!             the deltas n[i] - n[i-1] packed in groups (see `pack`)
//!             XOR: Gorilla bit stream of the f64 bit patterns
//! quality:    (var code, var run length) pairs
//! ```
//!
//! The header summary (min/max/first/last over Good samples, `bad`) lets the
//! downsampler use a chunk without decoding it. "first"/"last" are the Good
//! samples with the smallest/largest timestamp (ties: earliest/latest position),
//! so they stay right even for a chunk whose samples are not sorted.

use super::Sample;
pub use super::bits::CodecError;
use super::bits::{BitReader, BitWriter, Reader, Unpacker, put_var, unzigzag, zigzag};
use super::{codec_v1, pack};

const VERSION: u8 = 2;
const MODE_XOR: u8 = 0xFF;
const MAX_DECIMALS: u8 = 6;
const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
/// Largest magnitude of a scaled integer (keeps `n as f64` exact).
const MAX_SCALED: f64 = 9_007_199_254_740_992.0; // 2^53

/// Summary of a chunk, readable from its header alone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Every sample, Good or not.
    pub count: u64,
    /// The span of the samples' timestamps (valid only when `count > 0`).
    pub min_ts: i64,
    pub max_ts: i64,
    /// min, max, first and last of the Good samples; the count of those not Good.
    pub fold: Acc,
}

impl Summary {
    pub fn good(&self) -> u64 {
        self.fold.count
    }
}

/// A fold of samples: min, max, first and last of the Good ones (first/last by
/// timestamp, ties to the earliest/latest folded) and their `count`, and how many were
/// not Good. What a chunk's header summary and a trend column hold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Acc {
    /// The Good samples' figures, valid only when `count > 0`.
    pub min: f64,
    pub max: f64,
    pub first_ts: i64,
    pub first: f64,
    pub last_ts: i64,
    pub last: f64,
    /// Good samples.
    pub count: u64,
    pub bad: u64,
}

impl Acc {
    pub const EMPTY: Acc = Acc {
        min: f64::NAN,
        max: f64::NAN,
        first_ts: 0,
        first: f64::NAN,
        last_ts: 0,
        last: f64::NAN,
        count: 0,
        bad: 0,
    };

    /// Folds in one sample.
    #[inline]
    pub fn add(&mut self, ts: i64, v: f64, quality: u16) {
        if quality != 0 {
            self.bad += 1;
            return;
        }
        self.merge(&Acc { min: v, max: v, first_ts: ts, first: v, last_ts: ts, last: v, count: 1, bad: 0 });
    }

    /// Same result as folding in every sample `o` was folded from, in order.
    #[inline]
    pub fn merge(&mut self, o: &Acc) {
        self.bad += o.bad;
        if o.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = Acc { bad: self.bad, ..*o };
            return;
        }
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        if o.first_ts < self.first_ts {
            self.first_ts = o.first_ts;
            self.first = o.first;
        }
        if o.last_ts >= self.last_ts {
            self.last_ts = o.last_ts;
            self.last = o.last;
        }
        self.count += o.count;
    }
}

/// Decoded chunk, struct-of-arrays so hot loops touch only what they need.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decoded {
    pub ts: Vec<i64>,
    pub values: Vec<f64>,
    pub quality: Vec<u16>,
}

impl Decoded {
    pub fn clear(&mut self) {
        self.ts.clear();
        self.values.clear();
        self.quality.clear();
    }
    pub fn len(&self) -> usize {
        self.ts.len()
    }
}

// ---------------------------------------------------------------- encoding

/// Computes the header summary of a set of samples (any order).
pub fn summarize(samples: &[Sample]) -> Summary {
    let mut acc = Acc::EMPTY;
    let (mut min_ts, mut max_ts) = (i64::MAX, i64::MIN);
    for x in samples {
        min_ts = min_ts.min(x.ts_ms);
        max_ts = max_ts.max(x.ts_ms);
        acc.add(x.ts_ms, x.value, x.quality);
    }
    Summary { count: samples.len() as u64, min_ts, max_ts, fold: acc }
}

/// Smallest k such that every value is exactly `n / 10^k` for an integer n.
fn decimal_mode(samples: &[Sample]) -> Option<u8> {
    'k: for k in 0..=MAX_DECIMALS {
        let scale = POW10[k as usize];
        for x in samples {
            let n = (x.value * scale).round();
            // Check exactly what the decoder will compute (`-0.0` fails here).
            if !n.is_finite() || n.abs() >= MAX_SCALED || ((n as i64) as f64 / scale).to_bits() != x.value.to_bits() {
                continue 'k;
            }
        }
        return Some(k);
    }
    None
}

fn encode_values(samples: &[Sample], mode: u8, version: u8, out: &mut Vec<u8>) {
    let mut w = BitWriter { out, acc: 0, nbits: 0 };
    if mode != MODE_XOR {
        let scale = POW10[mode as usize];
        if version == 1 {
            codec_v1::encode_decimal(samples, scale, &mut w);
        } else {
            // n0 as a 7-bit width and its zigzag bits, then the deltas packed.
            let mut prev = (samples[0].value * scale).round() as i64;
            let z = zigzag(prev);
            let bits = 64 - z.leading_zeros();
            w.put32(u64::from(bits), 7);
            w.put(z, bits);
            let deltas: Vec<i64> = samples[1..]
                .iter()
                .map(|x| {
                    let n = (x.value * scale).round() as i64;
                    let d = n - prev;
                    prev = n;
                    d
                })
                .collect();
            pack::pack(&deltas, &mut w);
        }
        w.finish();
        return;
    }
    let mut prev = 0u64;
    let (mut lead, mut trail) = (u32::MAX, 0u32);
    for (i, x) in samples.iter().enumerate() {
        let bits = x.value.to_bits();
        if i == 0 {
            w.put(bits, 64);
            prev = bits;
            continue;
        }
        let xor = bits ^ prev;
        prev = bits;
        if xor == 0 {
            w.put32(0, 1);
            continue;
        }
        let l = xor.leading_zeros().min(63);
        let t = xor.trailing_zeros();
        if lead != u32::MAX && l >= lead && t >= trail {
            w.put32(0b10, 2);
            w.put(xor >> trail, 64 - lead - trail);
        } else {
            let len = 64 - l - t;
            w.put32(0b11, 2);
            w.put32(u64::from(l), 6);
            w.put32(u64::from(len - 1), 6);
            w.put(xor >> t, len);
            lead = l;
            trail = t;
        }
    }
    w.finish();
}

fn encode_quality(samples: &[Sample], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < samples.len() {
        let q = samples[i].quality;
        let mut j = i + 1;
        while j < samples.len() && samples[j].quality == q {
            j += 1;
        }
        put_var(out, u64::from(q));
        put_var(out, (j - i) as u64);
        i = j;
    }
}

/// Encodes `samples` (any order is preserved; the store passes them sorted by
/// ts) into `out`, which is cleared first. The tag field is not stored.
pub fn encode(samples: &[Sample], out: &mut Vec<u8>) {
    encode_as(samples, VERSION, out);
}

/// [`encode`] in format `version` (1 or 2; tests write format 1 to check it is read).
pub(super) fn encode_as(samples: &[Sample], version: u8, out: &mut Vec<u8>) {
    out.clear();
    let s = summarize(samples);
    let mode = decimal_mode(samples).unwrap_or(MODE_XOR);
    out.push(version);
    out.push(mode);
    put_var(out, s.count);
    put_var(out, s.fold.bad);
    if s.count == 0 {
        return;
    }
    put_var(out, zigzag(s.min_ts));
    put_var(out, s.max_ts.wrapping_sub(s.min_ts) as u64);
    if s.good() > 0 {
        let f = &s.fold;
        out.extend_from_slice(&f.min.to_le_bytes());
        out.extend_from_slice(&f.max.to_le_bytes());
        put_var(out, f.first_ts.wrapping_sub(s.min_ts) as u64);
        out.extend_from_slice(&f.first.to_le_bytes());
        put_var(out, f.last_ts.wrapping_sub(s.min_ts) as u64);
        out.extend_from_slice(&f.last.to_le_bytes());
    }
    let mut ts = Vec::with_capacity(samples.len() / 2 + 16);
    if version == 1 {
        codec_v1::encode_ts(samples, &mut ts);
    } else {
        let stamps: Vec<i64> = samples.iter().map(|x| x.ts_ms).collect();
        let mut w = BitWriter { out: &mut ts, acc: 0, nbits: 0 };
        pack::encode_ts(&stamps, &mut w);
        w.finish();
    }
    let mut vals = Vec::with_capacity(samples.len() + 16);
    encode_values(samples, mode, version, &mut vals);
    put_var(out, ts.len() as u64);
    put_var(out, vals.len() as u64);
    out.extend_from_slice(&ts);
    out.extend_from_slice(&vals);
    encode_quality(samples, out);
}

// ---------------------------------------------------------------- decoding

/// The header: summary, format version, value mode, and the reader after it.
fn read_header<'a>(buf: &'a [u8]) -> Result<(Summary, u8, u8, Reader<'a>), CodecError> {
    let mut r = Reader { buf, pos: 0 };
    let version = r.u8()?;
    if version != 1 && version != VERSION {
        return Err(CodecError("unknown format version"));
    }
    let mode = r.u8()?;
    if mode != MODE_XOR && mode > MAX_DECIMALS {
        return Err(CodecError("unknown value mode"));
    }
    let count = r.var()?;
    let bad = r.var()?;
    if bad > count || count > u64::from(u32::MAX) {
        return Err(CodecError("bad sample counts"));
    }
    let mut s = Summary { count, min_ts: 0, max_ts: 0, fold: Acc { count: count - bad, bad, ..Acc::EMPTY } };
    if count == 0 {
        return Ok((s, version, mode, r));
    }
    s.min_ts = unzigzag(r.var()?);
    s.max_ts = s.min_ts.wrapping_add(r.var()? as i64);
    if s.good() > 0 {
        s.fold.min = r.f64()?;
        s.fold.max = r.f64()?;
        s.fold.first_ts = s.min_ts.wrapping_add(r.var()? as i64);
        s.fold.first = r.f64()?;
        s.fold.last_ts = s.min_ts.wrapping_add(r.var()? as i64);
        s.fold.last = r.f64()?;
    }
    Ok((s, version, mode, r))
}

/// Reads only the header summary of a chunk.
pub fn read_summary(buf: &[u8]) -> Result<Summary, CodecError> {
    read_header(buf).map(|(s, _, _, _)| s)
}

/// Decodes a chunk, appending to `out`. Returns the header summary.
pub fn decode_into(buf: &[u8], out: &mut Decoded) -> Result<Summary, CodecError> {
    let (s, version, mode, mut r) = read_header(buf)?;
    let n = s.count as usize;
    if n == 0 {
        return Ok(s);
    }
    let ts_len = usize::try_from(r.var()?).map_err(|_| CodecError("bad length"))?;
    let val_len = usize::try_from(r.var()?).map_err(|_| CodecError("bad length"))?;
    let ts_buf = r.take(ts_len)?;
    let val_buf = r.take(val_len)?;
    // Never trust the count for allocation beyond what the bytes could hold.
    let cap = n.min(buf.len().saturating_mul(8) + 64);
    out.ts.reserve(cap);
    out.values.reserve(cap);
    out.quality.reserve(cap);

    // timestamps
    let start = out.ts.len();
    if version == 1 {
        codec_v1::decode_ts(ts_buf, n, &mut out.ts)?;
    } else {
        // A group (of up to 128) takes at least 14 bits: refuse a count the bytes cannot hold.
        if (n - 1) / pack::GROUP > ts_buf.len() * 8 / 14 {
            return Err(CodecError("sample count exceeds the timestamp section"));
        }
        let mut tr = Unpacker { buf: ts_buf, bit: 0 };
        pack::decode_ts(n, &mut tr, &mut out.ts)?;
        if tr.bit.div_ceil(8) != ts_buf.len() {
            return Err(CodecError("trailing timestamp bytes"));
        }
    }
    debug_assert_eq!(out.ts.len() - start, n);

    // values
    if mode != MODE_XOR {
        let scale = POW10[mode as usize];
        if version == 1 {
            codec_v1::decode_decimal(val_buf, n, scale, &mut out.values)?;
        } else {
            let mut br = Unpacker { buf: val_buf, bit: 0 };
            let bits = br.width()?;
            let mut acc = unzigzag(br.get(bits)?);
            out.values.push(acc as f64 / scale);
            pack::unpack(n - 1, &mut br, |d| {
                acc = acc.wrapping_add(d);
                out.values.push(acc as f64 / scale);
                Ok(())
            })?;
            if br.bit.div_ceil(8) != val_buf.len() {
                return Err(CodecError("trailing value bytes"));
            }
        }
    } else {
        let mut br = BitReader { buf: val_buf, pos: 0, acc: 0, nbits: 0 };
        let mut prev = br.get(64)?;
        out.values.push(f64::from_bits(prev));
        let (mut lead, mut len) = (u32::MAX, 0u32);
        for _ in 1..n {
            if br.get32(1)? == 1 {
                if br.get32(1)? == 1 {
                    lead = br.get32(6)? as u32;
                    len = br.get32(6)? as u32 + 1;
                    if lead + len > 64 {
                        return Err(CodecError("bad XOR window"));
                    }
                } else if lead == u32::MAX {
                    return Err(CodecError("XOR window reused before set"));
                }
                let trail = 64 - lead - len;
                prev ^= br.get(len)? << trail;
            }
            out.values.push(f64::from_bits(prev));
        }
    }

    // quality
    let mut left = n;
    while left > 0 {
        let q = u16::try_from(r.var()?).map_err(|_| CodecError("bad quality code"))?;
        let run = r.var()?;
        if run == 0 || run > left as u64 {
            return Err(CodecError("bad quality run"));
        }
        out.quality.extend(std::iter::repeat_n(q, run as usize));
        left -= run as usize;
    }
    if r.pos != buf.len() {
        return Err(CodecError("trailing chunk bytes"));
    }
    Ok(s)
}
