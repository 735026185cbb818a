//! Codec property tests: bit-exact round trips, truncation and garbage never panic.

use super::Sample;
use super::codec::*;
use proptest::prelude::*;

fn roundtrip(samples: &[Sample]) {
    let mut buf = Vec::new();
    encode(samples, &mut buf);
    let mut d = Decoded::default();
    let s = decode_into(&buf, &mut d).expect("decode");
    assert_eq!(d.len(), samples.len());
    for (i, x) in samples.iter().enumerate() {
        assert_eq!(d.ts[i], x.ts_ms, "ts {i}");
        assert_eq!(d.values[i].to_bits(), x.value.to_bits(), "value {i}");
        assert_eq!(d.quality[i], x.quality, "quality {i}");
    }
    let want = summarize(samples);
    assert_eq!(s.count, want.count);
    let (s, want) = (s.fold, want.fold);
    assert_eq!(s.bad, want.bad);
    if want.count > 0 {
        assert_eq!(s.min.to_bits(), want.min.to_bits());
        assert_eq!(s.max.to_bits(), want.max.to_bits());
        assert_eq!((s.first_ts, s.first.to_bits()), (want.first_ts, want.first.to_bits()));
        assert_eq!((s.last_ts, s.last.to_bits()), (want.last_ts, want.last.to_bits()));
    }
    // every truncation is an error, never a panic
    for cut in 0..buf.len() {
        let mut d = Decoded::default();
        assert!(decode_into(&buf[..cut], &mut d).is_err());
    }
}

fn mk(ts: i64, value: f64, quality: u16) -> Sample {
    Sample { tag: 0, ts_ms: ts, value, quality }
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<u64>().prop_map(f64::from_bits),
        Just(f64::NAN),
        Just(-0.0),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MIN_POSITIVE / 4.0),
        (-100_000i64..100_000).prop_map(|n| n as f64 / 10.0),
    ]
}

fn any_ts() -> impl Strategy<Value = i64> {
    prop_oneof![any::<i64>(), -5_000i64..5_000, Just(i64::MIN), Just(i64::MAX)]
}

proptest! {
    #[test]
    fn roundtrip_arbitrary(v in proptest::collection::vec((any_ts(), any_f64(), any::<u16>()), 0..200)) {
        let s: Vec<Sample> = v.into_iter().map(|(t, x, q)| mk(t, x, q)).collect();
        roundtrip(&s);
    }

    #[test]
    fn roundtrip_decimal_regular(start in any::<i64>(), step in 0i64..5000, k in 0u32..7,
                                 ns in proptest::collection::vec(-1_000_000i64..1_000_000, 1..300),
                                 bad in proptest::collection::vec(0u16..3, 1..300)) {
        let scale = 10f64.powi(k as i32);
        let s: Vec<Sample> = ns.iter().enumerate().map(|(i, &n)| {
            mk(start.wrapping_add(step.wrapping_mul(i as i64)), n as f64 / scale, bad[i % bad.len()])
        }).collect();
        roundtrip(&s);
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut d = Decoded::default();
        let _ = decode_into(&bytes, &mut d);
        let _ = read_summary(&bytes);
    }
}

#[test]
fn special_values() {
    let vals = [0.0, -0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 5e-324, 1.5];
    let s: Vec<Sample> = vals.iter().enumerate().map(|(i, &v)| mk(i as i64, v, 0)).collect();
    roundtrip(&s);
    roundtrip(&[]);
    roundtrip(&[mk(i64::MIN, -0.0, 7), mk(i64::MAX, 1.0, 0), mk(i64::MIN, 2.0, 0)]);
}

#[test]
fn plant_signal_is_small() {
    let s: Vec<Sample> = (0..4096)
        .map(|i| {
            let t = i as f64;
            let v = ((50.0 + 10.0 * (t / 600.0).sin() + ((i * 7919) % 5) as f64 * 0.1) * 10.0).round() / 10.0;
            mk(1_700_000_000_000 + i * 1000, v, 0)
        })
        .collect();
    let mut buf = Vec::new();
    encode(&s, &mut buf);
    assert!(buf.len() < 4096 + 100, "{} bytes", buf.len());
    roundtrip(&s[..100]);
}

/// Format 1 chunks (written before format 2) still decode, bit-exactly.
fn roundtrip_v1(samples: &[Sample]) {
    let mut buf = Vec::new();
    encode_as(samples, 1, &mut buf);
    assert_eq!(buf[0], 1);
    let mut d = Decoded::default();
    decode_into(&buf, &mut d).expect("decode a format 1 chunk");
    assert_eq!(d.len(), samples.len());
    for (i, x) in samples.iter().enumerate() {
        assert_eq!((d.ts[i], d.values[i].to_bits(), d.quality[i]), (x.ts_ms, x.value.to_bits(), x.quality), "{i}");
    }
    assert_eq!(read_summary(&buf).expect("summary").count, samples.len() as u64);
    for cut in 0..buf.len() {
        assert!(decode_into(&buf[..cut], &mut Decoded::default()).is_err());
    }
}

proptest! {
    #[test]
    fn format_1_is_still_read(v in proptest::collection::vec((any_ts(), any_f64(), any::<u16>()), 0..200)) {
        let s: Vec<Sample> = v.into_iter().map(|(t, x, q)| mk(t, x, q)).collect();
        roundtrip_v1(&s);
    }

    #[test]
    fn format_1_decimal_is_still_read(start in any::<i64>(), step in 0i64..5000, k in 0u32..7,
                                      ns in proptest::collection::vec(-1_000_000i64..1_000_000, 1..300)) {
        let scale = 10f64.powi(k as i32);
        let s: Vec<Sample> = ns.iter().enumerate().map(|(i, &n)| {
            mk(start.wrapping_add(step.wrapping_mul(i as i64)), n as f64 / scale, 0)
        }).collect();
        roundtrip_v1(&s);
    }

    #[test]
    fn jittered_polls_round_trip(jit in proptest::collection::vec((0i64..25, 0u32..1000), 1..3000),
                                 gap_at in 0usize..3000, gap in 0i64..10_000_000) {
        let mut s: Vec<Sample> = jit.iter().enumerate().map(|(i, &(j, n))| {
            mk(1_795_000_000_000 + i as i64 * 1000 + j, f64::from(n) / 10.0, 0)
        }).collect();
        let at = gap_at % s.len();
        for x in &mut s[at..] {
            x.ts_ms += gap;
        }
        roundtrip(&s);
    }
}

#[test]
fn jittered_plant_signal_is_small() {
    // A real poll's timestamps: a 1 s grid plus 1-20 ms latency.
    let mut h = 0x9E37_79B9_7F4A_7C15u64;
    let s: Vec<Sample> = (0..4096)
        .map(|i| {
            h ^= h << 13;
            h ^= h >> 7;
            h ^= h << 17;
            let t = i as f64;
            let v = ((50.0 + 10.0 * (t / 600.0).sin() + ((i * 7919) % 5) as f64 * 0.1) * 10.0).round() / 10.0;
            mk(1_700_000_000_000 + i * 1000 + 1 + (h % 20) as i64, v, 0)
        })
        .collect();
    let (mut v1, mut v2) = (Vec::new(), Vec::new());
    encode_as(&s, 1, &mut v1);
    encode(&s, &mut v2);
    // time: 5 bits a sample (format 1: a byte); values: 3-4 bits
    assert!(v2.len() * 8 < s.len() * 9, "format 2: {} bytes", v2.len());
    assert!(v2.len() * 10 < v1.len() * 7, "format 2: {} bytes, format 1: {}", v2.len(), v1.len());
    roundtrip(&s[..1000]);
}
