//! The core's side of asset life. Pure: events arrive already stored and audited, time
//! arrives in the call, and what must be stored comes back as [`Effect::Life`].
//!
//! Re-basing after maintenance (a replaced part or a recalibrated sensor): the asset's
//! present life starts at the event ([`crate::core::asset_life::LiveLife::rebase_at`], for
//! remaining-life estimates), and its healthy baseline is learnt again — the anomaly model
//! is set aside (not scored, its alarm cleared) while the plant settles
//! (`rebase_settle`), then refitted with the same signals and settings on the first
//! `rebase_window` of history in which all its signals are Good. The refit becomes the
//! asset's model (a new stored version with its measured figures). If the refit fails, the
//! previous model scores again and the failure is audited. The window is trusted to be
//! healthy because the crew has just put the asset right; an engineer who knows better
//! retrains on a chosen window with `mimic train anomaly`.

use super::{Effect, LiveAnomaly, State};
use crate::alarms::ModelTarget;
use crate::core::asset_life::{Baseline, LifeEffect, RebasePolicy};
use crate::lifecycle::{Event, ModelVersion};
use crate::models::anomaly::asset::AssetModel;
use crate::models::anomaly::model::{AnomalyModel, FitError};

impl RebasePolicy {
    pub fn of(site: &crate::config::Site) -> RebasePolicy {
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        RebasePolicy { settle_ms: ms(site.rebase_settle), window_ms: ms(site.rebase_window).max(1) }
    }
}

/// A maintenance event was stored and audited: remember it and, when it re-bases the
/// asset, set its anomaly model aside until its baseline is learnt again.
pub fn maintenance(state: &mut State, event: Event, now_ms: i64) -> Vec<Effect> {
    let asset = event.asset.clone();
    let rebases = event.kind.rebases();
    let start = event.ts_ms.max(now_ms);
    state.version += 1;
    let life = state.life.assets.entry(asset.clone()).or_default();
    life.push(event);
    if !rebases {
        return Vec::new();
    }
    let until_ms = start.saturating_add(state.life.policy.settle_ms);
    let parked = match std::mem::take(&mut life.baseline) {
        Baseline::Settling { parked, .. } | Baseline::Collecting { parked, .. } => Some(parked),
        Baseline::Normal => {
            let i = state.anomaly.iter().position(|m| m.asset == asset);
            i.map(|i| Box::new(state.anomaly.remove(i)))
        }
    };
    let Some(parked) = parked else { return Vec::new() };
    let life = state.life.assets.entry(asset.clone()).or_default();
    life.baseline = Baseline::Settling { until_ms, parked };
    let source = crate::models::anomaly::alarm::SOURCE;
    match state.alarms.clear_model(ModelTarget::Asset(asset.clone()), source, now_ms) {
        Ok(ev) if !ev.is_empty() => vec![Effect::Alarm(ev)],
        Ok(_) => Vec::new(),
        Err(e) => {
            tracing::warn!("anomaly alarm of {asset} not cleared for the re-base: {e}");
            Vec::new()
        }
    }
}

