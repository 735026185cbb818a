//! What each table lists and in which order: the rows a screen shows and a selection
//! indexes, from the snapshot and the view state (filter, sort, alarm view). Pure, shared
//! by key handling and rendering.

use std::cmp::Ordering;

use super::{SortKey, UiState};
use crate::model::{AlarmRow, AlarmStateView, AuditRow, DeviceRow, QualityView, RecommendationRow, Snapshot, TagRow};

fn quality_rank(t: &TagRow) -> u8 {
    match (&t.quality, t.stale) {
        (QualityView::Bad(_), _) => 0,
        (QualityView::Uncertain(_), _) => 1,
        (QualityView::Good, true) => 2,
        (QualityView::Good, false) => 3,
    }
}

/// A comparison of two tag rows, for sorting.
type TagOrder = dyn Fn(&&TagRow, &&TagRow) -> Ordering;

/// Case-insensitive substring test; `needle` must already be lowercase.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}

/// A row passes the filter: no filter, or one of its fields holds it (`needle` lowercase).
fn matches(needle: &str, fields: &[&str]) -> bool {
    needle.is_empty() || fields.iter().any(|f| contains_ci(f, needle))
}

/// Tags matching the filter, in display order (sort key, then name). The
/// Tags selection `ui.selected` indexes this list.
pub fn visible_tags<'a>(snapshot: &'a Snapshot, ui: &UiState) -> Vec<&'a TagRow> {
    let needle = ui.filter.trim().to_lowercase();
    let mut v: Vec<&TagRow> = if needle.is_empty() {
        snapshot.tags.iter().collect()
    } else {
        snapshot.tags.iter().filter(|t| matches(&needle, &[&t.name, &t.asset, &t.description])).collect()
    };
    let by_name = |a: &&TagRow, b: &&TagRow| a.name.cmp(&b.name);
    let cmp: Box<TagOrder> = match ui.sort {
        SortKey::Name => Box::new(by_name),
        // missing/NaN values sort after all numbers
        SortKey::Value => Box::new(move |a, b| {
            let key = |t: &TagRow| t.value.filter(|v| !v.is_nan());
            match (key(a), key(b)) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
            .then_with(|| by_name(a, b))
        }),
        SortKey::Quality => Box::new(move |a, b| quality_rank(a).cmp(&quality_rank(b)).then_with(|| by_name(a, b))),
        // newest first; never-received last
        SortKey::Age => Box::new(move |a, b| {
            match (a.ts_ms, b.ts_ms) {
                (Some(x), Some(y)) => y.cmp(&x),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            }
            .then_with(|| by_name(a, b))
        }),
    };
    if ui.sort == SortKey::Name && !ui.sort_desc && v.is_sorted_by(|a, b| a.name <= b.name) {
        // the daemon usually sends tags sorted by name: nothing to do
    } else if ui.sort_desc {
        v.sort_by(|a, b| cmp(b, a));
    } else {
        v.sort_by(|a, b| cmp(a, b));
    }
    v
}

/// The Tags table as the views see it: `len` rows in all (matching the filter), of which
/// those from `offset` are at hand (all of them, or the daemon's window of them).
#[derive(Debug, Clone, Default)]
pub struct TagList<'a> {
    pub len: usize,
    pub offset: usize,
    pub rows: Vec<&'a TagRow>,
    /// Bad and stale tags among the `len`.
    pub bad: usize,
    pub stale: usize,
}

impl<'a> TagList<'a> {
    /// Row `i` of the list (`ui.selected` indexes it), when it is at hand.
    pub fn get(&self, i: usize) -> Option<&'a TagRow> {
        i.checked_sub(self.offset).and_then(|k| self.rows.get(k)).copied()
    }
    /// The selected row (the selection clamped to the list), when it is at hand.
    pub fn selected(&self, ui: &UiState) -> Option<&'a TagRow> {
        self.get(ui.selected.min(self.len.saturating_sub(1)))
    }
}

/// The Tags list: the daemon's window when the snapshot carries one ([`Snapshot::tag_page`]),
/// else [`visible_tags`] of all the snapshot's tags.
pub fn tag_list<'a>(snapshot: &'a Snapshot, ui: &UiState) -> TagList<'a> {
    if let Some(p) = snapshot.tag_page {
        return TagList {
            len: p.total,
            offset: p.offset,
            rows: snapshot.tags.iter().collect(),
            bad: p.bad,
            stale: p.stale,
        };
    }
    let rows = visible_tags(snapshot, ui);
    let bad = rows.iter().filter(|t| matches!(t.quality, QualityView::Bad(_))).count();
    let stale = rows.iter().filter(|t| t.stale).count();
    TagList { len: rows.len(), offset: 0, rows, bad, stale }
}

