//! ISA-18.2 / EEMUA 191 alarm-system figures over a period, from the alarm journal.
//!
//! [`Kpis`] takes the journal's records of a period one at a time (oldest first, see
//! [`super::journal::scan`]) and keeps only counters and per-alarm state, so months of
//! records never sit in memory. [`Kpis::finish`] gives a [`Report`]: the site and each
//! operator position (area), every figure with its target ([`Scope::figures`]).
//!
//! Definitions: an *alarm* is a tag's (or asset's) alarm of one kind; its annunciations
//! are its `raised` records and its `flood_released` records that left it active. A
//! position is *in flood* by the site's [`FloodPolicy`], counted over `raised` and
//! `flood_held` records with the live engine's own meter ([`FloodMeter`]): the same
//! floods, the same times. An alarm *chatters* with [`CHATTER_COUNT`] annunciations within
//! [`CHATTER_WINDOW_MS`]; an annunciation is *fleeting* when it returns within
//! [`FLEETING_MS`]; an alarm is *standing* when one annunciation stays active longer than
//! [`STALE_AFTER_MS`] (24 h). Time to acknowledge runs from the annunciation to its
//! acknowledgement.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::journal::{Change, Record};
use super::metrics::FloodMeter;
use super::{CHATTER_COUNT, CHATTER_WINDOW_MS, FLOOD_LIMIT, Priority, STALE_AFTER_MS};
use crate::config::FloodPolicy;

/// The counting period of ISA-18.2's rates.
pub const PERIOD_MS: i64 = 600_000;
/// An annunciation shorter than this is fleeting.
pub const FLEETING_MS: i64 = 10_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// A period's figures of one scope (the site, or one operator position).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    /// `site`, or the area's name (`(none)`: alarms without an area).
    pub name: String,
    /// Annunciations.
    pub raised: u64,
    pub per_10min: f64,
    pub per_hour: f64,
    pub per_day: f64,
    pub peak_10min: u32,
    /// Start of the (first) busiest 10-minute period.
    pub peak_at_ms: i64,
    /// Share of 10-minute periods with more than 10 annunciations, %.
    pub periods_over_10_pct: f64,
    pub floods: u32,
    pub flood_ms: i64,
    pub flood_pct: f64,
    /// Activations held back by floods (not annunciated then).
    #[serde(default)]
    pub flood_held: u64,
    /// Share of all annunciations of the 10 most frequent alarms, %.
    pub top10_share_pct: f64,
    /// Alarms that chattered, and fleeting annunciations.
    pub chattering: u32,
    pub fleeting: u64,
    /// Alarms with an annunciation active longer than 24 h.
    pub standing: u32,
    /// Annunciations by priority, indexed like [`Priority::ALL`].
    pub by_priority: [u64; 4],
    pub shelved: u32,
    pub shelved_ms: i64,
    pub out_of_service: u32,
    pub out_of_service_ms: i64,
    pub acknowledged: u64,
    pub ack_median_ms: Option<i64>,
    pub ack_p90_ms: Option<i64>,
}

/// One of the most frequent alarms.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Frequent {
    pub alarm: String,
    pub area: String,
    pub count: u64,
    pub share_pct: f64,
}

/// An alarm that stood (active longer than 24 h).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Standing {
    pub alarm: String,
    pub area: String,
    pub since_ms: i64,
    /// Longest active time seen, up to the end of the period.
    pub longest_ms: i64,
}

/// The figures of a period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Journal records read.
    pub records: u64,
    pub site: Scope,
    pub areas: Vec<Scope>,
    /// The site's 10 most frequent alarms, most frequent first.
    pub top: Vec<Frequent>,
    pub chattering: Vec<String>,
    pub standing: Vec<Standing>,
    /// The site's annunciations per hour over the period (for a sparkline).
    pub per_hour: Vec<u32>,
    /// The site's annunciations per 10 minutes over the period.
    #[serde(default)]
    pub per_10min: Vec<u32>,
}

/// One alarm's walk through the period.
#[derive(Clone, Debug, Default)]
struct AlarmWalk {
    area: String,
    count: u64,
    recent: VecDeque<i64>,
    chattered: bool,
    active_since: Option<i64>,
    unacked_since: Option<i64>,
    shelved_at: Option<i64>,
    oos_at: Option<i64>,
    /// Longest activation, and when it started, when it passed 24 h.
    stood: Option<(i64, i64)>,
}

