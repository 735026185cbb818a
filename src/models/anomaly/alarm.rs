//! From a model's verdicts to the alarm engine: a raised model alarm on the asset while the
//! model's alarm holds, cleared when it clears. Only changes are forwarded.
//!
//! **A new fault while the alarm holds is annunciated again.** A slowly wearing part keeps
//! the model's alarm raised for as long as it wears (truthfully: its signal is off its healthy
//! level), and once acknowledged it would hide every later fault on the same asset. So while
//! the alarm holds, the link follows each signal's contribution against its own slow level
//! during the alarm (an exponential mean over [`LEVEL_VERDICTS`], so what the wear slowly does
//! to every contribution is not news). The signals abnormal when the alarm was raised are the
//! alarm's; when another signal's contribution stands at least [`ABNORMAL`] of the threshold
//! above its level for [`PERSIST`] verdicts in a row, the alarm returns and is raised again at
//! once, naming the new signals: the operator sees a new unacknowledged alarm and the asset
//! gets a new diagnosis. Signals that join within [`HOLD`] verdicts of a raise belong to the
//! same episode (a fault reaches its signals one after another). A signal back within
//! [`QUIET`] of the threshold of its level for [`FORGET`] verdicts is forgotten, so the next
//! episode of the same fault is annunciated too.

use crate::alarms::{AlarmEngine, AlarmError, AlarmEvent, ModelTarget, Priority};

use super::model::AnomalyScore;

/// The `source` of the model alarms this module raises.
pub const SOURCE: &str = "anomaly";

/// A signal is abnormal when its contribution stands this share of the threshold above its level.
pub const ABNORMAL: f64 = 0.5;
/// Verdicts in a row a new signal must be abnormal before the alarm is raised again.
pub const PERSIST: u32 = 5;
/// A remembered signal within this share of the threshold of its level is quiet …
pub const QUIET: f64 = 0.1;
/// … and forgotten after this many quiet verdicts in a row.
pub const FORGET: u32 = 60;
/// Verdicts after a raise during which newly abnormal signals join the same episode.
pub const HOLD: u32 = 30;
/// Verdicts over which a signal's level follows its contribution while the alarm holds.
pub const LEVEL_VERDICTS: f64 = 300.0;

/// Remembers what was last told to the engine for one asset.
#[derive(Debug, Clone)]
pub struct AlarmLink {
    pub asset: String,
    pub priority: Priority,
    raised: bool,
    /// Per signal, while raised: annunciated as abnormal in this alarm.
    known: Vec<bool>,
    /// Per signal: consecutive quiet verdicts (known signals) or abnormal ones (others).
    runs: Vec<u32>,
    /// Per signal: the slow level of its contribution while raised.
    level: Vec<f64>,
    /// Verdicts since the last raise.
    since: u32,
}

impl AlarmLink {
    pub fn new(asset: impl Into<String>, priority: Priority) -> Self {
        Self {
            asset: asset.into(),
            priority,
            raised: false,
            known: Vec::new(),
            runs: Vec::new(),
            level: Vec::new(),
            since: 0,
        }
    }

