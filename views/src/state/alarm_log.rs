//! The Alarms screen's past: the **History** pane (the alarm journal, one page at a time,
//! searched and filtered) and the **KPI** pane (ISA-18.2 figures of a period beside their
//! targets, for the site or one operator position). `H` and `K` open them, `v` or Esc goes
//! back to the live alarms.
//!
//! The terminal never holds the journal: each page is asked of the daemon
//! ([`Action::AlarmHistory`]) with the filter as typed and where the page starts, and what
//! comes back is put in [`AlarmLog::page`]; the figures likewise ([`Action::AlarmKpis`],
//! [`AlarmLog::kpi`]). Going back a page asks again from the start remembered for it.

use super::*;
use crate::model::{AlarmPlace, Priority};

/// Which part of the Alarms screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlarmPane {
    /// The live alarm table (its views cycled with `v`).
    #[default]
    Live,
    History,
    Kpi,
}

/// Where a page of the journal starts: the (time, sequence) of the record before it.
pub type PageStart = Option<(i64, u64)>;

/// One past alarm state change, as the History pane shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryRow {
    pub ts_ms: i64,
    /// Its tag, asset and area; its kind (`HI`, `MODEL anomaly`).
    pub place: AlarmPlace,
    pub kind: String,
    pub priority: Priority,
    /// `raised`, `acknowledged`, `shelved`, …
    pub change: String,
    pub value: Option<f64>,
    pub user: String,
    pub note: String,
}

/// A page of the journal as received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryPage {
    pub rows: Vec<HistoryRow>,
    /// Where the next page starts (none: this is the last one).
    pub next: PageStart,
}

/// One figure of the KPI pane beside its target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KpiFigure {
    pub name: String,
    pub text: String,
    pub target: String,
    /// `acceptable`, `manageable`, `over target`, or empty (for information).
    pub verdict: String,
}

/// The figures of one scope: the site, or one operator position.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KpiScope {
    /// `site`, or the position's (area's) name.
    pub name: String,
    pub raised: u64,
    pub figures: Vec<KpiFigure>,
    /// Annunciations by priority, indexed by [`Priority::index`].
    pub by_priority: [u64; 4],
}

/// The alarm-system figures of a period, as the KPI pane shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KpiView {
    pub from_ms: i64,
    pub to_ms: i64,
    /// The site first, then each operator position (↑/↓ choose).
    pub scopes: Vec<KpiScope>,
    /// The site's annunciations per 10 minutes and per hour over the period, oldest first.
    pub per_10min: Vec<u64>,
    pub per_hour: Vec<u64>,
    /// The site's most frequent alarms and their counts.
    pub top: Vec<(String, u64)>,
}

/// Periods the KPI pane offers (←/→ choose), with their labels.
pub const KPI_SPANS: [(&str, i64); 4] =
    [("1 h", 3_600_000), ("24 h", 86_400_000), ("7 d", 7 * 86_400_000), ("30 d", 30 * 86_400_000)];

/// Longest History search, in characters.
pub const MAX_SEARCH: usize = 200;

/// Most rows of one History page.
pub const MAX_HISTORY_ROWS: u32 = 200;

/// What the Alarms screen remembers of the past it shows.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmLog {
    pub pane: AlarmPane,
    /// The History search as typed: `tag:… asset:… area:… prio:… state:… since:7d until:1d` and words.
    pub search: String,
    pub editing: bool,
    /// Start of each page up to the one shown (the first page's is `None`).
    pub starts: Vec<PageStart>,
    pub page: Option<HistoryPage>,
    /// Selected row of the page.
    pub selected: usize,
    /// Index into [`KPI_SPANS`].
    pub kpi_span: usize,
    /// Index into the figures' [`KpiView::scopes`].
    pub kpi_scope: usize,
    pub kpi: Option<KpiView>,
    /// Why the last request was refused (shown in the pane until the next answer).
    pub error: Option<String>,
}

impl Default for AlarmLog {
    fn default() -> Self {
        AlarmLog {
            pane: AlarmPane::Live,
            search: String::new(),
            editing: false,
            starts: vec![None],
            page: None,
            selected: 0,
            kpi_span: 1,
            kpi_scope: 0,
            kpi: None,
            error: None,
        }
    }
}

impl AlarmLog {
    /// Page number shown, from 1.
    pub fn page_no(&self) -> usize {
        self.starts.len().max(1)
    }

    /// The scope of the figures shown (the site's when there are figures).
    pub fn scope(&self) -> Option<&KpiScope> {
        let scopes = &self.kpi.as_ref()?.scopes;
        scopes.get(self.kpi_scope.min(scopes.len().saturating_sub(1)))
    }

    /// The KPI period's label and length.
    pub fn span(&self) -> (&'static str, i64) {
        KPI_SPANS[self.kpi_span.min(KPI_SPANS.len() - 1)]
    }

    /// Takes in a page: the selection stays on the page.
    pub fn show_page(&mut self, page: HistoryPage) {
        self.selected = self.selected.min(page.rows.len().saturating_sub(1));
        self.page = Some(page);
        self.error = None;
    }

