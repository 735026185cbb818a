//! The alarm engine: conditions in, state changes out.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use mimic_drivers::Quality;

use super::condition::{Debounce, RateWindow, limit_condition};
use super::metrics::{self, Bursts, FloodMeter};
use super::{
    AlarmDef, AlarmError, AlarmEvent, AlarmId, AlarmKind, AlarmState, AlarmSummary, AlarmView, Change, ModelTarget,
    NO_AREA, Place, PositionRate, Priority,
};
use crate::config::{FloodPolicy, Site};

#[path = "engine_flood.rs"]
mod flood;
#[path = "engine_view.rs"]
mod view;

#[derive(Clone, Debug)]
struct Shelve {
    user: String,
    reason: String,
    until_ms: i64,
}

#[derive(Clone, Debug)]
struct OutOfService {
    user: String,
    reason: String,
}

#[derive(Clone, Debug)]
struct Alarm {
    kind: AlarmKind,
    priority: Priority,
    tag: Option<usize>,
    place: Place,
    limit: Option<f64>,
    deadband: f64,
    on_delay_ms: i64,
    off_delay_ms: i64,
    window_ms: i64,
    message: String,
    // The condition, tracked whether or not the alarm is in service.
    cond: Debounce,
    last_ts: Option<i64>,
    value: Option<f64>,
    rate: RateWindow,
    // Annunciation.
    state: AlarmState,
    active_since: Option<i64>,
    acked_by: Option<(String, i64)>,
    shelved: Option<Shelve>,
    out_of_service: Option<OutOfService>,
    activations: VecDeque<i64>,
    first_out: bool,
    /// Held back by a flood at its position (not annunciated until the flood ends).
    flood_held: bool,
}

impl Alarm {
    fn suppressed(&self) -> bool {
        self.shelved.is_some() || self.out_of_service.is_some() || self.flood_held
    }

