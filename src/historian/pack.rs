//! Chunk format 2's integer packing: patched frame-of-reference groups, and the
//! timestamp grid they pack.
//!
//! **Groups.** A sequence of i64 is cut in groups of [`GROUP`]; each group is written as
//! a 7-bit width `w`, its base `b` (7-bit width + the bits of `zigzag(b)`), then every
//! value as the `w` bits of `v - b`. With `w = 0` every value is `b`. With `w > 0` the
//! all-ones pattern is an escape: the value follows as a 7-bit width + the bits of
//! `zigzag(v)`, so one outlier (a gap in the timestamps, a spike in a signal) costs its
//! own bits instead of widening its whole group. The encoder picks `b` and `w` for the
//! fewest bits.
//!
//! **Timestamps.** Real poll timestamps lie on the device's poll grid plus a latency of a
//! few ms (`drivers::device::next_due` keeps the grid). Delta-of-delta coding doubles
//! that jitter twice over; here each timestamp is coded as its residual from a grid: the
//! chunk's period `P` (the median delta), the first timestamp, and then for each next
//! sample its residual `r` from the previous grid point plus `P`; the grid point moves to
//! the nearest multiple of `P` from there (so a gap of k missed polls is one escaped
//! residual, and the grid stays in phase). With `P <= 0` the residual is the delta minus
//! `P`. Every step is wrapping arithmetic, so any i64 timestamps round-trip exactly.

use super::bits::{BitWriter, CodecError, Unpacker, unzigzag, zigzag};

/// Values per group.
pub(super) const GROUP: usize = 128;

#[inline]
fn bitlen(z: u64) -> u32 {
    64 - z.leading_zeros()
}

/// Largest offset a `w`-bit field holds (the all-ones pattern is the escape).
#[inline]
fn max_fit(w: u32) -> u64 {
    if w >= 64 { u64::MAX - 1 } else { (1u64 << w) - 2 }
}

/// A signed integer as a 7-bit width and its zigzag bits.
fn put_signed(w: &mut BitWriter<'_>, v: i64) {
    let z = zigzag(v);
    let bits = bitlen(z);
    w.put32(u64::from(bits), 7);
    w.put(z, bits);
}

fn get_signed(r: &mut Unpacker<'_>) -> Result<i64, CodecError> {
    let bits = r.width()?;
    Ok(unzigzag(r.get(bits)?))
}

/// Packs `vals` in groups (see the module).
pub(super) fn pack(vals: &[i64], w: &mut BitWriter<'_>) {
    let mut sorted = [0i64; GROUP];
    let mut cost = [0u64; GROUP + 1];
    for group in vals.chunks(GROUP) {
        let m = group.len();
        let s = &mut sorted[..m];
        s.copy_from_slice(group);
        s.sort_unstable();
        let (base, width) = if s[0] == s[m - 1] { (s[0], 0) } else { choose(s, &mut cost) };
        w.put32(u64::from(width), 7);
        put_signed(w, base);
        if width == 0 {
            continue;
        }
        let fit = max_fit(width);
        for &v in group {
            let d = i128::from(v) - i128::from(base);
            if (0..=i128::from(fit)).contains(&d) {
                w.put(d as u64, width);
            } else {
                w.put(u64::MAX >> (64 - width), width);
                put_signed(w, v);
            }
        }
    }
}

/// The base and width (> 0) of a group with at least two distinct values, for the
/// fewest bits. `cost` is scratch (prefix sums of the escapes' payload bits).
fn choose(s: &[i64], cost: &mut [u64; GROUP + 1]) -> (i64, u32) {
    let m = s.len();
    cost[0] = 0;
    for (j, &v) in s.iter().enumerate() {
        cost[j + 1] = cost[j] + 7 + u64::from(bitlen(zigzag(v)));
    }
    let mut best = (u64::MAX, s[0], 64u32);
    let starts = [0, 1, 2, 3, m / 32, m / 16, m / 8];
    for (i, &a) in starts.iter().enumerate() {
        if a >= m || starts[..i].contains(&a) {
            continue;
        }
        let base = s[a];
        let head = 7 + u64::from(bitlen(zigzag(base)));
        for width in 1..=64u32 {
            let fit = i128::from(max_fit(width));
            let hi = a + s[a..].partition_point(|&x| i128::from(x) - i128::from(base) <= fit);
            let bits = head + m as u64 * u64::from(width) + cost[a] + (cost[m] - cost[hi]);
            if bits < best.0 {
                best = (bits, base, width);
            }
            if hi == m {
                break;
            }
        }
    }
    (best.1, best.2)
}

