//! What the core keeps of each asset's life while running: commissioning, recent events,
//! where its present life starts ([`LiveLife::rebase_at`]) and the re-basing of its healthy
//! baseline after maintenance ([`Baseline`]). Plain data, part of the core's state; the core drives it ([`super::life`]).

use std::collections::BTreeMap;

use super::LiveAnomaly;
use crate::lifecycle::{Event, EventKind, Life, ModelVersion, PredictionError};
use crate::models::anomaly::asset::AssetModel;

/// Events per asset kept in memory (and shown to terminals).
pub const KEPT_EVENTS: usize = 20;

/// How the healthy baseline is re-based after a re-basing maintenance event.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RebasePolicy {
    /// After the event, the asset's anomaly model is not scored for this long (the plant
    /// settles after the work: start-up transients are not anomalies of the new normal).
    pub settle_ms: i64,
    /// Then this much healthy history (all the model's signals Good) is collected and the
    /// model refitted on it.
    pub window_ms: i64,
}

impl Default for RebasePolicy {
    fn default() -> Self {
        RebasePolicy { settle_ms: 15 * 60_000, window_ms: 30 * 60_000 }
    }
}

/// The re-basing of one asset's anomaly baseline.
#[derive(Clone, Debug, Default)]
pub enum Baseline {
    /// The model (if any) scores as usual.
    #[default]
    Normal,
    /// Not scored until `until_ms`; the model waits aside.
    Settling { until_ms: i64, parked: Box<LiveAnomaly> },
    /// Collecting the rows of the first healthy window after the event.
    Collecting { since_ms: i64, next_ms: i64, need: usize, rows: Vec<Vec<f64>>, parked: Box<LiveAnomaly> },
}

impl Baseline {
    /// For the terminals: `settling until …`, `learning 120/1800`, or empty.
    pub fn text(&self) -> String {
        match self {
            Baseline::Normal => String::new(),
            Baseline::Settling { until_ms, .. } => {
                format!("baseline settling until {}", crate::time::format_ts(*until_ms))
            }
            Baseline::Collecting { rows, need, .. } => format!("baseline learning {}/{need}", rows.len()),
        }
    }
}

/// One asset's life as the core knows it.
#[derive(Clone, Debug, Default)]
pub struct AssetLife {
    pub commissioned_ms: Option<i64>,
    /// Most recent [`KEPT_EVENTS`], oldest first.
    pub events: Vec<Event>,
    pub rebase_at: Option<i64>,
    pub baseline: Baseline,
    /// The latest model version of each kind, by kind.
    pub models: BTreeMap<String, ModelVersion>,
}

impl AssetLife {
    pub fn push(&mut self, e: Event) {
        if e.kind == EventKind::Commissioned {
            self.commissioned_ms = Some(e.ts_ms);
        }
        if e.kind.rebases() {
            self.rebase_at = Some(self.rebase_at.map_or(e.ts_ms, |r| r.max(e.ts_ms)));
        }
        self.events.push(e);
        self.events.sort_by_key(|e| (e.ts_ms, e.seq));
        let extra = self.events.len().saturating_sub(KEPT_EVENTS);
        self.events.drain(..extra);
    }
}

/// Every asset's life, by asset name.
#[derive(Clone, Debug, Default)]
pub struct LiveLife {
    pub assets: BTreeMap<String, AssetLife>,
    pub policy: RebasePolicy,
}

impl LiveLife {
    pub fn from_lives(lives: Vec<Life>, policy: RebasePolicy) -> LiveLife {
        let mut out = LiveLife { assets: BTreeMap::new(), policy };
        for l in lives {
            let a = out.assets.entry(l.asset.clone()).or_default();
            for e in l.events {
                a.push(e);
            }
            for m in l.models {
                let newer = a.models.get(&m.kind).is_none_or(|old| old.version < m.version);
                if newer {
                    a.models.insert(m.kind.clone(), m);
                }
            }
        }
        out
    }

    /// THE hook for remaining-life and baseline code: where `asset`'s present life starts
    /// (ms since the epoch) — its latest replaced part or recalibrated sensor, else its
    /// commissioning; `None` when nothing is known. A RUL estimate uses only history after it.
    pub fn rebase_at(&self, asset: &str) -> Option<i64> {
        self.assets.get(asset).and_then(|a| a.rebase_at)
    }

    /// Whether `asset`'s anomaly model is set aside while its baseline re-bases.
    pub fn rebasing(&self, asset: &str) -> bool {
        self.assets.get(asset).is_some_and(|a| !matches!(a.baseline, Baseline::Normal))
    }
}

/// What the core asks the shell to do about asset life.
#[derive(Clone, Debug)]
pub enum LifeEffect {
    /// Store the error of a settled model recommendation.
    PredictionError(PredictionError),
    /// A baseline refit after maintenance: save the model file, store its version, audit it.
    Refit { model: Box<AssetModel>, version: ModelVersion },
    /// The refit failed; the previous model scores again. Audit it.
    RefitFailed { asset: String, reason: String },
}

impl PartialEq for LifeEffect {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (LifeEffect::PredictionError(a), LifeEffect::PredictionError(b)) => a == b,
            (LifeEffect::Refit { version: a, .. }, LifeEffect::Refit { version: b, .. }) => a == b,
            (LifeEffect::RefitFailed { asset: a, reason: r }, LifeEffect::RefitFailed { asset: b, reason: s }) => {
                a == b && r == s
            }
            _ => false,
        }
    }
}
