//! The models running live in the core: each asset with a trained anomaly model scores
//! the vector of its tags' present values once per model step, and its verdict raises
//! or clears the asset's model alarm through the alarm engine. Only Good values are scored:
//! a step where some signal is Bad, Uncertain (stale) or missing is skipped, so a dead device
//! shows as a comm fault and never as a process anomaly.
//!
//! When an alarm of an asset becomes active (the model's or a process alarm on one of its
//! tags), the core asks for a diagnosis ([`Effect::Diagnose`]); the models worker in the
//! daemon runs it off the core's path and its findings, like the remaining lives, come back
//! into [`Insights`]. Pure: the models arrive loaded, time arrives in the call.

use std::collections::BTreeMap;

use super::{Effect, State};
use super::{LiveDiagnosis, LiveRul};
use crate::alarms::{AlarmKind, AlarmState};
use crate::models::anomaly::alarm::AlarmLink;
use crate::models::anomaly::asset::AssetModel;
use crate::models::anomaly::{AnomalyScore, model::AnomalyModel};

/// One asset's anomaly model, bound to the site's tag indices.
#[derive(Clone, Debug)]
pub struct LiveAnomaly {
    pub asset: String,
    pub model: AnomalyModel,
    pub step_ms: i64,
    /// Site tag index of each of the model's signals.
    pub tags: Vec<usize>,
    pub link: AlarmLink,
    next_ms: i64,
    /// The latest verdict (for the terminals).
    pub last: Option<AnomalyScore>,
    /// Steps skipped because a signal had no Good value.
    pub skipped: u64,
}

/// A model signal the site has no tag for (renamed or removed since the model was fitted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model signal `{0}` is not a tag of the site")]
pub struct UnknownSignal(pub String);

impl LiveAnomaly {
    /// Bind a stored model to the site; `Err` names a signal the site no longer has.
    pub fn bind(state: &State, m: AssetModel) -> Result<LiveAnomaly, UnknownSignal> {
        let tags = m
            .model
            .signals
            .iter()
            .map(|s| state.site.tag_index(s).ok_or_else(|| UnknownSignal(s.clone())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(LiveAnomaly {
            link: AlarmLink::new(m.asset.clone(), crate::alarms::Priority::Medium),
            asset: m.asset,
            model: m.model,
            step_ms: m.step_ms.max(1),
            tags,
            next_ms: 0,
            last: None,
            skipped: 0,
        })
    }
}

/// Score every model whose step is due; alarm events come back as effects.
pub fn score_models(state: &mut State, now_ms: i64) -> Vec<Effect> {
    let mut out = Vec::new();
    let mut models = std::mem::take(&mut state.anomaly);
    for m in &mut models {
        if now_ms < m.next_ms {
            continue;
        }
        m.next_ms = now_ms + m.step_ms;
        let sample: Option<Vec<f64>> = m
            .tags
            .iter()
            .map(|&t| state.tags.get(t).filter(|ts| ts.quality.is_good()).and_then(|ts| ts.value))
            .collect();
        let Some(sample) = sample else {
            m.skipped += 1;
            continue;
        };
        let verdict = m.model.score(&sample);
        match m.link.forward(&mut state.alarms, &verdict, &m.model.signals, now_ms) {
            Ok(ev) if !ev.is_empty() => {
                state.version += 1;
                out.push(Effect::Alarm(ev));
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("anomaly model of {}: {e}", m.asset),
        }
        m.last = Some(verdict);
    }
    state.anomaly = models;
    out
}

/// What the models worker found, by asset, for the terminals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Insights {
    pub rul: BTreeMap<String, LiveRul>,
    pub diagnoses: BTreeMap<String, LiveDiagnosis>,
    /// When each asset's last diagnosis was asked for (ms).
    asked: BTreeMap<String, i64>,
    /// When an alarm of each asset last returned to normal (ms).
    returned: BTreeMap<String, i64>,
    /// When each asset's present (or last) model-alarm episode began: its activation after a
    /// real return to normal (a re-annunciation continues the episode).
    episode: BTreeMap<String, i64>,
    /// Assets whose new diagnosis's remedies are still to be proposed (see
    /// [`super::remedies::propose`]).
    pub(super) to_propose: Vec<String>,
}

/// A diagnosis to run: the asset, when its alarm became active, what fired, and the anomaly
/// model's contributions at that moment (signal, share of the score), when it has a model.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagnoseRequest {
    pub asset: String,
    pub at_ms: i64,
    pub trigger: String,
    pub contributions: Vec<(String, f64)>,
    /// The anomaly model's signals (the columns to diagnose); empty: the asset's tags.
    pub signals: Vec<String>,
    /// When an alarm of the asset last returned to normal before this one (ms): the previous
    /// episode was over then, so the history the diagnosis reads need not reach further back.
    pub after_ms: Option<i64>,
}

/// The asset of `tags` with an active model alarm (its behaviour has left what its model
/// learnt as normal), with the diagnosis of this alarm episode when there is one.
pub(super) fn abnormal<'a>(
    state: &'a State,
    tags: &[usize],
    now_ms: i64,
) -> Option<(String, Option<&'a LiveDiagnosis>)> {
    let site = &state.site;
    let assets: Vec<&str> = tags
        .iter()
        .filter_map(|&t| site.tags.get(t)?.asset)
        .filter_map(|a| site.assets.get(a))
        .map(|a| a.name.as_str())
        .collect();
    let alarm = state.alarms.rows(now_ms).into_iter().find(|r| {
        matches!(r.kind, AlarmKind::Model { .. })
            && r.state.is_active()
            && r.place.asset.as_deref().is_some_and(|a| assets.contains(&a))
    })?;
    let asset = alarm.place.asset?;
    let since = state.insights.episode.get(&asset).copied().or(alarm.active_since).unwrap_or(i64::MIN);
    let diagnosis = state.insights.diagnoses.get(&asset).filter(|d| d.at_ms >= since);
    Some((asset, diagnosis))
}

