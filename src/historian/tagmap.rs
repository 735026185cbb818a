//! The historian's per-tag bookkeeping, by tag id. Ids are dense (assigned in order by
//! `tag_ids`), so they index a `Vec`: the per-sample look-up of `append` walks memory in
//! order instead of hashing into a map spread over megabytes (a cache miss a sample at
//! 100,000 tags), and an entry costs its own bytes only. An id far past the dense range
//! (a caller's own numbering) goes to a map instead of growing the `Vec` to it.

use std::collections::HashMap;

use super::{TagId, TagState};

/// Ids below this (and not far past the largest seen) are kept in the `Vec`.
const DENSE_MAX: usize = 1 << 24;

#[derive(Clone, Debug, Default)]
pub(super) struct TagMap {
    dense: Vec<TagState>,
    sparse: HashMap<TagId, TagState>,
}

impl TagMap {
    pub(super) fn get(&self, tag: TagId) -> Option<&TagState> {
        match self.dense.get(tag as usize) {
            Some(st) => Some(st),
            None => self.sparse.get(&tag),
        }
    }

    pub(super) fn get_mut(&mut self, tag: TagId) -> Option<&mut TagState> {
        match self.dense.get_mut(tag as usize) {
            Some(st) => Some(st),
            None => self.sparse.get_mut(&tag),
        }
    }

    /// The state of `tag`, made (empty) if it has none.
    pub(super) fn entry(&mut self, tag: TagId) -> &mut TagState {
        let i = tag as usize;
        if i >= self.dense.len() && i < DENSE_MAX && i <= 2 * self.dense.len() + 1024 {
            // By an eighth at least: each growth looks through the sparse ids, and a batch
            // of new ids in order (a first append) would otherwise do it once per id.
            let len = self.dense.len();
            self.grow((i + 1).max(len + len / 8).min(DENSE_MAX));
        }
        match self.dense.get_mut(i) {
            Some(st) => st,
            None => self.sparse.entry(tag).or_default(),
        }
    }

    /// States for the ids below `n` in the `Vec`, allocated exactly: a site's tags are
    /// known when it starts (`tag_ids`). Made one id at a time as samples came, the `Vec`
    /// grew by doubling (100,000 tags: 131,072 states of about 120 bytes), and a first
    /// append whose ids came out of order made most of them sparse and then moved them
    /// one by one, each move looking through all the sparse ones (seconds of the
    /// historian thread at 100,000 tags).
    pub(super) fn reserve(&mut self, n: usize) {
        let n = n.min(DENSE_MAX);
        if n > self.dense.len() {
            self.dense.reserve_exact(n - self.dense.len());
            self.grow(n);
        }
    }

    /// Makes the dense range `0..n` (n at least its length); ids once sparse are dense now.
    fn grow(&mut self, n: usize) {
        self.dense.resize_with(n, TagState::default);
        if self.sparse.is_empty() {
            return;
        }
        let moved: Vec<TagId> = self.sparse.keys().copied().filter(|&t| (t as usize) < n).collect();
        for t in moved {
            if let Some(st) = self.sparse.remove(&t) {
                self.dense[t as usize] = st;
            }
        }
    }

    /// Every tag with a state, dense ids in order first.
    pub(super) fn iter(&self) -> impl Iterator<Item = (TagId, &TagState)> {
        self.dense.iter().enumerate().map(|(i, st)| (i as TagId, st)).chain(self.sparse.iter().map(|(&t, st)| (t, st)))
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (TagId, &mut TagState)> {
        let dense = self.dense.iter_mut().enumerate().map(|(i, st)| (i as TagId, st));
        dense.chain(self.sparse.iter_mut().map(|(&t, st)| (t, st)))
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &TagState> {
        self.dense.iter().chain(self.sparse.values())
    }

    /// One past the largest id with a state (1 when there is none).
    pub(super) fn span(&self) -> u64 {
        let sparse = self.sparse.keys().map(|&t| u64::from(t) + 1).max().unwrap_or(0);
        (self.dense.len() as u64).max(sparse).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_far_ids_both_work() {
        let mut m = TagMap::default();
        m.entry(3).max_span = 3;
        m.entry(u32::MAX).max_span = 9;
        m.entry(5000).max_span = 5;
        assert_eq!(m.get(3).map(|s| s.max_span), Some(3));
        assert_eq!(m.get(u32::MAX).map(|s| s.max_span), Some(9));
        assert_eq!(m.get(5000).map(|s| s.max_span), Some(5));
        assert!(m.dense.len() < 1 << 20, "a far id does not grow the vec");
        // Filling in the ids below 5000 moves it into the vec.
        for t in 0..5000 {
            m.entry(t);
        }
        m.entry(5001);
        assert_eq!(m.get(5000).map(|s| s.max_span), Some(5));
        assert!(m.sparse.len() == 1, "only u32::MAX stays sparse");
        assert_eq!(m.span(), u64::from(u32::MAX) + 1);
        assert_eq!(m.iter().filter(|(_, s)| s.max_span > 0).count(), 3);
    }

    #[test]
    fn reserve_makes_the_site_s_ids_dense_exactly() {
        let mut m = TagMap::default();
        m.entry(70_000).max_span = 7; // sparse: far past the dense range
        m.entry(2).max_span = 2;
        m.reserve(100_000);
        assert_eq!((m.dense.len(), m.dense.capacity()), (100_000, 100_000));
        assert!(m.sparse.is_empty());
        assert_eq!((m.get(70_000).map(|s| s.max_span), m.get(2).map(|s| s.max_span)), (Some(7), Some(2)));
        m.reserve(10);
        assert_eq!(m.dense.len(), 100_000, "never shrinks");
    }
}
