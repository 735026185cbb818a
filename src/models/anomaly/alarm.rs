//! From a model's verdicts to the alarm engine: a raised model alarm on the asset while the
//! model's alarm holds, cleared when it clears. Only changes are forwarded.

use crate::alarms::{AlarmEngine, AlarmError, AlarmEvent, ModelTarget, Priority};

use super::model::AnomalyScore;

/// The `source` of the model alarms this module raises.
pub const SOURCE: &str = "anomaly";

/// Remembers what was last told to the engine for one asset.
#[derive(Debug, Clone)]
pub struct AlarmLink {
    pub asset: String,
    pub priority: Priority,
    raised: bool,
}

impl AlarmLink {
    pub fn new(asset: impl Into<String>, priority: Priority) -> Self {
        Self { asset: asset.into(), priority, raised: false }
    }

    /// Forwards `verdict` (for signals named `signals`) at `now_ms`; returns the engine's events.
    pub fn forward(
        &mut self,
        engine: &mut AlarmEngine,
        verdict: &AnomalyScore,
        signals: &[String],
        now_ms: i64,
    ) -> Result<Vec<AlarmEvent>, AlarmError> {
        if verdict.alarm == self.raised {
            return Ok(Vec::new());
        }
        let target = ModelTarget::Asset(self.asset.clone());
        let events = if verdict.alarm {
            engine.raise_model(target, SOURCE, self.priority, &message(verdict, signals), now_ms)?
        } else {
            engine.clear_model(target, SOURCE, now_ms)?
        };
        self.raised = verdict.alarm;
        Ok(events)
    }
}

/// "unusual behaviour (score 12.3 > 4.5): flow 80%, temperature 15%" — the three largest
/// positive contributions.
pub fn message(verdict: &AnomalyScore, signals: &[String]) -> String {
    let total: f64 = verdict.contributions.iter().filter(|c| **c > 0.0).sum();
    let mut top: Vec<(usize, f64)> =
        verdict.contributions.iter().copied().enumerate().filter(|(_, c)| *c > 0.0).collect();
    top.sort_by(|a, b| b.1.total_cmp(&a.1));
    let parts: Vec<String> = top
        .iter()
        .take(3)
        .map(|&(i, c)| {
            let name = signals.get(i).map_or("?", String::as_str);
            format!("{name} {:.0}%", 100.0 * c / total.max(f64::MIN_POSITIVE))
        })
        .collect();
    format!("unusual behaviour (score {:.3} > {:.3}): {}", verdict.score, verdict.threshold, parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::{AlarmKind, AlarmState, TagPlace};

    fn verdict(alarm: bool) -> AnomalyScore {
        AnomalyScore { score: 9.0, threshold: 3.0, alarm, contributions: vec![0.5, 6.5, -0.5, 2.5] }
    }

    #[test]
    fn raises_once_and_clears_on_the_asset() {
        let tags = vec![TagPlace { name: "P1.flow".into(), asset: Some("P-1".into()), area: None }];
        let mut engine = AlarmEngine::with_plant(Vec::new(), tags, vec![("P-1".into(), None)]);
        let signals: Vec<String> = ["a", "flow", "b", "temp"].map(String::from).to_vec();
        let mut link = AlarmLink::new("P-1", Priority::Medium);
        assert!(link.forward(&mut engine, &verdict(false), &signals, 0).expect("quiet").is_empty());
        let ev = link.forward(&mut engine, &verdict(true), &signals, 1000).expect("raise");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, AlarmKind::Model { source: SOURCE.into() });
        assert_eq!(ev[0].asset.as_deref(), Some("P-1"));
        assert_eq!(ev[0].to, AlarmState::UnackActive);
        assert!(ev[0].note.contains("flow 68%"), "{}", ev[0].note);
        assert!(link.forward(&mut engine, &verdict(true), &signals, 2000).expect("held").is_empty());
        let ev = link.forward(&mut engine, &verdict(false), &signals, 3000).expect("clear");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].to, AlarmState::UnackRtn);
    }

    #[test]
    fn message_names_the_largest_contributions() {
        let signals: Vec<String> = ["a", "flow", "b", "temp"].map(String::from).to_vec();
        assert_eq!(
            message(&verdict(true), &signals),
            "unusual behaviour (score 9.000 > 3.000): flow 68%, temp 26%, a 5%"
        );
    }
}
