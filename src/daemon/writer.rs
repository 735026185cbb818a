//! The historian writer thread: collects samples and commits them in durable batches at
//! least once a second, so a crash loses at most the open batch. A failed commit (disk
//! full, I/O error) keeps the batch in memory, up to a bound, and retries every interval,
//! reopening the store file first (redb refuses every write after a failed commit until
//! then); polling goes on regardless, and the failure is in the store status, which the
//! snapshot turns into a system alarm, until a commit succeeds again.
//!
//! Every sample passes [`Monotone`] first: per tag, stored times never go backwards
//! (see [`super::clock`]).

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::clock::Monotone;
use crate::core::Sample;
use crate::historian::{self, Historian, TagId};

/// Longest time samples wait before they are committed.
pub const BATCH_INTERVAL: Duration = Duration::from_secs(1);
/// Between commits the writer takes what the core sent this often (not at every send).
pub const DRAIN_EVERY: Duration = Duration::from_millis(100);
/// A batch this large is committed at once.
pub const BATCH_MAX: usize = 200_000;
/// Samples held in memory while the store refuses writes; older ones are dropped beyond.
pub const BACKLOG_MAX: usize = 5_000_000;
/// How often whole chunks older than the site's retention are dropped.
pub const RETENTION_EVERY: Duration = Duration::from_secs(3600);

#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoreStatus {
    pub samples: u64,
    pub commits: u64,
    pub bytes: u64,
    pub last_commit_ms: Option<i64>,
    pub error: Option<String>,
    pub dropped: u64,
    /// Wall-clock time of the first committed sample (start-up measurement).
    pub first_commit_ms: Option<i64>,
    /// Wall-clock time of the first failed commit of the current episode of failures
    /// (which ends [`ALARM_HOLD`] after its last failure).
    pub failing_since_ms: Option<i64>,
    /// Wall-clock time and error of the latest failed commit.
    pub last_failure_ms: Option<i64>,
    pub last_error: Option<String>,
    /// Samples stored 1 ms after their tag's newest because they were older (the clock
    /// stepped back), flagged Uncertain (time adjusted).
    pub time_adjusted: u64,
}

/// A store that failed stays in alarm this long after its last failed commit: on a full
/// disk redb still fits some commits into free pages of its file, and the alarm must not
/// chatter between failures.
pub const ALARM_HOLD: Duration = Duration::from_secs(10);

impl StoreStatus {
    /// True while the "historian cannot store" system alarm is on at `now_ms`.
    pub fn in_alarm(&self, now_ms: i64) -> bool {
        let hold = i64::try_from(ALARM_HOLD.as_millis()).unwrap_or(i64::MAX);
        self.error.is_some() || self.last_failure_ms.is_some_and(|t| now_ms.saturating_sub(t) < hold)
    }
}

pub struct Writer {
    tx: mpsc::Sender<Vec<Sample>>,
    thread: JoinHandle<()>,
}

impl Writer {
    pub fn start(
        hist: Arc<RwLock<Historian>>,
        path: std::path::PathBuf,
        ids: Arc<Vec<TagId>>,
        status: Arc<Mutex<StoreStatus>>,
    ) -> Writer {
        let (tx, rx) = mpsc::channel::<Vec<Sample>>();
        let thread = std::thread::Builder::new()
            .name("historian".into())
            .spawn(move || run(rx, hist, &path, ids, status))
            .expect("spawn historian thread");
        Writer { tx, thread }
    }

    pub fn sender(&self) -> mpsc::Sender<Vec<Sample>> {
        self.tx.clone()
    }

    /// Close the input and wait for the last commit.
    pub fn finish(self) {
        drop(self.tx);
        let _ = self.thread.join();
    }
}