impl AlarmWalk {
    fn end_activation(&mut self, ts: i64) -> Option<i64> {
        let since = self.active_since.take()?;
        let long = ts - since;
        if long > STALE_AFTER_MS && self.stood.is_none_or(|(_, l)| l < long) {
            self.stood = Some((since, long));
        }
        Some(long)
    }
}

/// The walk of alarm `name`, made on its first record (the name copied only then).
fn alarm_of<'a>(alarms: &'a mut HashMap<String, AlarmWalk>, name: &str) -> &'a mut AlarmWalk {
    if !alarms.contains_key(name) {
        alarms.insert(name.to_string(), AlarmWalk::default());
    }
    alarms.get_mut(name).expect("inserted above")
}

/// The walk of operator position `position`, made on its first record.
fn area_of<'a>(
    areas: &'a mut HashMap<String, ScopeWalk>,
    position: &str,
    periods: usize,
    flood: &FloodPolicy,
) -> &'a mut ScopeWalk {
    if !areas.contains_key(position) {
        areas.insert(position.to_string(), ScopeWalk::new(position, periods, flood));
    }
    areas.get_mut(position).expect("inserted above")
}

/// A scope's counters while the records go by.
#[derive(Clone, Debug)]
struct ScopeWalk {
    name: String,
    buckets: Vec<u32>,
    flood: FloodMeter,
    flood_held: u64,
    raised: u64,
    by_priority: [u64; 4],
    fleeting: u64,
    shelved: u32,
    shelved_ms: i64,
    oos: u32,
    oos_ms: i64,
    ack_ms: Vec<i64>,
    alarms: HashMap<String, AlarmWalk>,
}

impl ScopeWalk {
    fn new(name: &str, periods: usize, flood: &FloodPolicy) -> ScopeWalk {
        ScopeWalk {
            name: name.to_string(),
            buckets: vec![0; periods],
            flood: FloodMeter::new(flood),
            flood_held: 0,
            raised: 0,
            by_priority: [0; 4],
            fleeting: 0,
            shelved: 0,
            shelved_ms: 0,
            oos: 0,
            oos_ms: 0,
            ack_ms: Vec::new(),
            alarms: HashMap::new(),
        }
    }

    fn add(&mut self, r: &Record, name: &str, from: i64) {
        let a = alarm_of(&mut self.alarms, name);
        if a.area.is_empty() {
            a.area = r.position().to_string();
        }
        let ts = r.ts_ms;
        match r.change {
            Change::Raised => {
                let _ = self.flood.record(ts);
                self.annunciation(r, name, from);
            }
            Change::FloodHeld => {
                let _ = self.flood.record(ts);
                self.flood_held += 1;
                a.end_activation(ts);
                a.unacked_since = None;
            }
            Change::FloodReleased if r.state.is_active() => self.annunciation(r, name, from),
            Change::FloodReleased => {}
            Change::Returned => {
                if a.end_activation(ts).is_some_and(|long| long < FLEETING_MS) {
                    self.fleeting += 1;
                }
            }
            Change::Acknowledged => {
                if let Some(t) = a.unacked_since.take() {
                    self.ack_ms.push(ts - t);
                }
            }
            Change::Shelved | Change::OutOfService => {
                a.end_activation(ts);
                a.unacked_since = None;
                if r.change == Change::Shelved {
                    self.shelved += 1;
                    a.shelved_at = Some(ts);
                } else {
                    self.oos += 1;
                    a.oos_at = Some(ts);
                }
            }
            Change::Unshelved | Change::ShelveExpired => {
                if let Some(t) = a.shelved_at.take() {
                    self.shelved_ms += ts - t;
                }
            }
            Change::InService => {
                if let Some(t) = a.oos_at.take() {
                    self.oos_ms += ts - t;
                }
            }
        }
    }

