//! Store-level tests: ranges, compaction, reopen, retention, downsample
//! exactness, corruption handling, crash safety.

use super::packs::PACKS;
use super::tables::{BLOCKS, CHUNKS, ChunkKey};
use super::*;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Small journal and merge settings, so every test goes through journal rows, flushes
/// and merge rounds.
fn opts(chunk_target: usize) -> HistorianOptions {
    HistorianOptions { retention: None, chunk_target, flush_appends: 4, merge_every: 3, ..Default::default() }
}

/// The keys of every pending block, read from their packs.
fn pending_keys(h: &Historian) -> Vec<ChunkKey> {
    let txn = h.database().begin_read().unwrap();
    let (packs, blocks) = (txn.open_table(PACKS).unwrap(), txn.open_table(BLOCKS).unwrap());
    let mut cache = super::packs::PackCache::default();
    let seqs: Vec<(TagId, u64)> = h.tags.iter().flat_map(|(t, st)| st.pending.iter().map(move |q| (t, q))).collect();
    seqs.into_iter().map(|(t, q)| cache.get(&h.packs, &packs, &blocks, t, q).unwrap().0).collect()
}

/// A pack whose directory is intact and whose blocks are damaged (an unknown codec
/// version each).
fn damage_blocks(first: u64, pack: &[u8]) -> Vec<u8> {
    let mut out = pack.to_vec();
    for e in super::packs::entries(first, pack).unwrap() {
        out[e.range].fill(7);
    }
    out
}

fn s(tag: TagId, ts_ms: i64, value: f64, quality: u16) -> Sample {
    Sample { tag, ts_ms, value, quality }
}

/// Canonical order for multiset comparison.
fn canon(mut v: Vec<Sample>) -> Vec<(i64, u64, u16)> {
    let mut out: Vec<_> = v.drain(..).map(|x| (x.ts_ms, x.value.to_bits(), x.quality)).collect();
    out.sort_unstable();
    out
}

fn naive_query(model: &[Sample], tag: TagId, from: i64, to: i64) -> Vec<Sample> {
    model.iter().filter(|x| x.tag == tag && x.ts_ms >= from && x.ts_ms < to).copied().collect()
}

fn check_query(h: &Historian, model: &[Sample], tag: TagId, from: i64, to: i64) {
    let got = h.query(tag, from, to).expect("query");
    assert!(got.is_sorted_by_key(|x| x.ts_ms), "unsorted {from}..{to}");
    assert!(got.iter().all(|x| x.tag == tag));
    assert_eq!(canon(got), canon(naive_query(model, tag, from, to)), "tag {tag} {from}..{to}");
}

/// Random-ish feed: mostly in order, some out-of-order and duplicate samples.
fn feed(h: &mut Historian, model: &mut Vec<Sample>, rng: &mut Rng, batches: usize, tags: u32) {
    let mut ts = model.iter().map(|x| x.ts_ms).max().unwrap_or(0);
    for _ in 0..batches {
        let mut batch = Vec::new();
        for _ in 0..rng.below(40) {
            ts += rng.below(3) as i64 * 500;
            let tag = rng.below(u64::from(tags)) as u32;
            let t = match rng.below(20) {
                0 => ts - rng.below(20_000) as i64,        // late
                1 => model.last().map_or(ts, |x| x.ts_ms), // duplicate ts
                _ => ts,
            };
            let q = if rng.below(10) == 0 { 3 } else { 0 };
            let v = (rng.below(2000) as f64 - 1000.0) / 10.0;
            batch.push(s(tag, t, v, q));
        }
        h.append(&batch).expect("append");
        model.extend_from_slice(&batch);
    }
}

#[test]
fn tags_are_stable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.redb");
    {
        let mut h = Historian::open(&path, opts(16)).unwrap();
        assert_eq!(h.tag_id("a").unwrap(), 0);
        assert_eq!(h.tag_id("b").unwrap(), 1);
        assert_eq!(h.tag_id("a").unwrap(), 0);
        assert_eq!(h.lookup("c").unwrap(), None);
    }
    let mut h = Historian::open(&path, opts(16)).unwrap();
    assert_eq!(h.lookup("b").unwrap(), Some(1));
    assert_eq!(h.tag_id("c").unwrap(), 2);
    let names = h.tag_names().unwrap();
    assert_eq!(names, vec![(0, "a".into()), (1, "b".into()), (2, "c".into())]);
}

