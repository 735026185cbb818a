//! The write path: journal rows, flushes into per-tag blocks, merge rounds and
//! compaction into chunks.
//!
//! A live writer commits small batches often (the daemon: every second, one sample per
//! tag). Writing each tag's samples as its own redb entry at every commit would make
//! 10,000 tree inserts a second, and merging those entries later would touch pages all
//! over the blocks table. So a small batch is one **journal** row (all its samples, one
//! redb insert, durable at commit) and its samples are kept in memory per tag ("open"),
//! where queries see them. Every `flush_appends` appends, or once `flush_samples` are
//! open, the open samples are **flushed**: one block per tag, written in tag order at the
//! end of the blocks table, and the journal rows are deleted, in one commit. A batch that
//! would fill the journal is flushed at once with it (bulk loads never touch the
//! journal). Opening the store replays the journal into memory, so a crash loses only the
//! batch being committed.
//!
//! Each flush also runs a **merge round** over one slice of the tag ids (a contiguous
//! `1 / merge_every` of them, the next slice at the next flush): each tag of the slice has
//! its pending blocks merged, sorted and cut into chunks of up to `chunk_target` samples
//! (and at most [`MAX_CHUNK_BYTES`]; from the tag's last sealed chunk on, as soon as its
//! samples fill one), a remainder staying one pending block. The blocks of one flush lie
//! side by side in tag order, so a slice empties whole runs of leaves instead of touching
//! a page per block; and since redb keeps the freed pages until the commit, merging every
//! tag in one commit needed room for two copies of the blocks table (the file doubled for
//! it, and redb never gives that back). A tag whose pending samples reach its compaction
//! threshold is compacted at once.

use redb::ReadableTable;

use super::bits::{Reader, put_var, unzigzag, zigzag};
use super::codec::{CodecError, Decoded, decode_into, encode};
use super::open::{get_value, put_value};
use super::packs::{PACK_DEAD, PACKS, PackCache, PackTable, PackWriter, Packs};
use super::tables::{BLOCKS, CHUNKS, ChunkKey, JOURNAL, SPANS};
use super::{Historian, HistorianError, Result, Sample, TagId, TagState, corrupt, order};

pub(super) type ChunkTable<'t> = redb::Table<'t, super::tables::KeyTuple, &'static [u8]>;
type BlockTable<'t> = redb::Table<'t, super::tables::BlockTuple, &'static [u8]>;

/// Encoded chunks are kept under this size so one fills a 4 KiB redb leaf page with its
/// key. Smaller chunks shared leaves, and redb splits a full leaf into halves that a
/// tag's later chunks (inserted after its newest, before the next tag's) never refill:
/// chunks of 1,280 bytes left pages about two thirds full (tables 1.80 B/sample at
/// 10,000 tags after 2 h, 1.41 with chunks of 4,000 bytes; see BENCHMARKS.md).
pub(super) const MAX_CHUNK_BYTES: usize = 4000;

/// Samples per tag from which a batch is written as blocks at once.
const DENSE_PER_TAG: usize = 16;

/// Journal row format version (version 1, with every value as its eight bytes, is
/// still read).
const JOURNAL_VERSION: u8 = 2;

impl Historian {
    /// Stores `batch` in one durable commit: as a journal row, or, when the journal is
    /// due for a flush, straight into blocks together with the open samples (and then
    /// maybe a merge round and compactions).
    pub fn append(&mut self, batch: &[Sample]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        order::sort_into(batch, &mut scratch); // stable: duplicates keep order
        let result = self.append_sorted(&scratch.sorted, &mut scratch.row);
        scratch.settle(batch.len());
        self.scratch = scratch;
        if result.is_err() {
            // Nothing was committed but the bookkeeping was updated in place:
            // rebuild it from the store (best effort; the first error wins).
            self.reload_state();
        }
        result
    }