    /// An alarm annunciated at `r.ts_ms`: the rates, the priority mix, chattering.
    fn annunciation(&mut self, r: &Record, name: &str, from: i64) {
        let ts = r.ts_ms;
        self.raised += 1;
        let k = usize::try_from((ts - from) / PERIOD_MS).unwrap_or(0);
        if let Some(b) = self.buckets.get_mut(k) {
            *b += 1;
        }
        let p = Priority::ALL.iter().position(|&p| p == r.priority).unwrap_or(0);
        self.by_priority[p] += 1;
        let a = alarm_of(&mut self.alarms, name);
        a.count += 1;
        a.recent.push_back(ts);
        while a.recent.front().is_some_and(|&t| t + CHATTER_WINDOW_MS <= ts) {
            a.recent.pop_front();
        }
        a.chattered |= a.recent.len() >= CHATTER_COUNT;
        a.end_activation(ts);
        a.active_since = Some(ts);
        a.unacked_since = Some(ts);
    }

    fn finish(mut self, from: i64, to: i64) -> (Scope, Vec<Frequent>, Vec<String>, Vec<Standing>) {
        let _ = self.flood.advance(to);
        let span = (to - from).max(1) as f64;
        let raised = self.raised as f64;
        let (peak_k, peak) =
            self.buckets.iter().enumerate().fold((0, 0), |(bk, bv), (k, &v)| if v > bv { (k, v) } else { (bk, bv) });
        let over = self.buckets.iter().filter(|&&b| b as usize > FLOOD_LIMIT).count();
        let mut standing = Vec::new();
        let mut chattering = Vec::new();
        let mut counts = Vec::new();
        for (name, mut a) in self.alarms {
            a.end_activation(to);
            if let Some(t) = a.shelved_at {
                self.shelved_ms += to - t;
            }
            if let Some(t) = a.oos_at {
                self.oos_ms += to - t;
            }
            if let Some((since_ms, longest_ms)) = a.stood {
                standing.push(Standing { alarm: name.clone(), area: a.area.clone(), since_ms, longest_ms });
            }
            if a.chattered {
                chattering.push(name.clone());
            }
            if a.count > 0 {
                counts.push((name, a.area, a.count));
            }
        }
        counts.sort_by(|x, y| y.2.cmp(&x.2).then_with(|| x.0.cmp(&y.0)));
        let top: Vec<Frequent> = counts
            .into_iter()
            .take(10)
            .map(|(alarm, area, count)| Frequent {
                alarm,
                area,
                count,
                share_pct: count as f64 * 100.0 / raised.max(1.0),
            })
            .collect();
        chattering.sort();
        standing.sort_by(|x, y| x.alarm.cmp(&y.alarm));
        self.ack_ms.sort_unstable();
        let rank = |p: f64| {
            let n = self.ack_ms.len();
            (n > 0).then(|| self.ack_ms[((p * n as f64).ceil() as usize).clamp(1, n) - 1])
        };
        let scope = Scope {
            name: self.name,
            raised: self.raised,
            per_10min: raised * PERIOD_MS as f64 / span,
            per_hour: raised * HOUR_MS as f64 / span,
            per_day: raised * DAY_MS as f64 / span,
            peak_10min: peak,
            peak_at_ms: from + peak_k as i64 * PERIOD_MS,
            periods_over_10_pct: over as f64 * 100.0 / self.buckets.len().max(1) as f64,
            floods: self.flood.floods(),
            flood_ms: self.flood.time_in_flood(to),
            flood_pct: self.flood.time_in_flood(to) as f64 * 100.0 / span,
            flood_held: self.flood_held,
            top10_share_pct: top.iter().map(|f| f.count).sum::<u64>() as f64 * 100.0 / raised.max(1.0),
            chattering: chattering.len() as u32,
            fleeting: self.fleeting,
            standing: standing.len() as u32,
            by_priority: self.by_priority,
            shelved: self.shelved,
            shelved_ms: self.shelved_ms,
            out_of_service: self.oos,
            out_of_service_ms: self.oos_ms,
            acknowledged: self.ack_ms.len() as u64,
            ack_median_ms: rank(0.5),
            ack_p90_ms: rank(0.9),
        };
        (scope, top, chattering, standing)
    }
}