#[test]
fn query_ranges_compaction_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.redb");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut model = Vec::new();
    {
        let mut h = Historian::open(&path, opts(16)).unwrap();
        feed(&mut h, &mut model, &mut rng, 150, 3);
        let st = h.stats().unwrap();
        assert_eq!(st.samples, model.len() as u64);
        assert!(st.chunks > st.pending_blocks, "compaction happened: {st:?}");
        assert!(st.pending_blocks <= 3 * 20, "{st:?}");
    }
    let mut h = Historian::open(&path, opts(16)).unwrap();
    feed(&mut h, &mut model, &mut rng, 50, 3);
    assert_eq!(h.stats().unwrap().samples, model.len() as u64);
    let max = model.iter().map(|x| x.ts_ms).max().unwrap();
    // Every chunk boundary, +-1, and random ranges.
    let txn = h.database().begin_read().unwrap();
    let mut edges = vec![i64::MIN, -1, 0, max, max + 1, i64::MAX];
    let mut keys = Vec::new();
    for item in txn.open_table(CHUNKS).unwrap().iter().unwrap() {
        keys.push(ChunkKey::from_tuple(item.unwrap().0.value()));
    }
    keys.extend(pending_keys(&h));
    for k in keys {
        edges.extend([k.min_ts - 1, k.min_ts, k.min_ts + 1, k.max_ts, k.max_ts + 1]);
    }
    drop(txn);
    edges.sort_unstable();
    edges.dedup();
    for tag in 0..4 {
        for w in edges.windows(2) {
            check_query(&h, &model, tag, w[0], w[1]);
        }
        for _ in 0..50 {
            let a = edges[rng.below(edges.len() as u64) as usize];
            let b = edges[rng.below(edges.len() as u64) as usize];
            check_query(&h, &model, tag, a.min(b), a.max(b));
        }
        check_query(&h, &model, tag, i64::MIN, i64::MAX);
    }
    assert!(h.query(0, 10, 10).unwrap().is_empty());
    assert!(h.query(0, 10, 5).unwrap().is_empty());
}

#[test]
fn big_batch_and_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Historian::open(&dir.path().join("h.redb"), opts(100)).unwrap();
    let mut model: Vec<Sample> = (0..1000).map(|i| s(7, 1000 - i, i as f64, 0)).collect();
    model.extend((0..300).map(|i| s(7, 500, -(i as f64), (i % 2) as u16)));
    h.append(&model).unwrap();
    h.append(&model[..10]).unwrap();
    model.extend_from_within(..10);
    check_query(&h, &model, 7, i64::MIN, i64::MAX);
    check_query(&h, &model, 7, 500, 501);
    check_query(&h, &model, 7, 499, 502);
}

fn naive_downsample(sorted: &[Sample], from: i64, to: i64, n: usize) -> Vec<Column> {
    let span = i128::from(to) - i128::from(from);
    let n128 = n as i128;
    let start = |i: usize| (i128::from(from) + (span * i as i128 + n128 - 1) / n128) as i64;
    let mut out = Vec::new();
    for i in 0..n {
        let (a, b) = (start(i), if i + 1 == n { to } else { start(i + 1) });
        let inside: Vec<&Sample> = sorted.iter().filter(|x| x.ts_ms >= a && x.ts_ms < b).collect();
        if inside.is_empty() {
            continue;
        }
        let good: Vec<f64> = inside.iter().filter(|x| x.quality == 0).map(|x| x.value).collect();
        out.push(Column {
            start_ms: a,
            end_ms: b,
            min: good.iter().copied().reduce(f64::min).unwrap_or(f64::NAN),
            max: good.iter().copied().reduce(f64::max).unwrap_or(f64::NAN),
            first: good.first().copied().unwrap_or(f64::NAN),
            last: good.last().copied().unwrap_or(f64::NAN),
            count: good.len() as u64,
            bad: (inside.len() - good.len()) as u64,
        });
    }
    out
}

