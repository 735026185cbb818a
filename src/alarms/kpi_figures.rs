//! Each figure of a [`Scope`] beside its ISA-18.2 / EEMUA 191 target, with its verdict.

use serde::{Deserialize, Serialize};

use super::*;

/// How a figure stands against its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Acceptable,
    Manageable,
    Over,
    /// No target: for information.
    Info,
}

impl Verdict {
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Acceptable => "acceptable",
            Verdict::Manageable => "manageable",
            Verdict::Over => "over target",
            Verdict::Info => "",
        }
    }
}

/// One figure beside its target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub name: &'static str,
    pub value: f64,
    /// The value as printed (`4.2`, `12 %`, `3 m 20 s`).
    pub text: String,
    pub target: &'static str,
    pub verdict: Verdict,
}

fn judge(v: f64, acceptable: f64, manageable: f64) -> Verdict {
    if v <= acceptable {
        Verdict::Acceptable
    } else if v <= manageable {
        Verdict::Manageable
    } else {
        Verdict::Over
    }
}

fn below(v: f64, limit: f64) -> Verdict {
    if v < limit { Verdict::Acceptable } else { Verdict::Over }
}

/// One figure with its target and verdict.
fn f(name: &'static str, value: f64, text: String, target: &'static str, verdict: Verdict) -> Figure {
    Figure { name, value, text, target, verdict }
}

fn dur(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        _ if s < 60 => format!("{s} s"),
        _ if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

impl Scope {
    /// Every figure of the scope with its target (ISA-18.2 table 5 / EEMUA 191): the
    /// alarm rates, then how well the alarms are kept.
    pub fn figures(&self) -> Vec<Figure> {
        let mut v = self.rates();
        v.extend(self.upkeep());
        v
    }

    /// How often alarms come: per 10 minutes, hour and day, their peak, floods.
    fn rates(&self) -> Vec<Figure> {
        vec![
            f(
                "alarms per 10 min",
                self.per_10min,
                format!("{:.2}", self.per_10min),
                "≤ 1 acceptable, ≤ 2 manageable",
                judge(self.per_10min, 1.0, 2.0),
            ),
            f(
                "alarms per hour",
                self.per_hour,
                format!("{:.1}", self.per_hour),
                "≤ 6 acceptable, ≤ 12 manageable",
                judge(self.per_hour, 6.0, 12.0),
            ),
            f(
                "alarms per day",
                self.per_day,
                format!("{:.0}", self.per_day),
                "≤ 150 acceptable, ≤ 300 manageable",
                judge(self.per_day, 150.0, 300.0),
            ),
            f(
                "peak alarms in 10 min",
                f64::from(self.peak_10min),
                self.peak_10min.to_string(),
                "≤ 10",
                judge(f64::from(self.peak_10min), 10.0, 10.0),
            ),
            f(
                "10-min periods > 10 alarms",
                self.periods_over_10_pct,
                format!("{:.2} %", self.periods_over_10_pct),
                "< 1 %",
                below(self.periods_over_10_pct, 1.0),
            ),
            f(
                "time in flood",
                self.flood_pct,
                format!(
                    "{:.2} % ({} floods, {}, {} held back)",
                    self.flood_pct,
                    self.floods,
                    dur(self.flood_ms),
                    self.flood_held
                ),
                "< 1 %",
                below(self.flood_pct, 1.0),
            ),
        ]
    }

    /// How well the alarms are kept: a few alarms all the time, chattering, standing,
    /// the priority mix, shelving, time to acknowledge.
    fn upkeep(&self) -> Vec<Figure> {
        let total = self.raised.max(1) as f64;
        let pct = |n: u64| n as f64 * 100.0 / total;
        let low = pct(self.by_priority[0]);
        let medium = pct(self.by_priority[1]);
        let high = pct(self.by_priority[2] + self.by_priority[3]);
        let mix_ok = self.raised == 0 || (low >= 70.0 && medium <= 25.0 && high <= 10.0);
        let ms = |v: Option<i64>| v.map_or("-".to_string(), dur);
        vec![
            f(
                "top 10 alarms' share",
                self.top10_share_pct,
                format!("{:.1} %", self.top10_share_pct),
                "≤ 5 %",
                judge(self.top10_share_pct, 5.0, 5.0),
            ),
            f(
                "chattering alarms",
                f64::from(self.chattering),
                self.chattering.to_string(),
                "0",
                judge(f64::from(self.chattering), 0.0, 0.0),
            ),
            f("fleeting annunciations", self.fleeting as f64, self.fleeting.to_string(), "-", Verdict::Info),
            f(
                "standing alarms (> 24 h)",
                f64::from(self.standing),
                self.standing.to_string(),
                "< 5",
                below(f64::from(self.standing), 5.0),
            ),
            f(
                "priority low/medium/high",
                low,
                format!("{low:.0}/{medium:.0}/{high:.0} %"),
                "~80/15/5 %",
                if mix_ok { Verdict::Acceptable } else { Verdict::Over },
            ),
            f(
                "shelved",
                f64::from(self.shelved),
                format!("{} ({})", self.shelved, dur(self.shelved_ms)),
                "-",
                Verdict::Info,
            ),
            f(
                "out of service",
                f64::from(self.out_of_service),
                format!("{} ({})", self.out_of_service, dur(self.out_of_service_ms)),
                "-",
                Verdict::Info,
            ),
            f(
                "time to acknowledge",
                self.ack_median_ms.unwrap_or(0) as f64 / 1000.0,
                format!("median {}, 90th percentile {}", ms(self.ack_median_ms), ms(self.ack_p90_ms)),
                "-",
                Verdict::Info,
            ),
        ]
    }
}
