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
    let mut pending: Vec<historian::Sample> = Vec::new();
    // Commit at once when nothing was committed for a whole interval (so the first
    // sample is durable immediately), else at most one interval after the last commit.
    let mut last_commit = Instant::now().checked_sub(BATCH_INTERVAL).unwrap_or_else(Instant::now);
    let mut open = true;
    let mut next_retention = Instant::now();
    // Set by a failed commit: the store file must be reopened before the next attempt.
    let mut reopen = false;
    // Where each tag's stored time stands (the store tells, once).
    let newest = match hist.read().map(|h| h.newest_ts(&ids)) {
        Ok(Ok(n)) => n,
        Ok(Err(e)) => {
            tracing::warn!("newest stored times unreadable ({e}); time order is kept from the first new sample on");
            Vec::new()
        }
        Err(_) => return,
    };
    let mut order = Monotone::new(newest);
    let mut warned: Option<Instant> = None;
    let mut last_trim = Instant::now();
    while open || !pending.is_empty() {
        if Instant::now() >= next_retention {
            next_retention = Instant::now() + RETENTION_EVERY;
            if let Ok(mut h) = hist.write() {
                match h.apply_retention(mimic_drivers::now_ms()) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("retention: dropped {n} samples past the site's retention"),
                    Err(e) => tracing::warn!("retention failed: {e}"),
                }
            }
        }
        let due = last_commit + BATCH_INTERVAL;
        let wait = if pending.is_empty() { BATCH_INTERVAL } else { due.saturating_duration_since(Instant::now()) };
        match rx.recv_timeout(wait) {
            Ok(batch) => {
                let mut adjusted = take(&batch, &ids, &mut order, &mut pending);
                // The core sends every poll's samples (1,000 devices: 1,000 batches a
                // second): rather than wake for each, wait a while and take all at once.
                let now = Instant::now();
                if now < due && pending.len() < BATCH_MAX {
                    std::thread::sleep(DRAIN_EVERY.min(due - now));
                }
                loop {
                    match rx.try_recv() {
                        Ok(batch) => adjusted += take(&batch, &ids, &mut order, &mut pending),
                        Err(mpsc::TryRecvError::Empty) => break,
                        Err(mpsc::TryRecvError::Disconnected) => {
                            open = false;
                            break;
                        }
                    }
                }
                if adjusted > 0 {
                    if warned.is_none_or(|t| t.elapsed() >= Duration::from_secs(600)) {
                        warned = Some(Instant::now());
                        tracing::warn!(
                            "samples older than their tag's newest stored one (the clock went back): stored 1 ms \
                             after it, Uncertain (time adjusted), until the clock catches up"
                        );
                    }
                    status.lock().unwrap_or_else(|e| e.into_inner()).time_adjusted += adjusted;
                }
                if open && pending.len() < BATCH_MAX && Instant::now() < due {
                    continue;
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => open = false,
        }
        if pending.is_empty() {
            continue;
        }
        last_commit = Instant::now();
        let result = match hist.write() {
            Ok(mut h) => {
                let ready = if reopen { h.reopen() } else { Ok(()) };
                ready.and_then(|()| h.append(&pending)).map(|()| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0))
            }
            Err(_) => return,
        };
        let mut st = status.lock().unwrap_or_else(|e| e.into_inner());
        let now = mimic_drivers::now_ms();
        match result {
            Ok(bytes) => {
                if let Some(since) = st.failing_since_ms.filter(|_| st.error.is_some()) {
                    tracing::warn!(
                        "historian: a commit succeeded after {} s of failures; {} samples kept meanwhile were stored",
                        (now - since) / 1000,
                        pending.len()
                    );
                }
                if !st.in_alarm(now) {
                    st.failing_since_ms = None;
                }
                reopen = false;
                st.samples += pending.len() as u64;
                st.commits += 1;
                st.bytes = bytes;
                st.last_commit_ms = Some(now);
                st.first_commit_ms.get_or_insert(now);
                st.error = None;
                pending.clear();
                drop(st);
                if last_trim.elapsed() >= TRIM_EVERY {
                    last_trim = Instant::now();
                    trim_heap();
                }
            }
            Err(e) => {
                if st.failing_since_ms.is_none() {
                    tracing::error!("historian commit failed (polling goes on; retrying every second): {e}");
                    st.failing_since_ms = Some(now);
                } else {
                    tracing::debug!("historian commit failed again: {e}");
                }
                reopen = true;
                st.error = Some(e.to_string());
                st.last_error = st.error.clone();
                st.last_failure_ms = Some(now);
                if pending.len() > BACKLOG_MAX {
                    let excess = pending.len() - BACKLOG_MAX;
                    pending.drain(..excess);
                    st.dropped += excess as u64;
                }
                if !open {
                    return;
                }
            }
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
