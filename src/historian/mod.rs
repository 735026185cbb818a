//! Historian: the time-series store of mimic.
//!
//! Every polled sample (tag, timestamp, value, quality) is stored durably in the
//! embedded redb file and can be read back as raw samples (`query`) or as
//! min/max trend columns (`downsample`). The historian owns only its own tables
//! (`historian.*`); other modules may add tables to the same [`redb::Database`]
//! (see [`Historian::database`]). It does not poll, decide what to record,
//! interpolate, or know about units: values are opaque f64, quality an opaque
//! code (0 = Good).
//!
//! # Layout
//!
//! * `historian.tags`: tag name -> id (ids are dense, assigned on first use).
//! * `historian.journal`: each [`Historian::append`] writes, in ONE redb commit
//!   with immediate durability, the batch as one row (see `write`). A crash can
//!   lose only the batch being committed, never corrupt older data.
//! * `historian.packs` (and `historian.pack_dead`): every minute or so the journal's
//!   samples become one compressed block per tag, written side by side into packs of
//!   many tags' blocks keyed by a global sequence number, so a flush only appends
//!   pages (see `packs`). `historian.blocks` held one block per entry in stores
//!   written before packs; such blocks are still read and merged.
//! * `historian.chunks`: when a tag's blocks hold about `chunk_target` samples,
//!   a later append merges them (sorted by ts) into big chunks of up to
//!   `chunk_target` samples and deletes the blocks in the same commit.
//!   Chunks are also capped at 4000 encoded bytes so one fills a redb page.
//!   A tag with more than about 64 pending blocks (a slow tag: one sample per
//!   append) has them merged into one block, so pending blocks (on disk and their
//!   keys in memory) stay bounded whatever the rate.
//! * `historian.spans`: per tag the largest `max_ts - min_ts` of any chunk,
//!   so a range query knows how far before `from` an overlapping chunk can start.
//!
//! Chunks are keyed by [`ChunkKey`] `(tag, min_ts, max_ts, count, seq)`, blocks
//! by `(seq, tag, min_ts, max_ts, count)`: queries choose chunks from keys
//! alone, `stats` sums counts from keys, retention drops whole chunks whose
//! `max_ts` is too old.
//!
//! # Time order
//!
//! The store takes samples in any order: one older than its tag's newest (a clock
//! stepped back, a late device timestamp, a backfill) is stored as it comes, into a
//! block of its own batch — chunks may then overlap in time, `seq` keeps keys unique,
//! timestamps are delta-of-delta encoded with wrapping arithmetic (negative deltas are
//! fine), compaction sorts, and queries merge and sort by timestamp (stable, so
//! duplicates keep their order). Such a sample never corrupts a chunk nor fails its
//! batch (tests: `late_samples_*`). What the store does not do is judge time.
//! The daemon does, as its policy for live data (`daemon::clock::Monotone`): per tag,
//! stored times never go backwards — a sample older than the tag's newest stored one
//! is stored 1 ms after it with quality Uncertain (time adjusted); [`Historian::newest_ts`]
//! tells it where each tag stands when it starts.
//!
//! Values: decimal mode bit-packs the zigzag deltas (groups of 128, 7-bit
//! width each), so a 1 Hz register signal costs well under a byte a sample.
//!
//! Chunk encoding (see `codec`): delta-of-delta timestamps with zero runs,
//! values as deltas of scaled integers when every value is exactly `n / 10^k`
//! (k <= 6, typical for Modbus registers), otherwise Gorilla XOR; quality
//! run-length encoded. The header carries a summary (min, max, first, last over
//! Good samples, bad count) so `downsample` decodes only chunks straddling a
//! column boundary and uses the summary of the others: exact and fast.
//!
//! In memory we keep per tag only the pending block keys (in append order), the max
//! span, and the open samples (journal rows not yet flushed) encoded at about two bytes
//! a sample (see `open`), rebuilt when the store opens from the small `blocks`, `spans`,
//! `packs` and `journal` tables (see `startup`).

mod bits;
mod codec;
#[cfg(test)]
mod codec_tests;
mod codec_v1;
pub mod devices;
mod import;
#[cfg(test)]
mod live_tests;
mod newest;
mod open;
mod order;
pub use order::keep_capacity;
mod pack;
mod packs;
mod query;
mod seqs;
mod startup;
mod tables;
mod tagmap;
#[cfg(test)]
mod tests;
mod unavailable;
mod write;

