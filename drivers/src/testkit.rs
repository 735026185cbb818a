//! Helpers shared by the drivers' unit tests.

/// A deterministic pseudo-random sequence (a 32-bit linear congruential generator) for
/// the fuzz-like unit tests: the same cases on every run, without a crate or a seed file.
pub struct Lcg(pub u32);

impl Lcg {
    /// The next state; its high 16 bits are the useful ones.
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(1_103_515_245).wrapping_add(12345);
        self.0
    }

    /// `len` bytes, each below `below`.
    pub fn bytes(&mut self, len: usize, below: u8) -> Vec<u8> {
        (0..len).map(|_| (self.next_u32() >> 16) as u8 % below).collect()
    }
}