fn run(
    rx: mpsc::Receiver<Vec<Sample>>,
    hist: Arc<RwLock<Historian>>,
    path: &std::path::Path,
    ids: Arc<Vec<TagId>>,
    status: Arc<Mutex<StoreStatus>>,
) {
    // Where each tag's stored time stands (the store tells, once).
    let newest = match hist.read().map(|h| h.newest_ts(&ids)) {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            tracing::warn!("newest stored times unreadable ({e}); time order is kept from the first new sample on");
            Vec::new()
        }
        Err(_) => return,
    };
    // On the way out the journal is flushed into blocks, so the next start replays nothing.
    let _flush_on_stop = FlushOnStop(hist.clone());
    let mut w = Batches {
        rx,
        hist,
        path,
        ids,
        status,
        pending: Vec::new(),
        // Commit at once when nothing was committed for a whole interval (so the first
        // sample is durable immediately), else at most one interval after the last commit.
        last_commit: Instant::now().checked_sub(BATCH_INTERVAL).unwrap_or_else(Instant::now),
        open: true,
        next_retention: Instant::now(),
        reopen: false,
        order: Monotone::new(newest),
        warned: None,
        last_trim: Instant::now(),
    };
    while w.open || !w.pending.is_empty() {
        w.retention();
        if !w.receive() || w.pending.is_empty() {
            continue;
        }
        if !w.commit() {
            return;
        }
    }
}

/// The writer thread's state between commits.
struct Batches<'a> {
    rx: mpsc::Receiver<Vec<Sample>>,
    hist: Arc<RwLock<Historian>>,
    path: &'a std::path::Path,
    ids: Arc<Vec<TagId>>,
    status: Arc<Mutex<StoreStatus>>,
    pending: Vec<historian::Sample>,
    last_commit: Instant,
    /// The core still sends.
    open: bool,
    next_retention: Instant,
    /// Set by a failed commit: the store file must be reopened before the next attempt.
    reopen: bool,
    order: Monotone,
    /// When time-adjusted samples were last warned of.
    warned: Option<Instant>,
    last_trim: Instant,
}

