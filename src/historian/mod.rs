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
//! * `historian.blocks`: each [`Historian::append`] writes, in ONE redb commit
//!   with immediate durability, one compressed block per tag of the batch. A
//!   crash can lose only the batch being committed, never corrupt older data.
//!   Blocks are keyed by a global sequence number first, so a commit only
//!   appends pages (a per-tag key would copy-on-write one leaf per tag).
//! * `historian.chunks`: when a tag's blocks hold about `chunk_target` samples,
//!   a later append merges them (sorted by ts) into big chunks of up to
//!   `chunk_target` samples and deletes the blocks in the same commit.
//!   Chunks are also capped at 1280 encoded bytes so three fill one redb page.
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
//! In memory we keep per tag only the pending block keys (in append order) and
//! the max span, rebuilt on `open` from the small `blocks` and `spans` tables.

mod bits;
mod codec;
#[cfg(test)]
mod codec_tests;
mod import;
mod newest;
mod order;
mod query;
mod tables;
#[cfg(test)]
mod tests;
mod unavailable;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

use codec::{CodecError, Decoded, decode_into, encode};
pub use tables::ChunkKey;
use tables::{BLOCKS, BlockTuple, CHUNKS, KeyTuple, SPANS, TAGS};

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
    /// default 4096). Chunks are also cut at 1280 encoded bytes, so three
    /// fill one redb page.
    pub chunk_target: usize,
    /// redb's page cache, in bytes (default 32 MiB). redb's own default is 1 GiB, which
    /// an edge box ingesting thousands of tags fills with dirty pages.
    pub cache_bytes: usize,
}

impl Default for HistorianOptions {
    fn default() -> Self {
        HistorianOptions { retention: None, chunk_target: 4096, cache_bytes: 32 << 20 }
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
    /// Size of the database file (includes other modules' tables and free pages).
    pub file_bytes: u64,
    /// Bytes of the historian's chunk and block tables (stored + metadata +
    /// fragmented, as reported by redb).
    pub table_bytes: u64,
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
    pending: Vec<ChunkKey>,
    pending_samples: u64,
    /// Length of the tag's last sealed chunk: the first length tried for the next
    /// one (saves encoding a full target's worth only to cut it by size).
    chunk_len: usize,
}

/// Encoded chunks are kept under this size so three share one 4 KiB redb
/// leaf page (bigger chunks would waste up to half a page each, and make
/// `downsample` decode more samples per column boundary).
const MAX_CHUNK_BYTES: usize = 1280;

pub struct Historian {
    db: Database,
    path: PathBuf,
    chunk_target: usize,
    cache_bytes: usize,
    retention: Option<Duration>,
    tags: HashMap<TagId, TagState>,
    next_tag: u64,
    next_block: u64,
}

type ChunkTable<'t> = redb::Table<'t, KeyTuple, &'static [u8]>;
type BlockTable<'t> = redb::Table<'t, BlockTuple, &'static [u8]>;

impl Historian {
    /// Opens (or creates) the store. redb repairs a file left by a crashed
    /// process on open; only committed appends are visible.
    pub fn open(path: &Path, opts: HistorianOptions) -> Result<Self> {
        let db = redb::Builder::new().set_cache_size(opts.cache_bytes).create(path)?;
        let mut next_tag = 0u64;
        let txn = db.begin_write()?;
        let (tags, next_block) = {
            let names = txn.open_table(TAGS)?;
            for item in names.iter()? {
                let (_, id) = item?;
                next_tag = next_tag.max(u64::from(id.value()) + 1);
            }
            txn.open_table(CHUNKS)?;
            load_state(&txn.open_table(SPANS)?, &txn.open_table(BLOCKS)?)?
        };
        txn.commit()?;
        Ok(Historian {
            db,
            path: path.to_path_buf(),
            chunk_target: opts.chunk_target.clamp(1, 1 << 20),
            cache_bytes: opts.cache_bytes,
            retention: opts.retention,
            tags,
            next_tag,
            next_block,
        })
    }

