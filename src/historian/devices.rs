//! Each device's down time and data quality over a period, from the samples its tags have
//! in the store: what a shift report hands over ([`summarize`]; the daemon answers it in one
//! request, `mimic report shift` asks for it).
//!
//! A tag is *cut off* from a sample Bad for a communication failure or a timeout until its
//! next sample that is not (or the end of the period); a device is *down* while any of its
//! tags is cut off (the union of its tags' times), and each such stretch is one outage.
//! Its *data quality* is the share of Good samples among all its tags' samples of the
//! period. Samples are read one tag at a time and judged by their quality codes: no tag's
//! samples are copied or turned into text, and the whole site's never sit in memory.

use mimic_drivers::{Quality, Reason};
use serde::{Deserialize, Serialize};

use super::{Historian, Result, Sample};
use crate::config::Site;

/// One device's period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceSummary {
    pub name: String,
    pub tags: usize,
    pub samples: u64,
    pub good: u64,
    /// Time down, and how many times it went down.
    pub down_ms: i64,
    pub outages: u32,
}

impl DeviceSummary {
    /// Share of Good samples, %; `None` without samples.
    pub fn good_pct(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.good as f64 * 100.0 / self.samples as f64)
    }

    /// `down 12m 30s (2 outages), 98.5 % Good of 4120 samples (12 tags)`.
    pub fn summary(&self) -> String {
        let down = match self.outages {
            0 => "never down".to_string(),
            n => format!("down {} ({n} outage{})", span(self.down_ms), if n == 1 { "" } else { "s" }),
        };
        match self.good_pct() {
            Some(p) => format!("{down}, {p:.1} % Good of {} samples ({} tags)", self.samples, self.tags),
            None => format!("{down}, no samples stored in the shift ({} tags)", self.tags),
        }
    }
}

fn span(ms: i64) -> String {
    crate::time::format_duration(std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

/// Does a sample of this quality code mean its device was cut off?
fn cut_off(code: u16) -> bool {
    matches!(Quality::from_code(code), Some(Quality::Bad(Reason::CommFailure | Reason::Timeout)))
}

/// A device's figures while its tags' samples go by.
#[derive(Clone, Debug)]
pub struct DeviceWalk {
    summary: DeviceSummary,
    to_ms: i64,
    /// Times its tags were cut off, `[from, to)`.
    cut: Vec<(i64, i64)>,
}

impl DeviceWalk {
    pub fn new(name: &str, to_ms: i64) -> DeviceWalk {
        DeviceWalk { summary: DeviceSummary { name: name.to_string(), ..Default::default() }, to_ms, cut: Vec::new() }
    }

    /// One tag's samples of the period as (time, quality code), oldest first.
    pub fn tag(&mut self, samples: impl IntoIterator<Item = (i64, u16)>) {
        self.summary.tags += 1;
        let mut since = None;
        for (ts, code) in samples {
            self.summary.samples += 1;
            self.summary.good += u64::from(code == Quality::Good.to_code());
            match (since, cut_off(code)) {
                (None, true) => since = Some(ts),
                (Some(t), false) => {
                    self.cut.push((t, ts));
                    since = None;
                }
                _ => {}
            }
        }
        if let Some(t) = since {
            self.cut.push((t, self.to_ms.max(t)));
        }
    }

    pub fn finish(mut self) -> DeviceSummary {
        self.cut.sort_unstable();
        let mut open: Option<(i64, i64)> = None;
        for (a, b) in self.cut {
            open = match open {
                Some((s, e)) if a <= e => Some((s, e.max(b))),
                Some((s, e)) => {
                    self.summary.down_ms += e - s;
                    self.summary.outages += 1;
                    Some((a, b))
                }
                None => Some((a, b)),
            };
        }
        if let Some((s, e)) = open {
            self.summary.down_ms += e - s;
            self.summary.outages += 1;
        }
        self.summary
    }
}

/// Every device of `site` over `[from_ms, to_ms)`; `samples(tag index)` gives one tag's
/// samples of the period (none when the store has no such tag), one tag at a time.
pub fn summarize(
    site: &Site,
    to_ms: i64,
    mut samples: impl FnMut(usize) -> Result<Vec<Sample>>,
) -> Result<Vec<DeviceSummary>> {
    let mut walks: Vec<DeviceWalk> = site.devices.iter().map(|d| DeviceWalk::new(&d.name, to_ms)).collect();
    for (i, t) in site.tags.iter().enumerate() {
        let got = samples(i)?;
        if let Some(w) = walks.get_mut(t.device) {
            w.tag(got.iter().map(|s| (s.ts_ms, s.quality)));
        }
    }
    Ok(walks.into_iter().map(DeviceWalk::finish).collect())
}

/// [`summarize`] from a store file: each tag looked up by name.
pub fn of_store(h: &Historian, site: &Site, from_ms: i64, to_ms: i64) -> Result<Vec<DeviceSummary>> {
    summarize(site, to_ms, |i| match h.lookup(&site.tags[i].name)? {
        Some(id) => h.query(id, from_ms, to_ms),
        None => Ok(Vec::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ts_ms: i64, q: Quality) -> (i64, u16) {
        (ts_ms, q.to_code())
    }

    #[test]
    fn down_time_is_the_union_of_the_tags_cut_off_and_quality_the_share_of_good() {
        use Quality::{Bad, Good, Uncertain};
        let mut d = DeviceWalk::new("plc", 100_000);
        // tag 1: cut off 10..30 s (comm failure, then a timeout), again from 90 s to the end
        d.tag([
            s(0, Good),
            s(10_000, Bad(Reason::CommFailure)),
            s(20_000, Bad(Reason::Timeout)),
            s(30_000, Good),
            s(90_000, Bad(Reason::CommFailure)),
        ]);
        // tag 2: cut off 25..40 s (overlaps tag 1's); a decode error or an uncertain value is
        // not an outage
        d.tag([
            s(0, Good),
            s(25_000, Bad(Reason::Timeout)),
            s(40_000, Uncertain(Reason::Stale)),
            s(50_000, Bad(Reason::DecodeError)),
            s(60_000, Good),
        ]);
        let out = d.finish();
        assert_eq!(out.tags, 2);
        assert_eq!((out.samples, out.good), (10, 4));
        assert_eq!(out.good_pct(), Some(40.0));
        assert_eq!(out.down_ms, 30_000 + 10_000, "10..40 s and 90..100 s");
        assert_eq!(out.outages, 2);
        assert_eq!(out.summary(), "down 40s (2 outages), 40.0 % Good of 10 samples (2 tags)");
        let quiet = DeviceWalk::new("idle", 1000);
        assert_eq!(quiet.finish().summary(), "never down, no samples stored in the shift (0 tags)");
    }
}
