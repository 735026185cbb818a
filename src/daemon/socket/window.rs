//! What terminals' views need of the tag table, kept up to date incrementally.
//!
//! One [`Table`] per daemon, shared by every terminal: each tag's value, quality and
//! receive time with a stamp of when it last changed, the tags in name order, and, for
//! each other sort a terminal uses, an ordered index (`BTreeSet` of (key, name rank))
//! updated only for the tags that changed. A [`Viewer`] is one terminal's view: its
//! filter (computed once per filter change), the window of rows it last sent and the
//! small per-screen data it last sent; each publish it sends only what changed.
//! Rows on some terminal's screen also carry their sparkline (copied for them only).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use mimic_drivers::{Quality, Reason};

use crate::config::Site;
use crate::core::State;
use crate::ipc::{
    LiveAlarm, LiveAlarmState, LiveAlarmSummary, LiveAsset, LiveAudit, LiveCounts, LiveDevice, LiveLife, LiveLoop,
    LivePage, LiveRequest, LiveSnapshot, LiveStore, LiveTag, TagQuality, TagSort, ViewScreen, ViewSpec, ViewUpdate,
};

#[derive(Clone, Copy, Debug, PartialEq)]
struct Cell {
    value: Option<f64>,
    quality: Quality,
    recv_ms: Option<i64>,
    /// The table's stamp when this tag last changed (sparkline included).
    stamp: u64,
}

fn is_stale(q: Quality) -> bool {
    q == Quality::Uncertain(Reason::Stale)
}

/// A tag's place under a sort other than by name, ascending (ties go by name rank).
fn key(sort: TagSort, c: &Cell) -> u64 {
    match sort {
        TagSort::Name => 0,
        // the bits of an f64 in total order; missing and NaN last
        TagSort::Value => match c.value.filter(|v| !v.is_nan()) {
            None => u64::MAX,
            Some(v) => {
                let b = v.to_bits();
                if b >> 63 == 1 { !b } else { b | (1 << 63) }
            }
        },
        TagSort::Quality => match c.quality {
            Quality::Bad(_) => 0,
            Quality::Uncertain(_) => 1,
            Quality::Good => 3,
        },
        // newest first; never received last
        TagSort::Age => c.recv_ms.map_or(u64::MAX, |t| (i64::MAX - t.max(0)) as u64),
    }
}

/// What the terminals want of the table: the rows on their screens (for sparklines)
/// and the sorts they use (their indexes are kept).
#[derive(Debug, Default)]
pub struct Wants {
    pub rows: HashSet<u32>,
    pub sorts: HashSet<TagSort>,
}

/// The tag table as views need it (see the module's overview).
#[derive(Debug)]
pub struct Table {
    site: Arc<Site>,
    /// Tag indexes in name order, and each tag's place in it.
    by_name: Vec<u32>,
    rank: Vec<u32>,
    cells: Vec<Cell>,
    /// Sparklines of the rows some terminal shows.
    recent: HashMap<u32, Vec<f32>>,
    stamp: u64,
    bad: usize,
    stale: usize,
    sorted: HashMap<TagSort, BTreeSet<(u64, u32)>>,
}

impl Table {
    pub fn new(state: &State) -> Table {
        let site = state.site.clone();
        let mut by_name: Vec<u32> = (0..site.tags.len() as u32).collect();
        by_name.sort_by(|&a, &b| site.tags[a as usize].name.cmp(&site.tags[b as usize].name));
        let mut rank = vec![0u32; by_name.len()];
        for (r, &t) in by_name.iter().enumerate() {
            rank[t as usize] = r as u32;
        }
        let cells = vec![Cell { value: None, quality: Quality::Good, recv_ms: None, stamp: 0 }; by_name.len()];
        let mut t = Table {
            site,
            by_name,
            rank,
            cells,
            recent: HashMap::new(),
            stamp: 0,
            bad: 0,
            stale: 0,
            sorted: HashMap::new(),
        };
        t.refresh(state, &Wants::default());
        t
    }

    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Takes in the tags that changed since the last refresh: O(tags) compares, and
    /// index and counter work only for the changed ones.
    pub fn refresh(&mut self, state: &State, wants: &Wants) {
        self.stamp += 1;
        let stamp = self.stamp;
        self.sorted.retain(|s, _| wants.sorts.contains(s));
        for (i, s) in state.tags.iter().enumerate().take(self.cells.len()) {
            let old = self.cells[i];
            if old.value.map(f64::to_bits) == s.value.map(f64::to_bits)
                && old.quality == s.quality
                && old.recv_ms == s.recv_ms
                && old.stamp != 0
            {
                continue;
            }
            let new = Cell { value: s.value, quality: s.quality, recv_ms: s.recv_ms, stamp };
            let r = self.rank[i];
            for (sort, set) in self.sorted.iter_mut() {
                let (ko, kn) = (key(*sort, &old), key(*sort, &new));
                if ko != kn || old.stamp == 0 {
                    set.remove(&(ko, r));
                    set.insert((kn, r));
                }
            }
            if old.stamp != 0 {
                self.bad -= usize::from(old.quality.is_bad());
                self.stale -= usize::from(is_stale(old.quality));
            }
            self.bad += usize::from(new.quality.is_bad());
            self.stale += usize::from(is_stale(new.quality));
            self.cells[i] = new;
        }
        // sparklines of the rows on screens only
        self.recent.retain(|k, _| wants.rows.contains(k));
        for &i in &wants.rows {
            let Some(s) = state.tags.get(i as usize) else { continue };
            if self.recent.get(&i).is_none_or(|v| !v.iter().copied().eq(s.recent.iter())) {
                self.recent.insert(i, s.recent.iter().collect());
                self.cells[i as usize].stamp = stamp;
            }
        }
    }