/// Why a prediction about `tags` is less sure now: an asset of theirs has an active model
/// alarm, named with the likely cause from a diagnosis of this alarm episode when there is
/// one. A loop's model is identified on the plant's normal running, and a fault changes the
/// plant.
pub fn caution(state: &State, tags: &[usize], now_ms: i64) -> Option<String> {
    let (asset, diagnosis) = abnormal(state, tags, now_ms)?;
    let cause = diagnosis.and_then(|d| d.fault.clone().or_else(|| d.cause.clone()));
    let what = match cause {
        Some(c) => format!("model alarm, likely cause {c}"),
        None => "model alarm".to_string(),
    };
    Some(format!("{asset} is abnormal now ({what}) and the loop's model was learnt from normal running"))
}

/// Two diagnoses of one asset are at least this far apart (ms).
pub const DIAGNOSE_EVERY_MS: i64 = 30_000;

/// Adds an [`Effect::Diagnose`] for each asset whose alarm became active among `fx`.
pub fn request_diagnoses(state: &mut State, fx: &mut Vec<Effect>) {
    let mut asks = Vec::new();
    for e in fx.iter().filter_map(|e| if let Effect::Alarm(ev) = e { Some(ev) } else { None }).flatten() {
        let Some(asset) = &e.place.asset else { continue };
        let returned = matches!(e.to, AlarmState::UnackRtn | AlarmState::Normal)
            && matches!(e.from, AlarmState::UnackActive | AlarmState::AckActive);
        if returned {
            state.insights.returned.insert(asset.clone(), e.ts_ms);
        }
        let activated = e.to == AlarmState::UnackActive && matches!(e.from, AlarmState::Normal | AlarmState::UnackRtn);
        if activated
            && matches!(e.kind, AlarmKind::Model { .. })
            && state.insights.returned.get(asset) != Some(&e.ts_ms)
        {
            state.insights.episode.insert(asset.clone(), e.ts_ms);
        }
        if !activated || asks.iter().any(|r: &DiagnoseRequest| &r.asset == asset) {
            continue;
        }
        if state.insights.asked.get(asset).is_some_and(|&t| e.ts_ms - t < DIAGNOSE_EVERY_MS && e.ts_ms >= t) {
            continue;
        }
        let model = state.anomaly.iter().find(|m| &m.asset == asset);
        let contributions = model
            .and_then(|m| m.last.as_ref().map(|v| (m, v)))
            .map(|(m, v)| {
                let total: f64 = v.contributions.iter().map(|c| c.max(0.0)).sum::<f64>().max(f64::MIN_POSITIVE);
                let mut c: Vec<(String, f64)> =
                    m.model.signals.iter().cloned().zip(v.contributions.iter().map(|c| c.max(0.0) / total)).collect();
                c.sort_by(|a, b| b.1.total_cmp(&a.1));
                c
            })
            .unwrap_or_default();
        let trigger = match &e.place.tag {
            Some(tag) => format!("{tag} {}", e.kind),
            None => format!("{} {}", asset, e.kind),
        };
        asks.push(DiagnoseRequest {
            asset: asset.clone(),
            at_ms: e.ts_ms,
            trigger,
            contributions,
            signals: model.map(|m| m.model.signals.clone()).unwrap_or_default(),
            // a return at the very moment of this activation is a re-annunciation, not an end
            after_ms: state.insights.returned.get(asset).copied().filter(|&t| t < e.ts_ms),
        });
    }
    for r in asks {
        state.insights.asked.insert(r.asset.clone(), r.at_ms);
        fx.push(Effect::Diagnose(r));
    }
}

