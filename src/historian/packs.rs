//! Packs: the pending blocks of many tags in one redb value.
//!
//! A flush writes a block for every tag with open samples (about a minute of samples:
//! 60-100 bytes) and a merge round leaves each merged tag a remainder block. As one redb
//! entry each, a small block paid its 32-byte key, its offsets and half-empty leaves
//! (entries appended at the right edge of a tree split their leaf into two halves that are
//! never refilled): about three times its own bytes. So blocks are written side by side
//! into **packs** of up to [`PACK_BYTES`] (whole redb pages: a pack fills the pages redb
//! gives it), each entry with its own sequence number: a pack's key is the sequence number
//! of its first entry and holds entries `key..key + n`. The per-tag lists of pending keys
//! in memory say which entries are live; an entry merged into chunks (or dropped by
//! retention) is marked dead in the pack's bitmap (`historian.pack_dead`, written only for
//! a pack with live entries left), and a pack whose entries are all dead is deleted, in
//! the same commit. Opening the store reads the packs' directories and bitmaps back.
//!
//! Pack layout: version, entry count, then per entry the zigzag delta of its tag id from
//! the previous entry's, its sample count, the zigzag delta of its smallest timestamp from
//! the previous entry's, its time span and its byte length (varints), then the entries'
//! encoded blocks (the chunk codec's format) one after the other.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use redb::{ReadableTable, TableDefinition};

use super::bits::{Reader, put_var, unzigzag, zigzag};
use super::codec::CodecError;
use super::tables::{BlockTuple, ChunkKey};
use super::{Result, TagId, corrupt};

/// Pack first sequence number -> the pack.
pub(crate) const PACKS: TableDefinition<u64, &[u8]> = TableDefinition::new("historian.packs");
/// Pack first sequence number -> bitmap of its dead entries (bit i: entry `key + i`).
pub(crate) const PACK_DEAD: TableDefinition<u64, &[u8]> = TableDefinition::new("historian.pack_dead");

pub(super) type PackTable<'t> = redb::Table<'t, u64, &'static [u8]>;

const PACK_VERSION: u8 = 1;

/// A pack is closed before it would grow past this: eight 4 KiB pages (one redb
/// allocation) less room for the leaf's header, key and offsets.
pub(super) const PACK_BYTES: usize = 8 * 4096 - 96;

/// One entry of a pack's directory.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) key: ChunkKey,
    pub(super) range: std::ops::Range<usize>,
}

/// Parses a pack whose first entry has sequence number `first`.
pub(super) fn entries(first: u64, bytes: &[u8]) -> std::result::Result<Vec<Entry>, CodecError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    if r.u8()? != PACK_VERSION {
        return Err(CodecError("unknown pack version"));
    }
    let n = r.var()?;
    // Every entry takes at least five directory bytes.
    if n > (bytes.len() / 5) as u64 {
        return Err(CodecError("pack entry count exceeds its length"));
    }
    let mut out = Vec::with_capacity(n as usize);
    let (mut tag, mut min) = (0i64, 0i64);
    let mut lens = Vec::with_capacity(n as usize);
    for i in 0..n {
        tag = tag.wrapping_add(unzigzag(r.var()?));
        let count = u32::try_from(r.var()?).map_err(|_| CodecError("pack entry count out of range"))?;
        min = min.wrapping_add(unzigzag(r.var()?));
        let span = i64::try_from(r.var()?).map_err(|_| CodecError("pack entry span out of range"))?;
        let len = usize::try_from(r.var()?).map_err(|_| CodecError("pack entry length out of range"))?;
        let tag = TagId::try_from(tag).map_err(|_| CodecError("pack tag id out of range"))?;
        let key = ChunkKey { tag, min_ts: min, max_ts: min.wrapping_add(span), count, seq: first.wrapping_add(i) };
        out.push(Entry { key, range: 0..0 });
        lens.push(len);
    }
    let mut pos = r.pos;
    for (e, len) in out.iter_mut().zip(lens) {
        let end =
            pos.checked_add(len).filter(|&e| e <= bytes.len()).ok_or(CodecError("pack entry exceeds the pack"))?;
        e.range = pos..end;
        pos = end;
    }
    if pos != bytes.len() {
        return Err(CodecError("trailing bytes in a pack"));
    }
    Ok(out)
}

/// What is known in memory of one pack.
#[derive(Clone, Debug)]
struct Pack {
    n: u32,
    live: u32,
    dead: Vec<u64>,
}

