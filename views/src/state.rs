//! UI state, keys and actions: everything the views remember between frames,
//! changed only by [`handle_key`] (a pure function, no I/O).

use std::cmp::Ordering;

use crate::model::{
    AlarmRow, AlarmStateView, AuditRow, DeviceRow, QualityView, RecommendationRow, Snapshot, TagRow, WhatIfView,
};
use crate::theme::Theme;

/// The seven screens, numbered 1..7 in the tab bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Screen {
    Overview,
    #[default]
    Tags,
    Trend,
    Alarms,
    Recommendations,
    Devices,
    Audit,
}

impl Screen {
    /// All screens in tab order (key `1` is `ALL[0]`).
    pub const ALL: [Screen; 7] = [
        Screen::Overview,
        Screen::Tags,
        Screen::Trend,
        Screen::Alarms,
        Screen::Recommendations,
        Screen::Devices,
        Screen::Audit,
    ];

    /// Tab title.
    pub fn title(self) -> &'static str {
        match self {
            Screen::Overview => "Overview",
            Screen::Tags => "Tags",
            Screen::Trend => "Trend",
            Screen::Alarms => "Alarms",
            Screen::Recommendations => "Recommendations",
            Screen::Devices => "Devices",
            Screen::Audit => "Audit",
        }
    }

    fn index(self) -> usize {
        Screen::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// Which alarms the Alarms table lists, cycled with `v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlarmView {
    /// Annunciated alarms (not shelved, not out of service) that are not normal.
    #[default]
    Active,
    Shelved,
    OutOfService,
    All,
}

impl AlarmView {
    /// Label shown on the filter tab.
    pub fn label(self) -> &'static str {
        match self {
            AlarmView::Active => "Active",
            AlarmView::Shelved => "Shelved",
            AlarmView::OutOfService => "Out-of-service",
            AlarmView::All => "All",
        }
    }
    /// All views in `v` order.
    pub const ALL: [AlarmView; 4] = [AlarmView::Active, AlarmView::Shelved, AlarmView::OutOfService, AlarmView::All];

    fn next(self) -> AlarmView {
        AlarmView::ALL[(AlarmView::ALL.iter().position(|v| *v == self).unwrap_or(0) + 1) % 4]
    }

    /// Whether `a` belongs to this view.
    pub fn contains(self, a: &AlarmRow) -> bool {
        match self {
            AlarmView::Active => a.annunciated() && a.state != AlarmStateView::Normal,
            AlarmView::Shelved => a.shelved(),
            AlarmView::OutOfService => a.out_of_service,
            AlarmView::All => true,
        }
    }
}

/// Shelving durations offered by the shelve popup (cycled with ←/→).
pub const SHELVE_MINUTES: [u32; 4] = [15, 60, 480, 1440];

/// Text of a shelving duration: `15 min`, `1 h`, `8 h`, `24 h`.
pub fn shelve_label(minutes: u32) -> String {
    if minutes.is_multiple_of(60) { format!("{} h", minutes / 60) } else { format!("{minutes} min") }
}

/// Most tags on one trend (the main tag and 3 extras).
pub const MAX_TREND_TAGS: usize = 4;

/// Longest reason accepted by a popup text field, in characters.
pub const MAX_REASON: usize = 200;

/// A modal confirm-then-act popup (gitui pattern). While it is open it
/// swallows every key; only Enter turns it into its [`Action`] (when the
/// input is valid), Esc cancels, Ctrl-C still quits.
#[derive(Debug, Clone, PartialEq)]
pub struct Modal {
    /// Popup title, e.g. "Acknowledge alarm".
    pub title: String,
    /// What will happen, one line each (untrusted text: sanitized on render).
    pub lines: Vec<String>,
    /// The act; its `reason`/`minutes` fields are filled in on Enter.
    pub action: Action,
    /// `Some` = a required reason text field with its current text.
    pub reason: Option<String>,
    /// `Some(i)` = a duration field, index into [`SHELVE_MINUTES`].
    pub duration: Option<usize>,
    /// Why the last Enter was refused, shown in the popup.
    pub error: Option<String>,
    /// `Some` = the maintenance form (asset, kind, part, note).
    pub form: Option<MaintenanceForm>,
}

/// Kinds of maintenance event a crew records (cycled with ←/→ in the form).
pub const MAINTENANCE_KINDS: [MaintenanceKind; 4] = MaintenanceKind::ALL;