    /// `append` on a batch sorted by (tag, ts). Updates the bookkeeping in
    /// place; the caller restores it if this fails.
    fn append_sorted(&mut self, sorted: &[Sample], row: &mut Vec<u8>) -> Result<()> {
        // A dense batch (many samples per tag: a backfill, a bulk load) makes good blocks
        // by itself; a sparse one (a sample or two per tag) waits in the journal.
        let tags_in_batch = sorted.chunk_by(|a, b| a.tag == b.tag).count();
        let flush = self.journal.len() + 1 >= self.flush_appends
            || self.open_samples.saturating_add(sorted.len()) >= self.flush_samples
            || sorted.len() >= DENSE_PER_TAG * tags_in_batch;
        for group in sorted.chunk_by(|a, b| a.tag == b.tag) {
            let open = &mut self.tags.entry(group[0].tag).open;
            for s in group {
                open.push(s);
            }
        }
        self.open_samples += sorted.len();
        let txn = self.db.begin_write()?;
        if flush {
            self.flush(&txn)?;
        } else {
            encode_journal_row(sorted, row);
            let key = self.next_journal;
            txn.open_table(JOURNAL)?.insert(key, row.as_slice())?;
            self.next_journal += 1;
            self.journal.push(key);
        }
        txn.commit()?;
        Ok(())
    }

    /// Writes every tag's open samples as a block, runs a merge round when one is due
    /// and compacts the tags that reached their threshold; deletes the journal.
    pub(super) fn flush(&mut self, txn: &redb::WriteTransaction) -> Result<()> {
        let target = self.chunk_target;
        self.flushes += 1;
        // This flush's merge round: one contiguous slice of the tag ids, the next slice at
        // the next flush, so every tag is merged once every `merge_every` flushes and no
        // commit rewrites all pending blocks at once (the file must hold the old and the new
        // copy until the commit: a round of every tag at once doubled it).
        let slices = self.merge_every;
        let slice = self.flushes % slices;
        let span = self.tags.span();
        let merge_due = |tag: TagId| u64::from(tag) * slices / span == slice;
        let max_pending = 2 * self.merge_every as usize + 8;
        // In its round a tag is merged when it has several pending blocks, or when its one
        // block is among the last live entries of its pack (so the pack can go).
        let mergeable = |st: &TagState, packs: &Packs| {
            st.pending.len() > 1 || st.pending.first().is_some_and(|seq| packs.sparse(seq))
        };
        let mut ids: Vec<TagId> = self
            .tags
            .iter()
            .filter(|&(id, st)| !st.open.is_empty() || (merge_due(id) && mergeable(st, &self.packs)))
            .map(|(id, _)| id)
            .collect();
        ids.sort_unstable();
        let mut sink = Sink {
            blocks: txn.open_table(BLOCKS)?,
            chunks: txn.open_table(CHUNKS)?,
            packs: txn.open_table(PACKS)?,
            writer: PackWriter::default(),
            cache: PackCache::default(),
            seq: self.next_block,
            limits: (target, self.chunk_bytes),
            buf: Vec::new(),
            scratch: Decoded::default(),
        };
        {
            let mut spans = txn.open_table(SPANS)?;
            let mut samples: Vec<Sample> = Vec::new();
            for tag in ids {
                let Some(st) = self.tags.get_mut(tag) else { continue };
                let old_span = st.max_span;
                samples.clear();
                st.open.extend_into(tag, &mut samples);
                st.open.clear();
                if !samples.is_sorted_by_key(|s| s.ts_ms) {
                    samples.sort_by_key(|s| s.ts_ms);
                }
                let blocks_after = st.pending.len() + samples.len().div_ceil(target);
                let compact_now = st.pending_samples + samples.len() as u64 >= compaction_threshold(tag, target)
                    || (merge_due(tag) && (blocks_after > 1 || mergeable(st, &self.packs)))
                    || blocks_after >= max_pending;
                if compact_now {
                    sink.compact(tag, st, &samples, &mut self.packs)?;
                } else {
                    // One key per flush until the next merge round.
                    st.pending.reserve_one(self.merge_every as usize + 2);
                    for piece in samples.chunks(target) {
                        sink.pend(tag, st, piece, &mut self.packs)?;
                    }
                }
                if st.max_span > old_span {
                    spans.insert(tag, st.max_span)?;
                }
            }
            sink.writer.close(&mut sink.packs, &mut self.packs)?;
            self.packs.persist(&mut sink.packs, &mut txn.open_table(PACK_DEAD)?)?;
            let mut journal = txn.open_table(JOURNAL)?;
            for key in self.journal.drain(..) {
                journal.remove(key)?;
            }
        }
        self.open_samples = 0;
        self.next_block = sink.seq;
        Ok(())
    }
}