/// The packs of the store: which entries live, which changed in this transaction.
#[derive(Clone, Debug, Default)]
pub(super) struct Packs {
    map: BTreeMap<u64, Pack>,
    dirty: BTreeSet<u64>,
}

impl Packs {
    /// The pack holding entry `seq` (its first sequence number), if a pack does.
    pub(super) fn locate(&self, seq: u64) -> Option<u64> {
        let (&first, p) = self.map.range(..=seq).next_back()?;
        (seq - first < u64::from(p.n)).then_some(first)
    }

    /// Marks entry `seq` dead; false if no pack holds it (a block of the older layout).
    pub(super) fn consume(&mut self, seq: u64) -> bool {
        let Some(first) = self.locate(seq) else { return false };
        let Some(p) = self.map.get_mut(&first) else { return false };
        let i = (seq - first) as usize;
        let (w, b) = (i / 64, 1u64 << (i % 64));
        if p.dead.len() <= w {
            p.dead.resize(w + 1, 0);
        }
        if p.dead[w] & b == 0 {
            p.dead[w] |= b;
            p.live = p.live.saturating_sub(1);
            self.dirty.insert(first);
        }
        true
    }

    /// True when at most half of the entries of the pack holding `seq` are live (its
    /// last live entries are worth moving, so the pack can go).
    pub(super) fn sparse(&self, seq: u64) -> bool {
        self.locate(seq).and_then(|f| self.map.get(&f)).is_some_and(|p| 2 * p.live <= p.n)
    }

    fn register(&mut self, first: u64, n: u32) {
        self.map.insert(first, Pack { n, live: n, dead: Vec::new() });
    }

    /// Writes this transaction's changes: deletes the packs with no live entry left,
    /// writes the bitmaps of the others that changed.
    pub(super) fn persist(&mut self, packs: &mut PackTable<'_>, dead: &mut PackTable<'_>) -> Result<()> {
        let mut bits = Vec::new();
        for first in std::mem::take(&mut self.dirty) {
            let Some(p) = self.map.get(&first) else { continue };
            if p.live == 0 {
                packs.remove(first)?;
                dead.remove(first)?;
                self.map.remove(&first);
            } else {
                bits.clear();
                for w in &p.dead {
                    bits.extend_from_slice(&w.to_le_bytes());
                }
                dead.insert(first, bits.as_slice())?;
            }
        }
        Ok(())
    }

    /// Reads the packs back into the tags' pending lists (live entries only); returns the
    /// next free sequence number.
    pub(super) fn load(
        packs: &impl ReadableTable<u64, &'static [u8]>,
        dead: &impl ReadableTable<u64, &'static [u8]>,
        tags: &mut super::tagmap::TagMap,
    ) -> Result<(Packs, u64)> {
        let mut out = Packs::default();
        let mut next = 0u64;
        for item in packs.iter()? {
            let (k, v) = item?;
            let first = k.value();
            let list = entries(first, v.value())
                .map_err(|e| super::HistorianError::CorruptPack { pack: first, reason: e.0 })?;
            let bits: Vec<u64> = match dead.get(first)? {
                Some(g) => {
                    g.value().chunks(8).map(|c| c.iter().rev().fold(0u64, |a, &b| (a << 8) | u64::from(b))).collect()
                }
                None => Vec::new(),
            };
            let is_dead = |i: usize| bits.get(i / 64).is_some_and(|w| w & (1u64 << (i % 64)) != 0);
            let n = list.len() as u32;
            let mut live = 0u32;
            for (i, e) in list.iter().enumerate() {
                if is_dead(i) {
                    continue;
                }
                live += 1;
                let st = tags.entry(e.key.tag);
                st.add_pending(e.key);
            }
            next = next.max(first + u64::from(n));
            out.map.insert(first, Pack { n, live, dead: bits });
            if live == 0 {
                // Every entry dead (a commit that ended before its delete): gone next time.
                out.dirty.insert(first);
            }
        }
        Ok((out, next))
    }
}

/// Builds packs: entries are added in sequence order, a pack is written when the next
/// entry would not fit.
#[derive(Default)]
pub(super) struct PackWriter {
    first: u64,
    n: u32,
    dir: Vec<u8>,
    body: Vec<u8>,
    prev: (i64, i64),
    out: Vec<u8>,
}