/// The figures of `[from_ms, to_ms)`, built record by record.
#[derive(Clone, Debug)]
pub struct Kpis {
    from_ms: i64,
    to_ms: i64,
    records: u64,
    site: ScopeWalk,
    areas: HashMap<String, ScopeWalk>,
    flood: FloodPolicy,
    /// The current record's alarm name (one buffer for the walk).
    name: String,
}

impl Kpis {
    /// The figures of `[from_ms, to_ms)` with the default flood policy.
    pub fn new(from_ms: i64, to_ms: i64) -> Kpis {
        Kpis::with_flood(from_ms, to_ms, &FloodPolicy::default())
    }

    /// The figures of `[from_ms, to_ms)`, floods counted by `flood` (the site's policy,
    /// as its engine counts them).
    pub fn with_flood(from_ms: i64, to_ms: i64, flood: &FloodPolicy) -> Kpis {
        let to_ms = to_ms.max(from_ms + 1);
        let span = to_ms - from_ms;
        let periods = usize::try_from((span + PERIOD_MS - 1) / PERIOD_MS).unwrap_or(0);
        Kpis {
            from_ms,
            to_ms,
            records: 0,
            site: ScopeWalk::new("site", periods, flood),
            areas: HashMap::new(),
            flood: flood.clone(),
            name: String::new(),
        }
    }

    /// An alarm active when the period starts (raised before it): its activation counts
    /// toward standing alarms, not toward the rates.
    pub fn active_before(&mut self, r: &Record) {
        r.alarm_name_into(&mut self.name);
        let area = area_of(&mut self.areas, r.position(), self.site.buckets.len(), &self.flood);
        for s in [&mut self.site, area] {
            let a = alarm_of(&mut s.alarms, &self.name);
            a.area = r.position().to_string();
            a.active_since = Some(r.ts_ms);
        }
    }

    /// The next record of the period (oldest first; others are ignored).
    pub fn add(&mut self, r: &Record) {
        if r.ts_ms < self.from_ms || r.ts_ms >= self.to_ms {
            return;
        }
        self.records += 1;
        r.alarm_name_into(&mut self.name);
        self.site.add(r, &self.name, self.from_ms);
        area_of(&mut self.areas, r.position(), self.site.buckets.len(), &self.flood).add(r, &self.name, self.from_ms);
    }

    pub fn finish(self) -> Report {
        let (from, to) = (self.from_ms, self.to_ms);
        let per_10min = self.site.buckets.clone();
        // hours start at `from` like the 10-minute periods: six periods an hour
        let per_hour = per_10min.chunks(6).map(|c| c.iter().sum()).collect();
        let (site, top, chattering, standing) = self.site.finish(from, to);
        let mut areas: Vec<Scope> = self.areas.into_values().map(|a| a.finish(from, to).0).collect();
        areas.sort_by(|a, b| a.name.cmp(&b.name));
        Report {
            from_ms: from,
            to_ms: to,
            records: self.records,
            site,
            areas,
            top,
            chattering,
            standing,
            per_hour,
            per_10min,
        }
    }
}

/// The figures of records already in hand (tests, small periods).
pub fn report(records: &[Record], from_ms: i64, to_ms: i64) -> Report {
    let mut k = Kpis::new(from_ms, to_ms);
    records.iter().for_each(|r| k.add(r));
    k.finish()
}

/// How far before a period [`of_store`] looks for alarms still active when it starts.
pub const LOOKBACK_MS: i64 = 30 * DAY_MS;

/// The figures of `[from_ms, to_ms)` from the journal in `db`, read record by record,
/// floods counted by the site's `flood` policy.
pub fn of_store(
    db: &redb::Database,
    from_ms: i64,
    to_ms: i64,
    flood: &FloodPolicy,
) -> Result<Report, super::journal::JournalError> {
    let mut k = Kpis::with_flood(from_ms, to_ms, flood);
    for r in super::journal::active_at(db, from_ms, LOOKBACK_MS)? {
        k.active_before(&r);
    }
    super::journal::scan(db, from_ms, to_ms, &super::journal::Filter::default(), |r| k.add(&r))?;
    Ok(k.finish())
}

#[path = "kpi_figures.rs"]
mod figures;
#[cfg(test)]
#[path = "kpi_tests.rs"]
mod tests;

pub use figures::{Figure, Verdict};