/// Move every re-basing baseline on: settle, collect, refit. Called on each tick.
pub fn tick(state: &mut State, now_ms: i64) -> Vec<Effect> {
    let mut out = Vec::new();
    let assets: Vec<String> = state
        .life
        .assets
        .iter()
        .filter(|(_, l)| !matches!(l.baseline, Baseline::Normal))
        .map(|(a, _)| a.clone())
        .collect();
    for asset in assets {
        let Some(life) = state.life.assets.get_mut(&asset) else { continue };
        let baseline = std::mem::take(&mut life.baseline);
        let next = match baseline {
            Baseline::Settling { until_ms, parked } if now_ms >= until_ms => {
                state.version += 1;
                let need = usize::try_from(state.life.policy.window_ms / parked.step_ms.max(1)).unwrap_or(1).max(1);
                Baseline::Collecting { since_ms: now_ms, next_ms: now_ms, need, rows: Vec::new(), parked }
            }
            Baseline::Collecting { since_ms, next_ms, need, mut rows, parked } if now_ms >= next_ms => {
                let row: Option<Vec<f64>> = parked
                    .tags
                    .iter()
                    .map(|&t| state.tags.get(t).filter(|ts| ts.quality.is_good()).and_then(|ts| ts.value))
                    .collect();
                if let Some(row) = row.filter(|r| r.iter().all(|v| v.is_finite())) {
                    rows.push(row);
                    state.version += 1;
                }
                let next_ms = now_ms.saturating_add(parked.step_ms.max(1));
                if rows.len() < need {
                    Baseline::Collecting { since_ms, next_ms, need, rows, parked }
                } else {
                    match refit(state, &asset, &parked, &rows, since_ms, now_ms) {
                        Ok((live, fx)) => {
                            state.anomaly.push(live);
                            out.push(fx);
                            Baseline::Normal
                        }
                        Err(Refit::More(needed)) => {
                            Baseline::Collecting { since_ms, next_ms, need: needed, rows, parked }
                        }
                        Err(Refit::Failed(reason)) => {
                            state.anomaly.push(*parked);
                            out.push(Effect::Life(LifeEffect::RefitFailed { asset: asset.clone(), reason }));
                            Baseline::Normal
                        }
                    }
                }
            }
            other => other,
        };
        if let Some(life) = state.life.assets.get_mut(&asset) {
            life.baseline = next;
        }
    }
    out
}

/// Why a refit did not happen.
enum Refit {
    /// More rows are needed (this many in all).
    More(usize),
    Failed(String),
}

/// Refit `parked` on `rows`.
fn refit(
    state: &State,
    asset: &str,
    parked: &LiveAnomaly,
    rows: &[Vec<f64>],
    since_ms: i64,
    now_ms: i64,
) -> Result<(LiveAnomaly, Effect), Refit> {
    let model = match AnomalyModel::fit(parked.model.signals.clone(), rows, parked.model.config.clone()) {
        Ok(m) => m,
        Err(FitError::TooFewRows { needed, .. }) if needed > rows.len() => return Err(Refit::More(needed)),
        Err(e) => return Err(Refit::Failed(e.to_string())),
    };
    // measured on the window itself: how often the new model would alarm on healthy data
    let mut probe = model.clone();
    probe.reset();
    let alarms = rows.iter().filter(|r| probe.score(r).alarm).count();
    let stored = AssetModel {
        asset: asset.to_string(),
        step_ms: parked.step_ms,
        from_ms: since_ms,
        to_ms: now_ms,
        rows: rows.len(),
        model,
    };
    let live = LiveAnomaly::bind(state, stored.clone()).map_err(|e| Refit::Failed(e.to_string()))?;
    let rebase =
        state.life.rebase_at(asset).map_or_else(String::new, |t| format!(" after {}", crate::time::format_ts(t)));
    let version = ModelVersion {
        asset: asset.to_string(),
        kind: "anomaly".into(),
        version: 0,
        trained_ms: now_ms,
        by: "mimic".into(),
        accuracy: vec![
            ("threshold".into(), stored.model.threshold),
            ("rows".into(), rows.len() as f64),
            ("window_alarm_rate".into(), alarms as f64 / rows.len().max(1) as f64),
        ],
        note: format!("baseline refit on the first healthy window{rebase}"),
    };
    Ok((live, Effect::Life(LifeEffect::Refit { model: Box::new(stored), version })))
}

/// An engineer's freshly trained model (`mimic train anomaly`) replaces a baseline being
/// re-based: the set-aside model and the rows collected so far are dropped.
pub fn trained(state: &mut State, asset: &str) {
    if let Some(l) = state.life.assets.get_mut(asset) {
        l.baseline = Baseline::Normal;
    }
}

#[cfg(test)]
#[path = "life_tests.rs"]
mod tests;
