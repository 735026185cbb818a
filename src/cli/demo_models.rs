//! The demo's models, trained without a manual step when `mimic demo` starts, on the demo
//! plant itself stepped in-process (the same physics the served plant runs):
//!
//! - **Anomaly** (P-101, synchronous, well under a second in a release build): 30 min of a
//!   healthy settled skid whose operators move the valve and speed setpoints, sampled once a
//!   second and quantised like the registers the store reads, fitted with
//!   [`anomaly_config`] (the defaults, with an in-sample threshold). Saved as `DATA/models/P-101.anomaly.json` before the daemon starts,
//!   so it scores from the first minute.
//! - **Remaining life** (P-101, in a background thread, a few seconds): `units` runs to
//!   failure of skids whose bearings last 0.6..1.4 times the demo's bearing life, one row per
//!   [`CYCLE_S`] seconds (the mean of each channel), then `mimic train rul`'s boosted-tree
//!   ensemble. Saved as `DATA/models/P-101.rul.json` with the demo's start as the life start;
//!   the daemon's models worker picks the file up when it appears.
//! - **Fault signatures**: the pump skid's (`profiles/faults/pump-skid.toml`), written as
//!   `DATA/models/P-101.faults.toml` for the live diagnosis.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use mimic_drivers::sim::demo::{DemoPlan, healthy_run, run_to_failure};
use mimic_drivers::sim::plant::PumpSkid;

use crate::models::anomaly::asset::{AssetModel, model_path};
use crate::models::anomaly::{AnomalyConfig, AnomalyModel};
use crate::models::diagnosis::eval::{skid_row, skid_specs};
use crate::models::rul::asset::{AssetRul, rul_path};
use crate::models::rul::{RulModel, RunToFailure, TrainOptions};

/// The demo's modelled asset.
pub const ASSET: &str = "P-101";
/// The signals of its anomaly model: the skid's measurements and the valve setpoint.
pub const ANOMALY_SIGNALS: [&str; 9] = [
    "FV101.position_sp",
    "P101.flow",
    "P101.discharge_pressure",
    "P101.suction_pressure",
    "P101.motor_temp",
    "FV101.position",
    "P101.speed",
    "P101.vibration",
    "P101.current",
];
/// The channels of its remaining-life model.
pub const RUL_CHANNELS: [&str; 4] = ["P101.vibration", "P101.speed", "P101.current", "P101.motor_temp"];
/// One cycle of the remaining-life model, seconds.
pub const CYCLE_S: f64 = 10.0;
/// Seconds of healthy plant the anomaly model learns from.
pub const HEALTHY_S: usize = 1800;

/// The demo's anomaly settings: the defaults, with the threshold taken from the healthy
/// window's own scores. The default cross-validates it over blocks of the window, and each
/// held-out block holds operating points (valve and speed setpoints) the other blocks never
/// saw, where the linear model of the pump's curves extrapolates badly: the threshold comes
/// out some 170 times higher and only cavitation clears it. The demo plant only ever runs at
/// the operating points its healthy window covers, so the in-sample threshold is the honest
/// one here; with it the sticking valve and the drifting flow transmitter raise the alarm too,
/// and an hour of healthy plant raises none.
pub fn anomaly_config() -> AnomalyConfig {
    AnomalyConfig { folds: 0, ..AnomalyConfig::default() }
}

/// The values of `names` (tags of the demo site) as the store would hold them now.
fn row_of(p: &mut PumpSkid, names: &[&str]) -> Vec<f64> {
    let specs = skid_specs();
    let row = skid_row(p);
    names
        .iter()
        .map(|n| specs.iter().position(|s| s.name == *n).and_then(|i| row.get(i).copied()).unwrap_or(f64::NAN))
        .collect()
}

/// Trains and saves the anomaly model; returns the line to report.
pub fn train_anomaly(data: &Path, seed: u64) -> anyhow::Result<String> {
    let started = Instant::now();
    let rows = healthy_run(seed.wrapping_add(1000), HEALTHY_S, |p| row_of(p, &ANOMALY_SIGNALS));
    let signals: Vec<String> = ANOMALY_SIGNALS.iter().map(|s| s.to_string()).collect();
    let model = AnomalyModel::fit(signals, &rows, anomaly_config()).context("demo anomaly model")?;
    let stored = AssetModel { asset: ASSET.into(), step_ms: 1000, from_ms: 0, to_ms: 0, rows: rows.len(), model };
    let path = model_path(data, ASSET);
    stored.save(&path).with_context(|| format!("cannot save {}", path.display()))?;
    Ok(format!(
        "anomaly model of {ASSET}: trained on {} s of the healthy demo plant in {:.2} s",
        rows.len(),
        started.elapsed().as_secs_f64()
    ))
}

