//! The shell's side of asset life: commissioning from the site file at start, recording a
//! crew's maintenance event (audited in the same transaction as it is stored, and only then
//! re-basing the asset in the core), storing what the core learnt (prediction errors,
//! refitted baselines), and answering `Request::Life`.

use std::path::Path;
use std::sync::RwLock;

use super::control::{AuditRefused, Control, Identity, Note, StoreWrite};
use crate::audit::Action;
use crate::config::Site;
use crate::core::State;
use crate::core::asset_life::LifeEffect;
use crate::historian::Historian;
use crate::ipc::{LiveLife, LiveLifeEvent, Reply};
use crate::lifecycle::{self, Life};

/// Record each asset's commissioning date from the site file (once), then read every
/// asset's life. Problems are logged: a twin without its history of maintenance still runs.
pub fn startup(db: &redb::Database, site: &Site) -> Vec<Life> {
    for a in &site.assets {
        if let Some(ms) = a.commissioned_ms {
            match lifecycle::commission(db, &a.name, ms) {
                Ok(true) => tracing::info!("asset {} commissioned {}", a.name, crate::time::format_ts(ms)),
                Ok(false) => {}
                Err(e) => tracing::warn!("commissioning of {} not recorded: {e}", a.name),
            }
        }
    }
    lifecycle::all_lives(db).unwrap_or_else(|e| {
        tracing::warn!("asset life not read from the store: {e}");
        Vec::new()
    })
}

/// Asset life for the terminals' snapshot.
pub fn rows(state: &State) -> Vec<LiveLife> {
    state
        .life
        .assets
        .iter()
        .map(|(asset, l)| LiveLife {
            asset: asset.clone(),
            commissioned_ms: l.commissioned_ms,
            rebase_at_ms: l.rebase_at,
            baseline: l.baseline.text(),
            events: l
                .events
                .iter()
                .map(|e| LiveLifeEvent {
                    ts_ms: e.ts_ms,
                    kind: e.kind.name().into(),
                    part: e.part.clone(),
                    note: e.note.clone(),
                    by: e.by.clone(),
                })
                .collect(),
        })
        .collect()
}

/// The answer to `Request::Life`.
pub fn reply(historian: &RwLock<Historian>, site: &Site, asset: Option<&str>) -> Reply {
    let tags: Vec<String> = match asset {
        Some(a) => {
            let Some(ai) = site.assets.iter().position(|x| x.name == a) else {
                return Reply::Error { message: format!("no asset `{}` in the site", a.escape_debug()) };
            };
            site.tags.iter().filter(|t| t.asset == Some(ai)).map(|t| t.name.clone()).collect()
        }
        None => Vec::new(),
    };
    let Ok(h) = historian.read() else { return Reply::Error { message: "store unavailable".into() } };
    match lifecycle::report(h.database(), asset, &tags) {
        Ok(r) => Reply::Life(Box::new(r)),
        Err(e) => Reply::Error { message: e.to_string() },
    }
}

/// Store a maintenance event the core accepted, with its audit entry, in one transaction;
/// the stored event (with its sequence number) goes back to the core.
pub fn store_event(
    control: &mut Control,
    who: &Identity,
    event: &lifecycle::Event,
) -> Result<lifecycle::Event, AuditRefused> {
    let note = who.note(Action::MaintenanceEvent, Some(event.asset.clone()), event.line());
    tokio::task::block_in_place(|| control.audit_with(&[note], |txn| Ok(lifecycle::record_event(txn, event)?)))
}

/// Why a trained remaining-life model's version was not stored.
#[derive(Debug, thiserror::Error)]
pub enum RulVersionError {
    #[error(transparent)]
    Load(#[from] crate::models::rul::RulError),
    #[error("{path} is the model of `{found}`, not of `{asset}`")]
    OtherAsset { path: String, found: String, asset: String },
    #[error(transparent)]
    Audit(#[from] AuditRefused),
}

/// Store what the core learnt. Blocking (redb commits); failures are logged.
pub fn carry_out(control: &mut Control, data_dir: &Path, effect: LifeEffect) {
    match effect {
        LifeEffect::PredictionError(e) => {
            let h = control.historian.clone();
            let r = h.read().map_err(|_| StoreWrite::Poisoned).and_then(|h| {
                let txn = h.database().begin_write()?;
                let stored = lifecycle::record_error(&txn, &e)?;
                txn.commit()?;
                Ok(stored)
            });
            match r {
                Ok(s) => tracing::info!(
                    "{} -> {}: predicted {:.3}, observed {:.3} (request {})",
                    s.manipulated,
                    s.controlled,
                    s.y_predicted,
                    s.y_observed,
                    s.request
                ),
                Err(err) => tracing::warn!("prediction error of request {} not stored: {err}", e.request),
            }
        }
        LifeEffect::Refit { model, version } => {
            let path = crate::models::anomaly::asset::model_path(data_dir, &model.asset);
            let saved = model.save(&path);
            let detail = match &saved {
                Ok(()) => format!("{}: {}", version.note, version.accuracy_text()),
                Err(e) => format!("{} (scoring with it, but the file was not saved: {e})", version.note),
            };
            let note = Note::system(Action::ModelRetrain, Some(model.asset.clone()), detail);
            let r = control.audit_with(&[note], |txn| Ok(lifecycle::record_model(txn, &version)?));
            if let Err(e) = r {
                tracing::warn!("refitted baseline of {} not recorded: {e}", model.asset);
            }
        }
        LifeEffect::RefitFailed { asset, reason } => {
            let note = Note::system(
                Action::Other("baseline refit failed".into()),
                Some(asset.clone()),
                format!("the previous anomaly model scores again: {reason}"),
            );
            if let Err(e) = control.audit(&[note]) {
                tracing::warn!("failed refit of {asset} not audited: {e}");
            }
        }
    }
}

/// `mimic train rul` (or the demo) saved a remaining-life model of `asset`: its version, with
/// the figures measured in training, goes into the asset's life in the same transaction as the
/// audit entry; the stored version goes back to the core. The models worker loads the file
/// itself when it changes.
pub fn store_rul_version(
    control: &mut Control,
    who: &Identity,
    dir: &Path,
    asset: &str,
    now_ms: i64,
) -> Result<lifecycle::ModelVersion, RulVersionError> {
    let path = crate::models::rul::asset::rul_path(dir, asset);
    let model = crate::models::rul::asset::AssetRul::load(&path)?;
    if model.asset != asset {
        return Err(RulVersionError::OtherAsset {
            path: path.display().to_string(),
            found: model.asset.escape_debug().to_string(),
            asset: asset.to_string(),
        });
    }
    let version = crate::models::rul::asset::trained_version(who.name(), &model, now_ms);
    let detail = format!("remaining-life model trained: {}; {}", version.accuracy_text(), version.note);
    let note = who.note(Action::ModelRetrain, Some(asset.to_string()), detail);
    let stored =
        tokio::task::block_in_place(|| control.audit_with(&[note], |txn| Ok(lifecycle::record_model(txn, &version)?)));
    Ok(stored?)
}