/// A kind of maintenance event (the daemon's `lifecycle::EventKind` without commissioning).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaintenanceKind {
    #[default]
    PartReplaced,
    SensorRecalibrated,
    Inspection,
    Other,
}

impl MaintenanceKind {
    pub const ALL: [MaintenanceKind; 4] = [
        MaintenanceKind::PartReplaced,
        MaintenanceKind::SensorRecalibrated,
        MaintenanceKind::Inspection,
        MaintenanceKind::Other,
    ];

    /// The name on the wire and in the form: `part-replaced`, `sensor-recalibrated`, …
    pub fn name(self) -> &'static str {
        match self {
            MaintenanceKind::PartReplaced => "part-replaced",
            MaintenanceKind::SensorRecalibrated => "sensor-recalibrated",
            MaintenanceKind::Inspection => "inspection",
            MaintenanceKind::Other => "other",
        }
    }

    /// The event names a part or a tag.
    pub fn names_part(self) -> bool {
        matches!(self, MaintenanceKind::PartReplaced | MaintenanceKind::SensorRecalibrated)
    }
}
/// Longest part/tag name in the maintenance form, in characters.
pub const MAX_PART: usize = 64;

/// The fields of the maintenance popup. Tab / ↑↓ move between fields, ←/→ choose the asset
/// and kind, text goes into the part and the note.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MaintenanceForm {
    /// Assets to choose from (names), and the chosen one.
    pub assets: Vec<String>,
    pub asset: usize,
    /// Index into [`MAINTENANCE_KINDS`].
    pub kind: usize,
    pub part: String,
    pub note: String,
    /// 0 asset, 1 kind, 2 part, 3 note.
    pub field: usize,
}

/// Why Enter in a dialog does nothing yet: what the dialog still needs (shown in it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Incomplete {
    #[error("No asset to record on.")]
    NoAsset,
    #[error("A {0} event names the part or tag: type it in Part/tag.")]
    NoPart(&'static str),
    #[error("Type the value to try, then Enter.")]
    NoValue,
    #[error("A reason is required: type it, then Enter.")]
    NoReason,
    #[error("`{0}` is not a number: type the value to try, then Enter.")]
    NotANumber(String),
}

impl MaintenanceForm {
    pub const FIELDS: usize = 4;

    pub fn kind(&self) -> MaintenanceKind {
        MAINTENANCE_KINDS[self.kind.min(MAINTENANCE_KINDS.len() - 1)]
    }

    pub fn kind_name(&self) -> &'static str {
        self.kind().name()
    }

    fn result(&self) -> Result<Action, Incomplete> {
        let asset = self.assets.get(self.asset).cloned().ok_or(Incomplete::NoAsset)?;
        let kind = self.kind();
        let part = self.part.trim().to_string();
        if part.is_empty() && kind.names_part() {
            return Err(Incomplete::NoPart(kind.name()));
        }
        Ok(Action::RecordMaintenance { asset, kind, part, note: self.note.trim().to_string() })
    }
}

impl Modal {
    fn confirm(title: &str, lines: Vec<String>, action: Action) -> Modal {
        Modal { title: title.into(), lines, action, reason: None, duration: None, error: None, form: None }
    }
    fn with_reason(mut self) -> Modal {
        self.reason = Some(String::new());
        self
    }

    /// The action Enter would return, or why it is refused.
    pub fn result(&self) -> Result<Action, Incomplete> {
        if let Some(f) = &self.form {
            return f.result();
        }
        let reason = match &self.reason {
            Some(r) if r.trim().is_empty() && matches!(self.action, Action::WhatIf { .. }) => {
                return Err(Incomplete::NoValue);
            }
            Some(r) if r.trim().is_empty() => return Err(Incomplete::NoReason),
            Some(r) => r.trim().to_string(),
            None => String::new(),
        };
        let minutes = SHELVE_MINUTES[self.duration.unwrap_or(0).min(SHELVE_MINUTES.len() - 1)];
        Ok(match &self.action {
            Action::ShelveAlarm { id, .. } => Action::ShelveAlarm { id: *id, reason, minutes },
            Action::SetOutOfService { id, on, .. } => Action::SetOutOfService { id: *id, on: *on, reason },
            Action::Reject { id, .. } => Action::Reject { id: *id, reason },
            Action::WhatIf { tag, .. } => match reason.replace(',', ".").parse::<f64>() {
                Ok(value) if value.is_finite() => Action::WhatIf { tag: tag.clone(), value },
                _ => return Err(Incomplete::NotANumber(reason)),
            },
            other => other.clone(),
        })
    }
}