/// Runs to failure of the demo pump, as training histories.
pub fn runs(plan: &DemoPlan, units: usize) -> Vec<RunToFailure> {
    (0..units)
        .map(|u| RunToFailure {
            rows: run_to_failure(plan.seed.wrapping_mul(7919).wrapping_add(u as u64 + 1), plan.life_s, CYCLE_S, |p| {
                row_of(p, &RUL_CHANNELS)
            }),
        })
        .collect()
}

/// Trains and saves the remaining-life model; returns the line to report.
pub fn train_rul(
    data: &Path,
    plan: &DemoPlan,
    life_start_ms: i64,
    units: usize,
    trees: usize,
) -> anyhow::Result<String> {
    let started = Instant::now();
    let runs = runs(plan, units);
    let generated = started.elapsed().as_secs_f64();
    let channels: Vec<String> = RUL_CHANNELS.iter().map(|s| s.to_string()).collect();
    let opts = TrainOptions { members: 3, trees, seed: plan.seed, ..TrainOptions::default() };
    let model = RulModel::train(channels, &runs, &opts, "demo plant runs to failure")?;
    let stored = AssetRul { asset: ASSET.into(), cycle_s: CYCLE_S, life_start_ms: Some(life_start_ms), model };
    let path = rul_path(data, ASSET);
    stored.save(&path).with_context(|| format!("cannot save {}", path.display()))?;
    Ok(format!(
        "remaining-life model of {ASSET}: {units} runs to failure generated in {generated:.2} s, trained in {:.2} s \
         ({} members x {trees} trees; out-of-fold RMSE {:.1} cycles of {CYCLE_S} s)",
        stored.model.info.seconds, opts.members, stored.model.info.oof_rmse
    ))
}

/// Writes the pump skid's fault signatures for the live diagnosis.
pub fn write_faults(data: &Path) -> anyhow::Result<()> {
    let path = crate::daemon::insight::faults_path(data, ASSET);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&path, crate::models::diagnosis::signature::PUMP_SKID)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Records the demo's models in P-101's life through the running daemon, as `mimic train`
/// does (audited, each version with its measured figures, attributed to `user`): the anomaly
/// model at once, the remaining-life model when `rul_trained` says its training succeeded.
pub async fn record_versions(
    commands: tokio::sync::mpsc::Sender<crate::daemon::CoreCmd>,
    user: String,
    rul_trained: tokio::sync::oneshot::Receiver<bool>,
) {
    use crate::ipc::{Act, ModelKind};
    let tell = |kind: ModelKind| {
        let (commands, user) = (commands.clone(), user.clone());
        async move {
            let (reply, answer) = tokio::sync::oneshot::channel();
            let act = Some(Act::ModelTrained { asset: ASSET.into(), kind });
            if commands.send(crate::daemon::CoreCmd { user, act, reply }).await.is_err() {
                return;
            }
            match answer.await {
                Ok(Ok(m)) => tracing::info!("demo {kind:?} model recorded: {m}"),
                Ok(Err(e)) => tracing::warn!("demo {kind:?} model not recorded: {e}"),
                Err(_) => {}
            }
        }
    };
    tell(ModelKind::Anomaly).await;
    if rul_trained.await == Ok(true) {
        tell(ModelKind::Rul).await;
    }
}

/// Every model alarm and diagnosis a headless demo saw while it ran (a snapshot holds only
/// the latest diagnosis of each asset).
#[derive(Debug, Default)]
pub struct Seen {
    /// Asset, when the alarm became active, its message.
    alarms: Vec<(String, i64, String)>,
    diagnoses: Vec<(String, crate::ipc::LiveDiagnosis)>,
}

impl Seen {
    pub fn watch(&mut self, snap: &crate::ipc::LiveSnapshot) {
        for al in snap
            .alarms
            .iter()
            .filter(|a| a.kind.starts_with("MODEL") && a.state == crate::ipc::LiveAlarmState::UnackActive)
        {
            let at = al.active_since_ms.unwrap_or_default();
            if !self.alarms.iter().any(|(a, t, _)| a == &al.place.asset && *t == at) {
                self.alarms.push((al.place.asset.clone(), at, al.message.clone()));
            }
        }
        for a in &snap.assets {
            let Some(d) = &a.diagnosis else { continue };
            // the same diagnosis gains notes (remedies proposed, advice held) as the core acts
            match self.diagnoses.iter_mut().find(|(n, x)| n == &a.name && x.at_ms == d.at_ms) {
                Some((_, x)) => x.clone_from(d),
                None => self.diagnoses.push((a.name.clone(), d.clone())),
            }
        }
    }
}