fn same_columns(a: &[Column], b: &[Column]) -> bool {
    let key = |c: &Column| {
        (c.start_ms, c.end_ms, c.min.to_bits(), c.max.to_bits(), c.first.to_bits(), c.last.to_bits(), c.count, c.bad)
    };
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| key(x) == key(y))
}

#[test]
fn downsample_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Historian::open(&dir.path().join("h.redb"), opts(32)).unwrap();
    let mut rng = Rng(12345);
    let mut model = Vec::new();
    feed(&mut h, &mut model, &mut rng, 300, 2);
    let max = model.iter().map(|x| x.ts_ms).max().unwrap();
    for tag in 0..2 {
        let all = h.query(tag, i64::MIN, i64::MAX).unwrap();
        for round in 0..60 {
            let a = rng.below(max as u64 + 10) as i64 - 5;
            let b = a + 1 + rng.below((max - a).max(1) as u64 + 10) as i64;
            let n = [1, 2, 3, 7, 50, 200, 5000][round % 7];
            let got = h.downsample(tag, a, b, n).unwrap();
            let sorted: Vec<Sample> = all.iter().filter(|x| x.ts_ms >= a && x.ts_ms < b).copied().collect();
            let n_eff = n.min((b - a) as usize);
            let want = naive_downsample(&sorted, a, b, n_eff);
            assert!(same_columns(&got, &want), "tag {tag} {a}..{b} n={n}\n got {got:?}\nwant {want:?}");
        }
    }
    assert!(h.downsample(0, 5, 5, 10).unwrap().is_empty());
    assert!(h.downsample(0, 0, 100, 0).unwrap().is_empty());
}

#[test]
fn retention_drops_whole_old_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.redb");
    let o = HistorianOptions { retention: Some(Duration::from_secs(100)), chunk_target: 10, ..Default::default() };
    let mut h = Historian::open(&path, o.clone()).unwrap();
    let mut model = Vec::new();
    for b in 0..100i64 {
        let batch: Vec<Sample> = (0..3).map(|t| s(t, b * 1000, b as f64, 0)).collect();
        h.append(&batch).unwrap();
        model.extend(batch);
    }
    let now = 50_000; // cutoff = now - 100 s in the test's time base below
    let dropped = h.apply_retention(now + 100_000).unwrap();
    let kept = h.stats().unwrap().samples;
    assert_eq!(dropped + kept, 300);
    assert!(dropped > 0);
    // Everything newer than the cutoff is still there; whatever is gone is old.
    for tag in 0..3 {
        let got = h.query(tag, i64::MIN, i64::MAX).unwrap();
        assert_eq!(got.len() as u64 * 3, kept);
        assert!(got.iter().all(|x| x.ts_ms >= 0));
        check_query(&h, &model, tag, now, i64::MAX);
        let first = got.first().map_or(i64::MAX, |x| x.ts_ms);
        assert!(first <= now && first > 0, "kept {first}..");
    }
    assert_eq!(h.apply_retention(1_000_000).unwrap(), kept);
    assert_eq!(h.stats().unwrap().samples, 0);
    drop(h);
    let h = Historian::open(&path, o).unwrap();
    assert_eq!(h.stats().unwrap().samples, 0);
}