    pub fn show_kpi(&mut self, kpi: KpiView) {
        self.kpi_scope = self.kpi_scope.min(kpi.scopes.len().saturating_sub(1));
        self.kpi = Some(kpi);
        self.error = None;
    }
}

/// Rows of a History page for a terminal of `page_rows` table rows.
fn rows(ui: &UiState) -> u32 {
    u32::try_from(ui.page_rows).unwrap_or(MAX_HISTORY_ROWS).clamp(1, MAX_HISTORY_ROWS)
}

/// The request of the page that starts at the last of [`AlarmLog::starts`].
fn ask_page(ui: &UiState) -> Action {
    let log = &ui.alarm_log;
    Action::AlarmHistory { search: log.search.clone(), after: log.starts.last().copied().flatten(), rows: rows(ui) }
}

fn ask_kpis(log: &AlarmLog) -> Action {
    Action::AlarmKpis { span_ms: log.span().1 }
}

/// Keys of the Alarms screen's History and KPI panes (`None`: not one of theirs, the
/// live Alarms keys apply).
pub(super) fn key(ui: &mut UiState, key: Key) -> Option<Option<Action>> {
    if ui.alarm_log.editing {
        return Some(search_key(ui, key));
    }
    let log = &mut ui.alarm_log;
    match (log.pane, key) {
        (_, Key::Char('H')) => {
            log.pane = AlarmPane::History;
            log.starts = vec![None];
            log.selected = 0;
            Some(Some(ask_page(ui)))
        }
        (_, Key::Char('K')) => {
            log.pane = AlarmPane::Kpi;
            Some(Some(ask_kpis(log)))
        }
        (AlarmPane::Live, _) => None,
        (_, Key::Esc | Key::Char('v')) => {
            log.pane = AlarmPane::Live;
            log.error = None;
            Some(None)
        }
        (AlarmPane::History, _) => history_key(ui, key),
        (AlarmPane::Kpi, Key::Left | Key::Char('[')) => {
            log.kpi_span = log.kpi_span.saturating_sub(1);
            Some(Some(ask_kpis(log)))
        }
        (AlarmPane::Kpi, Key::Right | Key::Char(']')) => {
            log.kpi_span = (log.kpi_span + 1).min(KPI_SPANS.len() - 1);
            Some(Some(ask_kpis(log)))
        }
        (AlarmPane::Kpi, Key::Char('r')) => Some(Some(ask_kpis(log))),
        (AlarmPane::Kpi, Key::Up) => {
            log.kpi_scope = log.kpi_scope.saturating_sub(1);
            Some(None)
        }
        (AlarmPane::Kpi, Key::Down) => {
            let n = log.kpi.as_ref().map_or(1, |k| k.scopes.len().max(1));
            log.kpi_scope = (log.kpi_scope + 1).min(n - 1);
            Some(None)
        }
        // no acts from the figures; the screen keys still work
        (AlarmPane::Kpi, Key::Char('/' | 'a' | 'A' | 'h' | 'u' | 'o')) => Some(None),
        (AlarmPane::Kpi, _) => None,
    }
}

fn history_key(ui: &mut UiState, key: Key) -> Option<Option<Action>> {
    let log = &mut ui.alarm_log;
    let len = log.page.as_ref().map_or(0, |p| p.rows.len());
    match key {
        Key::Char('/') => log.editing = true,
        Key::Up => log.selected = log.selected.saturating_sub(1),
        Key::Down => log.selected = (log.selected + 1).min(len.saturating_sub(1)),
        Key::PageDown | Key::Char('n') => match log.page.as_ref().map(|p| p.next) {
            Some(Some(next)) => {
                log.starts.push(Some(next));
                log.selected = 0;
                return Some(Some(ask_page(ui)));
            }
            _ => log.error = Some("This is the last page.".into()),
        },
        Key::PageUp | Key::Char('p') if log.starts.len() > 1 => {
            log.starts.pop();
            log.selected = 0;
            return Some(Some(ask_page(ui)));
        }
        Key::PageUp | Key::Char('p') => log.error = Some("This is the first page.".into()),
        Key::Home => {
            log.starts = vec![None];
            log.selected = 0;
            return Some(Some(ask_page(ui)));
        }
        Key::Char('r') => return Some(Some(ask_page(ui))),
        // acts on live alarms do not apply to the past
        Key::Char('a' | 'A' | 'h' | 'u' | 'o') => {
            log.error = Some("The history is read-only: v goes back to the live alarms.".into())
        }
        // the screen keys (1-7, Tab, ?, q) still work
        _ => return None,
    }
    Some(None)
}

/// Keys while the History search is typed: Enter asks for its first page, Esc clears it.
fn search_key(ui: &mut UiState, key: Key) -> Option<Action> {
    let log = &mut ui.alarm_log;
    match key {
        Key::Char(c) if !crate::sanitize::is_unsafe(c) && log.search.chars().count() < MAX_SEARCH => log.search.push(c),
        Key::Backspace => {
            log.search.pop();
        }
        Key::Enter | Key::Esc => {
            if key == Key::Esc {
                log.search.clear();
            }
            log.editing = false;
            log.starts = vec![None];
            log.selected = 0;
            return Some(ask_page(ui));
        }
        _ => {}
    }
    None
}