    fn position(&self) -> &str {
        self.place.position()
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn default_message(d: &AlarmDef) -> String {
    let limit = d.limit.map(|l| format!("{l}")).unwrap_or_default();
    let tag = d.tag_name();
    match d.kind {
        AlarmKind::HiHi => format!("{tag} very high (> {limit})"),
        AlarmKind::Hi => format!("{tag} high (> {limit})"),
        AlarmKind::Lo => format!("{tag} low (< {limit})"),
        AlarmKind::LoLo => format!("{tag} very low (< {limit})"),
        AlarmKind::RateOfChange => format!("{tag} changing fast (> {limit}/s)"),
        AlarmKind::BadQuality => format!("{tag} bad quality"),
        AlarmKind::Model { ref source } => format!("{tag} {source}"),
    }
}

fn required(s: &str, err: AlarmError) -> Result<String, AlarmError> {
    let t = s.trim();
    if t.is_empty() { Err(err) } else { Ok(t.to_string()) }
}

/// All alarms of a site and the figures derived from their activations. Pure: time
/// arrives as arguments, state changes leave as [`AlarmEvent`]s.
#[derive(Clone, Debug, Default)]
pub struct AlarmEngine {
    alarms: Vec<Alarm>,
    by_tag: HashMap<usize, Vec<usize>>,
    /// Places of the tags given by [`AlarmEngine::with_plant`] and of the alarmed tags.
    tags: HashMap<usize, Place>,
    /// The site, for the place of any other tag (a model alarm on it): read when raised,
    /// not copied per tag (100,000 tags made 20 MB of copies).
    site: Option<Arc<Site>>,
    /// Asset name → its area.
    assets: HashMap<String, Option<String>>,
    models: HashMap<(ModelTarget, String), usize>,
    positions: BTreeMap<String, FloodMeter>,
    /// What a flood is, and what it holds back.
    flood: FloodPolicy,
    bursts: Bursts,
}

impl AlarmEngine {
    /// An engine for these alarms; tags and assets are known only through them.
    pub fn new(defs: Vec<AlarmDef>) -> AlarmEngine {
        AlarmEngine::with_plant(defs, Vec::new(), Vec::new())
    }

    /// An engine that also knows every tag (by index) and asset (name, area), so that
    /// model alarms can be raised on any of them.
    pub fn with_plant(defs: Vec<AlarmDef>, tags: Vec<Place>, assets: Vec<(String, Option<String>)>) -> AlarmEngine {
        let mut e = AlarmEngine {
            tags: tags.into_iter().enumerate().collect(),
            assets: assets.into_iter().collect(),
            ..AlarmEngine::default()
        };
        for d in defs {
            e.tags.entry(d.tag).or_insert_with(|| d.place.clone());
            if let Some(a) = &d.place.asset {
                e.assets.entry(a.clone()).or_insert_with(|| d.place.area.clone());
            }
            let i = e.alarms.len();
            e.by_tag.entry(d.tag).or_default().push(i);
            e.alarms.push(Alarm {
                message: d.message.clone().unwrap_or_else(|| default_message(&d)),
                kind: d.kind,
                priority: d.priority,
                tag: Some(d.tag),
                place: d.place,
                limit: d.limit,
                deadband: d.deadband.max(0.0),
                on_delay_ms: ms(d.on_delay),
                off_delay_ms: ms(d.off_delay),
                window_ms: ms(d.window).max(1),
                ..Alarm::blank()
            });
        }
        e
    }

    /// The engine for a validated site: its `[[alarm]]`s, tags and assets.
    pub fn from_site(site: &Arc<Site>) -> AlarmEngine {
        let assets = site.assets.iter().map(|a| (a.name.clone(), Some(a.area.clone()))).collect();
        AlarmEngine { site: Some(site.clone()), ..AlarmEngine::with_plant(site.alarms.clone(), Vec::new(), assets) }
            .with_flood(site.flood.clone())
    }

    /// The same engine with this flood policy (the default is the standards' figure:
    /// more than 10 alarms in 10 minutes at a position, low priority held back).
    pub fn with_flood(mut self, flood: FloodPolicy) -> AlarmEngine {
        self.flood = flood;
        self
    }

    /// Where a site tag sits (its name, asset and area).
    fn site_place(&self, tag: usize) -> Option<Place> {
        let site = self.site.as_deref()?;
        let t = site.tags.get(tag)?;
        let asset = t.asset.and_then(|a| site.assets.get(a));
        Some(Place::of_tag(&t.name, asset.map(|a| a.name.clone()), asset.map(|a| a.area.clone())))
    }

    /// Number of alarms (configured and model alarms raised so far); ids are `0..len`.
    pub fn len(&self) -> usize {
        self.alarms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.alarms.is_empty()
    }

    /// The alarms configured on a tag.
    pub fn alarms_of_tag(&self, tag: usize) -> Vec<AlarmId> {
        self.by_tag.get(&tag).map_or_else(Vec::new, |v| v.iter().map(|&i| AlarmId(i)).collect())
    }

    /// The annunciation state of an alarm.
    pub fn state(&self, id: AlarmId) -> Option<AlarmState> {
        self.alarms.get(id.0).map(|a| a.state)
    }

    /// A new sample of a tag. Samples older than the last one an alarm saw are ignored.
    pub fn evaluate(&mut self, tag: usize, value: Option<f64>, quality: Quality, ts_ms: i64) -> Vec<AlarmEvent> {
        let mut events = Vec::new();
        let ids = self.by_tag.get(&tag).cloned().unwrap_or_default();
        let value = value.filter(|v| v.is_finite());
        for i in ids {
            let a = &mut self.alarms[i];
            if a.last_ts.is_some_and(|last| ts_ms < last) {
                continue;
            }
            a.last_ts = Some(ts_ms);
            if value.is_some() {
                a.value = value;
            }
            // A change pending from before this sample may have matured in between.
            self.settle(i, ts_ms, &mut events);
            let a = &mut self.alarms[i];
            let usable = value.filter(|_| !quality.is_bad());
            let raw = match (&a.kind, usable, a.limit) {
                (AlarmKind::BadQuality, _, _) => quality.is_bad(),
                (AlarmKind::RateOfChange, Some(v), Some(limit)) => match a.rate.push(ts_ms, v, a.window_ms) {
                    Some(rate) => limit_condition(&a.kind, limit, a.deadband, a.cond.raw, rate),
                    None => a.cond.raw,
                },
                (AlarmKind::HiHi | AlarmKind::Hi | AlarmKind::Lo | AlarmKind::LoLo, Some(v), Some(limit)) => {
                    limit_condition(&a.kind, limit, a.deadband, a.cond.raw, v)
                }
                _ => a.cond.raw,
            };
            a.cond.feed(raw, ts_ms);
            self.settle(i, ts_ms, &mut events);
        }
        events
    }

    /// Time passes: delays that mature without a new sample, shelves that expire, flood
    /// windows that move on. Events come back ordered by time.
    pub fn tick(&mut self, now_ms: i64) -> Vec<AlarmEvent> {
        let mut events = Vec::new();
        for i in 0..self.alarms.len() {
            let expiry = self.alarms[i].shelved.as_ref().map(|s| s.until_ms).filter(|&u| u <= now_ms);
            if let Some(until) = expiry {
                self.settle(i, until, &mut events);
                let note = self.alarms[i].shelved.as_ref().map(|s| format!("shelve expired: {}", s.reason));
                self.alarms[i].shelved = None;
                events.extend(self.return_to_service(i, until, Change::ShelveExpired, None, note.unwrap_or_default()));
            }
            self.settle(i, now_ms, &mut events);
        }
        let ended: Vec<(String, i64)> =
            self.positions.iter_mut().filter_map(|(p, m)| Some((p.clone(), m.advance(now_ms)?))).collect();
        for (position, at) in ended {
            self.release(&position, at, &mut events);
        }
        events.sort_by_key(|e| e.ts_ms);
        events
    }

    /// Acknowledge an alarm: active → acknowledged-active, returned-to-normal → normal.
    /// The wall clock stepped: `rebase` maps a time of the old clock to the new one.
    /// Applied to the times running delays and shelving are measured from, so that each
    /// keeps its length.
    pub fn shift_clock(&mut self, rebase: impl Fn(i64) -> i64) {
        for a in &mut self.alarms {
            a.cond.since = a.cond.since.map(&rebase);
            if let Some(s) = &mut a.shelved {
                s.until_ms = rebase(s.until_ms);
            }
        }
    }

    pub fn acknowledge(&mut self, id: AlarmId, user: &str, now_ms: i64) -> Result<AlarmEvent, AlarmError> {
        let i = self.index(id)?;
        let user = required(user, AlarmError::NoUser)?;
        let to = match self.alarms[i].state {
            AlarmState::UnackActive => AlarmState::AckActive,
            AlarmState::UnackRtn => AlarmState::Normal,
            AlarmState::Normal => return Err(AlarmError::NotActive(id)),
            AlarmState::AckActive => return Err(AlarmError::AlreadyAcknowledged(id)),
        };
        self.alarms[i].acked_by = Some((user.clone(), now_ms));
        Ok(self.set_state(i, to, Change::Acknowledged, now_ms, Some(user), String::new()))
    }

    /// Acknowledge every unacknowledged alarm among `ids`; the others are left alone.
    pub fn acknowledge_all(&mut self, ids: &[AlarmId], user: &str, now_ms: i64) -> Vec<AlarmEvent> {
        let mut events = Vec::new();
        for &id in ids {
            if self.alarms.get(id.0).is_some_and(|a| a.state.is_unacked())
                && let Ok(e) = self.acknowledge(id, user, now_ms)
            {
                events.push(e);
            }
        }
        events
    }

    /// Shelve an alarm until `until_ms`: it leaves the annunciated states, its condition
    /// is still tracked, and [`AlarmEngine::tick`] returns it to service at expiry.
    /// Shelving a shelved alarm changes its expiry and reason.
    pub fn shelve(
        &mut self,
        id: AlarmId,
        user: &str,
        reason: &str,
        until_ms: i64,
        now_ms: i64,
    ) -> Result<AlarmEvent, AlarmError> {
        let i = self.index(id)?;
        let user = required(user, AlarmError::NoUser)?;
        let reason = required(reason, AlarmError::NoReason)?;
        if until_ms <= now_ms {
            return Err(AlarmError::ShelveExpiry { until_ms, now_ms });
        }
        if self.alarms[i].out_of_service.is_some() {
            return Err(AlarmError::OutOfService(id));
        }
        let note = format!("shelved until {until_ms}: {reason}");
        self.alarms[i].shelved = Some(Shelve { user: user.clone(), reason, until_ms });
        Ok(self.suppress(i, Change::Shelved, now_ms, user, note))
    }

    /// Return a shelved alarm to service before its expiry.
    pub fn unshelve(&mut self, id: AlarmId, user: &str, now_ms: i64) -> Result<Vec<AlarmEvent>, AlarmError> {
        let i = self.index(id)?;
        let user = required(user, AlarmError::NoUser)?;
        if self.alarms[i].shelved.is_none() {
            return Err(AlarmError::NotShelved(id));
        }
        let mut events = Vec::new();
        self.settle(i, now_ms, &mut events);
        self.alarms[i].shelved = None;
        events.extend(self.return_to_service(i, now_ms, Change::Unshelved, Some(user), String::new()));
        Ok(events)
    }

    /// Take an alarm out of service (`on`) or return it. Out of service overrides a shelve.
    pub fn set_out_of_service(
        &mut self,
        id: AlarmId,
        on: bool,
        user: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<Vec<AlarmEvent>, AlarmError> {
        let i = self.index(id)?;
        let user = required(user, AlarmError::NoUser)?;
        let mut events = Vec::new();
        if on {
            if self.alarms[i].out_of_service.is_some() {
                return Err(AlarmError::AlreadyInThatService(id, "out of service"));
            }
            let reason = required(reason, AlarmError::NoReason)?;
            self.alarms[i].shelved = None;
            self.alarms[i].out_of_service = Some(OutOfService { user: user.clone(), reason: reason.clone() });
            events.push(self.suppress(i, Change::OutOfService, now_ms, user, reason));
        } else {
            if self.alarms[i].out_of_service.is_none() {
                return Err(AlarmError::AlreadyInThatService(id, "in service"));
            }
            self.settle(i, now_ms, &mut events);
            self.alarms[i].out_of_service = None;
            events.extend(self.return_to_service(i, now_ms, Change::InService, Some(user), reason.trim().to_string()));
        }
        Ok(events)
    }

    /// A model raises (or, when already raised, updates) its alarm on a tag or asset.
    pub fn raise_model(
        &mut self,
        target: ModelTarget,
        source: &str,
        priority: Priority,
        text: &str,
        now_ms: i64,
    ) -> Result<Vec<AlarmEvent>, AlarmError> {
        let source = required(source, AlarmError::NoSource)?;
        let i = match self.models.get(&(target.clone(), source.clone())) {
            Some(&i) => i,
            None => self.new_model(target, &source)?,
        };
        let a = &mut self.alarms[i];
        a.priority = priority;
        if !text.trim().is_empty() {
            a.message = text.trim().to_string();
        }
        a.cond.feed(true, now_ms);
        let mut events = Vec::new();
        self.settle(i, now_ms, &mut events);
        Ok(events)
    }

    /// A model clears its alarm; clearing one never raised is not an error.
    pub fn clear_model(
        &mut self,
        target: ModelTarget,
        source: &str,
        now_ms: i64,
    ) -> Result<Vec<AlarmEvent>, AlarmError> {
        self.place(&target)?;
        let Some(&i) = self.models.get(&(target, source.trim().to_string())) else {
            return Ok(Vec::new());
        };
        self.alarms[i].cond.feed(false, now_ms);
        let mut events = Vec::new();
        self.settle(i, now_ms, &mut events);
        Ok(events)
    }

    fn index(&self, id: AlarmId) -> Result<usize, AlarmError> {
        if id.0 < self.alarms.len() { Ok(id.0) } else { Err(AlarmError::UnknownAlarm(id)) }
    }

    fn place(&self, target: &ModelTarget) -> Result<Place, AlarmError> {
        match target {
            ModelTarget::Tag(t) => {
                self.tags.get(t).cloned().or_else(|| self.site_place(*t)).ok_or(AlarmError::UnknownTag(*t))
            }
            ModelTarget::Asset(name) => match self.assets.get(name) {
                Some(area) => Ok(Place { tag: None, asset: Some(name.clone()), area: area.clone() }),
                None => Err(AlarmError::UnknownAsset(name.clone())),
            },
        }
    }

    fn new_model(&mut self, target: ModelTarget, source: &str) -> Result<usize, AlarmError> {
        let place = self.place(&target)?;
        let tag = match target {
            ModelTarget::Tag(t) => Some(t),
            ModelTarget::Asset(_) => None,
        };
        let i = self.alarms.len();
        self.alarms.push(Alarm {
            kind: AlarmKind::Model { source: source.to_string() },
            tag,
            message: format!("{}: {source}", place.name()),
            place,
            ..Alarm::blank()
        });
        self.models.insert((target, source.to_string()), i);
        Ok(i)
    }

    /// Apply a debounced condition change that matured by `now_ms`.
    fn settle(&mut self, i: usize, now_ms: i64, events: &mut Vec<AlarmEvent>) {
        let a = &mut self.alarms[i];
        if let Some((active, at)) = a.cond.settle(now_ms, a.on_delay_ms, a.off_delay_ms) {
            self.annunciate(i, active, at, events);
        }
    }

    /// What a condition change means for an alarm in service. An activation at a position
    /// in flood is held back when the flood policy says so for its priority.
    fn annunciate(&mut self, i: usize, active: bool, ts_ms: i64, events: &mut Vec<AlarmEvent>) {
        let a = &self.alarms[i];
        if a.suppressed() {
            return;
        }
        let (to, action) = match (a.state, active) {
            (AlarmState::Normal | AlarmState::UnackRtn, true) => (AlarmState::UnackActive, Change::Raised),
            (AlarmState::UnackActive, false) => (AlarmState::UnackRtn, Change::Returned),
            (AlarmState::AckActive, false) => (AlarmState::Normal, Change::Returned),
            _ => return,
        };
        if action == Change::Raised && self.held_by_flood(i, ts_ms, events) {
            return;
        }
        let note = self.alarms[i].message.clone();
        events.push(self.set_state(i, to, action, ts_ms, None, note));
    }

    fn suppress(&mut self, i: usize, action: Change, ts_ms: i64, user: String, note: String) -> AlarmEvent {
        self.alarms[i].acked_by = None;
        self.alarms[i].flood_held = false;
        self.set_state(i, AlarmState::Normal, action, ts_ms, Some(user), note)
    }

    /// Back in service (the caller cleared the shelve or out-of-service): annunciate a
    /// condition that is present.
    fn return_to_service(
        &mut self,
        i: usize,
        ts_ms: i64,
        action: Change,
        user: Option<String>,
        note: String,
    ) -> Vec<AlarmEvent> {
        let mut events = vec![self.set_state(i, AlarmState::Normal, action, ts_ms, user, note)];
        if self.alarms[i].cond.active {
            self.annunciate(i, true, ts_ms, &mut events);
        }
        events
    }

    fn set_state(
        &mut self,
        i: usize,
        to: AlarmState,
        action: Change,
        ts_ms: i64,
        user: Option<String>,
        note: String,
    ) -> AlarmEvent {
        if action == Change::Raised {
            self.activation(i, ts_ms);
        }
        let a = &mut self.alarms[i];
        let from = a.state;
        a.state = to;
        AlarmEvent {
            ts_ms,
            alarm: AlarmId(i),
            place: a.place.clone(),
            kind: a.kind.clone(),
            priority: a.priority,
            action,
            from,
            to,
            value: a.value,
            user,
            note,
        }
    }

    /// Count an annunciated activation: flood, chattering, first-out.
    fn activation(&mut self, i: usize, ts_ms: i64) {
        let a = &mut self.alarms[i];
        a.active_since = Some(ts_ms);
        a.acked_by = None;
        a.first_out = false;
        a.activations.push_back(ts_ms);
        metrics::prune_chatter(&mut a.activations, ts_ms);
        // `annunciate` brought the meter to `ts_ms` first: no flood ends here
        let _ = self
            .positions
            .entry(a.position().to_string())
            .or_insert_with(|| FloodMeter::new(&self.flood))
            .record(ts_ms);
        let key = a.place.asset.clone().or_else(|| a.place.area.clone()).unwrap_or_else(|| NO_AREA.to_string());
        if let Some(first) = self.bursts.activation(&key, AlarmId(i), ts_ms)
            && let Some(f) = self.alarms.get_mut(first.0)
        {
            f.first_out = true;
        }
    }
}

impl Alarm {
    fn blank() -> Alarm {
        Alarm {
            kind: AlarmKind::BadQuality,
            priority: Priority::Medium,
            tag: None,
            place: Place::default(),
            limit: None,
            deadband: 0.0,
            on_delay_ms: 0,
            off_delay_ms: 0,
            window_ms: 10_000,
            message: String::new(),
            cond: Debounce::default(),
            last_ts: None,
            value: None,
            rate: RateWindow::default(),
            state: AlarmState::Normal,
            active_since: None,
            acked_by: None,
            shelved: None,
            out_of_service: None,
            activations: VecDeque::new(),
            first_out: false,
            flood_held: false,
        }
    }
}
