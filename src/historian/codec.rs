//! Chunk encoding: one self-describing byte string per chunk.
//!
//! Layout (all integers are LEB128 varints, signed ones zigzag-mapped first):
//!
//! ```text
//! u8   format version (1)
//! u8   value mode: 0..=6 = decimal with k digits, 0xFF = Gorilla XOR
//! var  count                     var  bad (samples with quality != 0)
//! zz   min_ts                    var  max_ts - min_ts
//! if count - bad > 0:  f64 min, f64 max,
//!                      var first_ts - min_ts, f64 first, var last_ts - min_ts, f64 last
//! var  length of the timestamp section, var length of the value section
//! timestamps: zz first ts, then zigzag delta-of-delta tokens; a zero token is followed
//!             by the length of the run of zero delta-of-deltas it stands for
//! values:     decimal: value = n / 10^k bit-exactly; zz n0 (7-bit width + bits), then
//!             zz(n[i] - n[i-1]) bit-packed in groups of 128 with a 7-bit width each
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

const VERSION: u8 = 1;
const MODE_XOR: u8 = 0xFF;
const MAX_DECIMALS: u8 = 6;
const POW10: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
/// Values per bit-packed group of decimal deltas.
const PACK_GROUP: usize = 128;
/// Largest magnitude of a scaled integer (keeps `n as f64` exact).
const MAX_SCALED: f64 = 9_007_199_254_740_992.0; // 2^53

/// Summary of a chunk, readable from its header alone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub bad: u64,
    pub min_ts: i64,
    pub max_ts: i64,
    /// Valid only when `good() > 0`.
    pub min: f64,
    pub max: f64,
    pub first_ts: i64,
    pub first: f64,
    pub last_ts: i64,
    pub last: f64,
}

