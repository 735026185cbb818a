//! Opening the store: making a new file atomically, rebuilding the per-tag
//! bookkeeping (spans, pending blocks, packs, journal) from the tables, and reopening
//! after a failed commit.

use std::path::{Path, PathBuf};

use redb::{Database, ReadTransaction, ReadableDatabase, ReadableTable, WriteTransaction};

use super::packs::{self, PACK_DEAD, PACKS};
use super::tables::{BLOCKS, CHUNKS, JOURNAL, SPANS, TAGS};
use super::{ChunkKey, Historian, HistorianError, HistorianOptions, Result, tagmap, unavailable, write};

impl Historian {
    /// Opens (or creates) the store. redb repairs a file left by a crashed
    /// process on open; only committed appends are visible.
    ///
    /// A new store is made under a temporary name and renamed into place once redb has
    /// written its header and the historian's tables: a process killed while creating it
    /// leaves no half-made file under `path` (it would not open again), only a temporary
    /// one, replaced on the next open.
    pub fn open(path: &Path, opts: HistorianOptions) -> Result<Self> {
        if !path.exists() {
            create_atomically(path)?;
        }
        let db = redb::Builder::new().set_cache_size(opts.cache_bytes).create(path)?;
        // a store made before one of the tables existed gets it here
        let txn = db.begin_write()?;
        create_tables(&txn)?;
        txn.commit()?;
        let txn = db.begin_read()?;
        let mut next_tag = 0u64;
        for item in txn.open_table(TAGS)?.iter()? {
            let (_, id) = item?;
            next_tag = next_tag.max(u64::from(id.value()) + 1);
        }
        let state = load_state(&txn)?;
        drop(txn);
        let next_journal = state.journal.last().map_or(0, |k| k + 1);
        // A tag has one block per flush since the last merge round (plus the merged one):
        // counting on from the most keeps the rounds on schedule across restarts.
        let flushes = state.tags.values().map(|st| st.pending.len().saturating_sub(1) as u64).max().unwrap_or(0);
        Ok(Historian {
            db,
            path: path.to_path_buf(),
            chunk_target: opts.chunk_target.clamp(1, 1 << 20),
            chunk_bytes: opts.chunk_bytes.clamp(256, 1 << 20),
            cache_bytes: opts.cache_bytes,
            retention: opts.retention,
            flush_appends: opts.flush_appends.max(1),
            flush_samples: opts.flush_samples.max(1),
            merge_every: u64::from(opts.merge_every.max(1)),
            next_tag,
            next_block: state.next_block,
            journal: state.journal,
            next_journal,
            open_samples: state.open,
            tags: state.tags,
            packs: state.packs,
            flushes,
            scratch: Default::default(),
        })
    }

    /// Rebuilds the bookkeeping from the store after a failed commit (best effort).
    pub(super) fn reload_state(&mut self) {
        let reloaded = self.db.begin_read().map_err(HistorianError::from).and_then(|t| load_state(&t));
        if let Ok(state) = reloaded {
            self.tags = state.tags;
            self.packs = state.packs;
            self.next_block = self.next_block.max(state.next_block);
            if let Some(last) = state.journal.last() {
                self.next_journal = self.next_journal.max(last + 1);
            }
            self.journal = state.journal;
            self.open_samples = state.open;
        }
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
            chunk_bytes: self.chunk_bytes,
            cache_bytes: self.cache_bytes,
            flush_appends: self.flush_appends,
            flush_samples: self.flush_samples,
            merge_every: u32::try_from(self.merge_every).unwrap_or(u32::MAX),
        };
        *self = Historian::open(&self.path, opts)?;
        Ok(())
    }
}

/// Creates an empty store with the historian's tables at `path` through a temporary
/// file, synced and renamed into place (and the directory synced).
fn create_atomically(path: &Path) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".creating");
    let tmp = PathBuf::from(tmp);
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    {
        let db = Database::create(&tmp)?;
        let txn = db.begin_write()?;
        create_tables(&txn)?;
        txn.commit()?;
    }
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Opens every table of the historian in `txn`, making those the store lacks.
fn create_tables(txn: &WriteTransaction) -> Result<()> {
    txn.open_table(TAGS)?;
    txn.open_table(CHUNKS)?;
    txn.open_table(BLOCKS)?;
    txn.open_table(SPANS)?;
    txn.open_table(JOURNAL)?;
    txn.open_table(PACKS)?;
    txn.open_table(PACK_DEAD)?;
    Ok(())
}

/// The bookkeeping rebuilt from the store.
struct State {
    tags: tagmap::TagMap,
    packs: packs::Packs,
    next_block: u64,
    journal: Vec<u64>,
    open: usize,
}

/// Rebuilds the per-tag bookkeeping from the spans, blocks, packs and journal tables.
fn load_state(txn: &ReadTransaction) -> Result<State> {
    let mut tags = tagmap::TagMap::default();
    let mut next_block = 0u64;
    for item in txn.open_table(SPANS)?.iter()? {
        let (tag, span) = item?;
        tags.entry(tag.value()).max_span = span.value();
    }
    for item in txn.open_table(BLOCKS)?.iter()? {
        let (k, _) = item?;
        let key = ChunkKey::from_block_tuple(k.value());
        next_block = next_block.max(key.seq + 1);
        let st = tags.entry(key.tag);
        st.add_pending(key);
    }
    let (packs, next) = packs::Packs::load(&txn.open_table(PACKS)?, &txn.open_table(PACK_DEAD)?, &mut tags)?;
    let (journal, open) = write::replay_journal(&txn.open_table(JOURNAL)?, &mut tags)?;
    Ok(State { tags, packs, next_block: next_block.max(next), journal, open })
}
