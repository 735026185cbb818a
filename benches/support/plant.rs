//! Plant-like 1 Hz test signals shared by the historian benches.

use mimic::historian::{Sample, TagId};

#[allow(dead_code)] // not every bench uses it
pub const DAY_MS: i64 = 86_400_000;
pub const T0: i64 = 1_760_000_000_000;

/// Plant-like 1 Hz signal: slow sine plus small noise, quantised to 0.1 like
/// a scaled Modbus register.
pub fn plant_value(tag: TagId, i: i64) -> f64 {
    let mut h = (u64::from(tag) << 32) ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 32;
    let noise = (h % 5) as f64 * 0.1 - 0.2;
    let period = 3600.0 + f64::from(tag % 97) * 60.0;
    let v = 50.0 + f64::from(tag % 13) * 7.0 + 20.0 * (i as f64 * std::f64::consts::TAU / period).sin() + noise;
    (v * 10.0).round() / 10.0
}

/// `secs` seconds of 1 Hz samples for `tags` tags starting at second `start`,
/// in poll order (all tags at one timestamp, then the next timestamp).
#[allow(dead_code)] // not every bench uses both generators
pub fn batch(tags: u32, start: i64, secs: i64) -> Vec<Sample> {
    let mut v = Vec::with_capacity((tags as i64 * secs) as usize);
    for i in start..start + secs {
        for tag in 0..tags {
            v.push(Sample { tag, ts_ms: T0 + i * 1000, value: plant_value(tag, i), quality: 0 });
        }
    }
    v
}

/// One tag's samples over `secs` seconds from second `start` (sorted by time).
#[allow(dead_code)]
pub fn series(tag: TagId, start: i64, secs: i64, out: &mut Vec<Sample>) {
    out.clear();
    out.extend((start..start + secs).map(|i| Sample {
        tag,
        ts_ms: T0 + i * 1000,
        value: plant_value(tag, i),
        quality: 0,
    }));
}