#[cfg(test)]
mod tests {
    use mimic_drivers::{DeviceEvent, DeviceStats, Reading};

    use super::*;
    use crate::alarms::AlarmState;
    use crate::config::testkit::PUMP;
    use crate::core::testkit::{self, feed};
    use crate::core::{Msg, update};
    use crate::models::anomaly::AnomalyConfig;

    /// Healthy: flow follows speed.
    fn healthy(i: usize) -> [f64; 2] {
        let speed = 50.0 + 10.0 * (i as f64 / 40.0).sin() + ((i * 7919) % 13) as f64 * 0.05;
        [speed, 2.0 * speed + ((i * 104_729) % 11) as f64 * 0.05]
    }

    /// The test site's state with an anomaly model of P-1 fitted on 2,000 healthy steps.
    fn with_model() -> State {
        let rows: Vec<Vec<f64>> = (0..2000).map(|i| healthy(i).to_vec()).collect();
        let model =
            AnomalyModel::fit(vec!["speed".into(), "flow".into()], &rows, AnomalyConfig::default()).expect("fit");
        let stored = AssetModel { asset: "P-1".into(), step_ms: 1000, from_ms: 0, to_ms: 1, rows: 2000, model };
        let mut state = testkit::state(PUMP);
        state.anomaly.push(LiveAnomaly::bind(&state, stored).expect("bind"));
        state
    }

    #[test]
    fn a_loaded_model_scores_each_step_and_raises_the_assets_alarm_when_the_relation_breaks() {
        let mut state = with_model();
        for i in 2000..2300 {
            let fx = feed(&mut state, healthy(i), i as i64 * 1000);
            assert!(!fx.iter().any(|e| matches!(e, Effect::Alarm(_))), "healthy second {i} raised {fx:?}");
        }
        assert!(state.anomaly[0].last.as_ref().is_some_and(|v| !v.alarm));
        let raised = (2300..2400).any(|i| {
            let [s, f] = healthy(i);
            let fx = feed(&mut state, [s, f * 0.7], i as i64 * 1000);
            fx.iter()
                .any(|e| matches!(e, Effect::Alarm(ev) if ev.iter().any(|a| a.place.asset.as_deref() == Some("P-1"))))
        });
        assert!(raised, "a broken relation raised no alarm on the asset");
        let row = &state.alarms.rows(0)[0];
        assert_eq!(row.state, AlarmState::UnackActive);
        assert!(row.message.contains("unusual behaviour"), "{}", row.message);
    }

