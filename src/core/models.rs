//! The models running live in the core: each asset with a trained anomaly model scores
//! the vector of its tags' present values once per model step, and its verdict raises
//! or clears the asset's model alarm through the alarm engine. Pure: the models arrive
//! loaded, time arrives in the call.

use super::{Effect, State};
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

impl LiveAnomaly {
    /// Bind a stored model to the site; `Err` names a signal the site no longer has.
    pub fn bind(state: &State, m: AssetModel) -> Result<LiveAnomaly, String> {
        let tags = m
            .model
            .signals
            .iter()
            .map(|s| state.site.tag_index(s).ok_or_else(|| format!("model signal `{s}` is not a tag of the site")))
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

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use mimic_drivers::{DeviceEvent, DeviceStats, Quality, Reading};

    use super::*;
    use crate::alarms::AlarmState;
    use crate::config::Site;
    use crate::core::{Msg, update};
    use crate::models::anomaly::AnomalyConfig;

    const SITE: &str = r#"
[site]
name = "t"
[[asset]]
area = "a"
unit = "u"
name = "P-1"
[[device]]
name = "plc"
protocol = "modbus-tcp"
endpoint = "127.0.0.1:502"
[[tag]]
name = "speed"
device = "plc"
asset = "P-1"
address = "hr:0"
[[tag]]
name = "flow"
device = "plc"
asset = "P-1"
address = "hr:1"
"#;

    /// Healthy: flow follows speed.
    fn healthy(i: usize) -> [f64; 2] {
        let speed = 50.0 + 10.0 * (i as f64 / 40.0).sin() + ((i * 7919) % 13) as f64 * 0.05;
        [speed, 2.0 * speed + ((i * 104_729) % 11) as f64 * 0.05]
    }

    fn feed(state: &mut State, v: [f64; 2], now: i64) -> Vec<Effect> {
        let readings = (0..2)
            .map(|p| Reading { point: p, value: Some(v[p]), quality: Quality::Good, recv_ms: now, source_ms: None })
            .collect();
        let stats = DeviceStats { connected: true, ..Default::default() };
        update(state, Msg::Device(DeviceEvent { device: 0, readings, stats }));
        update(state, Msg::Tick { now_ms: now })
    }

    #[test]
    fn a_loaded_model_scores_each_step_and_raises_the_assets_alarm_when_the_relation_breaks() {
        let rows: Vec<Vec<f64>> = (0..2000).map(|i| healthy(i).to_vec()).collect();
        let signals = vec!["speed".to_string(), "flow".to_string()];
        let model = AnomalyModel::fit(signals, &rows, AnomalyConfig::default()).expect("fit");
        let stored = AssetModel { asset: "P-1".into(), step_ms: 1000, from_ms: 0, to_ms: 1, rows: 2000, model };
        let mut state = State::new(Arc::new(Site::parse(Path::new("t.toml"), SITE).expect("site")));
        let live = LiveAnomaly::bind(&state, stored).expect("bind");
        state.anomaly.push(live);
        for i in 2000..2300 {
            let fx = feed(&mut state, healthy(i), i as i64 * 1000);
            assert!(!fx.iter().any(|e| matches!(e, Effect::Alarm(_))), "healthy second {i} raised {fx:?}");
        }
        assert!(state.anomaly[0].last.as_ref().is_some_and(|v| !v.alarm));
        let raised = (2300..2400).any(|i| {
            let [s, f] = healthy(i);
            let fx = feed(&mut state, [s, f * 0.7], i as i64 * 1000);
            fx.iter().any(|e| matches!(e, Effect::Alarm(ev) if ev.iter().any(|a| a.asset.as_deref() == Some("P-1"))))
        });
        assert!(raised, "a broken relation raised no alarm on the asset");
        let row = &state.alarms.rows(0)[0];
        assert_eq!(row.state, AlarmState::UnackActive);
        assert!(row.message.contains("unusual behaviour"), "{}", row.message);
    }

    #[test]
    fn a_model_naming_a_tag_the_site_lacks_is_refused() {
        let rows: Vec<Vec<f64>> = (0..500).map(|i| healthy(i).to_vec()).collect();
        let model =
            AnomalyModel::fit(vec!["speed".into(), "gone".into()], &rows, AnomalyConfig::default()).expect("fit");
        let stored = AssetModel { asset: "P-1".into(), step_ms: 1000, from_ms: 0, to_ms: 1, rows: 500, model };
        let state = State::new(Arc::new(Site::parse(Path::new("t.toml"), SITE).expect("site")));
        let err = LiveAnomaly::bind(&state, stored).expect_err("unknown signal");
        assert!(err.contains("`gone`"), "{err}");
    }
}
