//! redb table definitions of the historian and the chunk key type.

use redb::TableDefinition;

/// Raw chunk key tuple: (tag, min_ts, max_ts, count, seq).
pub(crate) type KeyTuple = (u32, i64, i64, u32, u64);
/// Raw block key tuple: (seq, tag, min_ts, max_ts, count). Blocks are keyed by
/// a global sequence number first so each append only adds pages at the right
/// edge of the tree (little write amplification); the per-tag list of pending
/// blocks is kept in memory.
pub(crate) type BlockTuple = (u64, u32, i64, i64, u32);

/// Tag name -> tag id.
pub(crate) const TAGS: TableDefinition<&str, u32> = TableDefinition::new("historian.tags");
/// Compacted chunks (up to `chunk_target` samples each).
pub(crate) const CHUNKS: TableDefinition<KeyTuple, &[u8]> = TableDefinition::new("historian.chunks");
/// Fresh blocks written by `append`, waiting to be merged into CHUNKS.
pub(crate) const BLOCKS: TableDefinition<BlockTuple, &[u8]> = TableDefinition::new("historian.blocks");
/// Small appends, one row each (see the `write` module): key = journal sequence,
/// value = the batch's samples. Replayed into memory on open; deleted by each flush.
pub(crate) const JOURNAL: TableDefinition<u64, &[u8]> = TableDefinition::new("historian.journal");
/// Per tag: largest `max_ts - min_ts` of any chunk or block ever written, so a
/// range query knows how far before `from` an overlapping chunk may start.
pub(crate) const SPANS: TableDefinition<u32, i64> = TableDefinition::new("historian.spans");

/// Key of one chunk or block. Everything a query needs to choose chunks is in
/// the key, so chunk selection never reads values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkKey {
    pub tag: u32,
    /// Smallest and largest timestamp in the chunk.
    pub min_ts: i64,
    pub max_ts: i64,
    /// Number of samples.
    pub count: u32,
    /// Chunks: disambiguates chunks that would otherwise have equal keys
    /// (duplicates). Blocks: global append sequence number.
    pub seq: u64,
}

impl ChunkKey {
    pub(crate) fn tuple(self) -> KeyTuple {
        (self.tag, self.min_ts, self.max_ts, self.count, self.seq)
    }

    pub(crate) fn from_tuple(t: KeyTuple) -> Self {
        ChunkKey { tag: t.0, min_ts: t.1, max_ts: t.2, count: t.3, seq: t.4 }
    }

    pub(crate) fn block_tuple(self) -> BlockTuple {
        (self.seq, self.tag, self.min_ts, self.max_ts, self.count)
    }

    pub(crate) fn from_block_tuple(t: BlockTuple) -> Self {
        ChunkKey { tag: t.1, min_ts: t.2, max_ts: t.3, count: t.4, seq: t.0 }
    }

    /// Smallest possible key of `tag` with `min_ts >= ts`.
    pub(crate) fn lower(tag: u32, ts: i64) -> KeyTuple {
        (tag, ts, i64::MIN, 0, 0)
    }

    pub(crate) fn span(self) -> i64 {
        self.max_ts.saturating_sub(self.min_ts)
    }
}