/// Where a flush writes: the tables, the pack being filled, and scratch space.
struct Sink<'t> {
    /// Pending blocks of the older layout (one redb entry each), read and deleted.
    blocks: BlockTable<'t>,
    chunks: ChunkTable<'t>,
    packs: PackTable<'t>,
    writer: PackWriter,
    cache: PackCache,
    /// Next pending block's sequence number.
    seq: u64,
    /// Chunk target (samples) and size cap (bytes).
    limits: (usize, usize),
    buf: Vec<u8>,
    scratch: Decoded,
}

impl Sink<'_> {
    /// Writes `piece` (sorted) as a pending block of `tag`.
    fn pend(&mut self, tag: TagId, st: &mut TagState, piece: &[Sample], packs: &mut Packs) -> Result<()> {
        encode(piece, &mut self.buf);
        let key = ChunkKey { seq: self.seq, ..key_of(tag, piece) };
        self.seq += 1;
        self.writer.add(key, &self.buf, &mut self.packs, packs)?;
        st.add_pending(key);
        Ok(())
    }

    /// Merges the pending blocks of `tag` and its new samples `fresh` (sorted) into chunks
    /// of up to the target samples (and at most the size cap); a remainder stays a
    /// pending block.
    fn compact(&mut self, tag: TagId, st: &mut TagState, fresh: &[Sample], packs: &mut Packs) -> Result<()> {
        let d = &mut self.scratch;
        d.clear();
        // The key list is freed: it grows again one key per flush (see `flush`), and with
        // the merges spread over the flushes, tags hold lists of every length, not all the
        // longest.
        let seqs = std::mem::take(&mut st.pending);
        for seq in seqs.iter() {
            let before = d.len();
            let (key, bytes) = self.cache.get(packs, &self.packs, &self.blocks, tag, seq)?;
            decode_into(bytes, d).map_err(|e| corrupt(key, e))?;
            if d.len() - before != key.count as usize {
                return Err(corrupt(key, CodecError("sample count differs from key")));
            }
            if !packs.consume(seq) {
                self.blocks.remove(key.block_tuple())?;
            }
        }
        st.pending_samples = 0;
        let mut samples: Vec<Sample> =
            (0..d.len()).map(|i| Sample { tag, ts_ms: d.ts[i], value: d.values[i], quality: d.quality[i] }).collect();
        samples.extend_from_slice(fresh);
        if !samples.is_sorted_by_key(|s| s.ts_ms) {
            samples.sort_by_key(|s| s.ts_ms);
        }
        let (target, max_bytes) = self.limits;
        let buf = &mut self.buf;
        let mut rest = &samples[..];
        // Once a chunk was cut by size, seal every piece that fills a chunk too (from the
        // tag's last sealed length on: a merge round seals what fills a chunk, and pending
        // blocks stay about a chunk long instead of growing to the compaction threshold).
        let last_len = st.chunk_len as usize;
        let mut need = if last_len > 0 { last_len.min(target) } else { target };
        if st.chunk_len == 0 && rest.len() < need && rest.len() > 64 {
            // No chunk sealed yet (a new tag, or since the store opened): seal one as soon as
            // the samples overflow a chunk's bytes.
            encode(rest, buf);
            if buf.len() > max_bytes {
                need = rest.len();
            }
        }
        while rest.len() >= need {
            let n = encode_fitting(&rest[..first_try(st.chunk_len as usize, target).min(rest.len())], max_bytes, buf);
            st.chunk_len = u32::try_from(n).unwrap_or(u32::MAX);
            need = need.min(n);
            let key = insert_unique(&mut self.chunks, key_of(tag, &rest[..n]), buf)?;
            st.max_span = st.max_span.max(key.span());
            rest = &rest[n..];
        }
        for piece in rest.chunks(target) {
            self.pend(tag, st, piece, packs)?;
        }
        Ok(())
    }
}

