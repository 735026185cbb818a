//! The shift report's Devices section: each device's down time and data quality over the
//! shift, from the samples its tags have in the store.
//!
//! A tag is *cut off* from a sample Bad for a communication failure or a timeout until its
//! next sample that is not (or the end of the shift); a device is *down* while any of its
//! tags is cut off (the union of its tags' times), and each such stretch is one outage.
//! Its *data quality* is the share of Good samples among all its tags' samples of the
//! shift. Samples are read one tag at a time, never the whole shift of the site at once.

use std::path::Path;

use anyhow::{Context, anyhow};
use mimic_drivers::Reason;

use crate::config::Site;
use crate::historian::{Historian, HistorianOptions};
use crate::ipc::{HistSample, Reply, Request, TagQuality};

/// One device's shift.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeviceShift {
    pub name: String,
    pub tags: usize,
    pub samples: u64,
    pub good: u64,
    /// Time down, and how many times it went down.
    pub down_ms: i64,
    pub outages: u32,
}

impl DeviceShift {
    /// Share of Good samples, %; `None` without samples.
    pub fn good_pct(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.good as f64 * 100.0 / self.samples as f64)
    }

    /// `down 12m 30s (2 outages), 98.5 % Good of 4120 samples`.
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

/// The reasons of a Bad sample that mean the device was cut off, as the wire spells them
/// (made once: `cut_off` runs for every sample of the shift).
static CUT_OFF: std::sync::LazyLock<[String; 2]> =
    std::sync::LazyLock::new(|| [Reason::CommFailure.to_string(), Reason::Timeout.to_string()]);

fn cut_off(s: &HistSample) -> bool {
    s.quality == TagQuality::Bad && s.reason.as_deref().is_some_and(|r| CUT_OFF.iter().any(|c| c == r))
}

/// A device's figures while its tags' samples go by.
#[derive(Clone, Debug)]
pub struct DeviceWalk {
    shift: DeviceShift,
    to_ms: i64,
    /// Times its tags were cut off, `[from, to)`.
    cut: Vec<(i64, i64)>,
}

impl DeviceWalk {
    pub fn new(name: &str, to_ms: i64) -> DeviceWalk {
        DeviceWalk { shift: DeviceShift { name: name.to_string(), ..Default::default() }, to_ms, cut: Vec::new() }
    }

    /// One tag's samples of the shift, oldest first.
    pub fn tag(&mut self, samples: &[HistSample]) {
        self.shift.tags += 1;
        self.shift.samples += samples.len() as u64;
        self.shift.good += samples.iter().filter(|s| s.quality == TagQuality::Good).count() as u64;
        let mut since = None;
        for s in samples {
            match (since, cut_off(s)) {
                (None, true) => since = Some(s.ts_ms),
                (Some(t), false) => {
                    self.cut.push((t, s.ts_ms));
                    since = None;
                }
                _ => {}
            }
        }
        if let Some(t) = since {
            self.cut.push((t, self.to_ms.max(t)));
        }
    }

    pub fn finish(mut self) -> DeviceShift {
        self.cut.sort_unstable();
        let mut open: Option<(i64, i64)> = None;
        for (a, b) in self.cut {
            open = match open {
                Some((s, e)) if a <= e => Some((s, e.max(b))),
                Some((s, e)) => {
                    self.shift.down_ms += e - s;
                    self.shift.outages += 1;
                    Some((a, b))
                }
                None => Some((a, b)),
            };
        }
        if let Some((s, e)) = open {
            self.shift.down_ms += e - s;
            self.shift.outages += 1;
        }
        self.shift
    }
}

/// Every device of `site` over `[from_ms, to_ms)`, from the daemon serving `dir` or else
/// its store file, one tag at a time.
pub fn gather(dir: &Path, site: &Site, from_ms: i64, to_ms: i64) -> anyhow::Result<Vec<DeviceShift>> {
    let mut walks: Vec<DeviceWalk> = site.devices.iter().map(|d| DeviceWalk::new(&d.name, to_ms)).collect();
    let stream = super::store::daemon(dir);
    let store = match &stream {
        Some(_) => None,
        None => {
            let path = dir.join(crate::daemon::STORE_NAME);
            let h = Historian::open(&path, HistorianOptions::default())
                .with_context(|| format!("opening {}", path.display()))?;
            Some(h)
        }
    };
    for t in &site.tags {
        let samples = match (&stream, &store) {
            (Some(s), _) => {
                let req = Request::History { tag: t.name.clone(), from_ms, to_ms };
                super::store::ask(s, &req, |r| match r {
                    Reply::History { samples, .. } => Some(samples),
                    _ => None,
                })?
            }
            (None, Some(h)) => match h.lookup(&t.name)? {
                Some(id) => h.query(id, from_ms, to_ms)?.iter().map(crate::daemon::socket::hist_sample).collect(),
                None => Vec::new(),
            },
            (None, None) => Vec::new(),
        };
        walks.get_mut(t.device).ok_or_else(|| anyhow!("tag {} has no device", t.name))?.tag(&samples);
    }
    Ok(walks.into_iter().map(DeviceWalk::finish).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(ts_ms: i64, q: TagQuality, reason: Option<Reason>) -> HistSample {
        HistSample { ts_ms, value: Some(1.0), quality: q, reason: reason.map(|r| r.to_string()) }
    }

    #[test]
    fn down_time_is_the_union_of_the_tags_cut_off_and_quality_the_share_of_good() {
        use TagQuality::{Bad, Good, Uncertain};
        let mut d = DeviceWalk::new("plc", 100_000);
        // tag 1: cut off 10..30 s (comm failure, then a timeout), again from 90 s to the end
        d.tag(&[
            s(0, Good, None),
            s(10_000, Bad, Some(Reason::CommFailure)),
            s(20_000, Bad, Some(Reason::Timeout)),
            s(30_000, Good, None),
            s(90_000, Bad, Some(Reason::CommFailure)),
        ]);
        // tag 2: cut off 25..40 s (overlaps tag 1's); a decode error or an uncertain value is
        // not an outage
        d.tag(&[
            s(0, Good, None),
            s(25_000, Bad, Some(Reason::Timeout)),
            s(40_000, Uncertain, Some(Reason::Stale)),
            s(50_000, Bad, Some(Reason::DecodeError)),
            s(60_000, Good, None),
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