#[test]
fn corrupt_chunk_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = HistorianOptions { flush_appends: 1, ..opts(8) };
    let mut h = Historian::open(&dir.path().join("h.redb"), o).unwrap();
    let batch: Vec<Sample> = (0..40).map(|i| s(1, i, i as f64 * 0.5, 0)).collect();
    h.append(&batch).unwrap();
    h.append(&[s(1, 40, 1.0, 0)]).unwrap();
    let txn = h.database().begin_write().unwrap();
    {
        let mut t = txn.open_table(CHUNKS).unwrap();
        let key = t.iter().unwrap().next().unwrap().unwrap().0.value();
        t.insert(key, &[1u8, 1, 9][..]).unwrap();
        let mut t = txn.open_table(PACKS).unwrap();
        let key = t.iter().unwrap().next().unwrap().unwrap().0.value();
        let damaged = damage_blocks(key, t.get(key).unwrap().unwrap().value());
        t.insert(key, damaged.as_slice()).unwrap();
    }
    txn.commit().unwrap();
    let e = h.query(1, 0, 100).unwrap_err();
    assert!(matches!(e, HistorianError::CorruptChunk { tag: 1, .. }), "{e}");
    assert!(h.downsample(1, 0, 100, 3).is_err());
    assert!(h.downsample(1, 0, 100, 1).is_err());
    // Compaction over a corrupt block fails cleanly too (and commits nothing).
    let more: Vec<Sample> = (41..60).map(|i| s(1, i, 0.0, 0)).collect();
    assert!(h.append(&more).is_err());
    assert_eq!(h.stats().unwrap().samples, 41);
}

// ---------------------------------------------------------------- crash safety

const CHILD_ENV: &str = "MIMIC_HISTORIAN_CRASH_CHILD";
const PER_BATCH: u64 = 20 * 10;

fn crash_batch(b: u64) -> Vec<Sample> {
    let mut v = Vec::new();
    for i in 0..10u64 {
        for t in 0..20u32 {
            let ts = (b * 10 + i) as i64 * 1000;
            v.push(s(t, ts, (b * 7 + u64::from(t)) as f64 / 10.0, (b % 3) as u16));
        }
    }
    v
}

/// Child half of `crash_safety` (does nothing unless re-executed by it).
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut h = Historian::open(Path::new(&path), opts(64)).unwrap();
    let start = h.stats().unwrap().samples / PER_BATCH;
    let mut out = std::io::stdout().lock();
    for b in start.. {
        h.append(&crash_batch(b)).unwrap();
        writeln!(out, "committed {b}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn crash_safety() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.redb");
    let exe = std::env::current_exe().unwrap();
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut rng = Rng(seed | 1);
    let mut max_reported = None;
    for _ in 0..10 {
        let mut child = Command::new(&exe)
            .args(["--exact", "historian::tests::crash_child", "--nocapture"])
            .args(["--test-threads=1", "--quiet"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut reported = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(n) = line.strip_prefix("committed ") {
                    reported.push(n.trim().parse::<u64>().unwrap());
                }
            }
            reported
        });
        std::thread::sleep(Duration::from_millis(80 + rng.below(300)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let reported = reader.join().unwrap();
        if let Some(&m) = reported.last() {
            max_reported = Some(m);
        }
        let h = Historian::open(&path, opts(64)).unwrap();
        let samples = h.stats().unwrap().samples;
        assert_eq!(samples % PER_BATCH, 0, "a batch was torn");
        let batches = samples / PER_BATCH;
        if let Some(m) = max_reported {
            assert!(batches > m, "batch {m} reported committed but lost");
        }
        // Every stored batch is complete and correct.
        for t in [0u32, 19] {
            let got = h.query(t, i64::MIN, i64::MAX).unwrap();
            assert_eq!(got.len() as u64, batches * 10);
            for (j, x) in got.iter().enumerate() {
                let b = j as u64 / 10;
                assert_eq!(x.ts_ms, j as i64 * 1000);
                assert_eq!(x.value, (b * 7 + u64::from(t)) as f64 / 10.0);
                assert_eq!(x.quality, (b % 3) as u16);
            }
        }
    }
    assert!(max_reported.is_some(), "child never committed anything");
}

#[test]
fn reopen_keeps_everything_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reopen.redb");
    let mut h = Historian::open(&path, opts(64)).unwrap();
    let batch: Vec<Sample> = (0..100).map(|i| s(3, i, i as f64, 0)).collect();
    h.append(&batch).unwrap();
    h.reopen().unwrap();
    assert_eq!(h.query(3, i64::MIN, i64::MAX).unwrap(), batch);
    let more: Vec<Sample> = (100..150).map(|i| s(3, i, i as f64, 0)).collect();
    h.append(&more).unwrap();
    assert_eq!(h.stats().unwrap().samples, 150);
    // The file is really closed and opened again: another handle can open it once this one is gone.
    drop(h);
    assert_eq!(Historian::open(&path, opts(64)).unwrap().stats().unwrap().samples, 150);
}

