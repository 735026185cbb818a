//! Deterministic noise for synthetic plant data, shared by the model tests and the models
//! bench (`#[path]`-included there, on its own).

/// Deterministic noise in [-0.5, 0.5) for synthetic plant data (a hash of `seed`).
pub fn noise(seed: u64) -> f64 {
    let mut h = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    h ^= h >> 29;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 32;
    (h % 10_000) as f64 / 10_000.0 - 0.5
}