impl Summary {
    pub fn good(&self) -> u64 {
        self.count - self.bad
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
    let mut s = Summary {
        count: samples.len() as u64,
        bad: 0,
        min_ts: i64::MAX,
        max_ts: i64::MIN,
        min: f64::NAN,
        max: f64::NAN,
        first_ts: i64::MAX,
        first: f64::NAN,
        last_ts: i64::MIN,
        last: f64::NAN,
    };
    let mut good = false;
    for x in samples {
        s.min_ts = s.min_ts.min(x.ts_ms);
        s.max_ts = s.max_ts.max(x.ts_ms);
        if x.quality != 0 {
            s.bad += 1;
            continue;
        }
        if !good {
            good = true;
            s.min = x.value;
            s.max = x.value;
        } else {
            s.min = s.min.min(x.value);
            s.max = s.max.max(x.value);
        }
        if x.ts_ms < s.first_ts {
            s.first_ts = x.ts_ms;
            s.first = x.value;
        }
        if x.ts_ms >= s.last_ts {
            s.last_ts = x.ts_ms;
            s.last = x.value;
        }
    }
    s
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

fn encode_ts(samples: &[Sample], out: &mut Vec<u8>) {
    let Some(first) = samples.first() else {
        return;
    };
    put_var(out, zigzag(first.ts_ms));
    let mut prev = first.ts_ms;
    let mut prev_delta = 0i64;
    let mut zeros = 0u64;
    for x in &samples[1..] {
        let delta = x.ts_ms.wrapping_sub(prev);
        let dod = delta.wrapping_sub(prev_delta);
        prev = x.ts_ms;
        prev_delta = delta;
        if dod == 0 {
            zeros += 1;
            continue;
        }
        if zeros > 0 {
            put_var(out, 0);
            put_var(out, zeros);
            zeros = 0;
        }
        put_var(out, zigzag(dod));
    }
    if zeros > 0 {
        put_var(out, 0);
        put_var(out, zeros);
    }
}

fn encode_values(samples: &[Sample], mode: u8, out: &mut Vec<u8>) {
    let mut w = BitWriter { out, acc: 0, nbits: 0 };
    if mode != MODE_XOR {
        // Zigzag deltas of the scaled integers, bit-packed in groups of
        // PACK_GROUP, each group prefixed by its bit width (7 bits).
        let scale = POW10[mode as usize];
        let mut prev = 0i64;
        let mut group = [0u64; PACK_GROUP];
        for (gi, xs) in samples.chunks(PACK_GROUP).enumerate() {
            let mut or = 0u64;
            for (j, x) in xs.iter().enumerate() {
                let n = (x.value * scale).round() as i64;
                // The very first value is a delta from 0: give it its own group.
                let z = zigzag(n - prev);
                prev = n;
                if gi == 0 && j == 0 {
                    let bits = 64 - z.leading_zeros();
                    w.put32(u64::from(bits), 7);
                    w.put(z, bits);
                    continue;
                }
                group[j] = z;
                or |= z;
            }
            let bits = 64 - or.leading_zeros();
            w.put32(u64::from(bits), 7);
            for &z in &group[usize::from(gi == 0)..xs.len()] {
                w.put(z, bits);
            }
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
    out.clear();
    let s = summarize(samples);
    let mode = decimal_mode(samples).unwrap_or(MODE_XOR);
    out.push(VERSION);
    out.push(mode);
    put_var(out, s.count);
    put_var(out, s.bad);
    if s.count == 0 {
        return;
    }
    put_var(out, zigzag(s.min_ts));
    put_var(out, s.max_ts.wrapping_sub(s.min_ts) as u64);
    if s.good() > 0 {
        out.extend_from_slice(&s.min.to_le_bytes());
        out.extend_from_slice(&s.max.to_le_bytes());
        put_var(out, s.first_ts.wrapping_sub(s.min_ts) as u64);
        out.extend_from_slice(&s.first.to_le_bytes());
        put_var(out, s.last_ts.wrapping_sub(s.min_ts) as u64);
        out.extend_from_slice(&s.last.to_le_bytes());
    }
    let mut ts = Vec::with_capacity(samples.len() / 4 + 16);
    encode_ts(samples, &mut ts);
    let mut vals = Vec::with_capacity(samples.len() + 16);
    encode_values(samples, mode, &mut vals);
    put_var(out, ts.len() as u64);
    put_var(out, vals.len() as u64);
    out.extend_from_slice(&ts);
    out.extend_from_slice(&vals);
    encode_quality(samples, out);
}

// ---------------------------------------------------------------- decoding

fn read_header<'a>(buf: &'a [u8]) -> Result<(Summary, u8, Reader<'a>), CodecError> {
    let mut r = Reader { buf, pos: 0 };
    if r.u8()? != VERSION {
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
    let mut s = Summary {
        count,
        bad,
        min_ts: 0,
        max_ts: 0,
        min: f64::NAN,
        max: f64::NAN,
        first_ts: 0,
        first: f64::NAN,
        last_ts: 0,
        last: f64::NAN,
    };
    if count == 0 {
        return Ok((s, mode, r));
    }
    s.min_ts = unzigzag(r.var()?);
    s.max_ts = s.min_ts.wrapping_add(r.var()? as i64);
    if s.good() > 0 {
        s.min = r.f64()?;
        s.max = r.f64()?;
        s.first_ts = s.min_ts.wrapping_add(r.var()? as i64);
        s.first = r.f64()?;
        s.last_ts = s.min_ts.wrapping_add(r.var()? as i64);
        s.last = r.f64()?;
    }
    Ok((s, mode, r))
}

/// Reads only the header summary of a chunk.
pub fn read_summary(buf: &[u8]) -> Result<Summary, CodecError> {
    read_header(buf).map(|(s, _, _)| s)
}

/// Decodes a chunk, appending to `out`. Returns the header summary.
pub fn decode_into(buf: &[u8], out: &mut Decoded) -> Result<Summary, CodecError> {
    let (s, mode, mut r) = read_header(buf)?;
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
    let mut tr = Reader { buf: ts_buf, pos: 0 };
    let mut prev = unzigzag(tr.var()?);
    out.ts.push(prev);
    let mut delta = 0i64;
    let mut left = n - 1;
    while left > 0 {
        let tok = tr.var()?;
        if tok == 0 {
            let run = tr.var()?;
            if run == 0 || run > left as u64 {
                return Err(CodecError("bad timestamp run"));
            }
            for _ in 0..run {
                prev = prev.wrapping_add(delta);
                out.ts.push(prev);
            }
            left -= run as usize;
        } else {
            delta = delta.wrapping_add(unzigzag(tok));
            prev = prev.wrapping_add(delta);
            out.ts.push(prev);
            left -= 1;
        }
    }
    if tr.pos != ts_buf.len() {
        return Err(CodecError("trailing timestamp bytes"));
    }
    debug_assert_eq!(out.ts.len() - start, n);

    // values
    if mode != MODE_XOR {
        let scale = POW10[mode as usize];
        let mut br = Unpacker { buf: val_buf, bit: 0 };
        let bits = br.width()?;
        let mut acc = unzigzag(br.get(bits)?);
        out.values.push(acc as f64 / scale);
        let mut start = 0usize;
        while start < n {
            let end = (start + PACK_GROUP).min(n);
            let bits = br.width()?;
            for _ in start.max(1)..end {
                acc = acc.wrapping_add(unzigzag(br.get(bits)?));
                out.values.push(acc as f64 / scale);
            }
            start = end;
        }
        if br.bit.div_ceil(8) != val_buf.len() {
            return Err(CodecError("trailing value bytes"));
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