/// Sort key of the Tags table, cycled with `s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Name,
    Value,
    /// Worst first: Bad, Uncertain, stale, Good.
    Quality,
    /// Most recently received first.
    Age,
}

impl SortKey {
    /// Label shown in the status line.
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Value => "value",
            SortKey::Quality => "quality",
            SortKey::Age => "age",
        }
    }
    fn next(self) -> SortKey {
        match self {
            SortKey::Name => SortKey::Value,
            SortKey::Value => SortKey::Quality,
            SortKey::Quality => SortKey::Age,
            SortKey::Age => SortKey::Name,
        }
    }
}

/// View state kept by the terminal session between frames.
#[derive(Debug, Clone, PartialEq)]
pub struct UiState {
    pub screen: Screen,
    /// Idle-locked: process values hidden until the user re-enters their secret.
    pub locked: bool,
    /// The idle time after which the terminal locked (for the lock screen's text).
    pub lock_after_ms: i64,
    /// A note on the lock screen (e.g. the last unlock attempt failed).
    pub lock_note: Option<String>,
    /// Selected row of the Tags table (index into [`visible_tags`]).
    pub selected: usize,
    /// First shown row of the Tags table (a hint: rendering keeps the selection visible).
    pub scroll: usize,
    /// Case-insensitive substring filter (tags: name/asset/description; devices: name/protocol/endpoint).
    pub filter: String,
    /// `true` while the filter is being typed.
    pub filter_editing: bool,
    pub sort: SortKey,
    pub sort_desc: bool,
    /// Help popup open (modal).
    pub show_help: bool,
    pub theme: Theme,
    /// Selected row of the Devices table (index into [`visible_devices`]).
    pub dev_selected: usize,
    /// First shown row of the Devices table (a hint).
    pub dev_scroll: usize,
    /// First shown line of the Overview asset tree.
    pub overview_scroll: usize,
    /// Tag whose trend was last opened (set on Enter in Tags).
    pub trend_tag: Option<String>,
    /// Rows per page used by PgUp/PgDn; set it with [`UiState::resize`].
    pub page_rows: usize,
    /// Which alarms the Alarms table lists.
    pub alarm_view: AlarmView,
    /// Selected row of the Alarms table (index into [`visible_alarms`]).
    pub alarm_selected: usize,
    pub alarm_scroll: usize,
    /// Selected row of the Recommendations list (index into [`visible_recommendations`]).
    pub rec_selected: usize,
    pub rec_scroll: usize,
    /// Selected row of the Audit table (index into [`visible_audit`]).
    pub audit_selected: usize,
    pub audit_scroll: usize,
    /// Open confirm-then-act popup (modal).
    pub modal: Option<Modal>,
    /// One-shot message in the footer (why a key did nothing); cleared by the next key.
    pub notice: Option<String>,
    /// Trend time cursor: `Some(screen column of the chart)` while it is on
    /// (`c` toggles). Clamped to the chart width at render time.
    pub trend_cursor: Option<usize>,
    /// Columns of the Trend chart, a hint for cursor keys; set it with [`UiState::resize`].
    pub trend_cols: usize,
    /// Tags of the trend, main tag first, at most [`MAX_TREND_TAGS`], no
    /// duplicates (`t` on Tags adds, `T` clears the extras, Enter sets the main one).
    pub trend_tags: Vec<String>,
    /// The answer to a what-if, shown in a popup until Esc (or Enter: ask for the write).
    pub what_if: Option<WhatIfView>,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            screen: Screen::default(),
            locked: false,
            lock_after_ms: 0,
            lock_note: None,
            selected: 0,
            scroll: 0,
            filter: String::new(),
            filter_editing: false,
            sort: SortKey::default(),
            sort_desc: false,
            show_help: false,
            theme: Theme::default(),
            dev_selected: 0,
            dev_scroll: 0,
            overview_scroll: 0,
            trend_tag: None,
            page_rows: 16,
            alarm_view: AlarmView::default(),
            alarm_selected: 0,
            alarm_scroll: 0,
            rec_selected: 0,
            rec_scroll: 0,
            audit_selected: 0,
            audit_scroll: 0,
            modal: None,
            notice: None,
            trend_cursor: None,
            trend_cols: crate::plot::plot_width(80),
            trend_tags: Vec::new(),
            what_if: None,
        }
    }
}