    /// Forwards `verdict` (for signals named `signals`) at `now_ms`; returns the engine's events.
    pub fn forward(
        &mut self,
        engine: &mut AlarmEngine,
        verdict: &AnomalyScore,
        signals: &[String],
        now_ms: i64,
    ) -> Result<Vec<AlarmEvent>, AlarmError> {
        let c = &verdict.contributions;
        let n = c.len();
        let limit = |share: f64| share * verdict.threshold.max(f64::MIN_POSITIVE);
        if self.known.len() != n {
            self.known = vec![false; n];
            self.runs = vec![0; n];
            self.level = vec![0.0; n];
        }
        let target = ModelTarget::Asset(self.asset.clone());
        if verdict.alarm != self.raised {
            let events = if verdict.alarm {
                // what is abnormal now is what this alarm is about (at least the largest part)
                let top = (0..n).max_by(|&a, &b| c[a].total_cmp(&c[b]));
                for (i, &ci) in c.iter().enumerate() {
                    self.known[i] = ci >= limit(ABNORMAL) || Some(i) == top;
                    self.runs[i] = 0;
                    self.level[i] = if self.known[i] { ci } else { 0.0 };
                }
                self.since = 0;
                engine.raise_model(target, SOURCE, self.priority, &message(verdict, signals), now_ms)?
            } else {
                engine.clear_model(target, SOURCE, now_ms)?
            };
            self.raised = verdict.alarm;
            return Ok(events);
        }
        if !self.raised {
            return Ok(Vec::new());
        }
        self.since = self.since.saturating_add(1);
        let mut new = Vec::new();
        for (i, &ci) in c.iter().enumerate() {
            let excess = ci - self.level[i];
            // a step is news against the threshold, and against the signal's own level
            let (quiet, abnormal) =
                (limit(QUIET).max(QUIET * self.level[i]), limit(ABNORMAL).max(ABNORMAL * self.level[i]));
            if self.known[i] {
                self.runs[i] = if excess < quiet { self.runs[i].saturating_add(1) } else { 0 };
                if self.runs[i] >= FORGET {
                    self.known[i] = false;
                    self.runs[i] = 0;
                }
            } else if excess >= abnormal {
                self.runs[i] = self.runs[i].saturating_add(1);
                if self.runs[i] >= PERSIST {
                    new.push(i);
                }
            } else {
                self.runs[i] = 0;
            }
            self.level[i] += (ci - self.level[i]) / LEVEL_VERDICTS;
        }
        if new.is_empty() {
            return Ok(Vec::new());
        }
        for &i in &new {
            self.known[i] = true;
            self.runs[i] = 0;
        }
        if self.since < HOLD {
            return Ok(Vec::new());
        }
        self.since = 0;
        let names: Vec<&str> = new.iter().map(|&i| signals.get(i).map_or("?", String::as_str)).collect();
        let text = format!("{}; newly abnormal: {}", message(verdict, signals), names.join(", "));
        let mut events = engine.clear_model(target.clone(), SOURCE, now_ms)?;
        events.extend(engine.raise_model(target, SOURCE, self.priority, &text, now_ms)?);
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
    use crate::alarms::{AlarmKind, AlarmState, Place};

    fn verdict(alarm: bool) -> AnomalyScore {
        AnomalyScore { score: 9.0, threshold: 3.0, alarm, contributions: vec![0.5, 6.5, -0.5, 2.5] }
    }

    #[test]
    fn raises_once_and_clears_on_the_asset() {
        let tags = vec![Place::of_tag("P1.flow", Some("P-1".into()), None)];
        let mut engine = AlarmEngine::with_plant(Vec::new(), tags, vec![("P-1".into(), None)]);
        let signals: Vec<String> = ["a", "flow", "b", "temp"].map(String::from).to_vec();
        let mut link = AlarmLink::new("P-1", Priority::Medium);
        assert!(link.forward(&mut engine, &verdict(false), &signals, 0).expect("quiet").is_empty());
        let ev = link.forward(&mut engine, &verdict(true), &signals, 1000).expect("raise");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, AlarmKind::Model { source: SOURCE.into() });
        assert_eq!(ev[0].place.asset.as_deref(), Some("P-1"));
        assert_eq!(ev[0].to, AlarmState::UnackActive);
        assert!(ev[0].note.contains("flow 68%"), "{}", ev[0].note);
        assert!(link.forward(&mut engine, &verdict(true), &signals, 2000).expect("held").is_empty());
        let ev = link.forward(&mut engine, &verdict(false), &signals, 3000).expect("clear");
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].to, AlarmState::UnackRtn);
    }

    fn scored(alarm: bool, contributions: Vec<f64>) -> AnomalyScore {
        let score = contributions.iter().sum();
        AnomalyScore { score, threshold: 3.0, alarm, contributions }
    }

    #[test]
    fn a_new_abnormal_signal_while_raised_raises_the_alarm_again() {
        let tags = vec![Place::of_tag("P1.flow", Some("P-1".into()), None)];
        let mut engine = AlarmEngine::with_plant(Vec::new(), tags, vec![("P-1".into(), None)]);
        let signals: Vec<String> = ["vib", "flow", "suction"].map(String::from).to_vec();
        let mut link = AlarmLink::new("P-1", Priority::Medium);
        let mut t = 0;
        let mut feed = |link: &mut AlarmLink, engine: &mut AlarmEngine, v: AnomalyScore| {
            t += 1000;
            link.forward(engine, &v, &signals, t).expect("forward")
        };
        // wear: vibration alone raises the alarm, which holds
        assert_eq!(feed(&mut link, &mut engine, scored(true, vec![4.0, 0.1, 0.0])).len(), 1);
        // a signal that follows within HOLD verdicts belongs to the same episode
        for _ in 0..PERSIST + 2 {
            assert!(feed(&mut link, &mut engine, scored(true, vec![4.0, 2.0, 0.0])).is_empty());
        }
        for _ in 0..100 {
            assert!(feed(&mut link, &mut engine, scored(true, vec![4.0, 0.1, 0.0])).is_empty());
        }
        // a fault on top: suction abnormal for PERSIST verdicts → returns and is raised again
        for k in 1..=PERSIST {
            let ev = feed(&mut link, &mut engine, scored(true, vec![4.0, 0.1, 2.0]));
            if k < PERSIST {
                assert!(ev.is_empty(), "verdict {k}: {ev:?}");
            } else {
                let states: Vec<AlarmState> = ev.iter().map(|e| e.to).collect();
                assert_eq!(states, [AlarmState::UnackRtn, AlarmState::UnackActive], "{ev:?}");
                assert!(ev[1].note.contains("newly abnormal: suction"), "{}", ev[1].note);
            }
        }
        // still on: nothing new
        for _ in 0..10 {
            assert!(feed(&mut link, &mut engine, scored(true, vec![4.0, 0.1, 2.0])).is_empty());
        }
        // the fault goes; vibration stays (never forgotten), suction is forgotten after FORGET
        for _ in 0..FORGET + 5 {
            assert!(feed(&mut link, &mut engine, scored(true, vec![4.0, 0.1, 0.0])).is_empty());
        }
        // the same fault again: annunciated again
        let mut again = Vec::new();
        for _ in 0..PERSIST {
            again.extend(feed(&mut link, &mut engine, scored(true, vec![4.0, 0.1, 2.0])));
        }
        assert_eq!(again.len(), 2, "{again:?}");
        // a brief blip of flow (shorter than PERSIST) is not a new fault
        for k in 0..PERSIST - 1 {
            let c = if k % 2 == 0 { 2.0 } else { 0.0 };
            assert!(feed(&mut link, &mut engine, scored(true, vec![4.0, c, 2.0])).is_empty());
        }
        // cleared: the next raise starts afresh
        assert_eq!(feed(&mut link, &mut engine, scored(false, vec![0.1, 0.1, 0.1])).len(), 1);
        assert!(feed(&mut link, &mut engine, scored(false, vec![0.1, 2.0, 0.1])).is_empty());
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
