//! The advisor: a thread beside the core that keeps each `[[loop]]` of the site in its band.
//!
//! Every [`ADVISE_EVERY`], per loop: the KPI's good samples of the last [`KPI_MEAN_MS`] give
//! its recent mean; the model of the setpoint → KPI pair is identified from the loop's
//! window of stored history (ARX(1,1) by least squares, read as first order plus dead time,
//! on the KPI's poll period; Bad samples and gaps end a stretch, see
//! [`crate::models::prescribe::live::grid`]), its gain corrected by what approved changes
//! of the pair showed ([`crate::models::prescribe::learn`]), and its fit goes to the core for the
//! snapshot.
//! When [`decide`] says so (the mean is out of band, no request on the setpoint is pending,
//! not advised already), the recommendation — inside the setpoint's engineering limits and
//! largest step, with its predicted steady state, trajectory and confidence — goes to the
//! core, which files it as a write request exactly like `mimic recommend --request`: it
//! waits for approval by an authorised user, and everything is audited. Nothing here writes.
//!
//! It only reads the store and the snapshot; it stops when the core task goes away.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use crate::config::{ControlLoop, Site};
use crate::historian::{Historian, TagId};
use crate::ipc::{LiveLoop, LiveSnapshot, LiveWhatIf};
use crate::models::prescribe::live::{
    Decision, LoopSpec, LoopWatch, Point, decide, fit_loop, fit_text, grid, learnt, recent_mean, tolerance,
};
use crate::models::prescribe::{Band, Limits, Now, confidence, what_if};

/// How often each loop is checked.
pub const ADVISE_EVERY: Duration = Duration::from_secs(15);
/// The first check, after start-up.
const FIRST_AFTER: Duration = Duration::from_secs(5);
/// The KPI's recent mean is taken over this long.
pub const KPI_MEAN_MS: i64 = 20_000;
/// An excursion that outlasts its recommendation (rejected, expired) is advised on again
/// after this long.
pub const REPEAT_MS: i64 = 300_000;
/// A setpoint stored only when it moves is looked for this far before the window.
const SETPOINT_LOOKBACK_MS: i64 = crate::core::HEARTBEAT_MS;

/// The requester of the advisor's recommendations (never a user who can sign).
pub use crate::core::REQUESTER;

/// A recommendation for the core to file.
pub use crate::core::Filing;

/// What the advisor tells the core.
#[derive(Debug)]
pub enum Advice {
    /// The loop's state for the snapshot (by loop index).
    Loop(usize, LiveLoop),
    Recommend(Filing),
}

pub struct Advisor {
    pub site: Arc<Site>,
    pub historian: Arc<RwLock<Historian>>,
    pub tag_ids: Arc<Vec<TagId>>,
    pub snapshots: watch::Receiver<Arc<LiveSnapshot>>,
    pub news: UnboundedSender<Advice>,
    /// Closed when the core task ends: the advisor stops.
    pub stop: Receiver<()>,
}

/// A loop's history as the model needs it.
pub struct LoopData {
    pub spec: LoopSpec,
    pub u: Vec<f64>,
    pub y: Vec<f64>,
    /// The KPI's recent good mean.
    pub mean: Option<f64>,
    /// What approved changes of the pair showed (the model learns from them).
    pub errors: Vec<crate::lifecycle::PredictionError>,
}

