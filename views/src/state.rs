//! UI state, keys and actions: everything the views remember between frames,
//! changed only by [`handle_key`] (a pure function, no I/O).

use std::cmp::Ordering;

use crate::model::{AlarmRow, AlarmStateView, AuditRow, DeviceRow, QualityView, RecommendationRow, Snapshot, TagRow};
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
}

impl Modal {
    fn confirm(title: &str, lines: Vec<String>, action: Action) -> Modal {
        Modal { title: title.into(), lines, action, reason: None, duration: None, error: None }
    }
    fn with_reason(mut self) -> Modal {
        self.reason = Some(String::new());
        self
    }

    /// The action Enter would return, or why it is refused.
    pub fn result(&self) -> Result<Action, String> {
        let reason = match &self.reason {
            Some(r) if r.trim().is_empty() => return Err("A reason is required: type it, then Enter.".into()),
            Some(r) => r.trim().to_string(),
            None => String::new(),
        };
        let minutes = SHELVE_MINUTES[self.duration.unwrap_or(0).min(SHELVE_MINUTES.len() - 1)];
        Ok(match &self.action {
            Action::ShelveAlarm { id, .. } => Action::ShelveAlarm { id: *id, reason, minutes },
            Action::SetOutOfService { id, on, .. } => Action::SetOutOfService { id: *id, on: *on, reason },
            Action::Reject { id, .. } => Action::Reject { id: *id, reason },
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
            trend_cols: crate::screens::trend::plot_width(80),
            trend_tags: Vec::new(),
        }
    }
}

impl UiState {
    /// Tells the state the terminal size so PgUp/PgDn move by one table page.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.trend_cols = crate::screens::trend::plot_width(width);
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
#[derive(Debug, Clone, PartialEq, Eq)]
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

fn move_selection(selected: &mut usize, scroll: &mut usize, len: usize, page: usize, key: Key) -> bool {
    let last = len.saturating_sub(1);
    let page = page.max(1);
    let new = match key {
        Key::Up => selected.saturating_sub(1),
        Key::Down => (*selected + 1).min(last),
        Key::PageUp => selected.saturating_sub(page),
        Key::PageDown => (*selected + page).min(last),
        Key::Home => 0,
        Key::End => last,
        _ => return false,
    };
    *selected = new.min(last);
    *scroll = window_start(len, *selected, *scroll, page);
    true
}

fn clamp_selection(ui: &mut UiState, snapshot: &Snapshot) {
    let n = visible_tags(snapshot, ui).len();
    ui.selected = ui.selected.min(n.saturating_sub(1));
    ui.scroll = window_start(n, ui.selected, ui.scroll, ui.page_rows);
    let n = visible_devices(snapshot, ui).len();
    ui.dev_selected = ui.dev_selected.min(n.saturating_sub(1));
    ui.dev_scroll = window_start(n, ui.dev_selected, ui.dev_scroll, ui.page_rows);
    let n = visible_audit(snapshot, ui).len();
    ui.audit_selected = ui.audit_selected.min(n.saturating_sub(1));
    ui.audit_scroll = window_start(n, ui.audit_selected, ui.audit_scroll, ui.page_rows);
}

fn reset_filtered(ui: &mut UiState) {
    ui.selected = 0;
    ui.scroll = 0;
    ui.dev_selected = 0;
    ui.dev_scroll = 0;
    ui.audit_selected = 0;
    ui.audit_scroll = 0;
}

/// Keys while a [`Modal`] is open: text and ←/→ edit it, Enter confirms
/// (only with valid input), Esc cancels, everything else is swallowed.
fn modal_key(ui: &mut UiState, key: Key) -> Option<Action> {
    let m = ui.modal.as_mut()?;
    match key {
        Key::Esc => {
            ui.modal = None;
            ui.notice = Some("Cancelled: nothing was changed.".into());
        }
        Key::Enter => match m.result() {
            Ok(action) => {
                ui.modal = None;
                return Some(action);
            }
            Err(e) => m.error = Some(e),
        },
        Key::Char(c) if !crate::sanitize::is_unsafe(c) => {
            if let Some(r) = m.reason.as_mut()
                && r.chars().count() < MAX_REASON
            {
                r.push(c);
                m.error = None;
            }
        }
        Key::Backspace => {
            if let Some(r) = m.reason.as_mut() {
                r.pop();
            }
        }
        Key::Left | Key::Right => {
            if let Some(d) = m.duration.as_mut() {
                let n = SHELVE_MINUTES.len();
                *d = if key == Key::Right { (*d + 1) % n } else { (*d + n - 1) % n };
            }
        }
        _ => {}
    }
    None
}

fn alarm_title(a: &AlarmRow) -> String {
    format!("{} {} {} {}", a.priority.label(), a.state.label(), a.tag, a.kind)
}

/// Opens the popup for an Alarms key, or sets a notice saying why not.
fn alarm_key(ui: &mut UiState, snapshot: &Snapshot, c: char) {
    let alarms = visible_alarms(snapshot, ui);
    if c == 'A' {
        let ids: Vec<u64> = alarms.iter().filter(|a| a.state.unacked()).map(|a| a.id).collect();
        if ids.is_empty() {
            ui.notice = Some(format!("No unacknowledged alarm in the {} view.", ui.alarm_view.label()));
            return;
        }
        let n = ids.len();
        let mut lines = vec![format!(
            "Acknowledge ALL {n} unacknowledged alarm{} of the {} view?",
            plural(n),
            ui.alarm_view.label()
        )];
        lines.extend(alarms.iter().filter(|a| a.state.unacked()).take(5).map(|a| format!("  {}", alarm_title(a))));
        if n > 5 {
            lines.push(format!("  … and {} more", n - 5));
        }
        ui.modal =
            Some(Modal::confirm(&format!("Acknowledge {n} alarm{}", plural(n)), lines, Action::AckAllVisible { ids }));
        return;
    }
    let Some(a) = alarms.get(ui.alarm_selected.min(alarms.len().saturating_sub(1))) else {
        ui.notice = Some("No alarm selected.".into());
        return;
    };
    let head = vec![alarm_title(a), a.message.clone()];
    let with = |mut v: Vec<String>, more: &[String]| {
        v.extend_from_slice(more);
        v
    };
    ui.modal = match c {
        'a' if !a.state.unacked() => {
            ui.notice = Some("This alarm is already acknowledged.".into());
            None
        }
        'a' => Some(Modal::confirm(
            "Acknowledge alarm",
            with(head, &["Acknowledge this alarm?".into()]),
            Action::AckAlarm { id: a.id },
        )),
        'h' => Some(Modal {
            duration: Some(0),
            ..Modal::confirm(
                "Shelve alarm",
                with(head, &["Shelve this alarm: it is hidden from the Active view until the time runs out.".into()]),
                Action::ShelveAlarm { id: a.id, reason: String::new(), minutes: SHELVE_MINUTES[0] },
            )
            .with_reason()
        }),
        'u' if !a.shelved() => {
            ui.notice = Some("This alarm is not shelved.".into());
            None
        }
        'u' => Some(Modal::confirm(
            "Unshelve alarm",
            with(
                head,
                &[
                    format!("Shelved for: {}", a.shelve_reason.as_deref().unwrap_or("-")),
                    "Return it to the Active view now?".into(),
                ],
            ),
            Action::UnshelveAlarm { id: a.id },
        )),
        'o' => {
            let on = !a.out_of_service;
            let (title, what) = if on {
                ("Take alarm out of service", "Take this alarm OUT OF SERVICE: it will not annunciate until returned.")
            } else {
                ("Return alarm to service", "Return this alarm to service: it annunciates again.")
            };
            Some(
                Modal::confirm(
                    title,
                    with(head, &[what.into()]),
                    Action::SetOutOfService { id: a.id, on, reason: String::new() },
                )
                .with_reason(),
            )
        }
        _ => None,
    };
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Opens the approve / reject popup for the selected recommendation.
fn recommendation_key(ui: &mut UiState, snapshot: &Snapshot, c: char) {
    let recs = visible_recommendations(snapshot, ui);
    let Some(r) = recs.get(ui.rec_selected.min(recs.len().saturating_sub(1))) else {
        ui.notice = Some("No recommendation selected.".into());
        return;
    };
    if c == 'r' {
        if !r.revertable {
            ui.notice = Some("Only a written change whose effect was off offers a revert.".into());
            return;
        }
        let lines = vec![
            format!("Request {}: {} was set to {}", r.id, r.tag, crate::format::value(Some(r.proposed), 3, 12).trim()),
            format!("Status: {}", r.status),
            format!(
                "Revert: {} {} → {} {}",
                crate::format::value(r.current, 3, 12).trim(),
                r.units,
                crate::format::value(r.previous, 3, 12).trim(),
                r.units
            ),
            "Ask for a revert? It is a new request, approved and audited like any write.".into(),
        ];
        ui.modal = Some(Modal::confirm("Revert change", lines, Action::Revert { id: r.id }));
        return;
    }
    if r.status != "pending" {
        ui.notice =
            Some(format!("Only a pending recommendation can be approved or rejected (this one is {}).", r.status));
        return;
    }
    let change = format!(
        "Change: {} {} → {} {}",
        crate::format::value(r.current, 3, 12),
        r.units,
        crate::format::value(Some(r.proposed), 3, 12),
        r.units
    );
    let mut lines = vec![r.title.clone(), format!("Tag: {}   Asset: {}", r.tag, r.asset), change];
    ui.modal = Some(if c == 'y' {
        lines.push(format!("Predicted effect: {}", r.predicted_effect));
        lines.push(format!("Confidence: {}", crate::format::percent(r.confidence)));
        if r.needs_second_approver {
            lines.push(format!(
                "Needs a second approver ({} signature{} so far).",
                r.approvals.len(),
                plural(r.approvals.len())
            ));
        }
        lines.push("Approve? You will be asked for your secret to sign.".into());
        Modal::confirm("Approve recommendation", lines, Action::Approve { id: r.id })
    } else {
        lines.push("Reject this recommendation?".into());
        Modal::confirm("Reject recommendation", lines, Action::Reject { id: r.id, reason: String::new() }).with_reason()
    });
}

/// Applies one key to the UI state and returns what the caller must do.
///
/// Rules: Ctrl-C always quits. A confirm popup ([`UiState::modal`]) swallows
/// every other key: only Enter with valid input returns its action, Esc
/// cancels. The help popup is modal too (any key closes it). While typing a
/// filter, printable keys are text (so `q` does not quit).
pub fn handle_key(ui: &mut UiState, snapshot: &Snapshot, key: Key) -> Option<Action> {
    if key == Key::CtrlC {
        return Some(Action::Quit);
    }
    if ui.locked {
        // a locked terminal answers only to unlock and quit
        return match key {
            Key::Enter => Some(Action::Unlock),
            Key::Char('q') => Some(Action::Quit),
            _ => None,
        };
    }
    if ui.modal.is_some() {
        return modal_key(ui, key);
    }
    ui.notice = None;
    if ui.show_help {
        ui.show_help = false;
        return None;
    }
    if ui.filter_editing {
        match key {
            Key::Char(c) if !c.is_control() => ui.filter.push(c),
            Key::Backspace => {
                ui.filter.pop();
            }
            Key::Enter => ui.filter_editing = false,
            Key::Esc => {
                ui.filter.clear();
                ui.filter_editing = false;
            }
            // navigation still works while typing
            Key::Up | Key::Down | Key::PageUp | Key::PageDown | Key::Home | Key::End => {
                clamp_selection(ui, snapshot);
                return navigate(ui, snapshot, key);
            }
            _ => {}
        }
        reset_filtered(ui);
        return None;
    }
    let n = Screen::ALL.len();
    match key {
        Key::Char('q') => return Some(Action::Quit),
        Key::Char('?') => ui.show_help = true,
        Key::Char(c @ '1'..='7') => ui.screen = Screen::ALL[usize::from(c as u8 - b'1')],
        Key::Tab => ui.screen = Screen::ALL[(ui.screen.index() + 1) % n],
        Key::BackTab => ui.screen = Screen::ALL[(ui.screen.index() + n - 1) % n],
        Key::Char('/') if matches!(ui.screen, Screen::Tags | Screen::Devices | Screen::Audit | Screen::Alarms) => {
            ui.filter_editing = true
        }
        Key::Esc if ui.screen == Screen::Trend => ui.screen = Screen::Tags,
        Key::Esc if !ui.filter.is_empty() => {
            ui.filter.clear();
            reset_filtered(ui);
        }
        Key::Char('s') if ui.screen == Screen::Tags => {
            ui.sort = ui.sort.next();
            ui.selected = 0;
            ui.scroll = 0;
        }
        Key::Char('S') if ui.screen == Screen::Tags => {
            ui.sort_desc = !ui.sort_desc;
            ui.selected = 0;
            ui.scroll = 0;
        }
        Key::Enter if ui.screen == Screen::Tags => {
            let tags = visible_tags(snapshot, ui);
            let tag = tags.get(ui.selected.min(tags.len().saturating_sub(1)))?;
            let tag = tag.name.clone();
            ui.trend_tag = Some(tag.clone());
            // the selected tag becomes the main one; the extras are kept
            let extras: Vec<String> = ui.trend_tags.iter().skip(1).filter(|t| **t != tag).cloned().collect();
            ui.trend_tags = std::iter::once(tag.clone()).chain(extras).take(MAX_TREND_TAGS).collect();
            ui.screen = Screen::Trend;
            return Some(Action::OpenTrend { tag });
        }
        Key::Char('t') if ui.screen == Screen::Tags => {
            let tags = visible_tags(snapshot, ui);
            let tag = tags.get(ui.selected.min(tags.len().saturating_sub(1)))?.name.clone();
            if ui.trend_tags.contains(&tag) {
                ui.notice = Some(format!("{tag} is already on the trend."));
            } else if ui.trend_tags.len() >= MAX_TREND_TAGS {
                ui.notice = Some(format!("A trend shows at most {MAX_TREND_TAGS} tags: T clears the extras."));
            } else {
                if ui.trend_tags.is_empty()
                    && let Some(main) = &ui.trend_tag
                    && *main != tag
                {
                    ui.trend_tags.push(main.clone());
                }
                ui.trend_tags.push(tag.clone());
                if ui.trend_tag.is_none() {
                    ui.trend_tag = Some(tag.clone());
                }
                ui.notice = Some(format!("{tag} added to the trend ({}/{MAX_TREND_TAGS}).", ui.trend_tags.len()));
                return Some(Action::AddToTrend { tag });
            }
        }
        Key::Char('T') if ui.screen == Screen::Tags => {
            ui.trend_tags.truncate(1);
            ui.notice = Some("Extra trend tags cleared.".into());
            return Some(Action::ClearTrendExtras);
        }
        Key::Char('c') if ui.screen == Screen::Trend => {
            let last = ui.trend_cols.saturating_sub(1);
            ui.trend_cursor = match ui.trend_cursor {
                Some(_) => None,
                None => Some(last),
            };
        }
        Key::Left if ui.screen == Screen::Trend && ui.trend_cursor.is_some() => {
            let last = ui.trend_cols.saturating_sub(1);
            ui.trend_cursor = ui.trend_cursor.map(|c| c.min(last).saturating_sub(1));
        }
        Key::Right if ui.screen == Screen::Trend && ui.trend_cursor.is_some() => {
            let last = ui.trend_cols.saturating_sub(1);
            ui.trend_cursor = ui.trend_cursor.map(|c| (c + 1).min(last));
        }
        Key::Home if ui.screen == Screen::Trend && ui.trend_cursor.is_some() => ui.trend_cursor = Some(0),
        Key::End if ui.screen == Screen::Trend && ui.trend_cursor.is_some() => {
            ui.trend_cursor = Some(ui.trend_cols.saturating_sub(1))
        }
        Key::Char('+') | Key::Char('=') if ui.screen == Screen::Trend => return Some(Action::TrendZoom { in_: true }),
        Key::Char('-') if ui.screen == Screen::Trend => return Some(Action::TrendZoom { in_: false }),
        Key::Left | Key::ShiftLeft if ui.screen == Screen::Trend => return Some(Action::TrendPan { steps: -1 }),
        Key::Right | Key::ShiftRight if ui.screen == Screen::Trend => return Some(Action::TrendPan { steps: 1 }),
        Key::PageUp if ui.screen == Screen::Trend => return Some(Action::TrendPan { steps: -10 }),
        Key::PageDown if ui.screen == Screen::Trend => return Some(Action::TrendPan { steps: 10 }),
        Key::Char('v') if ui.screen == Screen::Alarms => {
            ui.alarm_view = ui.alarm_view.next();
            ui.alarm_selected = 0;
            ui.alarm_scroll = 0;
        }
        Key::Char(c @ ('a' | 'A' | 'h' | 'u' | 'o')) if ui.screen == Screen::Alarms => alarm_key(ui, snapshot, c),
        Key::Char(c @ ('y' | 'n' | 'r')) if ui.screen == Screen::Recommendations => recommendation_key(ui, snapshot, c),
        _ => return navigate(ui, snapshot, key),
    }
    None
}

fn navigate(ui: &mut UiState, snapshot: &Snapshot, key: Key) -> Option<Action> {
    let page = ui.page_rows;
    match ui.screen {
        Screen::Tags => {
            let n = visible_tags(snapshot, ui).len();
            move_selection(&mut ui.selected, &mut ui.scroll, n, page, key);
        }
        Screen::Devices => {
            let n = visible_devices(snapshot, ui).len();
            move_selection(&mut ui.dev_selected, &mut ui.dev_scroll, n, page, key);
        }
        Screen::Overview => {
            let n = crate::screens::overview::tree_lines(&snapshot.assets).len();
            let mut sel = ui.overview_scroll;
            let mut scroll = 0;
            // the Overview has no selection: the keys scroll the asset tree
            move_selection(&mut sel, &mut scroll, n, page, key);
            ui.overview_scroll = if key == Key::End { n.saturating_sub(page) } else { sel.min(n.saturating_sub(page)) };
        }
        Screen::Alarms => {
            let n = visible_alarms(snapshot, ui).len();
            move_selection(&mut ui.alarm_selected, &mut ui.alarm_scroll, n, page, key);
        }
        Screen::Recommendations => {
            let n = visible_recommendations(snapshot, ui).len();
            move_selection(&mut ui.rec_selected, &mut ui.rec_scroll, n, page, key);
        }
        Screen::Audit => {
            let n = visible_audit(snapshot, ui).len();
            move_selection(&mut ui.audit_selected, &mut ui.audit_scroll, n, page, key);
        }
        Screen::Trend => {}
    }
    None
}

#[cfg(test)]
mod tests;
