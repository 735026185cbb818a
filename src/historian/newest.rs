//! The newest stored time of each tag, from chunk and block keys alone (no decoding).
//!
//! A writer that keeps each tag's stored times increasing (the daemon, see the module
//! doc) asks once at start; later it knows what it stored itself.

use redb::ReadableDatabase;

use super::tables::{CHUNKS, ChunkKey};
use super::{Historian, Result, TagId};

impl Historian {
    /// The largest timestamp stored for each of `tags` (`None`: nothing stored), in one
    /// read transaction. Per tag it reads the keys of the chunks that can hold the
    /// newest sample (those starting at most one max span before the last chunk's start)
    /// and the pending blocks' keys and open samples kept in memory.
    pub fn newest_ts(&self, tags: &[TagId]) -> Result<Vec<Option<i64>>> {
        let txn = self.db.begin_read()?;
        let chunks = txn.open_table(CHUNKS)?;
        let mut out = Vec::with_capacity(tags.len());
        for &tag in tags {
            let st = self.tags.get(tag);
            let span = st.map_or(0, |s| s.max_span);
            let mut newest = st
                .and_then(|s| (!s.pending.is_empty()).then_some(s.pending_hi).into_iter().chain(s.open.max_ts()).max());
            let end = match tag.checked_add(1) {
                Some(next) => ChunkKey::lower(next, i64::MIN),
                None => (tag, i64::MAX, i64::MAX, u32::MAX, u64::MAX),
            };
            let last_start = match chunks.range(ChunkKey::lower(tag, i64::MIN)..end)?.next_back() {
                Some(item) => Some(item?.0.value().1),
                None => None,
            };
            if let Some(start) = last_start {
                // A chunk holding a later sample than the last chunk's starts at most
                // `span` before it (chunks may overlap when samples came out of order).
                for item in chunks.range(ChunkKey::lower(tag, start.saturating_sub(span))..end)? {
                    let key = ChunkKey::from_tuple(item?.0.value());
                    newest = Some(newest.map_or(key.max_ts, |n| n.max(key.max_ts)));
                }
            }
            out.push(newest);
        }
        Ok(out)
    }
}