    /// Builds the ordered index of a sort if there is none yet.
    pub fn ensure(&mut self, sort: TagSort) {
        if sort == TagSort::Name || self.sorted.contains_key(&sort) {
            return;
        }
        let set = self.cells.iter().enumerate().map(|(i, c)| (key(sort, c), self.rank[i])).collect();
        self.sorted.insert(sort, set);
    }

    pub fn has(&self, sort: TagSort) -> bool {
        sort == TagSort::Name || self.sorted.contains_key(&sort)
    }

    pub fn counts(&self) -> LiveCounts {
        LiveCounts { tags: self.cells.len(), bad: self.bad, stale: self.stale }
    }

    /// The window of a view: where it lies, and its tags with their stamps.
    fn window(&self, spec: &ViewSpec, filter: Option<&Filter>) -> (LivePage, Vec<(u32, u64)>) {
        let total = filter.map_or(self.cells.len(), |f| f.by_name.len());
        let first = usize::try_from(spec.first).unwrap_or(usize::MAX).min(total);
        let n = usize::try_from(spec.rows).unwrap_or(0).min(total - first);
        let tags: Vec<u32> = match self.sorted.get(&spec.sort) {
            Some(set) if spec.sort != TagSort::Name => {
                let keep = |r: u32| filter.is_none_or(|f| f.mask[self.by_name[r as usize] as usize]);
                let pick = |&(_, r): &(u64, u32)| keep(r).then(|| self.by_name[r as usize]);
                if spec.desc {
                    set.iter().rev().filter_map(pick).skip(first).take(n).collect()
                } else {
                    set.iter().filter_map(pick).skip(first).take(n).collect()
                }
            }
            _ => {
                let list = filter.map_or(&self.by_name[..], |f| &f.by_name[..]);
                if spec.desc {
                    (first..first + n).map(|k| list[total - 1 - k]).collect()
                } else {
                    list[first..first + n].to_vec()
                }
            }
        };
        let (bad, stale) = match filter {
            None => (self.bad, self.stale),
            Some(f) => f.by_name.iter().fold((0, 0), |(b, s), &t| {
                let q = self.cells[t as usize].quality;
                (b + usize::from(q.is_bad()), s + usize::from(is_stale(q)))
            }),
        };
        let page = LivePage { offset: first, total, bad, stale };
        (page, tags.into_iter().map(|t| (t, self.cells[t as usize].stamp)).collect())
    }

    /// One tag as terminals see it.
    pub fn row(&self, i: u32) -> LiveTag {
        let t = &self.site.tags[i as usize];
        let c = &self.cells[i as usize];
        LiveTag {
            name: t.name.clone(),
            asset: t.asset.and_then(|a| self.site.assets.get(a)).map(|a| a.name.clone()).unwrap_or_default(),
            description: t.description.to_string(),
            units: t.units.to_string(),
            decimals: t.decimals,
            value: c.value,
            quality: TagQuality::of(c.quality),
            reason: match c.quality {
                Quality::Good => None,
                Quality::Uncertain(r) | Quality::Bad(r) => Some(r.to_string()),
            },
            recv_ms: c.recv_ms,
            stale: is_stale(c.quality),
            writable: t.writable,
            low: t.low,
            high: t.high,
            recent: self.recent.get(&i).cloned().unwrap_or_default(),
        }
    }
}

/// Case-insensitive substring test; `needle` is lowercase already.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}

/// The tags matching a view's filter: computed once per filter, not per frame.
#[derive(Debug)]
struct Filter {
    needle: String,
    /// By tag index.
    mask: Vec<bool>,
    /// The matching tags in name order.
    by_name: Vec<u32>,
}

impl Filter {
    fn new(table: &Table, needle: &str) -> Filter {
        let site = &table.site;
        let mask: Vec<bool> = site
            .tags
            .iter()
            .map(|t| {
                let asset = t.asset.and_then(|a| site.assets.get(a)).map_or("", |a| a.name.as_str());
                contains_ci(&t.name, needle) || contains_ci(asset, needle) || contains_ci(&t.description, needle)
            })
            .collect();
        let by_name = table.by_name.iter().copied().filter(|&t| mask[t as usize]).collect();
        Filter { needle: needle.to_string(), mask, by_name }
    }
}

