//! A tag's pending-block sequence numbers, in append order. A tag holds one per flush until
//! its merge round (up to about 17; 8.5 on average over 100,000 tags), and the numbers of
//! one tag lie close together (a flush numbers its blocks in tag order, so a tag's next
//! number is about one flush's block count further): the first is kept whole and the others
//! as their 4-byte distance from it, half the bytes of a list of `u64`. A number before the
//! first or 2^32 or more past it (a tag left with one old block for weeks) turns the list
//! into plain `u64`s.

/// See the module.
#[derive(Clone, Debug)]
pub(super) enum Seqs {
    /// The first number and the others' distances from it.
    Near(u64, Vec<u32>),
    /// Any numbers (also the empty list).
    Far(Vec<u64>),
}

impl Default for Seqs {
    fn default() -> Self {
        Seqs::Far(Vec::new())
    }
}

impl Seqs {
    pub(super) fn len(&self) -> usize {
        match self {
            Seqs::Near(_, rest) => 1 + rest.len(),
            Seqs::Far(all) => all.len(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(super) fn first(&self) -> Option<u64> {
        match self {
            Seqs::Near(first, _) => Some(*first),
            Seqs::Far(all) => all.first().copied(),
        }
    }

    /// The numbers, in append order.
    pub(super) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..self.len()).map(move |i| match self {
            Seqs::Near(first, _) if i == 0 => *first,
            Seqs::Near(first, rest) => first + u64::from(rest[i - 1]),
            Seqs::Far(all) => all[i],
        })
    }

    pub(super) fn push(&mut self, seq: u64) {
        match self {
            Seqs::Far(all) if all.is_empty() => *self = Seqs::Near(seq, Vec::new()),
            Seqs::Far(all) => all.push(seq),
            Seqs::Near(first, rest) => match seq.checked_sub(*first).and_then(|d| u32::try_from(d).ok()) {
                Some(d) => rest.push(d),
                None => {
                    let mut all: Vec<u64> = self.iter().collect();
                    all.push(seq);
                    *self = Seqs::Far(all);
                }
            },
        }
    }

    /// Forgets every number and frees the list.
    pub(super) fn clear(&mut self) {
        *self = Seqs::default();
    }

    /// Room for the next number when the list is full: four more, up to `most` in all
    /// (a plain `Vec` doubles, and about a third of every tag's list stayed unused).
    pub(super) fn reserve_one(&mut self, most: usize) {
        let len = self.len();
        match self {
            Seqs::Near(_, rest) if rest.len() == rest.capacity() => {
                let want = (rest.capacity() + 4).min(most.saturating_sub(1));
                rest.reserve_exact(want.saturating_sub(rest.len()));
            }
            Seqs::Far(all) if len > 0 && all.len() == all.capacity() => {
                let want = (all.capacity() + 4).min(most);
                all.reserve_exact(want.saturating_sub(all.len()));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_back_in_order_near_or_far() {
        let mut s = Seqs::default();
        assert!(s.is_empty() && s.first().is_none() && s.iter().next().is_none());
        let near = [1_000_000u64, 1_100_000, 1_200_007, 1_000_000 + u64::from(u32::MAX)];
        for (i, &q) in near.iter().enumerate() {
            s.reserve_one(18);
            s.push(q);
            assert_eq!(s.len(), i + 1);
        }
        assert!(matches!(s, Seqs::Near(..)));
        assert_eq!(s.iter().collect::<Vec<_>>(), near);
        assert_eq!(s.first(), Some(1_000_000));
        // Before the first, or too far past it: plain numbers from then on.
        for far in [999_999u64, 1_000_000 + (1 << 32)] {
            let mut t = s.clone();
            t.push(far);
            t.push(7);
            assert!(matches!(t, Seqs::Far(_)));
            let mut want = near.to_vec();
            want.extend([far, 7]);
            assert_eq!(t.iter().collect::<Vec<_>>(), want);
            assert_eq!((t.len(), t.first()), (6, Some(1_000_000)));
        }
        s.clear();
        assert!(s.is_empty());
        s.push(u64::MAX);
        s.push(u64::MAX);
        assert_eq!(s.iter().collect::<Vec<_>>(), [u64::MAX, u64::MAX]);
    }

    #[test]
    fn the_list_grows_by_four_up_to_the_most() {
        let mut s = Seqs::default();
        for q in 0..17u64 {
            s.reserve_one(18);
            s.push(q * 100_000);
        }
        let Seqs::Near(_, rest) = &s else { panic!("near") };
        assert_eq!(rest.len(), 16);
        assert!(rest.capacity() <= 17, "capacity {}", rest.capacity());
    }
}