use std::path::PathBuf;
use std::time::Duration;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use codec::{CodecError, Decoded, decode_into};
use packs::{PACK_DEAD, PACKS};
pub use query::Keep;
pub use tables::ChunkKey;
use tables::{BLOCKS, CHUNKS, JOURNAL, TAGS};
use write::{encode_fitting, first_try, insert_unique, key_of};

pub type TagId = u32;

/// One sample of one tag.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    pub tag: TagId,
    pub ts_ms: i64,
    pub value: f64,
    /// Opaque quality code, 0 = Good.
    pub quality: u16,
}

#[derive(Clone, Debug)]
pub struct HistorianOptions {
    /// Chunks whose newest sample is older than `now - retention` are dropped
    /// by [`Historian::apply_retention`]. `None` keeps everything.
    pub retention: Option<Duration>,
    /// Target number of samples per compacted chunk (clamped to 1..=1<<20;
    /// default 4096). Chunks are also cut at `chunk_bytes` encoded bytes.
    pub chunk_target: usize,
    /// redb's page cache, in bytes (default 32 MiB). redb's own default is 1 GiB, which
    /// an edge box ingesting thousands of tags fills with dirty pages.
    pub cache_bytes: usize,
    /// Small appends go to the journal; every this many appends (default 60) the open
    /// samples are flushed into per-tag blocks (see the `write` module).
    pub flush_appends: usize,
    /// ... or as soon as this many samples are open (default 131,072: about 3 MB).
    pub flush_samples: usize,
    /// Every this many flushes (default 16), each tag's pending blocks are merged (one
    /// slice of the tags at each flush).
    pub merge_every: u32,
    /// Largest encoded chunk, in bytes (default 4000, clamped to 256..=1 MiB); see
    /// `write::MAX_CHUNK_BYTES`.
    pub chunk_bytes: usize,
}

impl Default for HistorianOptions {
    fn default() -> Self {
        HistorianOptions {
            retention: None,
            chunk_target: 4096,
            cache_bytes: 32 << 20,
            flush_appends: 60,
            flush_samples: 131_072,
            merge_every: 16,
            chunk_bytes: write::MAX_CHUNK_BYTES,
        }
    }
}