/// What the models found, for `mimic demo --headless`: each asset's score and remaining life
/// at the end, every model alarm raised and every diagnosis made during the run, and the
/// model alarms standing at the end.
pub fn print_summary(snap: &crate::ipc::LiveSnapshot, seen: &Seen, started_ms: i64) {
    use mimic_views::format::life;
    let after = |ms: i64| format!("+{:.0} s", (ms - started_ms) as f64 / 1000.0);
    for a in &snap.assets {
        if let Some(x) = a.anomaly {
            println!("asset {}: anomaly score at {:.2} of its threshold", a.name, x);
        }
        if let Some(r) = &a.rul {
            println!(
                "asset {}: RUL {}{} ({}–{}) from {} cycles of {} s",
                a.name,
                if r.capped { "≥" } else { "" },
                life(r.rul_s),
                life(r.low_s),
                life(r.high_s),
                r.cycles,
                r.cycle_s
            );
        }
    }
    for (asset, at, message) in &seen.alarms {
        println!("model alarm raised on {asset} at {}: {message}", after(*at));
    }
    for (asset, d) in &seen.diagnoses {
        let moved: Vec<String> = d
            .ranked
            .iter()
            .filter_map(|s| s.onset_ms.map(|t| format!("{} {:+.0} s", s.signal, (t - d.at_ms) as f64 / 1000.0)))
            .collect();
        println!(
            "diagnosis of {asset} at {} ({}): fault {}; moved first: {}{}",
            after(d.at_ms),
            d.trigger,
            d.fault.as_deref().unwrap_or("-"),
            if moved.is_empty() { "-".to_string() } else { moved.join(", ") },
            d.error.as_ref().map(|e| format!("; {e}")).unwrap_or_default()
        );
        for line in d.advice.iter().flat_map(|a| a.lines()).chain(d.notes.iter().cloned()) {
            println!("  {}", mimic_views::sanitize(&line));
        }
    }
    for al in snap.alarms.iter().filter(|a| a.kind.starts_with("MODEL")) {
        println!("model alarm {} ({}): {}", al.place.asset, al.state, al.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::{AlarmEngine, AlarmState, Place, Priority};
    use crate::models::anomaly::alarm::AlarmLink;
    use mimic_drivers::sim::demo::{DemoRun, settled};

    /// The demo's anomaly model on the demo plant stepped in-process for `seconds` (sampled once
    /// a second like the store): the seconds at which the model alarm became active.
    fn activations(plan: DemoPlan, seconds: usize) -> Vec<usize> {
        let rows = healthy_run(plan.seed.wrapping_add(1000), HEALTHY_S, |p| row_of(p, &ANOMALY_SIGNALS));
        let signals: Vec<String> = ANOMALY_SIGNALS.iter().map(|s| s.to_string()).collect();
        let mut model = AnomalyModel::fit(signals.clone(), &rows, anomaly_config()).expect("fits");
        let tags = vec![Place::of_tag("P101.flow", Some(ASSET.into()), None)];
        let mut engine = AlarmEngine::with_plant(Vec::new(), tags, vec![(ASSET.into(), None)]);
        let mut link = AlarmLink::new(ASSET, Priority::Medium);
        let mut p = settled(plan.seed);
        let mut run = DemoRun::new(plan, &p);
        let mut out = Vec::new();
        for s in 0..seconds {
            for _ in 0..10 {
                run.apply(&mut p);
                p.step(0.1);
            }
            let verdict = model.score(&row_of(&mut p, &ANOMALY_SIGNALS));
            let events = link.forward(&mut engine, &verdict, &signals, s as i64 * 1000).expect("forwards");
            if events.iter().any(|e| e.to == AlarmState::UnackActive) {
                out.push(s);
            }
        }
        out
    }

    #[test]
    fn each_fault_of_the_demo_raises_the_model_alarm_even_while_the_bearing_wears() {
        // an hour of healthy plant (no faults, no wear): no alarm
        let healthy = DemoPlan { life_s: 0.0, faults: Vec::new(), ..DemoPlan::default() };
        assert_eq!(activations(healthy, 3600), Vec::<usize>::new());
        // the default plan: cavitation at 2 min, a sticking valve at 4, a drift at 7, every
        // 12 min; the bearing wears out in 40 min and its wear holds the alarm from ~11 min
        let plan = DemoPlan::default();
        let (repeat, faults) = (plan.repeat_s as usize, plan.faults.clone());
        let seen = activations(plan, 1440);
        for k in 0..2 {
            for f in &faults {
                let (from, to) = (k * repeat + f.at_s as usize, k * repeat + (f.at_s + f.for_s) as usize + 30);
                assert!(
                    seen.iter().any(|s| (from..to).contains(s)),
                    "{} at {from} s: no model alarm (alarms at {seen:?})",
                    f.fault.name()
                );
            }
        }
        // the wear: an alarm outside every fault, once, after the first cycle's faults
        let quiet = |s: &usize| {
            faults.iter().all(|f| (*s % repeat) < f.at_s as usize || (*s % repeat) > (f.at_s + f.for_s) as usize + 30)
        };
        let wear: Vec<&usize> = seen.iter().filter(|s| quiet(s)).collect();
        assert!(wear.len() == 1 && *wear[0] > 540, "{seen:?}");
    }
}