#[test]
fn import_writes_chunks_that_query_like_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.redb");
    let mut h = Historian::open(&path, opts(4096)).unwrap();
    let mut rng = Rng(99);
    // 20,000 samples of tag 3, a few out of order and one Bad run; plus live appends after.
    let mut imported: Vec<Sample> =
        (0..20_000).map(|i| s(3, i * 1000, (rng.below(1000) as f64) / 10.0, u16::from(i % 997 == 0))).collect();
    imported.swap(10, 500);
    h.import(3, &imported).unwrap();
    let live: Vec<Sample> = (20_000..20_100).map(|i| s(3, i * 1000, 1.5, 0)).collect();
    h.append(&live).unwrap();
    let mut model = imported.clone();
    model.extend_from_slice(&live);
    let st = h.stats().unwrap();
    assert_eq!(st.samples, 20_100);
    assert!(st.chunks > 5, "imported as several chunks, got {}", st.chunks);
    assert_eq!(st.pending_blocks, 1, "only the live append is a pending block");
    for (a, b) in [(0, 1_000_000), (5_000_500, 9_000_000), (i64::MIN, i64::MAX), (19_999_000, 20_050_000)] {
        check_query(&h, &model, 3, a, b);
    }
    let mut sorted = model.clone();
    sorted.sort_by_key(|x| x.ts_ms);
    let got = h.downsample(3, 0, 20_100_000, 200).unwrap();
    assert!(same_columns(&got, &naive_downsample(&sorted, 0, 20_100_000, 200)));
    // Reopened, the span bookkeeping still finds chunks that start before `from`.
    drop(h);
    let h = Historian::open(&path, opts(4096)).unwrap();
    check_query(&h, &model, 3, 7_777_000, 7_778_000);

    let mut h = h;
    let err = h.import(4, &[s(4, 0, 1.0, 0), s(5, 1, 1.0, 0)]).unwrap_err();
    assert!(matches!(err, HistorianError::ImportTagMismatch { tag: 4, found: 5 }), "{err}");
    h.import(4, &[]).unwrap();
}

/// A clock stepped back by an hour, then forward by a day: samples an hour older than
/// their tag's newest arrive, alone and mixed with in-order ones and other tags, before
/// and after compaction. Every batch is stored, nothing is corrupted, queries and trends
/// see every sample in time order, across a reopen.
#[test]
fn late_samples_are_stored_without_corrupting_a_chunk_or_failing_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.redb");
    let mut h = Historian::open(&path, opts(64)).unwrap();
    let mut model = Vec::new();
    let mut put = |h: &mut Historian, batch: Vec<Sample>| {
        h.append(&batch).expect("a batch with late samples is stored");
        model.extend(batch);
    };
    let t0 = 1_795_000_000_000i64;
    // 300 s in order at 1 Hz (compacted into chunks), then the step back by an hour.
    for b in 0..30 {
        put(&mut h, (0..10).map(|i| s(0, t0 + (b * 10 + i) * 1000, (b * 10 + i) as f64, 0)).collect());
    }
    let back = t0 + 300_000 - 3_600_000;
    for b in 0..30 {
        let mut batch: Vec<Sample> = (0..10).map(|i| s(0, back + (b * 10 + i) * 1000, -1.5, 0)).collect();
        batch.push(s(1, t0 + b * 1000, 7.0, 0)); // another tag, in order
        if b == 3 {
            batch.push(s(0, t0 + 299_000, 42.0, 192)); // a duplicate of the newest time
        }
        put(&mut h, batch);
    }
    // Forward by a day.
    put(&mut h, (0..100).map(|i| s(0, t0 + 86_400_000 + i * 1000, 0.25, 0)).collect());
    assert_eq!(h.newest_ts(&[0, 1, 2]).unwrap(), vec![Some(t0 + 86_400_000 + 99_000), Some(t0 + 29_000), None]);
    for reopened in [false, true] {
        if reopened {
            drop(h);
            h = Historian::open(&path, opts(64)).unwrap();
        }
        assert_eq!(h.stats().unwrap().samples, model.len() as u64);
        check_query(&h, &model, 0, i64::MIN, i64::MAX);
        check_query(&h, &model, 0, back + 5_500, t0 + 150_000);
        check_query(&h, &model, 1, i64::MIN, i64::MAX);
        let cols = h.downsample(0, back, t0 + 86_400_000 + 100_000, 50).unwrap();
        let counted: u64 = cols.iter().map(|c| c.count + c.bad).sum();
        assert_eq!(counted, model.iter().filter(|x| x.tag == 0).count() as u64, "trend sees every sample");
        assert_eq!(h.newest_ts(&[0]).unwrap(), vec![Some(t0 + 86_400_000 + 99_000)]);
    }
}