/// One trend column of [`Historian::downsample`].
///
/// min/max/first/last/count cover Good samples only; `bad` counts the others.
/// Columns with no sample at all are omitted; a column with only bad samples
/// has `count == 0` and NaN min/max/first/last.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub start_ms: i64,
    pub end_ms: i64,
    pub min: f64,
    pub max: f64,
    pub first: f64,
    pub last: f64,
    pub count: u64,
    pub bad: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Samples stored (chunks and pending blocks).
    pub samples: u64,
    /// Chunks stored, pending blocks included.
    pub chunks: u64,
    /// Of which pending (not yet compacted) blocks.
    pub pending_blocks: u64,
    /// Samples in journal rows, not yet in a block (counted in `samples`).
    pub open_samples: u64,
    /// Size of the database file (includes other modules' tables and free pages).
    pub file_bytes: u64,
    /// Bytes of the historian's chunk, block and journal tables (stored + metadata +
    /// fragmented, as reported by redb).
    pub table_bytes: u64,
    /// Of which: the chunks table, the blocks table, the journal (same measure).
    pub chunk_table_bytes: u64,
    pub block_table_bytes: u64,
    pub journal_bytes: u64,
    /// Bytes of the chunks' and blocks' encoded values alone (no keys, no page slack).
    pub value_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum HistorianError {
    #[error("historian database: {0}")]
    Database(#[from] redb::DatabaseError),
    #[error("historian transaction: {0}")]
    Transaction(#[from] redb::TransactionError),
    #[error("historian table: {0}")]
    Table(#[from] redb::TableError),
    #[error("historian storage: {0}")]
    Storage(#[from] redb::StorageError),
    #[error("historian commit: {0}")]
    Commit(#[from] redb::CommitError),
    #[error("historian file: {0}")]
    Io(#[from] std::io::Error),
    #[error("corrupt historian chunk of tag {tag} (key {key:?}): {reason}")]
    CorruptChunk { tag: TagId, key: ChunkKey, reason: &'static str },
    #[error("corrupt historian pack {pack}: {reason}")]
    CorruptPack { pack: u64, reason: &'static str },
    #[error("corrupt historian journal row {row}: {reason}")]
    CorruptJournal { row: u64, reason: &'static str },
    #[error("no tag id left")]
    TagIdsExhausted,
    #[error("import into tag {tag} was given a sample of tag {found}")]
    ImportTagMismatch { tag: TagId, found: TagId },
}

type Result<T> = std::result::Result<T, HistorianError>;

fn corrupt(key: ChunkKey, e: CodecError) -> HistorianError {
    HistorianError::CorruptChunk { tag: key.tag, key, reason: e.0 }
}

/// In-memory bookkeeping of one tag.
#[derive(Clone, Debug, Default)]
struct TagState {
    max_span: i64,
    /// Sequence numbers of the pending blocks, in append order (their keys are in their
    /// packs' directories: about 4 bytes a block here instead of 32).
    pending: seqs::Seqs,
    /// Smallest and largest timestamp over the pending blocks (when there are any).
    pending_lo: i64,
    pending_hi: i64,
    pending_samples: u64,
    /// Samples committed in journal rows, not yet flushed into a block.
    open: open::OpenRun,
    /// Length of the tag's last sealed chunk: the first length tried for the next
    /// one (saves encoding a full target's worth only to cut it by size).
    chunk_len: u32,
}

impl TagState {
    /// Counts pending block `key` in.
    fn add_pending(&mut self, key: ChunkKey) {
        if self.pending.is_empty() {
            (self.pending_lo, self.pending_hi) = (key.min_ts, key.max_ts);
        } else {
            self.pending_lo = self.pending_lo.min(key.min_ts);
            self.pending_hi = self.pending_hi.max(key.max_ts);
        }
        self.pending.push(key.seq);
        self.pending_samples += u64::from(key.count);
        self.max_span = self.max_span.max(key.span());
    }

    /// True if a pending block may hold samples in [from, to).
    fn pending_overlaps(&self, from: i64, to: i64) -> bool {
        !self.pending.is_empty() && self.pending_hi >= from && self.pending_lo < to
    }
}

pub struct Historian {
    db: Database,
    path: PathBuf,
    chunk_target: usize,
    chunk_bytes: usize,
    cache_bytes: usize,
    retention: Option<Duration>,
    flush_appends: usize,
    flush_samples: usize,
    merge_every: u64,
    tags: tagmap::TagMap,
    /// Which entries of the packs of pending blocks are live (see `packs`).
    packs: packs::Packs,
    next_tag: u64,
    next_block: u64,
    /// Keys of the journal rows (in order), their samples open in `tags`.
    journal: Vec<u64>,
    next_journal: u64,
    open_samples: usize,
    /// Flushes since the store was opened (a merge round every `merge_every`).
    flushes: u64,
    /// An append's buffers, reused (see `order::Scratch`).
    scratch: order::Scratch,
}

impl Historian {
    /// The underlying database, for other modules' tables.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Id of tag `name`, assigned (and committed) on first use.
    pub fn tag_id(&mut self, name: &str) -> Result<TagId> {
        if let Some(id) = self.lookup(name)? {
            return Ok(id);
        }
        let id = TagId::try_from(self.next_tag).map_err(|_| HistorianError::TagIdsExhausted)?;
        let txn = self.db.begin_write()?;
        txn.open_table(TAGS)?.insert(name, id)?;
        txn.commit()?;
        self.next_tag += 1;
        Ok(id)
    }

    /// Ids of `names` (in order), the new ones assigned and committed together in one
    /// transaction: a site of 10,000 new tags starts with one commit, not 10,000.
    pub fn tag_ids<S: AsRef<str>>(&mut self, names: &[S]) -> Result<Vec<TagId>> {
        let mut ids = Vec::with_capacity(names.len());
        let txn = self.db.begin_write()?;
        let mut next = self.next_tag;
        {
            let mut table = txn.open_table(TAGS)?;
            for name in names {
                let name = name.as_ref();
                let known = table.get(name)?.map(|v| v.value());
                let id = match known {
                    Some(id) => id,
                    None => {
                        let id = TagId::try_from(next).map_err(|_| HistorianError::TagIdsExhausted)?;
                        table.insert(name, id)?;
                        next += 1;
                        id
                    }
                };
                ids.push(id);
            }
        }
        if next == self.next_tag {
            txn.abort()?;
        } else {
            txn.commit()?;
            self.next_tag = next;
        }
        self.tags.reserve(usize::try_from(self.next_tag).unwrap_or(usize::MAX));
        Ok(ids)
    }

    pub fn lookup(&self, name: &str) -> Result<Option<TagId>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TAGS)?;
        Ok(table.get(name)?.map(|v| v.value()))
    }

    /// All tags, sorted by id.
    pub fn tag_names(&self) -> Result<Vec<(TagId, String)>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TAGS)?;
        let mut out = Vec::new();
        for item in table.iter()? {
            let (name, id) = item?;
            out.push((id.value(), name.value().to_string()));
        }
        out.sort_unstable_by_key(|&(id, _)| id);
        Ok(out)
    }

    /// Samples of `tag` with `from_ms <= ts < to_ms`, sorted by ts.
    pub fn query(&self, tag: TagId, from_ms: i64, to_ms: i64) -> Result<Vec<Sample>> {
        let mut out = Vec::new();
        if from_ms >= to_ms {
            return Ok(out);
        }
        let txn = self.db.begin_read()?;
        let mut d = Decoded::default();
        self.scan(&txn, tag, from_ms, to_ms, |key, bytes| {
            d.clear();
            decode_into(bytes, &mut d).map_err(|e| corrupt(key, e))?;
            check_count(key, &d)?;
            let inside = key.min_ts >= from_ms && key.max_ts < to_ms;
            out.reserve(d.len());
            for i in 0..d.len() {
                let ts = d.ts[i];
                if inside || (ts >= from_ms && ts < to_ms) {
                    out.push(Sample { tag, ts_ms: ts, value: d.values[i], quality: d.quality[i] });
                }
            }
            Ok(())
        })?;
        for s in self.open_of(tag) {
            if s.ts_ms >= from_ms && s.ts_ms < to_ms {
                out.push(s);
            }
        }
        if !out.is_sorted_by_key(|s| s.ts_ms) {
            out.sort_by_key(|s| s.ts_ms);
        }
        Ok(out)
    }

    /// Trend of `tag` over [from, to) in `columns` equal time slices; see [`Column`].
    /// `columns` is clamped to the number of milliseconds in the range and to 65536.
    pub fn downsample(&self, tag: TagId, from_ms: i64, to_ms: i64, columns: usize) -> Result<Vec<Column>> {
        query::downsample(self, tag, from_ms, to_ms, columns)
    }

    /// Flushes the journal's open samples into blocks now, in one durable commit (the
    /// daemon, when it stops: the next start has no journal to replay). Nothing to do
    /// when the journal is empty.
    pub fn flush_journal(&mut self) -> Result<()> {
        if self.journal.is_empty() {
            return Ok(());
        }
        let result = self.db.begin_write().map_err(HistorianError::from).and_then(|txn| {
            self.flush(&txn)?;
            txn.commit()?;
            Ok(())
        });
        if result.is_err() {
            self.reload_state();
        }
        result
    }

    /// Drops whole chunks whose newest sample is older than `now - retention` (the
    /// journal is flushed first, in the same commit). Returns the number of samples
    /// dropped.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<u64> {
        let result = self.retain(now_ms);
        if result.is_err() {
            self.reload_state();
        }
        result
    }

    fn retain(&mut self, now_ms: i64) -> Result<u64> {
        let Some(ret) = self.retention else {
            return Ok(0);
        };
        let ret_ms = i64::try_from(ret.as_millis()).unwrap_or(i64::MAX);
        let cutoff = now_ms.saturating_sub(ret_ms);
        let mut dropped = 0u64;
        let mut dropped_blocks = Vec::new();
        let txn = self.db.begin_write()?;
        if !self.journal.is_empty() {
            self.flush(&txn)?;
        }
        {
            let mut table = txn.open_table(CHUNKS)?;
            let mut doomed = Vec::new();
            let mut tag = 0u32;
            loop {
                // Jump to the next tag present in the table.
                let next = table.range(ChunkKey::lower(tag, i64::MIN)..)?.next();
                let Some(item) = next else { break };
                tag = item?.0.value().0;
                for item in table.range(ChunkKey::lower(tag, i64::MIN)..ChunkKey::lower(tag, cutoff))? {
                    let key = ChunkKey::from_tuple(item?.0.value());
                    if key.max_ts < cutoff {
                        doomed.push(key);
                    }
                }
                match tag.checked_add(1) {
                    Some(t) => tag = t,
                    None => break,
                }
            }
            for key in doomed {
                table.remove(key.tuple())?;
                dropped += u64::from(key.count);
            }
            // Pending blocks: their keys are in memory.
            let mut blocks = txn.open_table(BLOCKS)?;
            let mut packs = txn.open_table(PACKS)?;
            let mut cache = packs::PackCache::default();
            for (tag, st) in self.tags.iter_mut() {
                if !st.pending_overlaps(i64::MIN, cutoff) {
                    continue;
                }
                let mut keep = Vec::new();
                for seq in st.pending.iter() {
                    let key = cache.get(&self.packs, &packs, &blocks, tag, seq)?.0;
                    if key.max_ts < cutoff { dropped_blocks.push(key) } else { keep.push(key) }
                }
                st.pending.clear();
                st.pending_samples = 0;
                for key in keep {
                    st.add_pending(key);
                }
            }
            for key in &dropped_blocks {
                if !self.packs.consume(key.seq) {
                    blocks.remove(key.block_tuple())?;
                }
                dropped += u64::from(key.count);
            }
            self.packs.persist(&mut packs, &mut txn.open_table(PACK_DEAD)?)?;
        }
        txn.commit()?;
        Ok(dropped)
    }

    /// The samples of `tag` committed in journal rows and not yet in a block.
    fn open_of(&self, tag: TagId) -> impl Iterator<Item = Sample> + '_ {
        self.tags.get(tag).into_iter().flat_map(move |st| st.open.iter(tag))
    }

    /// Totals over all tags (reads every key: O(chunks)).
    pub fn stats(&self) -> Result<StoreStats> {
        let mut st = StoreStats::default();
        let txn = self.db.begin_read()?;
        let chunks = txn.open_table(CHUNKS)?;
        let blocks = txn.open_table(BLOCKS)?;
        let packs = txn.open_table(PACKS)?;
        let bytes = |ts: redb::TableStats| ts.stored_bytes() + ts.metadata_bytes() + ts.fragmented_bytes();
        st.chunk_table_bytes = bytes(chunks.stats()?);
        st.block_table_bytes =
            bytes(blocks.stats()?) + bytes(packs.stats()?) + bytes(txn.open_table(PACK_DEAD)?.stats()?);
        st.journal_bytes = bytes(txn.open_table(JOURNAL)?.stats()?);
        st.table_bytes = st.chunk_table_bytes + st.block_table_bytes + st.journal_bytes;
        for item in chunks.iter()? {
            let (k, v) = item?;
            st.samples += u64::from(ChunkKey::from_tuple(k.value()).count);
            st.value_bytes += v.value().len() as u64;
            st.chunks += 1;
        }
        for item in blocks.iter()? {
            st.value_bytes += item?.1.value().len() as u64;
        }
        for item in packs.iter()? {
            st.value_bytes += item?.1.value().len() as u64;
        }
        for t in self.tags.values() {
            st.samples += t.pending_samples;
            st.pending_blocks += t.pending.len() as u64;
        }
        st.chunks += st.pending_blocks;
        st.open_samples = self.open_samples as u64;
        st.samples += st.open_samples;
        st.file_bytes = std::fs::metadata(&self.path)?.len();
        Ok(st)
    }

    /// Calls `f` for every chunk and block of `tag` that may hold samples in
    /// [from, to): compacted chunks first (key order), then pending blocks
    /// (append order).
    fn scan(
        &self,
        txn: &redb::ReadTransaction,
        tag: TagId,
        from: i64,
        to: i64,
        mut f: impl FnMut(ChunkKey, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let span = self.tags.get(tag).map_or(0, |s| s.max_span);
        let lo = ChunkKey::lower(tag, from.saturating_sub(span));
        let hi = ChunkKey::lower(tag, to);
        let table = txn.open_table(CHUNKS)?;
        for item in table.range(lo..hi)? {
            let (k, v) = item?;
            let key = ChunkKey::from_tuple(k.value());
            if key.max_ts >= from {
                f(key, v.value())?;
            }
        }
        self.scan_pending(txn, tag, from..to, f)
    }

    /// Calls `f` for every pending block of `tag` that may hold samples in [from, to),
    /// in append order (at most about 64 a tag).
    fn scan_pending(
        &self,
        txn: &redb::ReadTransaction,
        tag: TagId,
        range: std::ops::Range<i64>,
        mut f: impl FnMut(ChunkKey, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let (from, to) = (range.start, range.end);
        let st = self.tags.get(tag);
        let pending = st.filter(|s| s.pending_overlaps(from, to)).into_iter().flat_map(|s| s.pending.iter());
        let blocks = txn.open_table(BLOCKS)?;
        let packs = txn.open_table(PACKS)?;
        let mut cache = packs::PackCache::default();
        for seq in pending {
            let (key, bytes) = cache.get(&self.packs, &packs, &blocks, tag, seq)?;
            if key.max_ts >= from && key.min_ts < to {
                f(key, bytes)?;
            }
        }
        Ok(())
    }
}

fn check_count(key: ChunkKey, d: &Decoded) -> Result<()> {
    if d.len() != key.count as usize {
        return Err(corrupt(key, CodecError("sample count differs from key")));
    }
    Ok(())
}