/// Journal row: version, count, then per sample (in the batch's tag order) the zigzag
/// delta of the tag id and of the timestamp from the previous sample (varints), then the
/// value and quality as the open samples write them with no previous value
/// (`open::put_value`: a decimal register value in two or three bytes). Version 1 had
/// the value's eight bytes and the quality varint instead.
fn encode_journal_row(sorted: &[Sample], out: &mut Vec<u8>) {
    out.clear();
    out.push(JOURNAL_VERSION);
    put_var(out, sorted.len() as u64);
    let (mut tag, mut ts) = (0i64, 0i64);
    for s in sorted {
        put_var(out, zigzag(i64::from(s.tag).wrapping_sub(tag)));
        put_var(out, zigzag(s.ts_ms.wrapping_sub(ts)));
        put_value(out, 0.0, s.value, s.quality);
        tag = i64::from(s.tag);
        ts = s.ts_ms;
    }
}

/// Appends the samples of a journal row to `out`.
pub(super) fn decode_journal_row(row: &[u8], out: &mut Vec<Sample>) -> std::result::Result<(), CodecError> {
    let mut r = Reader { buf: row, pos: 0 };
    let version = r.u8()?;
    if version != 1 && version != JOURNAL_VERSION {
        return Err(CodecError("unknown journal row version"));
    }
    let n = r.var()?;
    // Each sample takes at least 11 bytes (version 1) or 3: a count beyond that is a
    // damaged row.
    if n > (row.len() / if version == 1 { 11 } else { 3 }) as u64 {
        return Err(CodecError("journal row count exceeds its length"));
    }
    let (mut tag, mut ts) = (0i64, 0i64);
    for _ in 0..n {
        tag = tag.wrapping_add(unzigzag(r.var()?));
        ts = ts.wrapping_add(unzigzag(r.var()?));
        let (value, quality) = if version == 1 {
            let value = r.f64()?;
            (value, u16::try_from(r.var()?).map_err(|_| CodecError("journal quality out of range"))?)
        } else {
            get_value(&mut r, 0.0)?
        };
        let tag = TagId::try_from(tag).map_err(|_| CodecError("journal tag id out of range"))?;
        out.push(Sample { tag, ts_ms: ts, value, quality });
    }
    if r.pos != row.len() {
        return Err(CodecError("trailing bytes in a journal row"));
    }
    Ok(())
}

/// Replays the journal into the tags' open samples; returns the row keys (in order) and
/// the number of samples.
pub(super) fn replay_journal(
    journal: &impl ReadableTable<u64, &'static [u8]>,
    tags: &mut super::tagmap::TagMap,
) -> Result<(Vec<u64>, usize)> {
    let mut keys = Vec::new();
    let mut samples = Vec::new();
    for item in journal.iter()? {
        let (k, v) = item?;
        samples.clear();
        decode_journal_row(v.value(), &mut samples)
            .map_err(|e| HistorianError::CorruptJournal { row: k.value(), reason: e.0 })?;
        for s in &samples {
            tags.entry(s.tag).open.push(s);
        }
        keys.push(k.value());
    }
    let open = tags.values().map(|st| st.open.len()).sum();
    Ok((keys, open))
}

/// Pending samples at which a tag's blocks are compacted. Staggered per tag
/// (between 1 and 1.5 chunk targets) so tags fed in lockstep do not all
/// compact in the same append.
fn compaction_threshold(tag: TagId, target: usize) -> u64 {
    let spread = (u64::from(tag).wrapping_mul(2_654_435_761) >> 7) % (target as u64 / 2 + 1);
    target as u64 + spread
}

/// Key of a run of samples of `tag` (sorted by ts).
pub(super) fn key_of(tag: TagId, piece: &[Sample]) -> ChunkKey {
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    for s in piece {
        lo = lo.min(s.ts_ms);
        hi = hi.max(s.ts_ms);
    }
    ChunkKey { tag, min_ts: lo, max_ts: hi, count: piece.len() as u32, seq: 0 }
}