    #[test]
    fn a_device_that_stops_answering_is_a_comm_fault_never_an_anomaly() {
        let mut state = with_model();
        for i in 2000..2100 {
            feed(&mut state, healthy(i), i as i64 * 1000);
        }
        let scored = state.anomaly[0].skipped;
        // The device stops answering: its readings come back Bad (timeouts), then nothing at
        // all (the values go stale); for ten minutes neither may look like a process anomaly.
        let mut effects = Vec::new();
        for i in 2100..2700i64 {
            let now = i * 1000;
            if i < 2130 {
                let readings = (0..2).map(|p| Reading::bad(p, mimic_drivers::Reason::Timeout, now)).collect();
                let stats = DeviceStats { connected: false, ..Default::default() };
                effects.extend(update(&mut state, Msg::Device(DeviceEvent { device: 0, readings, stats })));
            }
            effects.extend(update(&mut state, Msg::Tick { now_ms: now }));
        }
        let model_alarm = |e: &Effect| matches!(e, Effect::Alarm(ev) if ev.iter().any(|a| matches!(a.kind, crate::alarms::AlarmKind::Model { .. })));
        assert!(!effects.iter().any(model_alarm), "a dead device raised a model alarm: {effects:?}");
        assert_eq!(state.anomaly[0].skipped - scored, 600, "every step without Good values is skipped");
        assert!(!effects.iter().any(|e| matches!(e, Effect::Diagnose(_))), "nothing to diagnose");
        // Back with healthy values: scored again, still quiet.
        for i in 2700..2760 {
            let fx = feed(&mut state, healthy(i), i as i64 * 1000);
            assert!(!fx.iter().any(model_alarm), "{fx:?}");
        }
        assert_eq!(state.anomaly[0].skipped - scored, 600);
    }

    #[test]
    fn an_assets_alarm_asks_for_one_diagnosis_with_the_models_contributions() {
        let mut state = with_model();
        let mut asks = Vec::new();
        for i in 2000..2400 {
            let [s, f] = healthy(i);
            let fx = feed(&mut state, if i < 2300 { [s, f] } else { [s, f * 0.7] }, i as i64 * 1000);
            asks.extend(fx.into_iter().filter_map(|e| if let Effect::Diagnose(r) = e { Some(r) } else { None }));
        }
        assert_eq!(asks.len(), 1, "{asks:?}");
        let r = &asks[0];
        assert_eq!((r.asset.as_str(), r.signals.len()), ("P-1", 2));
        assert!(r.at_ms >= 2_300_000 && r.trigger.contains("MODEL anomaly"), "{r:?}");
        // both signals carry the broken relation; the shares are the model's, summing to one
        assert_eq!(r.contributions.len(), 2, "{r:?}");
        let total: f64 = r.contributions.iter().map(|c| c.1).sum();
        assert!((total - 1.0).abs() < 1e-9, "{r:?}");
    }

    #[test]
    fn a_prediction_is_cautioned_while_the_loops_asset_is_abnormal_with_the_episodes_cause() {
        let mut state = with_model();
        for i in 2000..2100 {
            feed(&mut state, healthy(i), i as i64 * 1000);
        }
        assert_eq!(caution(&state, &[0, 1], 2_100_000), None, "healthy: no caution");
        // an old diagnosis of an earlier episode names no cause for this one
        let diagnosis = |at_ms: i64, fault: &str| LiveDiagnosis {
            at_ms,
            trigger: String::new(),
            ranked: Vec::new(),
            contributions: Vec::new(),
            fault: Some(fault.into()),
            cause: None,
            error: None,
            advice: None,
            notes: Vec::new(),
        };
        state.insights.diagnoses.insert("P-1".into(), diagnosis(1_000, "sticking valve"));
        let mut at = None;
        for i in 2100..2300 {
            let [s, f] = healthy(i);
            feed(&mut state, [s, f * 0.7], i as i64 * 1000);
            if at.is_none() && state.alarms.rows(0).iter().any(|r| r.state.is_active()) {
                at = state.alarms.rows(0)[0].active_since;
            }
        }
        let at = at.expect("the broken relation raised the model alarm");
        let c = caution(&state, &[1], 2_300_000).expect("abnormal: cautioned");
        assert_eq!(c, "P-1 is abnormal now (model alarm) and the loop's model was learnt from normal running");
        state.insights.diagnoses.insert("P-1".into(), diagnosis(at, "cavitation"));
        let c = caution(&state, &[0], 2_300_000).expect("cautioned");
        assert!(c.contains("likely cause cavitation"), "{c}");
        // back to normal: no caution
        for i in 2300..2600 {
            feed(&mut state, healthy(i), i as i64 * 1000);
        }
        assert_eq!(caution(&state, &[0, 1], 2_600_000), None);
    }

