//! The models worker: a thread beside the core that runs what is too slow for the core's
//! path, from the store's history.
//!
//! - **Remaining life**: every [`RUL_EVERY`], each asset with a model file
//!   `DATA/models/<asset>.rul.json` (loaded, and reloaded when the file changes) turns the new
//!   whole cycles of its tags' history into rows and predicts; the estimate, with its interval,
//!   goes to the core for the snapshot.
//! - **Diagnosis**: when the core asks ([`DiagnoseRequest`], an alarm of the asset became
//!   active), it waits [`DIAGNOSE_AFTER_MS`] for the samples to be stored, reads the history of
//!   the asset's signals around the alarm, aligns it on a 1 s grid (rows with a Bad or missing
//!   value are left out), and runs [`crate::models::diagnosis::live::diagnose`] with the
//!   asset's fault signatures from `DATA/models/<asset>.faults.toml` (none: no likely cause).
//!
//! It only reads: the store through the shared historian, model files from the data directory.
//! It stops when the core task goes away (its job channel closes).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc::UnboundedSender;

use crate::config::Site;

/// Why the worker could not read what a model needs: an asset's remaining-life model is
/// not tracked or not brought up to date, or a diagnosis has no history.
#[derive(Debug, thiserror::Error)]
enum TrackError {
    #[error(transparent)]
    Model(#[from] crate::models::rul::RulError),
    #[error("model channel `{0}` is not a tag of the site")]
    NotATag(String),
    #[error("`{0}` is not a tag of the site")]
    UnknownTag(String),
    #[error("the store lock is poisoned")]
    Poisoned,
    #[error(transparent)]
    Store(#[from] crate::historian::HistorianError),
    #[error(transparent)]
    Align(#[from] crate::models::anomaly::asset::AssetModelError),
    /// The diagnosis's error is not a `source`: its text is in this message already.
    #[error("{why} (history of {seconds} s)")]
    Diagnosis { why: crate::models::diagnosis::DiagnosisError, seconds: usize },
}
use crate::core::DiagnoseRequest;
use crate::historian::{Historian, TagId};
use crate::ipc::{LiveDiagnosis, LiveOnset, LiveRul};
use crate::models::anomaly::asset::{align_timed, asset_file};
use crate::models::diagnosis::Signatures;
use crate::models::diagnosis::live::{HISTORY_MS, diagnose};
use crate::models::rul::asset::{AssetRul, Cycler, rul_path};

/// How often remaining lives are brought up to date.
pub const RUL_EVERY: Duration = Duration::from_secs(5);
/// How long after an alarm its diagnosis runs (samples reach the store within a second).
pub const DIAGNOSE_AFTER_MS: i64 = 5_000;
/// Least history a diagnosis reads before its alarm (ms): a baseline and the monitored lead.
pub const MIN_HISTORY_MS: i64 = 60_000;
/// Most cycles read from the store at once.
const CYCLES_PER_READ: usize = 2_000;

/// What the worker found (the core's message type).
pub use crate::core::ModelNews as News;

/// `DATA/models/<asset>.faults.toml`: the asset's fault signatures and tracking pairs.
pub fn faults_path(data_dir: &Path, asset: &str) -> PathBuf {
    asset_file(data_dir, asset, "faults.toml")
}

pub struct Worker {
    pub site: Arc<Site>,
    pub data_dir: PathBuf,
    pub historian: Arc<RwLock<Historian>>,
    pub tag_ids: Arc<Vec<TagId>>,
    pub jobs: Receiver<DiagnoseRequest>,
    pub news: UnboundedSender<News>,
}

struct RulTrack {
    modified: Option<SystemTime>,
    model: AssetRul,
    tags: Vec<TagId>,
    /// End of the last cycle read (the life's start at first).
    done_ms: i64,
    cycler: Cycler,
    published: bool,
    /// Start of the asset's present life when the track was loaded: a maintenance event
    /// that re-bases the asset (part replaced, sensor recalibrated) after it restarts the
    /// track from that event.
    rebased_at: Option<i64>,
}

impl Worker {
    pub fn run(self) {
        let mut pending: Vec<DiagnoseRequest> = Vec::new();
        let mut tracks: HashMap<String, Result<RulTrack, (Option<SystemTime>, TrackError)>> = HashMap::new();
        let mut next_rul = Instant::now();
        loop {
            let now_ms = mimic_drivers::now_ms();
            let due_diag = pending.iter().map(|r| r.at_ms + DIAGNOSE_AFTER_MS).min();
            let wait_diag =
                due_diag.map_or(Duration::MAX, |d| Duration::from_millis(d.saturating_sub(now_ms).max(0) as u64));
            let wait = wait_diag.min(next_rul.saturating_duration_since(Instant::now()));
            match self.jobs.recv_timeout(wait) {
                Ok(r) => pending.push(r),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            let now_ms = mimic_drivers::now_ms();
            let (due, later): (Vec<_>, Vec<_>) = pending.drain(..).partition(|r| r.at_ms + DIAGNOSE_AFTER_MS <= now_ms);
            pending = later;
            for r in due {
                let asset = r.asset.clone();
                let diagnosis = self.diagnose(r);
                if self.news.send(News::Diagnosis { asset, diagnosis }).is_err() {
                    return;
                }
            }
            if Instant::now() >= next_rul {
                next_rul = Instant::now() + RUL_EVERY;
                for a in &self.site.assets {
                    if let Some(rul) = self.rul_of(&a.name, &mut tracks, now_ms)
                        && self.news.send(News::Rul { asset: a.name.clone(), rul }).is_err()
                    {
                        return;
                    }
                }
            }
        }
    }

    /// The asset's new estimate: `Some(Some(_))` a new figure, `Some(None)` the model went
    /// away or broke, `None` nothing new to say.
    fn rul_of(
        &self,
        asset: &str,
        tracks: &mut HashMap<String, Result<RulTrack, (Option<SystemTime>, TrackError)>>,
        now_ms: i64,
    ) -> Option<Option<LiveRul>> {
        let path = rul_path(&self.data_dir, asset);
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        let Some(modified) = modified else {
            return tracks.remove(asset).and_then(|t| t.ok()).map(|_| None);
        };
        let rebase = self.rebase_at(asset);
        let stale = match tracks.get(asset) {
            None => true,
            Some(Ok(t)) => t.modified != Some(modified) || t.rebased_at != rebase,
            Some(Err((m, _))) => *m != Some(modified),
        };
        if stale {
            let track = self.load_track(&path, now_ms, rebase).map_err(|e| (Some(modified), e));
            match &track {
                Ok(t) => tracing::info!(
                    "remaining-life model of {asset} loaded ({} tags, cycles of {} s)",
                    t.tags.len(),
                    t.model.cycle_s
                ),
                Err((_, e)) => tracing::warn!("remaining-life model of {asset} not loaded: {e}"),
            }
            let was_ok = matches!(tracks.get(asset), Some(Ok(_)));
            tracks.insert(
                asset.to_string(),
                track.map(|mut t| {
                    t.modified = Some(modified);
                    t
                }),
            );
            if was_ok && matches!(tracks.get(asset), Some(Err(_))) {
                return Some(None);
            }
        }
        let Some(Ok(t)) = tracks.get_mut(asset) else { return None };
        let added = match self.catch_up(t, now_ms) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("remaining life of {asset}: cannot read the store: {e}");
                return None;
            }
        };
        if (added == 0 && t.published) || t.cycler.rows().is_empty() {
            return None;
        }
        match t.model.predict(t.cycler.rows()) {
            Ok(est) => {
                t.published = true;
                Some(Some(LiveRul {
                    rul_s: est.rul_s,
                    low_s: est.low_s,
                    high_s: est.high_s,
                    capped: est.capped,
                    cycles: est.cycles,
                    cycle_s: t.model.cycle_s,
                    at_ms: now_ms,
                    level: t.model.model.interval.coverage,
                }))
            }
            Err(e) => {
                tracing::warn!("remaining life of {asset}: {e}");
                None
            }
        }
    }

    /// Start of the asset's present life from the store's lifecycle events (the latest
    /// re-basing maintenance event), if any.
    fn rebase_at(&self, asset: &str) -> Option<i64> {
        let h = self.historian.read().ok()?;
        match crate::lifecycle::events_of(h.database(), asset) {
            Ok(events) => crate::lifecycle::rebase_at(&events),
            Err(e) => {
                tracing::warn!("life events of {asset}: {e}");
                None
            }
        }
    }

    fn load_track(&self, path: &Path, now_ms: i64, rebase: Option<i64>) -> Result<RulTrack, TrackError> {
        let model = AssetRul::load(path)?;
        let tags = model
            .model
            .channels
            .iter()
            .map(|c| {
                self.site
                    .tag_index(c)
                    .and_then(|i| self.tag_ids.get(i).copied())
                    .ok_or_else(|| TrackError::NotATag(c.escape_debug().to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let start_ms = match model.life_start_ms {
            Some(t) => t,
            None => {
                let h = self.historian.read().map_err(|_| TrackError::Poisoned)?;
                tags.iter().filter_map(|&id| first_sample_ms(&h, id, now_ms)).min().unwrap_or(now_ms)
            }
        };
        // A re-basing maintenance event starts a new life: history before it is not this part's.
        let start_ms = rebase.map_or(start_ms, |r| start_ms.max(r));
        Ok(RulTrack {
            modified: None,
            model,
            tags,
            done_ms: start_ms,
            cycler: Cycler::default(),
            published: false,
            rebased_at: rebase,
        })
    }

    /// Reads the whole cycles completed since the last call; returns how many were added.
    fn catch_up(&self, t: &mut RulTrack, now_ms: i64) -> Result<usize, TrackError> {
        let cycle_ms = t.model.cycle_ms();
        let mut added = 0;
        // the last second's samples may still be on their way to the store
        let complete_to = now_ms - 1_500;
        while t.done_ms + cycle_ms <= complete_to {
            let n = usize::try_from((complete_to - t.done_ms) / cycle_ms).unwrap_or(0).min(CYCLES_PER_READ);
            let to = t.done_ms + cycle_ms * n as i64;
            let per_tag = {
                let h = self.historian.read().map_err(|_| TrackError::Poisoned)?;
                t.tags
                    .iter()
                    .map(|&id| {
                        h.query(id, t.done_ms, to)
                            .map(|s| s.into_iter().map(|s| (s.ts_ms, s.value, s.quality == 0)).collect::<Vec<_>>())
                    })
                    .collect::<Result<Vec<_>, _>>()?
            };
            let before = t.cycler.rows().len();
            t.cycler.push_span(t.done_ms, cycle_ms, n, &per_tag);
            added += t.cycler.rows().len() - before;
            t.done_ms = to;
        }
        Ok(added)
    }

    fn diagnose(&self, r: DiagnoseRequest) -> LiveDiagnosis {
        let faults = match std::fs::read_to_string(faults_path(&self.data_dir, &r.asset)) {
            Ok(text) => Signatures::parse(&text).unwrap_or_else(|e| {
                tracing::warn!("fault signatures of {}: {e}", r.asset);
                Signatures::default()
            }),
            Err(_) => Signatures::default(),
        };
        let mut names = if r.signals.is_empty() { self.asset_tags(&r.asset) } else { r.signals.clone() };
        for t in &faults.tracking {
            if names.contains(&t.feedback) && !names.contains(&t.command) {
                names.push(t.command.clone());
            }
        }
        let mut out = LiveDiagnosis {
            at_ms: r.at_ms,
            trigger: r.trigger.clone(),
            ranked: Vec::new(),
            contributions: r.contributions.clone(),
            fault: None,
            cause: None,
            error: None,
            advice: None,
            notes: Vec::new(),
        };
        match self.window(&names, r.at_ms, r.after_ms).and_then(|rows| {
            diagnose(&names, &rows, r.at_ms, &faults).map_err(|why| TrackError::Diagnosis { why, seconds: rows.len() })
        }) {
            Ok(d) => {
                out.ranked = d
                    .ranked
                    .iter()
                    .map(|s| LiveOnset { signal: s.signal.clone(), onset_ms: s.onset_ms, share: s.score })
                    .collect();
                out.advice = d.fault.as_deref().and_then(|f| faults.advice(f));
                out.fault = d.fault;
                out.cause = d.likely_cause;
            }
            Err(e) => out.error = Some(e.to_string()),
        }
        tracing::info!(
            "diagnosis of {} ({}): first {:?}, cause {:?}",
            r.asset,
            r.trigger,
            out.ranked.first().map(|s| &s.signal),
            out.fault
        );
        out
    }

    /// The asset's numeric tags (bits are states, not signals to rank).
    fn asset_tags(&self, asset: &str) -> Vec<String> {
        let Some(ai) = self.site.assets.iter().position(|a| a.name == asset) else { return Vec::new() };
        self.site.tags.iter().filter(|t| t.asset == Some(ai) && !is_bit(t)).map(|t| t.name.clone()).collect()
    }

    /// The history of `names` around `at_ms` on a 1 s grid, from when the asset's previous
    /// alarm returned to normal (`after_ms`) if that leaves at least [`MIN_HISTORY_MS`]: the
    /// end of an earlier fault (a recalibrated transmitter, a valve setpoint put back) is not
    /// this fault's first move.
    fn window(&self, names: &[String], at_ms: i64, after_ms: Option<i64>) -> Result<Vec<(i64, Vec<f64>)>, TrackError> {
        let from = after_ms.map_or(at_ms - HISTORY_MS, |a| a.min(at_ms - MIN_HISTORY_MS).max(at_ms - HISTORY_MS));
        let to = at_ms + DIAGNOSE_AFTER_MS;
        let h = self.historian.read().map_err(|_| TrackError::Poisoned)?;
        let mut series = Vec::with_capacity(names.len());
        for n in names {
            let id = self
                .site
                .tag_index(n)
                .and_then(|i| self.tag_ids.get(i).copied())
                .ok_or_else(|| TrackError::UnknownTag(n.escape_debug().to_string()))?;
            let s = h.query(id, from, to)?;
            series.push(
                s.into_iter()
                    .map(|s| (s.ts_ms, (s.quality == 0 && s.value.is_finite()).then_some(s.value)))
                    .collect::<Vec<_>>(),
            );
        }
        drop(h);
        Ok(align_timed(&series, from, to, 1000)?)
    }
}

/// About when the first stored sample of `tag` is (within a 64³-th of the stored span).
fn first_sample_ms(h: &Historian, tag: TagId, now_ms: i64) -> Option<i64> {
    let (mut from, mut to) = (0, now_ms);
    for _ in 0..3 {
        let cols = h.downsample(tag, from, to, 64).ok()?;
        let c = cols.iter().find(|c| c.count + c.bad > 0)?;
        (from, to) = (c.start_ms, c.end_ms.max(c.start_ms + 1));
    }
    Some(from)
}

fn is_bit(t: &crate::config::Tag) -> bool {
    match &t.address {
        crate::config::Address::Modbus(p) => {
            p.bit.is_some()
                || matches!(p.table, mimic_drivers::modbus::Table::Coil | mimic_drivers::modbus::Table::DiscreteInput)
        }
        _ => false,
    }
}