/// Inserts under `key`, bumping `seq` while the key is taken (duplicates).
pub(super) fn insert_unique(table: &mut ChunkTable<'_>, mut key: ChunkKey, bytes: &[u8]) -> Result<ChunkKey> {
    loop {
        let old = table.insert(key.tuple(), bytes)?.map(|g| g.value().to_vec());
        let Some(old) = old else {
            return Ok(key);
        };
        table.insert(key.tuple(), old.as_slice())?;
        key.seq = key.seq.wrapping_add(1);
    }
}

/// Chunk length to try first: a little more than the last chunk of the tag (so
/// chunks grow again when the signal compresses better), or the target.
pub(super) fn first_try(last: usize, target: usize) -> usize {
    if last == 0 { target } else { (last + last / 16 + 1).min(target) }
}

/// Encodes the longest prefix of `samples` (trying a few lengths) whose
/// encoding fits `max_bytes`; returns its length.
pub(super) fn encode_fitting(samples: &[Sample], max_bytes: usize, buf: &mut Vec<u8>) -> usize {
    let mut n = samples.len();
    loop {
        encode(&samples[..n], buf);
        if buf.len() <= max_bytes || n <= 64 {
            return n;
        }
        let guess = (n as u128 * max_bytes as u128 * 98 / (buf.len() as u128 * 100)) as usize;
        n = guess.clamp(64, n - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_rows_round_trip_and_refuse_damage() {
        let batch = vec![
            Sample { tag: 0, ts_ms: 1_795_000_000_000, value: 1.5, quality: 0 },
            Sample { tag: 0, ts_ms: 1_794_999_999_000, value: f64::NAN, quality: 192 },
            Sample { tag: 7, ts_ms: -5, value: -0.0, quality: u16::MAX },
            Sample { tag: u32::MAX, ts_ms: i64::MAX, value: f64::INFINITY, quality: 9 },
        ];
        let mut row = Vec::new();
        encode_journal_row(&batch, &mut row);
        let mut back = Vec::new();
        decode_journal_row(&row, &mut back).unwrap();
        assert_eq!(back.len(), batch.len());
        for (a, b) in batch.iter().zip(&back) {
            assert_eq!((a.tag, a.ts_ms, a.value.to_bits(), a.quality), (b.tag, b.ts_ms, b.value.to_bits(), b.quality));
        }
        for cut in 0..row.len() {
            assert!(decode_journal_row(&row[..cut], &mut Vec::new()).is_err(), "cut at {cut}");
        }
        let mut long = row.clone();
        long.push(0);
        assert!(decode_journal_row(&long, &mut Vec::new()).is_err());
        let mut huge = vec![JOURNAL_VERSION];
        put_var(&mut huge, u64::MAX);
        assert!(decode_journal_row(&huge, &mut Vec::new()).is_err());
        // a register value costs two or three bytes, not eight
        let regs: Vec<Sample> = (0..100)
            .map(|t| Sample { tag: t, ts_ms: 1_795_000_000_007, value: f64::from(t) * 0.1 + 50.0, quality: 0 })
            .collect();
        encode_journal_row(&regs, &mut row);
        assert!(row.len() <= 100 * 5 + 8, "{} bytes for 100 samples", row.len());
    }

    #[test]
    fn version_1_journal_rows_are_still_read() {
        // Written by the previous format: tag delta, ts delta, eight value bytes, quality.
        let mut row = vec![1u8];
        put_var(&mut row, 2);
        for (tag, ts, value, quality) in
            [(3i64, 1_795_000_000_000i64, 57.3f64, 0u16), (5, 1_795_000_000_012, f64::NAN, 192)]
        {
            put_var(&mut row, zigzag(tag - if tag == 3 { 0 } else { 3 }));
            put_var(&mut row, zigzag(ts - if tag == 3 { 0 } else { 1_795_000_000_000 }));
            row.extend_from_slice(&value.to_le_bytes());
            put_var(&mut row, u64::from(quality));
        }
        let mut back = Vec::new();
        decode_journal_row(&row, &mut back).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!((back[0].tag, back[0].ts_ms, back[0].value, back[0].quality), (3, 1_795_000_000_000, 57.3, 0));
        assert_eq!((back[1].tag, back[1].ts_ms, back[1].quality), (5, 1_795_000_000_012, 192));
        assert!(back[1].value.is_nan());
    }
}