/// The newest time of a tag is found when the chunk that starts last is not the one that
/// ends last (overlapping chunks after out-of-order appends), and in pending blocks.
#[test]
fn newest_ts_reads_overlapping_chunks_and_pending_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Historian::open(&dir.path().join("newest.redb"), opts(16)).unwrap();
    assert_eq!(h.newest_ts(&[0]).unwrap(), vec![None]);
    // One wide chunk [0, 10_000] and, later, narrow ones starting after 0 but ending sooner.
    let mut wide: Vec<Sample> = (0..15).map(|i| s(0, i * 10, 1.0, 0)).collect();
    wide.push(s(0, 10_000, 2.0, 0));
    h.append(&wide).unwrap();
    h.append(&(0..20).map(|i| s(0, 500 + i, 3.0, 0)).collect::<Vec<_>>()).unwrap();
    h.append(&(0..20).map(|i| s(0, 600 + i, 3.0, 0)).collect::<Vec<_>>()).unwrap();
    assert!(h.stats().unwrap().chunks >= 2);
    assert_eq!(h.newest_ts(&[0]).unwrap(), vec![Some(10_000)]);
    h.append(&[s(0, 20_000, 4.0, 0)]).unwrap(); // a pending block
    assert_eq!(h.newest_ts(&[0, 5]).unwrap(), vec![Some(20_000), None]);
}

/// One sample per tag per append (the daemon at 1 Hz): each append is one journal row,
/// its samples open in memory where queries, trends and `newest_ts` see them; every
/// `flush_appends` appends they become one block per tag, and every `merge_every`
/// flushes each tag's blocks are merged, so pending blocks stay bounded per tag long
/// before a chunk fills. Every sample stays where queries find it, across reopens with
/// and without open journal rows.
#[test]
fn slow_tags_go_through_the_journal_and_pending_blocks_stay_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slow.redb");
    let o = HistorianOptions { flush_appends: 5, merge_every: 4, ..opts(4096) };
    let mut h = Historian::open(&path, o.clone()).unwrap();
    let tags = 30u32;
    let mut model = Vec::new();
    h.append(&(0..tags).map(|t| s(t, 0, 1.0, 0)).collect::<Vec<_>>()).unwrap();
    model.extend((0..tags).map(|t| s(t, 0, 1.0, 0)));
    let st = h.stats().unwrap();
    assert_eq!((st.pending_blocks, st.open_samples, st.samples), (0, 30, 30), "a sparse batch is a journal row");
    assert_eq!(h.newest_ts(&[3]).unwrap(), vec![Some(0)]);
    let mut most = 0usize;
    for i in 1..403i64 {
        let batch: Vec<Sample> = (0..tags).map(|t| s(t, i * 1000, (i % 7) as f64 + f64::from(t), 0)).collect();
        h.append(&batch).unwrap();
        model.extend(batch);
        most = most.max(h.tags.values().map(|st| st.pending.len()).max().unwrap_or(0));
        assert!(h.journal.len() < 5, "the journal is flushed every 5 appends");
        if i % 97 == 0 {
            // Reopened with open journal rows: they are replayed.
            let open = h.stats().unwrap().open_samples;
            drop(h);
            h = Historian::open(&path, o.clone()).unwrap();
            assert_eq!(h.stats().unwrap().open_samples, open);
            check_query(&h, &model, 5, i64::MIN, i64::MAX);
        }
    }
    // One block per flush, merged once every 4 flushes (a reopen restarts the schedule of
    // the merge slices: a tag may wait one round more).
    assert!(most <= 2 * 4, "pending blocks per tag grew to {most}");
    let st = h.stats().unwrap();
    assert_eq!(st.samples, model.len() as u64);
    assert!(st.open_samples > 0 && st.pending_blocks > 0, "{st:?}");
    let mut sorted: Vec<Sample> = model.iter().filter(|x| x.tag == 17).copied().collect();
    sorted.sort_by_key(|x| x.ts_ms);
    let cols = h.downsample(17, 0, 403_000, 37).unwrap();
    assert!(same_columns(&cols, &naive_downsample(&sorted, 0, 403_000, 37)), "trends include open samples");
    assert_eq!(h.newest_ts(&[17]).unwrap(), vec![Some(402_000)]);
    for reopened in [false, true] {
        if reopened {
            drop(h);
            h = Historian::open(&path, o.clone()).unwrap();
        }
        assert_eq!(h.stats().unwrap().samples, model.len() as u64);
        for t in [0, 17, tags - 1] {
            check_query(&h, &model, t, i64::MIN, i64::MAX);
            check_query(&h, &model, t, 123_000, 398_001);
        }
    }
}

