//! Chunk format 1's timestamp and decimal-value sections (still read; written only by
//! tests): timestamps as byte-aligned varint delta-of-delta tokens with zero runs, decimal
//! values as zigzag deltas bit-packed in groups of 128 with one 7-bit width each. Format
//! 2 (see `pack`) replaced both: a jittered poll timestamp cost 1-2 bytes here.

use super::Sample;
use super::bits::{BitWriter, CodecError, Reader, Unpacker, put_var, unzigzag, zigzag};

/// Values per bit-packed group of decimal deltas.
const PACK_GROUP: usize = 128;

/// Timestamps: zz first ts, then zigzag delta-of-delta tokens; a zero token is followed
/// by the length of the run of zero delta-of-deltas it stands for.
pub(super) fn encode_ts(samples: &[Sample], out: &mut Vec<u8>) {
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

/// Decimal values `n / scale`: zz n0 (7-bit width + bits), then zz(n[i] - n[i-1])
/// bit-packed in groups of 128 (the first group one short) with a 7-bit width each.
pub(super) fn encode_decimal(samples: &[Sample], scale: f64, w: &mut BitWriter<'_>) {
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
}

/// Reads `n` (> 0) timestamps of format 1, appending them to `out`.
pub(super) fn decode_ts(ts_buf: &[u8], n: usize, out: &mut Vec<i64>) -> Result<(), CodecError> {
    let mut tr = Reader { buf: ts_buf, pos: 0 };
    let mut prev = unzigzag(tr.var()?);
    out.push(prev);
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
                out.push(prev);
            }
            left -= run as usize;
        } else {
            delta = delta.wrapping_add(unzigzag(tok));
            prev = prev.wrapping_add(delta);
            out.push(prev);
            left -= 1;
        }
    }
    if tr.pos != ts_buf.len() {
        return Err(CodecError("trailing timestamp bytes"));
    }
    Ok(())
}

/// Reads `n` (> 0) decimal values of format 1, appending them to `out`.
pub(super) fn decode_decimal(val_buf: &[u8], n: usize, scale: f64, out: &mut Vec<f64>) -> Result<(), CodecError> {
    let mut br = Unpacker { buf: val_buf, bit: 0 };
    let bits = br.width()?;
    let mut acc = unzigzag(br.get(bits)?);
    out.push(acc as f64 / scale);
    let mut start = 0usize;
    while start < n {
        let end = (start + PACK_GROUP).min(n);
        let bits = br.width()?;
        for _ in start.max(1)..end {
            acc = acc.wrapping_add(unzigzag(br.get(bits)?));
            out.push(acc as f64 / scale);
        }
        start = end;
    }
    if br.bit.div_ceil(8) != val_buf.len() {
        return Err(CodecError("trailing value bytes"));
    }
    Ok(())
}