/// Tags of the whole site: (count, bad, stale).
pub fn tag_counts(snapshot: &Snapshot) -> (usize, usize, usize) {
    match snapshot.tag_counts {
        Some(c) => (c.tags, c.bad, c.stale),
        None => (
            snapshot.tags.len(),
            snapshot.tags.iter().filter(|t| matches!(t.quality, QualityView::Bad(_))).count(),
            snapshot.tags.iter().filter(|t| t.stale).count(),
        ),
    }
}

/// Devices matching the filter (name, protocol or endpoint), in snapshot
/// order. The Devices selection `ui.dev_selected` indexes this list.
pub fn visible_devices<'a>(snapshot: &'a Snapshot, ui: &UiState) -> Vec<&'a DeviceRow> {
    let needle = ui.filter.trim().to_lowercase();
    snapshot.devices.iter().filter(|d| matches(&needle, &[&d.name, &d.protocol, &d.endpoint])).collect()
}

fn state_rank(s: AlarmStateView) -> u8 {
    match s {
        AlarmStateView::UnackActive => 0,
        AlarmStateView::UnackRtn => 1,
        AlarmStateView::AckActive => 2,
        AlarmStateView::Normal => 3,
    }
}

/// Alarms of the current [`AlarmView`] in display order: unacknowledged
/// first (active before returned), then acknowledged, then normal; within a
/// state highest priority first, then most recent first, then id. The Alarms
/// selection `ui.alarm_selected` indexes this list.
pub fn visible_alarms<'a>(snapshot: &'a Snapshot, ui: &UiState) -> Vec<&'a AlarmRow> {
    let needle = ui.filter.to_lowercase();
    let mut v: Vec<&AlarmRow> = snapshot
        .alarms
        .iter()
        .filter(|a| ui.alarm_view.contains(a))
        .filter(|a| matches(&needle, &[&a.place.tag, &a.place.asset, &a.place.area, &a.kind, &a.message]))
        .collect();
    v.sort_by(|a, b| {
        state_rank(a.state)
            .cmp(&state_rank(b.state))
            .then_with(|| b.priority.cmp(&a.priority))
            .then_with(|| match (a.active_since_ms, b.active_since_ms) {
                (Some(x), Some(y)) => y.cmp(&x),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
            .then_with(|| a.id.cmp(&b.id))
    });
    v
}

/// Unacknowledged, annunciated (not shelved, not out-of-service) alarms and
/// the highest priority among them: what the header of every screen shows.
pub fn unacked_alarms(snapshot: &Snapshot) -> (usize, Option<crate::model::Priority>) {
    snapshot
        .alarms
        .iter()
        .filter(|a| a.state.unacked() && a.annunciated())
        .fold((0, None), |(n, p), a| (n + 1, p.max(Some(a.priority))))
}

/// Recommendations in display order: pending first, then newest first. The
/// selection `ui.rec_selected` indexes this list.
pub fn visible_recommendations<'a>(snapshot: &'a Snapshot, _ui: &UiState) -> Vec<&'a RecommendationRow> {
    let mut v: Vec<&RecommendationRow> = snapshot.recommendations.iter().collect();
    v.sort_by(|a, b| {
        (b.status == "pending")
            .cmp(&(a.status == "pending"))
            .then_with(|| b.created_ms.cmp(&a.created_ms))
            .then_with(|| b.id.cmp(&a.id))
    });
    v
}

/// Audit entries matching the filter (user, action, target, detail), newest
/// (highest sequence number) first. The selection `ui.audit_selected`
/// indexes this list.
pub fn visible_audit<'a>(snapshot: &'a Snapshot, ui: &UiState) -> Vec<&'a AuditRow> {
    let needle = ui.filter.trim().to_lowercase();
    let mut v: Vec<&AuditRow> =
        snapshot.audit.iter().filter(|r| matches(&needle, &[&r.user, &r.action, &r.target, &r.detail])).collect();
    if !v.is_sorted_by(|a, b| a.seq >= b.seq) {
        v.sort_by_key(|r| std::cmp::Reverse(r.seq));
    }
    v
}

/// First row to show so that `selected` is visible in `rows` rows, starting
/// from the `scroll` hint. Used by both key handling and rendering.
pub fn window_start(len: usize, selected: usize, scroll: usize, rows: usize) -> usize {
    let rows = rows.max(1);
    let selected = selected.min(len.saturating_sub(1));
    let mut start = scroll.min(len.saturating_sub(rows));
    if selected < start {
        start = selected;
    } else if selected >= start + rows {
        start = selected + 1 - rows;
    }
    start
}
