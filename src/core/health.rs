//! How many tags of each device and asset are Bad, kept as qualities change: a snapshot
//! reads these counters instead of passing over every tag (two passes over 100,000 tags
//! four times a second while a terminal watched).

use mimic_drivers::Quality;

use crate::config::Site;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Health {
    /// Bad tags of each device (by device index).
    pub device_bad: Vec<u32>,
    /// Tags of each asset (by asset index).
    pub asset_tags: Vec<u32>,
    /// Bad tags of each asset.
    pub asset_bad: Vec<u32>,
    /// The tag that tells whether each asset runs: its first tag called `*.running`.
    pub asset_running: Vec<Option<usize>>,
}

impl Health {
    /// The counters of a new state, whose tags are all Bad (not yet read).
    pub fn new(site: &Site) -> Health {
        let mut h = Health {
            device_bad: vec![0; site.devices.len()],
            asset_tags: vec![0; site.assets.len()],
            asset_bad: vec![0; site.assets.len()],
            asset_running: vec![None; site.assets.len()],
        };
        for (ti, t) in site.tags.iter().enumerate() {
            if let Some(n) = h.device_bad.get_mut(t.device) {
                *n += 1;
            }
            let Some(a) = t.asset.filter(|&a| a < site.assets.len()) else { continue };
            h.asset_tags[a] += 1;
            h.asset_bad[a] += 1;
            if h.asset_running[a].is_none() && t.name.ends_with(".running") {
                h.asset_running[a] = Some(ti);
            }
        }
        h
    }

    /// Tag `tag` went from quality `was` to `now`.
    pub fn changed(&mut self, site: &Site, tag: usize, was: Quality, now: Quality) {
        if was.is_bad() == now.is_bad() {
            return;
        }
        let Some(t) = site.tags.get(tag) else { return };
        let step = |n: &mut u32| {
            if now.is_bad() {
                *n += 1;
            } else {
                *n = n.saturating_sub(1);
            }
        };
        if let Some(n) = self.device_bad.get_mut(t.device) {
            step(n);
        }
        if let Some(n) = t.asset.and_then(|a| self.asset_bad.get_mut(a)) {
            step(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mimic_drivers::Reason;

    #[test]
    fn counters_follow_the_site_and_quality_changes() {
        let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/profiles/demo-site.toml"));
        let site = Site::load(path).unwrap_or_else(|e| panic!("{e}"));
        let mut h = Health::new(&site);
        let with_asset = site.tags.iter().filter(|t| t.asset.is_some()).count();
        assert_eq!(h.asset_tags.iter().sum::<u32>() as usize, with_asset);
        assert_eq!(h.asset_bad, h.asset_tags, "every tag Bad before its first reading");
        assert_eq!(h.device_bad.iter().sum::<u32>() as usize, site.tags.len());
        let (ti, t) = site.tags.iter().enumerate().find(|(_, t)| t.name.ends_with(".running")).expect("a running tag");
        let a = t.asset.expect("of an asset");
        assert_eq!(h.asset_running[a], Some(ti));
        let bad = Quality::Bad(Reason::NotYetRead);
        h.changed(&site, ti, bad, Quality::Good);
        h.changed(&site, ti, Quality::Good, Quality::Uncertain(Reason::Stale));
        assert_eq!(h.asset_bad[a], h.asset_tags[a] - 1);
        assert_eq!(h.device_bad[t.device], site.tags.iter().filter(|x| x.device == t.device).count() as u32 - 1);
        h.changed(&site, ti, Quality::Uncertain(Reason::Stale), Quality::Bad(Reason::Timeout));
        assert_eq!(h.asset_bad[a], h.asset_tags[a]);
    }
}