/// A failed commit (here: a flush that meets a corrupt block) loses nothing already
/// committed: the journal rows stay, the open samples come back from them, and the next
/// append that succeeds stores everything.
#[test]
fn a_failed_flush_keeps_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let o = HistorianOptions { flush_appends: 3, merge_every: 1, ..opts(4096) };
    let mut h = Historian::open(&dir.path().join("h.redb"), o).unwrap();
    h.append(&(0..20).map(|i| s(1, i, 1.0, 0)).collect::<Vec<_>>()).unwrap(); // dense: a block
    h.append(&[s(1, 100, 2.0, 0), s(2, 100, 2.0, 0)]).unwrap();
    h.append(&[s(1, 101, 3.0, 0), s(2, 101, 3.0, 0)]).unwrap();
    assert_eq!(h.stats().unwrap().open_samples, 4);
    let txn = h.database().begin_write().unwrap();
    let damaged = {
        let mut t = txn.open_table(PACKS).unwrap();
        let key = t.iter().unwrap().next().unwrap().unwrap().0.value();
        let good = t.get(key).unwrap().unwrap().value().to_vec();
        t.insert(key, damage_blocks(key, &good).as_slice()).unwrap();
        (key, good)
    };
    txn.commit().unwrap();
    // The third append flushes and merges tag 1's two blocks: the damaged one fails it.
    assert!(h.append(&[s(1, 102, 4.0, 0), s(2, 102, 4.0, 0)]).is_err());
    assert_eq!(h.stats().unwrap().open_samples, 4, "the journal's samples are still open");
    let txn = h.database().begin_write().unwrap();
    txn.open_table(PACKS).unwrap().insert(damaged.0, damaged.1.as_slice()).unwrap();
    txn.commit().unwrap();
    h.append(&[s(1, 102, 4.0, 0), s(2, 102, 4.0, 0)]).unwrap();
    let st = h.stats().unwrap();
    assert_eq!((st.samples, st.open_samples), (26, 0));
    assert_eq!(h.query(2, 0, 1000).unwrap().len(), 3);
}