impl UiState {
    /// Tells the state the terminal size so PgUp/PgDn move by one table page.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.trend_cols = crate::plot::plot_width(width);
        // header, tab bar, status line, table header, footer (+ banner / detail)
        self.page_rows = usize::from(height).saturating_sub(8).max(1);
    }
}

/// Keys understood by the views (own enum: no crossterm dependency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Left,
    Right,
    /// Shift-← (pans the trend even while its cursor is on).
    ShiftLeft,
    /// Shift-→.
    ShiftRight,
    Backspace,
    CtrlC,
}

/// What the caller must do after a key; pure UI changes return `None`.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Leave the terminal session.
    Quit,
    /// Load the trend of `tag` (the UI already switched to the Trend screen).
    OpenTrend { tag: String },
    /// Halve (`in_: true`) or double the trend time span.
    TrendZoom { in_: bool },
    /// Move the trend window by `steps` tenths of its span (negative = back in time).
    TrendPan { steps: i32 },
    /// Add `tag` to the tags drawn on the trend (already in [`UiState::trend_tags`]).
    AddToTrend { tag: String },
    /// Drop every trend tag but the main one.
    ClearTrendExtras,
    /// Acknowledge one alarm (confirmed in a popup).
    AckAlarm { id: u64 },
    /// Acknowledge these alarms: the unacknowledged ones of the current view.
    AckAllVisible { ids: Vec<u64> },
    /// Shelve an alarm for `minutes` with a mandatory reason.
    ShelveAlarm { id: u64, reason: String, minutes: u32 },
    /// Return a shelved alarm to service.
    UnshelveAlarm { id: u64 },
    /// Take an alarm out of service (`on: true`) or return it; reason mandatory.
    SetOutOfService { id: u64, on: bool, reason: String },
    /// Approve a recommendation (the caller then asks for the signer's secret).
    Approve { id: u64 },
    /// Reject a recommendation with a mandatory reason.
    Reject { id: u64, reason: String },
    /// Unlock the idle-locked terminal (the caller then asks for the user's secret).
    Unlock,
    /// Ask for a revert of a written change whose effect was off (a new request,
    /// approved like any write).
    Revert { id: u64 },
    /// Record a maintenance event on an asset (confirmed in the maintenance form).
    RecordMaintenance { asset: String, kind: MaintenanceKind, part: String, note: String },
    /// Ask the twin what the loop's KPI would do if the setpoint `tag` went to `value`
    /// (the caller shows the answer with [`UiState::what_if`]). Changes nothing.
    WhatIf { tag: String, value: f64 },
    /// Ask for a write of `value` to `tag` (from the what-if popup): a pending request,
    /// approved and audited like any write.
    RequestWrite { tag: String, value: f64 },
}

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

/// Tags matching the filter, in display order (sort key, then name). The
/// Tags selection `ui.selected` indexes this list.
pub fn visible_tags<'a>(snapshot: &'a Snapshot, ui: &UiState) -> Vec<&'a TagRow> {
    let needle = ui.filter.trim().to_lowercase();
    let mut v: Vec<&TagRow> = if needle.is_empty() {
        snapshot.tags.iter().collect()
    } else {
        snapshot
            .tags
            .iter()
            .filter(|t| {
                contains_ci(&t.name, &needle) || contains_ci(&t.asset, &needle) || contains_ci(&t.description, &needle)
            })
            .collect()
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
    snapshot
        .devices
        .iter()
        .filter(|d| {
            needle.is_empty()
                || contains_ci(&d.name, &needle)
                || contains_ci(&d.protocol, &needle)
                || contains_ci(&d.endpoint, &needle)
        })
        .collect()
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
        .filter(|a| {
            needle.is_empty()
                || [&a.tag, &a.asset, &a.area, &a.kind, &a.message].iter().any(|f| contains_ci(f, &needle))
        })
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
    let mut v: Vec<&AuditRow> = snapshot
        .audit
        .iter()
        .filter(|r| {
            needle.is_empty()
                || contains_ci(&r.user, &needle)
                || contains_ci(&r.action, &needle)
                || contains_ci(&r.target, &needle)
                || contains_ci(&r.detail, &needle)
        })
        .collect();
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

mod keys;
pub use keys::handle_key;
mod maintenance;

#[cfg(test)]
mod tests;