    #[test]
    fn a_model_naming_a_tag_the_site_lacks_is_refused() {
        let rows: Vec<Vec<f64>> = (0..500).map(|i| healthy(i).to_vec()).collect();
        let model =
            AnomalyModel::fit(vec!["speed".into(), "gone".into()], &rows, AnomalyConfig::default()).expect("fit");
        let stored = AssetModel { asset: "P-1".into(), step_ms: 1000, from_ms: 0, to_ms: 1, rows: 500, model };
        let state = testkit::state(PUMP);
        let err = LiveAnomaly::bind(&state, stored).expect_err("unknown signal").to_string();
        assert!(err.contains("`gone`"), "{err}");
    }

    /// The test site's state with its model alarm raised by a broken relation (flow 30 % low)
    /// at a time returned; `broken` feeds one more second of it.
    fn abnormal_state() -> (State, i64) {
        let mut state = with_model();
        for i in 2000..2100 {
            feed(&mut state, healthy(i), i as i64 * 1000);
        }
        for i in 2100..2300 {
            broken(&mut state, i);
        }
        (state, 2_300_000)
    }

    fn broken(state: &mut State, i: usize) {
        let [s, f] = healthy(i);
        feed(state, [s, f * 0.7], i as i64 * 1000);
    }

    fn cavitation_on(at_ms: i64) -> LiveDiagnosis {
        let advice = crate::models::diagnosis::Signatures::parse(
            r#"[[fault]]
name = "cavitation"
cause = "suction starved"
first = ["flow"]
remedy = [{ action = "lower the speed", tag = "speed", direction = "lower", step = 5.0 },
          { action = "raise the suction head" }]
forbid = [{ tag = "speed", direction = "raise", why = "deepens the cavitation" }]
"#,
        )
        .expect("signature")
        .advice("cavitation");
        LiveDiagnosis {
            at_ms,
            trigger: String::new(),
            ranked: Vec::new(),
            contributions: Vec::new(),
            fault: Some("cavitation".into()),
            cause: None,
            error: None,
            advice,
            notes: Vec::new(),
        }
    }

    fn filing(value: f64) -> super::super::Filing {
        super::super::Filing {
            loop_name: "flow".into(),
            tag: 0,
            value,
            kpi: 1,
            kpi_now: 70.0,
            kpi_expect: 90.0,
            tolerance: 1.0,
            effect: "more flow".into(),
            confidence: 0.9,
            reason: "flow below its band".into(),
        }
    }