    /// Closes the store file and opens it again, as after a restart (redb repairs it if
    /// needed). redb refuses every transaction after a failed commit (disk full, I/O
    /// error) until the file is reopened; this is how a writer resumes once the cause is
    /// gone. If the file cannot be reopened, every operation fails until a later
    /// `reopen` succeeds: nothing is ever kept anywhere but in the file.
    pub fn reopen(&mut self) -> Result<()> {
        let stand_in = unavailable::database()?;
        drop(std::mem::replace(&mut self.db, stand_in));
        let opts = HistorianOptions {
            retention: self.retention,
            chunk_target: self.chunk_target,
            cache_bytes: self.cache_bytes,
        };
        *self = Historian::open(&self.path, opts)?;
        Ok(())
    }

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

    /// Stores `batch` in one durable commit (may also compact older blocks).
    pub fn append(&mut self, batch: &[Sample]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let sorted = order::sorted_by_tag_and_time(batch); // stable: duplicates keep order
        let result = self.append_sorted(&sorted);
        if result.is_err() {
            // Nothing was committed but the bookkeeping was updated in place:
            // rebuild it from the store (best effort; the first error wins).
            let reloaded = self
                .db
                .begin_read()
                .map_err(HistorianError::from)
                .and_then(|t| load_state(&t.open_table(SPANS)?, &t.open_table(BLOCKS)?));
            if let Ok((tags, next_block)) = reloaded {
                self.tags = tags;
                self.next_block = self.next_block.max(next_block);
            }
        }
        result
    }

    /// `append` on a batch sorted by (tag, ts). Updates the bookkeeping in
    /// place; the caller restores it if this fails.
    fn append_sorted(&mut self, sorted: &[Sample]) -> Result<()> {
        let target = self.chunk_target;
        let mut seq = self.next_block;
        let txn = self.db.begin_write()?;
        {
            let mut blocks = txn.open_table(BLOCKS)?;
            let mut chunks = txn.open_table(CHUNKS)?;
            let mut spans = txn.open_table(SPANS)?;
            let mut buf = Vec::new();
            let mut scratch = Decoded::default();
            for group in sorted.chunk_by(|a, b| a.tag == b.tag) {
                let tag = group[0].tag;
                let st = self.tags.entry(tag).or_default();
                let old_span = st.max_span;
                for piece in group.chunks(target) {
                    encode(piece, &mut buf);
                    let key = ChunkKey { seq, ..key_of(tag, piece) };
                    seq += 1;
                    blocks.insert(key.block_tuple(), buf.as_slice())?;
                    st.pending.push(key);
                    st.pending_samples += u64::from(key.count);
                    st.max_span = st.max_span.max(key.span());
                }
                if st.pending_samples >= compaction_threshold(tag, target) || st.pending.len() >= block_threshold(tag) {
                    compact(&mut blocks, &mut chunks, tag, st, &mut seq, target, &mut buf, &mut scratch)?;
                }
                if st.max_span > old_span {
                    spans.insert(tag, st.max_span)?;
                }
            }
        }
        self.next_block = seq;
        txn.commit()?;
        Ok(())
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

    /// Drops whole chunks whose newest sample is older than `now - retention`.
    /// Returns the number of samples dropped.
    pub fn apply_retention(&mut self, now_ms: i64) -> Result<u64> {
        let Some(ret) = self.retention else {
            return Ok(0);
        };
        let ret_ms = i64::try_from(ret.as_millis()).unwrap_or(i64::MAX);
        let cutoff = now_ms.saturating_sub(ret_ms);
        let mut dropped = 0u64;
        let mut dropped_blocks = Vec::new();
        let txn = self.db.begin_write()?;
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
            // Blocks: a small table, scanned whole.
            let mut blocks = txn.open_table(BLOCKS)?;
            for item in blocks.iter()? {
                let key = ChunkKey::from_block_tuple(item?.0.value());
                if key.max_ts < cutoff {
                    dropped_blocks.push(key);
                }
            }
            for key in &dropped_blocks {
                blocks.remove(key.block_tuple())?;
                dropped += u64::from(key.count);
            }
        }
        txn.commit()?;
        for key in dropped_blocks {
            if let Some(st) = self.tags.get_mut(&key.tag)
                && let Some(i) = st.pending.iter().position(|k| *k == key)
            {
                st.pending.remove(i);
                st.pending_samples -= u64::from(key.count);
            }
        }
        Ok(dropped)
    }