/// Unpacks `n` values packed by [`pack`], handing each to `f` in order.
pub(super) fn unpack(
    n: usize,
    r: &mut Unpacker<'_>,
    mut f: impl FnMut(i64) -> Result<(), CodecError>,
) -> Result<(), CodecError> {
    let mut left = n;
    while left > 0 {
        let m = left.min(GROUP);
        left -= m;
        let width = r.width()?;
        let base = get_signed(r)?;
        if width == 0 {
            for _ in 0..m {
                f(base)?;
            }
            continue;
        }
        let escape = u64::MAX >> (64 - width);
        for _ in 0..m {
            let x = r.get(width)?;
            let v = if x == escape { get_signed(r)? } else { base.wrapping_add(x as i64) };
            f(v)?;
        }
    }
    Ok(())
}

/// The grid point after a sample whose residual from the predicted point `p` is `r`.
#[inline]
fn next_grid(p: i64, r: i64, period: i64) -> i64 {
    if period <= 0 {
        return p.wrapping_add(r);
    }
    let q = (i128::from(r) + i128::from(period / 2)).div_euclid(i128::from(period));
    p.wrapping_add((q * i128::from(period)) as i64)
}

/// The chunk's period (0 for fewer than two timestamps): the mean of the deltas near
/// the median delta, rounded. Not the median itself: with jittered polls the median
/// delta is often a ms off the grid's period, and a grid a ms off drifts out of every
/// group's range; the mean of the deltas telescopes to the grid's period.
fn period_of(ts: &[i64], scratch: &mut Vec<i64>) -> i64 {
    if ts.len() < 2 {
        return 0;
    }
    scratch.clear();
    scratch.extend(ts.windows(2).map(|w| w[1].wrapping_sub(w[0])));
    let mid = scratch.len() / 2;
    let median = *scratch.select_nth_unstable(mid).1;
    if median <= 0 {
        return median;
    }
    let (lo, hi) = (i128::from(median) / 2, i128::from(median) * 3 / 2);
    let (mut sum, mut count) = (0i128, 0i128);
    for &d in scratch.iter() {
        if (lo..=hi).contains(&i128::from(d)) {
            sum += i128::from(d);
            count += 1;
        }
    }
    // The median itself is in range, so count > 0; the mean lies within [lo, hi].
    ((2 * sum + count).div_euclid(2 * count)) as i64
}

/// Writes the timestamps (in their order) as a grid and packed residuals.
pub(super) fn encode_ts(ts: &[i64], w: &mut BitWriter<'_>) {
    let Some(&first) = ts.first() else {
        return;
    };
    let mut residuals = Vec::with_capacity(ts.len());
    let period = period_of(ts, &mut residuals);
    put_signed(w, first);
    put_signed(w, period);
    residuals.clear();
    let mut g = first;
    for &t in &ts[1..] {
        let p = g.wrapping_add(period);
        let r = t.wrapping_sub(p);
        residuals.push(r);
        g = next_grid(p, r, period);
    }
    pack(&residuals, w);
}