impl Batches<'_> {
    /// Drops whole chunks past the site's retention, every [`RETENTION_EVERY`].
    fn retention(&mut self) {
        if Instant::now() < self.next_retention {
            return;
        }
        self.next_retention = Instant::now() + RETENTION_EVERY;
        if let Ok(mut h) = self.hist.write() {
            match h.apply_retention(mimic_drivers::now_ms()) {
                Ok(0) => {}
                Ok(n) => tracing::info!("retention: dropped {n} samples past the site's retention"),
                Err(e) => tracing::warn!("retention failed: {e}"),
            }
        }
    }

    /// Takes what the core sent until a commit is due; false: not due yet.
    fn receive(&mut self) -> bool {
        let due = self.last_commit + BATCH_INTERVAL;
        let wait = if self.pending.is_empty() { BATCH_INTERVAL } else { due.saturating_duration_since(Instant::now()) };
        match self.rx.recv_timeout(wait) {
            Ok(batch) => {
                let mut adjusted = take(&batch, &self.ids, &mut self.order, &mut self.pending);
                // The core sends every poll's samples (1,000 devices: 1,000 batches a
                // second): rather than wake for each, wait a while and take all at once.
                let now = Instant::now();
                if now < due && self.pending.len() < BATCH_MAX {
                    std::thread::sleep(DRAIN_EVERY.min(due - now));
                }
                loop {
                    match self.rx.try_recv() {
                        Ok(batch) => adjusted += take(&batch, &self.ids, &mut self.order, &mut self.pending),
                        Err(mpsc::TryRecvError::Empty) => break,
                        Err(mpsc::TryRecvError::Disconnected) => {
                            self.open = false;
                            break;
                        }
                    }
                }
                self.time_adjusted(adjusted);
                if self.open && self.pending.len() < BATCH_MAX && Instant::now() < due {
                    return false;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => self.open = false,
        }
        true
    }

    /// Counts samples stored 1 ms after their tag's newest, and warns (at most every 10 min).
    fn time_adjusted(&mut self, adjusted: u64) {
        if adjusted == 0 {
            return;
        }
        if self.warned.is_none_or(|t| t.elapsed() >= Duration::from_secs(600)) {
            self.warned = Some(Instant::now());
            tracing::warn!(
                "samples older than their tag's newest stored one (the clock went back): stored 1 ms after it, \
                 Uncertain (time adjusted), until the clock catches up"
            );
        }
        self.status.lock().unwrap_or_else(|e| e.into_inner()).time_adjusted += adjusted;
    }

    /// Commits the pending samples; false: the thread ends (the store lock is poisoned, or
    /// the commit failed after the core stopped sending).
    fn commit(&mut self) -> bool {
        self.last_commit = Instant::now();
        let result = match self.hist.write() {
            Ok(mut h) => {
                let ready = if self.reopen { h.reopen() } else { Ok(()) };
                ready
                    .and_then(|()| h.append(&self.pending))
                    .map(|()| std::fs::metadata(self.path).map(|m| m.len()).unwrap_or(0))
            }
            Err(_) => return false,
        };
        let status = Arc::clone(&self.status);
        let mut st = status.lock().unwrap_or_else(|e| e.into_inner());
        let now = mimic_drivers::now_ms();
        match result {
            Ok(bytes) => {
                if let Some(since) = st.failing_since_ms.filter(|_| st.error.is_some()) {
                    tracing::warn!(
                        "historian: a commit succeeded after {} s of failures; {} samples kept meanwhile were stored",
                        (now - since) / 1000,
                        self.pending.len()
                    );
                }
                if !st.in_alarm(now) {
                    st.failing_since_ms = None;
                }
                self.reopen = false;
                st.samples += self.pending.len() as u64;
                st.commits += 1;
                st.bytes = bytes;
                st.last_commit_ms = Some(now);
                st.first_commit_ms.get_or_insert(now);
                st.error = None;
                let committed = self.pending.len();
                self.pending.clear();
                // a backlog (the store stalled, the machine was busy) grew the batch
                historian::keep_capacity(&mut self.pending, committed);
                drop(st);
                if self.last_trim.elapsed() >= TRIM_EVERY {
                    self.last_trim = Instant::now();
                    trim_heap();
                }
                true
            }
            Err(e) => {
                self.failed(&mut st, &e, now);
                self.open
            }
        }
    }

    /// A failed commit: the batch is kept (up to [`BACKLOG_MAX`]), the store reopened next time.
    fn failed(&mut self, st: &mut StoreStatus, e: &dyn std::fmt::Display, now: i64) {
        if st.failing_since_ms.is_none() {
            tracing::error!("historian commit failed (polling goes on; retrying every second): {e}");
            st.failing_since_ms = Some(now);
        } else {
            tracing::debug!("historian commit failed again: {e}");
        }
        self.reopen = true;
        st.error = Some(e.to_string());
        st.last_error = st.error.clone();
        st.last_failure_ms = Some(now);
        if self.pending.len() > BACKLOG_MAX {
            let excess = self.pending.len() - BACKLOG_MAX;
            self.pending.drain(..excess);
            st.dropped += excess as u64;
        }
    }
}

/// Flushes the store's journal when the writer thread ends (however it ends).
struct FlushOnStop(Arc<RwLock<Historian>>);

impl Drop for FlushOnStop {
    fn drop(&mut self) {
        if let Ok(mut h) = self.0.write()
            && let Err(e) = h.flush_journal()
        {
            tracing::warn!("historian: the journal was not flushed at stop ({e}); the next start replays it");
        }
    }
}

/// The samples of one batch from the core, in time order per tag, with their store ids;
/// returns how many had their time adjusted.
fn take(batch: &[Sample], ids: &[TagId], order: &mut Monotone, pending: &mut Vec<historian::Sample>) -> u64 {
    let mut adjusted = 0u64;
    pending.extend(batch.iter().filter_map(|s| {
        let tag = *ids.get(s.tag)?;
        let (s, moved) = order.stamp(*s);
        adjusted += u64::from(moved);
        Some(historian::Sample { tag, ts_ms: s.ts_ms, value: s.value, quality: s.quality.to_code() })
    }));
    adjusted
}

/// How often the writer hands freed heap back to the OS.
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Returns the allocator's free memory to the OS (glibc keeps what a flush or a merge
/// round freed, in every arena, until told). A few hundred microseconds every
/// [`TRIM_EVERY`] on the writer's own thread.
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages of the allocator's own arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_alarm_is_held_after_the_last_failure() {
        let hold = i64::try_from(ALARM_HOLD.as_millis()).unwrap();
        let mut st = StoreStatus::default();
        assert!(!st.in_alarm(1_000));
        st.error = Some("No space left on device".into());
        st.last_failure_ms = Some(1_000);
        assert!(st.in_alarm(1_000));
        // A commit succeeded: the error is gone, the alarm holds, then clears.
        st.error = None;
        assert!(st.in_alarm(1_000 + hold - 1));
        assert!(!st.in_alarm(1_000 + hold));
        // A clock stepped back does not clear it early.
        assert!(st.in_alarm(0));
    }
}