    #[test]
    fn a_diagnosed_fault_files_its_remedy_and_holds_the_loops_advice_saying_why() {
        let (mut state, now) = abnormal_state();
        let alarm_at = state.alarms.rows(now).iter().find_map(|r| r.active_since).expect("active");
        // abnormal but not diagnosed yet: the loop's raise is held
        update(&mut state, Msg::Recommend { filing: filing(58.0), now_ms: now });
        assert_eq!(state.approvals.all().count(), 0, "held until the cause is known");
        // the diagnosis arrives: on the next tick its remedy is filed, one step down inside the limits
        let news = super::super::ModelNews::Diagnosis { asset: "P-1".into(), diagnosis: cavitation_on(alarm_at) };
        update(&mut state, Msg::ModelNews(news));
        broken(&mut state, 2300);
        let speed = state.tags[0].value.expect("speed");
        let reqs: Vec<_> = state.approvals.all().collect();
        assert_eq!(reqs.len(), 1, "{reqs:?}");
        assert!(reqs[0].value < speed && speed - reqs[0].value <= 5.0 + 1e-9, "{} from {speed}", reqs[0].value);
        assert!(reqs[0].effect.contains("remedy declared for cavitation"), "{}", reqs[0].effect);
        let id = reqs[0].id;
        // the loop still wants a raise: held, and the diagnosis says why
        update(&mut state, Msg::Recommend { filing: filing(speed + 5.0), now_ms: 2_301_000 });
        assert_eq!(state.approvals.all().count(), 1);
        let notes = &state.insights.diagnoses["P-1"].notes;
        assert!(notes.iter().any(|n| n.contains(&format!("remedy proposed as request {id}"))), "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("never raise speed (deepens the cavitation)")), "{notes:?}");
    }

    #[test]
    fn a_fault_without_remedy_recommends_nothing() {
        let (mut state, now) = abnormal_state();
        let alarm_at = state.alarms.rows(now).iter().find_map(|r| r.active_since).expect("active");
        let mut d = cavitation_on(alarm_at);
        d.advice =
            Some(crate::models::diagnosis::remedy::FaultAdvice { fault: "cavitation".into(), ..Default::default() });
        update(&mut state, Msg::ModelNews(super::super::ModelNews::Diagnosis { asset: "P-1".into(), diagnosis: d }));
        broken(&mut state, 2300);
        update(&mut state, Msg::Recommend { filing: filing(45.0), now_ms: 2_301_000 });
        assert_eq!(state.approvals.all().count(), 0);
        let notes = &state.insights.diagnoses["P-1"].notes;
        assert!(notes.iter().any(|n| n.contains("no remedy is known for cavitation")), "{notes:?}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]
        /// Whatever the loop asks for and whenever the diagnosis comes, no request that raises
        /// the speed is filed while cavitation is diagnosed, and one filed before is withdrawn.
        #[test]
        fn a_forbidden_move_is_never_filed_while_its_fault_is_diagnosed(
            asks in proptest::collection::vec(0.0f64..100.0, 1..8),
            diagnosed_after in 0usize..8,
            healthy_first in proptest::prelude::any::<bool>(),
        ) {
            let mut state = with_model();
            for i in 2000..2100 {
                feed(&mut state, healthy(i), i as i64 * 1000);
            }
            // a recommendation before the asset turns abnormal is filed like any
            if healthy_first {
                update(&mut state, Msg::Recommend { filing: filing(healthy(2100)[0] + 5.0), now_ms: 2_100_000 });
            }
            for i in 2100..2300 {
                broken(&mut state, i);
            }
            let alarm_at = state.alarms.rows(2_300_000).iter().find_map(|r| r.active_since).expect("active");
            let mut diagnosed_at = None;
            for (k, v) in asks.iter().enumerate() {
                let i = 2300 + 2 * k;
                if k == diagnosed_after {
                    let news = super::super::ModelNews::Diagnosis { asset: "P-1".into(), diagnosis: cavitation_on(alarm_at) };
                    update(&mut state, Msg::ModelNews(news));
                    diagnosed_at = Some(i as i64 * 1000);
                }
                broken(&mut state, i);
                update(&mut state, Msg::Recommend { filing: filing(*v), now_ms: i as i64 * 1000 + 500 });
                broken(&mut state, i + 1);
            }
            for r in state.approvals.all() {
                let raise = r.previous.is_some_and(|p| r.value > p);
                let diagnosed = diagnosed_at.is_some_and(|d| r.requested_ms >= d);
                proptest::prop_assert!(!(raise && diagnosed), "filed while diagnosed: {r:?}");
                proptest::prop_assert!(!(raise && r.requested_ms > 2_100_000), "filed while abnormal: {r:?}");
                if raise && diagnosed_at.is_some() {
                    proptest::prop_assert!(!matches!(r.status, crate::approvals::Status::Pending), "not withdrawn: {r:?}");
                }
            }
        }
    }
}