impl PackWriter {
    /// Adds the entry `key` (its `seq` must follow the previous entry's) with `bytes`.
    pub(super) fn add(
        &mut self,
        key: ChunkKey,
        bytes: &[u8],
        table: &mut PackTable<'_>,
        packs: &mut Packs,
    ) -> Result<()> {
        if self.n > 0
            && (self.dir.len() + self.body.len() + bytes.len() + 40 > PACK_BYTES
                || key.seq != self.first + u64::from(self.n))
        {
            self.close(table, packs)?;
        }
        if self.n == 0 {
            self.first = key.seq;
            self.prev = (0, 0);
        }
        put_var(&mut self.dir, zigzag(i64::from(key.tag).wrapping_sub(self.prev.0)));
        put_var(&mut self.dir, u64::from(key.count));
        put_var(&mut self.dir, zigzag(key.min_ts.wrapping_sub(self.prev.1)));
        put_var(&mut self.dir, key.max_ts.wrapping_sub(key.min_ts).max(0) as u64);
        put_var(&mut self.dir, bytes.len() as u64);
        self.body.extend_from_slice(bytes);
        self.prev = (i64::from(key.tag), key.min_ts);
        self.n += 1;
        Ok(())
    }

    /// Writes the open pack, if any.
    pub(super) fn close(&mut self, table: &mut PackTable<'_>, packs: &mut Packs) -> Result<()> {
        if self.n == 0 {
            return Ok(());
        }
        self.out.clear();
        self.out.push(PACK_VERSION);
        put_var(&mut self.out, u64::from(self.n));
        self.out.extend_from_slice(&self.dir);
        self.out.extend_from_slice(&self.body);
        table.insert(self.first, self.out.as_slice())?;
        packs.register(self.first, self.n);
        self.n = 0;
        self.dir.clear();
        self.body.clear();
        Ok(())
    }
}

/// How many parsed packs a [`PackCache`] keeps (at most 32 KiB each).
const CACHED_PACKS: usize = 64;

/// The packs read lately, their directories parsed. A merge round walks the tags in
/// id order and each tag's pending blocks sit in one pack per flush, so the next tag's
/// blocks are in the same few packs: keeping them (not just the last one) reads each
/// pack once per round instead of once per tag.
#[derive(Default)]
pub(super) struct PackCache {
    packs: HashMap<u64, Parsed>,
    /// A row of the blocks table of a store written before packs.
    row: Vec<u8>,
    clock: u64,
}

struct Parsed {
    bytes: Vec<u8>,
    list: Vec<Entry>,
    used: u64,
}

impl PackCache {
    /// The key and bytes of pending block `seq` of `tag`: an entry of a pack, or (a store
    /// written before packs) a row of the blocks table.
    pub(super) fn get(
        &mut self,
        packs: &Packs,
        table: &impl ReadableTable<u64, &'static [u8]>,
        blocks: &impl ReadableTable<BlockTuple, &'static [u8]>,
        tag: TagId,
        seq: u64,
    ) -> Result<(ChunkKey, &[u8])> {
        let unknown = ChunkKey { tag, min_ts: 0, max_ts: 0, count: 0, seq };
        let Some(first) = packs.locate(seq) else {
            let row =
                blocks.range((seq, 0, i64::MIN, i64::MIN, 0)..=(seq, u32::MAX, i64::MAX, i64::MAX, u32::MAX))?.next();
            let (k, v) = row.ok_or_else(|| corrupt(unknown, CodecError("pending block missing from the store")))??;
            let key = ChunkKey::from_block_tuple(k.value());
            self.row.clear();
            self.row.extend_from_slice(v.value());
            return Ok((key, &self.row));
        };
        self.clock += 1;
        if !self.packs.contains_key(&first) {
            if self.packs.len() >= CACHED_PACKS {
                let oldest = self.packs.iter().min_by_key(|(_, p)| p.used).map(|(&k, _)| k);
                oldest.and_then(|k| self.packs.remove(&k));
            }
            let g = table.get(first)?.ok_or_else(|| corrupt(unknown, CodecError("pack missing from the store")))?;
            let bytes = g.value().to_vec();
            let list = entries(first, &bytes).map_err(|e| corrupt(unknown, e))?;
            self.packs.insert(first, Parsed { bytes, list, used: 0 });
        }
        let Some(p) = self.packs.get_mut(&first) else {
            return Err(corrupt(unknown, CodecError("pack missing from the cache")));
        };
        p.used = self.clock;
        let e = p.list.get((seq - first) as usize).ok_or_else(|| corrupt(unknown, CodecError("pack entry missing")))?;
        if e.key.tag != tag {
            return Err(corrupt(unknown, CodecError("pack entry of another tag")));
        }
        Ok((e.key, &p.bytes[e.range.clone()]))
    }
}