/// Why a loop's window could not be read from the store.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("tag not in the store")]
    NotStored,
    #[error("the store lock is poisoned")]
    Poisoned,
    #[error(transparent)]
    Store(#[from] crate::historian::HistorianError),
    #[error(transparent)]
    Life(#[from] crate::lifecycle::LifecycleError),
}

/// Why there is no what-if of a setpoint value.
#[derive(Debug, thiserror::Error)]
pub enum WhatIfError {
    #[error("`{0}` is not the setpoint of a [[loop]] of the site")]
    NoLoop(String),
    #[error("the value must be a finite number")]
    NotFinite,
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The model's error is not a `source`: its text is in this message already.
    #[error("no model of {tag} -> {kpi}: {why}")]
    NoModel { tag: String, kpi: String, why: crate::models::prescribe::PrescribeError },
    #[error(transparent)]
    Predict(#[from] crate::models::prescribe::PrescribeError),
}

/// Reads a loop's window from the store and puts it on the KPI's poll grid.
pub fn load(
    h: &Historian,
    site: &Site,
    tag_ids: &[TagId],
    l: &ControlLoop,
    now_ms: i64,
) -> Result<LoopData, LoadError> {
    let (mt, kt) = (&site.tags[l.manipulated], &site.tags[l.kpi]);
    let id = |i: usize| tag_ids.get(i).copied().ok_or(LoadError::NotStored);
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let ts_ms = ms(kt.poll).max(100);
    let from = now_ms.saturating_sub(ms(l.window));
    let points = |id: TagId, from: i64| -> Result<Vec<Point>, LoadError> {
        h.query(id, from, now_ms + 1)
            .map_err(LoadError::from)
            .map(|s| s.iter().map(|s| Point { ts_ms: s.ts_ms, value: s.value, good: s.quality == 0 }).collect())
    };
    let u = points(id(l.manipulated)?, from.saturating_sub(SETPOINT_LOOKBACK_MS))?;
    let y = points(id(l.kpi)?, from)?;
    let mean = recent_mean(&y, now_ms - KPI_MEAN_MS);
    let hold = ms(kt.stale_after).max(3 * ts_ms);
    let (_, u, y) = grid(&u, &y, from, now_ms, ts_ms, hold);
    let spec = LoopSpec {
        tag: mt.name.clone(),
        kpi: kt.name.clone(),
        band: Band { low: l.low, high: l.high },
        limits: Limits {
            low: mt.low.unwrap_or(f64::NEG_INFINITY),
            high: mt.high.unwrap_or(f64::INFINITY),
            max_step: mt.write.max_step,
        },
        ts_s: ts_ms as f64 / 1000.0,
        max_delay: usize::try_from(ms(l.max_dead_time) / ts_ms).unwrap_or(0),
        horizon_s: l.horizon.as_secs_f64(),
    };
    let errors = crate::lifecycle::errors(h.database(), Some((&mt.name, &kt.name)))?;
    Ok(LoopData { spec, u, y, mean, errors })
}

/// The what-if of `value` on the loop whose setpoint is `tag`: identify, then predict.
pub fn what_if_on(
    h: &Historian,
    site: &Site,
    tag_ids: &[TagId],
    tag: &str,
    value: f64,
    now_ms: i64,
) -> Result<LiveWhatIf, WhatIfError> {
    let l = site
        .loops
        .iter()
        .find(|l| site.tags[l.manipulated].name == tag)
        .ok_or_else(|| WhatIfError::NoLoop(tag.escape_debug().to_string()))?;
    if !value.is_finite() {
        return Err(WhatIfError::NotFinite);
    }
    let d = load(h, site, tag_ids, l, now_ms)?;
    let fit = fit_loop(&d.spec, &d.u, &d.y).map_err(|why| WhatIfError::NoModel {
        tag: d.spec.tag.clone(),
        kpi: d.spec.kpi.clone(),
        why,
    })?;
    let (fit, _) = learnt(fit, &d.errors);
    let (from, kpi_now) = (d.u.last().copied().unwrap_or(f64::NAN), d.y.last().copied().unwrap_or(f64::NAN));
    let now = Now { u: d.u, y: d.y };
    let (trajectory, steady_state) = what_if(&fit, &now, value, d.spec.horizon_s)?;
    let note = match d.spec.limits.range_from(from) {
        Ok((lo, hi)) if value < lo || value > hi => {
            Some(format!("{value} is outside what one approved write allows ({lo}..{hi})"))
        }
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    };
    let (mt, kt) = (&site.tags[l.manipulated], &site.tags[l.kpi]);
    Ok(LiveWhatIf {
        loop_name: l.name.clone(),
        tag: mt.name.clone(),
        units: mt.units.to_string(),
        from,
        value,
        kpi: kt.name.clone(),
        kpi_units: kt.units.to_string(),
        kpi_now,
        low: l.low,
        high: l.high,
        trajectory,
        steady_state,
        confidence: confidence(&fit, value),
        model: fit_text(&fit, &mt.units, &kt.units),
        note,
    })
}

/// The site's loops before their first check (so terminals offer their what-if at once).
pub fn initial(site: &Site) -> Vec<LiveLoop> {
    site.loops
        .iter()
        .map(|l| LiveLoop {
            name: l.name.clone(),
            manipulated: site.tags[l.manipulated].name.clone(),
            kpi: site.tags[l.kpi].name.clone(),
            low: l.low,
            high: l.high,
            status: "not checked yet".into(),
            ..LiveLoop::default()
        })
        .collect()
}

impl Advisor {
    pub fn run(self) {
        let mut watches = vec![LoopWatch::new(REPEAT_MS); self.site.loops.len()];
        let mut next = Instant::now() + FIRST_AFTER;
        loop {
            match self.stop.recv_timeout(next.saturating_duration_since(Instant::now())) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            }
            next = Instant::now() + ADVISE_EVERY;
            for (i, l) in self.site.loops.iter().enumerate() {
                let now_ms = mimic_drivers::now_ms();
                let (live, filing) = self.check(l, &mut watches[i], now_ms);
                if let Some(f) = filing
                    && self.news.send(Advice::Recommend(f)).is_err()
                {
                    return;
                }
                if self.news.send(Advice::Loop(i, live)).is_err() {
                    return;
                }
            }
        }
    }

    fn pending(&self, tag: &str) -> bool {
        self.snapshots.borrow().requests.iter().any(|r| r.tag == tag && r.status == "pending")
    }

    fn check(&self, l: &ControlLoop, w: &mut LoopWatch, now_ms: i64) -> (LiveLoop, Option<Filing>) {
        let (mt, kt) = (&self.site.tags[l.manipulated], &self.site.tags[l.kpi]);
        let mut live = LiveLoop {
            name: l.name.clone(),
            manipulated: mt.name.clone(),
            kpi: kt.name.clone(),
            low: l.low,
            high: l.high,
            at_ms: now_ms,
            ..LiveLoop::default()
        };
        let data = match self.historian.read() {
            Ok(h) => load(&h, &self.site, &self.tag_ids, l, now_ms),
            Err(_) => Err(LoadError::Poisoned),
        };
        let d = match data {
            Ok(d) => d,
            Err(e) => {
                live.status = format!("cannot read the store: {e}");
                return (live, None);
            }
        };
        live.kpi_mean = d.mean;
        live.samples = d.u.len();
        let decision = decide(w, d.spec.band, d.mean, self.pending(&mt.name), now_ms);
        let advice = crate::models::prescribe::live::advise(&d.spec, d.u, d.y, &d.errors);
        let advice = match advice {
            Ok(a) => a,
            Err(e) => {
                live.status = format!("no model: {e}");
                return (live, None);
            }
        };
        let fit = &advice.fit;
        live.r2 = Some(fit.r2);
        live.gain = Some(fit.model.gain());
        if let Some(f) = fit.model.fopdt() {
            (live.tau_s, live.dead_s) = (Some(f.tau_s), Some(f.dead_s));
        }
        live.status = match (&decision, advice.prescription) {
            (Decision::Inside, _) => "inside its band".into(),
            (Decision::Wait(why), _) => format!("out of band; {why}"),
            (Decision::Advise(_), None) => "out of band on average, but back inside now".into(),
            (Decision::Advise(side), Some(p)) => {
                w.advised(*side, now_ms);
                let kpi_now = p.predicted.first().map_or(p.steady_state, |x| x.1);
                tracing::info!("loop {}: recommending {} {:.3} -> {:.3}: {}", l.name, p.tag, p.from, p.to, p.reason);
                let filing = Filing {
                    loop_name: l.name.clone(),
                    tag: l.manipulated,
                    value: p.to,
                    kpi: l.kpi,
                    kpi_now,
                    kpi_expect: p.steady_state,
                    tolerance: tolerance(kpi_now, p.steady_state),
                    effect: format!("{}; {}", p.effect_text(), fit_text(fit, &mt.units, &kt.units)),
                    confidence: p.confidence,
                    reason: p.reason.clone(),
                };
                live.status = format!("recommended {} {:.1} -> {:.1}", p.tag, p.from, p.to);
                return (live, Some(filing));
            }
        };
        (live, None)
    }
}
