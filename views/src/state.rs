//! UI state, keys and actions: everything the views remember between frames,
//! changed only by [`handle_key`] (a pure function, no I/O).

use crate::model::{AlarmRow, AlarmStateView, Snapshot, WhatIfView};
use crate::theme::Theme;

/// The seven screens, numbered 1..7 in the tab bar.
/// The daemon is told it as is (`mimic::ipc::ViewScreen`): it sends what the screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// Held back by an alarm flood.
    Flood,
    OutOfService,
    All,
}

impl AlarmView {
    /// Label shown on the filter tab.
    pub fn label(self) -> &'static str {
        match self {
            AlarmView::Active => "Active",
            AlarmView::Shelved => "Shelved",
            AlarmView::Flood => "Flood",
            AlarmView::OutOfService => "Out-of-service",
            AlarmView::All => "All",
        }
    }
    /// All views in `v` order.
    pub const ALL: [AlarmView; 5] =
        [AlarmView::Active, AlarmView::Shelved, AlarmView::Flood, AlarmView::OutOfService, AlarmView::All];

    fn next(self) -> AlarmView {
        let n = AlarmView::ALL.len();
        AlarmView::ALL[(AlarmView::ALL.iter().position(|v| *v == self).unwrap_or(0) + 1) % n]
    }

    /// Whether `a` belongs to this view.
    pub fn contains(self, a: &AlarmRow) -> bool {
        match self {
            AlarmView::Active => a.annunciated() && a.state != AlarmStateView::Normal,
            AlarmView::Shelved => a.shelved(),
            AlarmView::Flood => a.flood_held,
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

/// Sort key of the Tags table, cycled with `s`; ties go by name (descending reverses the
/// whole order). The daemon sorts by it (`mimic::ipc::TagSort`) when it cuts the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// The Alarms screen's History and KPI panes.
    pub alarm_log: AlarmLog,
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
            alarm_log: AlarmLog::default(),
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
    /// Ask for a page of the alarm journal: `rows` records matching `search` (as typed,
    /// see [`AlarmLog::search`]) after `after`, newest first.
    AlarmHistory { search: String, after: PageStart, rows: u32 },
    /// Ask for the alarm-system figures of the last `span_ms`.
    AlarmKpis { span_ms: i64 },
}

mod alarm_log;
pub use alarm_log::{
    AlarmLog, AlarmPane, HistoryPage, HistoryRow, KPI_SPANS, KpiFigure, KpiScope, KpiView, MAX_HISTORY_ROWS,
    MAX_SEARCH, PageStart,
};
mod keys;
pub use keys::handle_key;
mod lists;
pub use lists::{
    TagList, tag_counts, tag_list, unacked_alarms, visible_alarms, visible_audit, visible_devices,
    visible_recommendations, visible_tags, window_start,
};
mod maintenance;
pub use maintenance::{MAINTENANCE_KINDS, MaintenanceForm, MaintenanceKind};

#[cfg(test)]
mod tests;