/// What a viewer last sent, to send only what changed.
#[derive(Debug, Default)]
struct Sent {
    page: Option<LivePage>,
    counts: Option<LiveCounts>,
    rows: Vec<(u32, u64)>,
    alarms: Option<(Vec<LiveAlarm>, LiveAlarmSummary)>,
    requests: Option<Vec<LiveRequest>>,
    audit: Option<Vec<LiveAudit>>,
    life: Option<Vec<LiveLife>>,
    loops: Option<Vec<LiveLoop>>,
    devices: Option<Vec<LiveDevice>>,
    assets: Option<Vec<LiveAsset>>,
    store: Option<LiveStore>,
}

/// `Some(now)` when it differs from what was last sent (and remember it).
fn changed<T: Clone + PartialEq>(last: &mut Option<T>, now: T) -> Option<T> {
    if last.as_ref() == Some(&now) {
        return None;
    }
    *last = Some(now.clone());
    Some(now)
}

/// One terminal's view (see the module's overview).
#[derive(Debug, Default)]
pub struct Viewer {
    pub spec: ViewSpec,
    filter: Option<Filter>,
    sent: Sent,
}

impl Viewer {
    /// Takes a new view: what it shows is sent afresh with the next update.
    pub fn set(&mut self, spec: ViewSpec, table: &Table) {
        let needle = spec.filter.trim().to_lowercase();
        if needle.is_empty() {
            self.filter = None;
        } else if self.filter.as_ref().is_none_or(|f| f.needle != needle) {
            self.filter = Some(Filter::new(table, &needle));
        }
        self.spec = spec;
        self.sent = Sent::default();
    }

    /// The rows this view shows now (for their sparklines).
    pub fn rows(&self) -> impl Iterator<Item = u32> + '_ {
        self.sent.rows.iter().map(|r| r.0)
    }

    /// What changed for this view since the last update; `None`: nothing.
    pub fn update(&mut self, table: &Table, snap: &LiveSnapshot) -> Option<ViewUpdate> {
        let (page, window) = table.window(&self.spec, self.filter.as_ref());
        let rows: Vec<(u32, LiveTag)> = window
            .iter()
            .enumerate()
            .filter(|(k, r)| self.sent.rows.get(*k) != Some(r))
            .map(|(k, r)| (k as u32, table.row(r.0)))
            .collect();
        let len = window.len() as u32;
        let resized = self.sent.rows.len() != window.len();
        self.sent.rows = window;
        let screen = self.spec.screen;
        let s = &mut self.sent;
        let page_changed = changed(&mut s.page, page).is_some();
        let counts_changed = changed(&mut s.counts, table.counts()).is_some();
        // Away from the Alarms screen only the alarms that count in the header matter.
        let alarms: Vec<LiveAlarm> = if screen == ViewScreen::Alarms {
            snap.alarms.clone()
        } else {
            snap.alarms
                .iter()
                .filter(|a| a.state != LiveAlarmState::Normal || a.out_of_service || a.shelved_until_ms.is_some())
                .cloned()
                .collect()
        };
        let devices = match screen {
            ViewScreen::Overview | ViewScreen::Devices => snap.devices.clone(),
            _ => Vec::new(),
        };
        let assets = match screen {
            ViewScreen::Overview => snap.assets.clone(),
            ViewScreen::Alarms => snap.assets.iter().filter(|a| a.diagnosis.is_some()).cloned().collect(),
            _ => Vec::new(),
        };
        let life = match screen {
            ViewScreen::Overview | ViewScreen::Trend => snap.life.clone(),
            _ => Vec::new(),
        };
        let up = ViewUpdate {
            now_ms: snap.now_ms,
            version: snap.version,
            page,
            counts: table.counts(),
            len,
            rows,
            alarms: changed(&mut s.alarms, (alarms, snap.alarm_summary.clone())),
            requests: changed(&mut s.requests, snap.requests.clone()),
            audit: changed(&mut s.audit, snap.audit.clone()),
            life: changed(&mut s.life, life),
            loops: changed(&mut s.loops, snap.loops.clone()),
            devices: changed(&mut s.devices, devices),
            assets: changed(&mut s.assets, assets),
            store: changed(&mut s.store, snap.store.clone()),
        };
        let any = !up.rows.is_empty()
            || resized
            || page_changed
            || counts_changed
            || up.alarms.is_some()
            || up.requests.is_some()
            || up.audit.is_some()
            || up.life.is_some()
            || up.loops.is_some()
            || up.devices.is_some()
            || up.assets.is_some()
            || up.store.is_some();
        any.then_some(up)
    }
}