#[test]
fn tag_ids_assign_new_names_in_one_commit_and_keep_old_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ids.redb");
    let mut h = Historian::open(&path, opts(64)).unwrap();
    let a = h.tag_id("a").unwrap();
    let ids = h.tag_ids(&["b", "a", "c", "b"]).unwrap();
    assert_eq!(ids, vec![a + 1, a, a + 2, a + 1]);
    assert_eq!(h.tag_ids::<&str>(&[]).unwrap(), Vec::<TagId>::new());
    assert_eq!(h.tag_ids(&["c", "a"]).unwrap(), vec![a + 2, a]); // nothing new: nothing committed
    drop(h);
    let mut h = Historian::open(&path, opts(64)).unwrap();
    assert_eq!(h.tag_id("d").unwrap(), a + 3);
    assert_eq!(h.lookup("b").unwrap(), Some(a + 1));
}

/// A store is created under a temporary name and renamed into place: a half-made file
/// left by a process killed while creating one (here: garbage under the temporary name)
/// is replaced, and the store opens.
#[test]
fn a_new_store_appears_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.redb");
    let tmp = dir.path().join("new.redb.creating");
    std::fs::write(&tmp, b"half a redb header").unwrap();
    let mut h = Historian::open(&path, opts(64)).unwrap();
    assert!(!tmp.exists(), "the temporary file was renamed into place");
    h.append(&[s(0, 1, 1.0, 0)]).unwrap();
    drop(h);
    assert_eq!(Historian::open(&path, opts(64)).unwrap().stats().unwrap().samples, 1);
}

/// A store written before packs keeps its pending blocks one redb entry each
/// (`historian.blocks`): they are read, queried and merged like packed ones.
#[test]
fn blocks_of_the_older_layout_are_still_read_and_merged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.redb");
    let o = HistorianOptions { flush_appends: 2, merge_every: 1, ..opts(64) };
    let old: Vec<Sample> = (0..10).map(|i| s(3, i * 1000, f64::from(i as i32) * 0.5, 0)).collect();
    {
        let h = Historian::open(&path, o.clone()).unwrap();
        let txn = h.database().begin_write().unwrap();
        let mut buf = Vec::new();
        super::codec::encode(&old, &mut buf);
        let key = ChunkKey { seq: 0, ..super::write::key_of(3, &old) };
        txn.open_table(BLOCKS).unwrap().insert(key.block_tuple(), buf.as_slice()).unwrap();
        txn.commit().unwrap();
    }
    let mut h = Historian::open(&path, o.clone()).unwrap();
    assert_eq!(h.stats().unwrap().pending_blocks, 1);
    assert_eq!(h.query(3, 0, 100_000).unwrap(), old);
    let more: Vec<Sample> = (10..12).map(|i| s(3, i * 1000, 1.0, 0)).collect();
    for x in &more {
        h.append(std::slice::from_ref(x)).unwrap();
    }
    let txn = h.database().begin_read().unwrap();
    assert!(txn.open_table(BLOCKS).unwrap().is_empty().unwrap(), "the old block was merged");
    drop(txn);
    let want: Vec<Sample> = old.iter().chain(&more).copied().collect();
    assert_eq!(h.query(3, 0, 100_000).unwrap(), want);
    drop(h);
    assert_eq!(Historian::open(&path, o).unwrap().query(3, 0, 100_000).unwrap(), want);
}

/// `flush_journal` writes the open samples into blocks: nothing is left to replay, and
/// nothing is lost.
#[test]
fn flush_journal_leaves_nothing_to_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.redb");
    let mut h = Historian::open(&path, opts(64)).unwrap();
    h.flush_journal().unwrap(); // empty: nothing to do
    h.append(&[s(0, 1000, 1.0, 0), s(1, 1000, 2.0, 0)]).unwrap();
    h.append(&[s(0, 2000, 1.5, 0)]).unwrap();
    assert_eq!(h.stats().unwrap().open_samples, 3);
    h.flush_journal().unwrap();
    assert_eq!(h.stats().unwrap().open_samples, 0);
    drop(h);
    let h = Historian::open(&path, opts(64)).unwrap();
    let st = h.stats().unwrap();
    assert_eq!((st.samples, st.open_samples), (3, 0));
    assert_eq!(h.query(0, 0, 10_000).unwrap(), vec![s(0, 1000, 1.0, 0), s(0, 2000, 1.5, 0)]);
}
