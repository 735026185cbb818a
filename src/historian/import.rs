//! Bulk import of a tag's history: samples that are already complete (history
//! moved over from another system, or a store generated for a scale test) go
//! straight into compacted chunks, skipping the pending-block stage that live
//! appends use. One call is one durable commit, like [`Historian::append`].

use super::codec::encode;
use super::tables::{CHUNKS, SPANS};
use super::{Historian, HistorianError, Result, Sample, TagId, encode_fitting, first_try, insert_unique, key_of};

impl Historian {
    /// Stores `samples` of `tag` as compacted chunks in one durable commit.
    ///
    /// Samples of another tag are refused ([`HistorianError::ImportTagMismatch`]);
    /// the samples are sorted by timestamp first if needed (stable, so duplicates keep
    /// their order). Data already stored for `tag` is kept: ranges may overlap, and
    /// queries merge them as they do for out-of-order appends.
    pub fn import(&mut self, tag: TagId, samples: &[Sample]) -> Result<()> {
        if let Some(other) = samples.iter().find(|s| s.tag != tag) {
            return Err(HistorianError::ImportTagMismatch { tag, found: other.tag });
        }
        if samples.is_empty() {
            return Ok(());
        }
        let sorted;
        let samples = if samples.is_sorted_by_key(|s| s.ts_ms) {
            samples
        } else {
            let mut v = samples.to_vec();
            v.sort_by_key(|s| s.ts_ms);
            sorted = v;
            &sorted[..]
        };
        let target = self.chunk_target;
        let old_span = self.tags.get(tag).map_or(0, |s| s.max_span);
        let mut span = old_span;
        let txn = self.db.begin_write()?;
        {
            let mut chunks = txn.open_table(CHUNKS)?;
            let mut buf = Vec::new();
            let mut rest = samples;
            let mut last = 0;
            while !rest.is_empty() {
                let n = if rest.len() > 64 {
                    last = encode_fitting(&rest[..first_try(last, target).min(rest.len())], self.chunk_bytes, &mut buf);
                    last
                } else {
                    encode(rest, &mut buf);
                    rest.len()
                };
                let key = insert_unique(&mut chunks, key_of(tag, &rest[..n]), &buf)?;
                span = span.max(key.span());
                rest = &rest[n..];
            }
            if span > old_span {
                txn.open_table(SPANS)?.insert(tag, span)?;
            }
        }
        txn.commit()?;
        self.tags.entry(tag).max_span = span;
        Ok(())
    }
}