    /// Totals over all tags (reads every key: O(chunks)).
    pub fn stats(&self) -> Result<StoreStats> {
        let mut st = StoreStats::default();
        let txn = self.db.begin_read()?;
        let chunks = txn.open_table(CHUNKS)?;
        let blocks = txn.open_table(BLOCKS)?;
        for ts in [chunks.stats()?, blocks.stats()?] {
            st.table_bytes += ts.stored_bytes() + ts.metadata_bytes() + ts.fragmented_bytes();
        }
        for item in chunks.iter()? {
            st.samples += u64::from(ChunkKey::from_tuple(item?.0.value()).count);
            st.chunks += 1;
        }
        for item in blocks.iter()? {
            st.samples += u64::from(ChunkKey::from_block_tuple(item?.0.value()).count);
            st.chunks += 1;
            st.pending_blocks += 1;
        }
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
        let st = self.tags.get(&tag);
        let span = st.map_or(0, |s| s.max_span);
        let pending = st.map_or(&[][..], |s| &s.pending[..]);
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
        let blocks = txn.open_table(BLOCKS)?;
        for &key in pending {
            if key.max_ts >= from && key.min_ts < to {
                let v = blocks
                    .get(key.block_tuple())?
                    .ok_or_else(|| corrupt(key, CodecError("pending block missing from the store")))?;
                f(key, v.value())?;
            }
        }
        Ok(())
    }
}

/// Rebuilds the per-tag bookkeeping from the spans and blocks tables;
/// returns it with the next free block sequence number.
fn load_state(
    spans: &impl ReadableTable<u32, i64>,
    blocks: &impl ReadableTable<BlockTuple, &'static [u8]>,
) -> Result<(HashMap<TagId, TagState>, u64)> {
    let mut tags: HashMap<TagId, TagState> = HashMap::new();
    let mut next_block = 0u64;
    for item in spans.iter()? {
        let (tag, span) = item?;
        tags.entry(tag.value()).or_default().max_span = span.value();
    }
    for item in blocks.iter()? {
        let (k, _) = item?;
        let key = ChunkKey::from_block_tuple(k.value());
        next_block = next_block.max(key.seq + 1);
        let st = tags.entry(key.tag).or_default();
        st.pending.push(key);
        st.pending_samples += u64::from(key.count);
        st.max_span = st.max_span.max(key.span());
    }
    Ok((tags, next_block))
}

fn check_count(key: ChunkKey, d: &Decoded) -> Result<()> {
    if d.len() != key.count as usize {
        return Err(corrupt(key, CodecError("sample count differs from key")));
    }
    Ok(())
}

/// Pending samples at which a tag's blocks are compacted. Staggered per tag
/// (between 1 and 1.5 chunk targets) so tags fed in lockstep do not all
/// compact in the same append.
fn compaction_threshold(tag: TagId, target: usize) -> u64 {
    let spread = (u64::from(tag).wrapping_mul(2_654_435_761) >> 7) % (target as u64 / 2 + 1);
    target as u64 + spread
}

/// Pending blocks at which a tag's blocks are merged (the samples stay pending
/// unless they fill a chunk). Staggered per tag between 48 and 79, like
/// [`compaction_threshold`]. Without it, a tag appended one sample per second
/// would keep `chunk_target` blocks (an hour and more) on disk and their keys in
/// memory: 2 GB of keys at 10,000 tags.
fn block_threshold(tag: TagId) -> usize {
    48 + ((u64::from(tag).wrapping_mul(2_654_435_761) >> 11) % 32) as usize
}

/// Key of a run of samples of `tag` (sorted by ts).
fn key_of(tag: TagId, piece: &[Sample]) -> ChunkKey {
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for s in piece {
        lo = lo.min(s.ts_ms);
        hi = hi.max(s.ts_ms);
    }
    ChunkKey { tag, min_ts: lo, max_ts: hi, count: piece.len() as u32, seq: 0 }
}

/// Inserts under `key`, bumping `seq` while the key is taken (duplicates).
fn insert_unique(table: &mut ChunkTable<'_>, mut key: ChunkKey, bytes: &[u8]) -> Result<ChunkKey> {
    loop {
        let old = table.insert(key.tuple(), bytes)?.map(|g| g.value().to_vec());
        let Some(old) = old else {
            return Ok(key);
        };
        table.insert(key.tuple(), old.as_slice())?;
        key.seq = key.seq.wrapping_add(1);
    }
}

/// Merges the pending blocks of one tag into chunks of up to `target` samples
/// (and at most [`MAX_CHUNK_BYTES`]); a remainder stays a pending block.
#[allow(clippy::too_many_arguments)]
fn compact(
    blocks: &mut BlockTable<'_>,
    chunks: &mut ChunkTable<'_>,
    tag: TagId,
    st: &mut TagState,
    seq: &mut u64,
    target: usize,
    buf: &mut Vec<u8>,
    d: &mut Decoded,
) -> Result<()> {
    d.clear();
    for key in std::mem::take(&mut st.pending) {
        if let Some(v) = blocks.remove(key.block_tuple())? {
            let before = d.len();
            decode_into(v.value(), d).map_err(|e| corrupt(key, e))?;
            if d.len() - before != key.count as usize {
                return Err(corrupt(key, CodecError("sample count differs from key")));
            }
        }
    }
    st.pending_samples = 0;
    let mut samples: Vec<Sample> =
        (0..d.len()).map(|i| Sample { tag, ts_ms: d.ts[i], value: d.values[i], quality: d.quality[i] }).collect();
    if !samples.is_sorted_by_key(|s| s.ts_ms) {
        samples.sort_by_key(|s| s.ts_ms);
    }
    let mut rest = &samples[..];
    // Once a chunk was cut by size, seal every piece that fills a chunk too.
    let mut need = target;
    while rest.len() >= need {
        let n = encode_fitting(&rest[..first_try(st.chunk_len, target).min(rest.len())], buf);
        st.chunk_len = n;
        need = need.min(n);
        let key = insert_unique(chunks, key_of(tag, &rest[..n]), buf)?;
        st.max_span = st.max_span.max(key.span());
        rest = &rest[n..];
    }
    if !rest.is_empty() {
        encode(rest, buf);
        let key = ChunkKey { seq: *seq, ..key_of(tag, rest) };
        *seq += 1;
        blocks.insert(key.block_tuple(), buf.as_slice())?;
        st.max_span = st.max_span.max(key.span());
        st.pending.push(key);
        st.pending_samples = u64::from(key.count);
    }
    Ok(())
}

/// Chunk length to try first: a little more than the last chunk of the tag (so
/// chunks grow again when the signal compresses better), or the target.
fn first_try(last: usize, target: usize) -> usize {
    if last == 0 { target } else { (last + last / 16 + 1).min(target) }
}

/// Encodes the longest prefix of `samples` (trying a few lengths) whose
/// encoding fits [`MAX_CHUNK_BYTES`]; returns its length.
fn encode_fitting(samples: &[Sample], buf: &mut Vec<u8>) -> usize {
    let mut n = samples.len();
    loop {
        encode(&samples[..n], buf);
        if buf.len() <= MAX_CHUNK_BYTES || n <= 64 {
            return n;
        }
        let guess = (n as u128 * MAX_CHUNK_BYTES as u128 * 98 / (buf.len() as u128 * 100)) as usize;
        n = guess.clamp(64, n - 1);
    }
}