/// Reads `n` timestamps written by [`encode_ts`], appending them to `out`.
pub(super) fn decode_ts(n: usize, r: &mut Unpacker<'_>, out: &mut Vec<i64>) -> Result<(), CodecError> {
    if n == 0 {
        return Ok(());
    }
    let first = get_signed(r)?;
    let period = get_signed(r)?;
    out.push(first);
    let mut g = first;
    unpack(n - 1, r, |res| {
        let p = g.wrapping_add(period);
        out.push(p.wrapping_add(res));
        g = next_grid(p, res, period);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn packed(vals: &[i64]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = BitWriter { out: &mut out, acc: 0, nbits: 0 };
        pack(vals, &mut w);
        w.finish();
        out
    }

    fn round_trip(vals: &[i64]) -> usize {
        let bytes = packed(vals);
        let mut r = Unpacker { buf: &bytes, bit: 0 };
        let mut back = Vec::new();
        unpack(vals.len(), &mut r, |v| {
            back.push(v);
            Ok(())
        })
        .expect("unpack");
        assert_eq!(back, vals);
        assert_eq!(r.bit.div_ceil(8), bytes.len(), "every bit read");
        bytes.len()
    }

    fn ts_round_trip(ts: &[i64]) -> usize {
        let mut out = Vec::new();
        let mut w = BitWriter { out: &mut out, acc: 0, nbits: 0 };
        encode_ts(ts, &mut w);
        w.finish();
        let mut r = Unpacker { buf: &out, bit: 0 };
        let mut back = Vec::new();
        decode_ts(ts.len(), &mut r, &mut back).expect("decode");
        assert_eq!(back, ts);
        assert_eq!(r.bit.div_ceil(8), out.len(), "every bit read");
        // every truncation is an error (or reads fewer values), never a panic
        for cut in 0..out.len() {
            let mut r = Unpacker { buf: &out[..cut], bit: 0 };
            let _ = decode_ts(ts.len(), &mut r, &mut Vec::new());
        }
        out.len()
    }

    fn any_i64() -> impl Strategy<Value = i64> {
        prop_oneof![any::<i64>(), -100i64..100, Just(i64::MIN), Just(i64::MAX), Just(0)]
    }

    proptest! {
        #[test]
        fn groups_round_trip(vals in proptest::collection::vec(any_i64(), 0..600)) {
            round_trip(&vals);
        }

        #[test]
        fn narrow_groups_with_outliers_round_trip(
            base in any::<i64>(),
            vals in proptest::collection::vec(0i64..40, 1..600),
            spikes in proptest::collection::vec((0usize..600, any::<i64>()), 0..8),
        ) {
            let mut v: Vec<i64> = vals.iter().map(|&x| base.wrapping_add(x)).collect();
            for (i, s) in spikes {
                let n = v.len();
                v[i % n] = s;
            }
            round_trip(&v);
        }

        #[test]
        fn timestamps_round_trip(ts in proptest::collection::vec(any_i64(), 0..150)) {
            ts_round_trip(&ts);
        }

        #[test]
        fn jittered_grids_round_trip(
            start in any::<i64>(),
            period in 0i64..100_000,
            steps in proptest::collection::vec((1i64..4, -30i64..30), 1..400),
        ) {
            let mut t = start;
            let ts: Vec<i64> = steps.iter().map(|&(k, j)| {
                t = t.wrapping_add(k * period);
                t.wrapping_add(j)
            }).collect();
            ts_round_trip(&ts);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), n in 0usize..500) {
            let mut r = Unpacker { buf: &bytes, bit: 0 };
            let _ = decode_ts(n, &mut r, &mut Vec::new());
            let mut r = Unpacker { buf: &bytes, bit: 0 };
            let _ = unpack(n, &mut r, |_| Ok(()));
        }
    }

    #[test]
    fn edge_widths_round_trip() {
        round_trip(&[i64::MIN, i64::MAX]);
        round_trip(&[i64::MIN, i64::MAX, 0, -1, 1]);
        round_trip(&[5; 300]);
        round_trip(&[]);
        round_trip(&[0, 1]);
        round_trip(&[0, 2, 1]);
        // the all-ones offset of each width must escape, not be taken as a value
        for w in 1..64 {
            let top = (1u64 << w) - 1;
            round_trip(&[0, top as i64, 1]);
            round_trip(&[0, top as i64 - 1]);
        }
    }

    #[test]
    fn jittered_poll_timestamps_cost_under_six_bits() {
        // 1 Hz on a fixed grid, 1-20 ms latency, one gap of 10 min and one late poll.
        let mut h = 0x2545_F491_4F6C_DD1Du64;
        let mut ts: Vec<i64> = (0..2048i64)
            .map(|i| {
                h ^= h << 13;
                h ^= h >> 7;
                h ^= h << 17;
                1_795_000_000_000 + i * 1000 + 1 + (h % 20) as i64
            })
            .collect();
        ts.drain(700..1300);
        ts[900] += 700;
        let bytes = ts_round_trip(&ts);
        assert!(bytes * 8 <= ts.len() * 6, "{bytes} bytes for {} timestamps", ts.len());
        // exact seconds cost next to nothing
        let exact: Vec<i64> = (0..2048).map(|i| 1_795_000_000_000 + i * 1000).collect();
        assert!(ts_round_trip(&exact) <= 48);
    }
}
