//! The whole terminal screen: header (with the unacknowledged alarm count),
//! tab bar, optional DISCONNECTED banner, the body of the current [`Screen`],
//! a footer with the main keys (or a one-shot notice), and the help or
//! confirm popup on top when open.

pub mod alarm_history;
pub mod alarm_kpi;
pub mod alarms;
pub mod audit;
pub mod confirm;
pub mod devices;
pub mod help;
pub mod lock;
pub mod overview;
pub mod recommendations;
pub mod tags;
pub mod trend;
pub mod whatif;

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

use crate::format;
use crate::model::{Snapshot, TrendData};
use crate::state::{AlarmPane, Screen, UiState, unacked_alarms, window_start};
use crate::theme::Theme;
use crate::widgets::{CellText, Col, draw_table, put, width};

/// The complete screen as a view model; render it by reference.
#[derive(Debug, Clone, Copy)]
pub struct App<'a> {
    pub snapshot: &'a Snapshot,
    pub trend: Option<&'a TrendData>,
    pub ui: &'a UiState,
}

/// Draws the whole screen for one frame.
pub fn draw(frame: &mut Frame, snapshot: &Snapshot, trend: Option<&TrendData>, ui: &UiState) {
    frame.render_widget(&App { snapshot, trend, ui }, frame.area());
}

impl Widget for &App<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (s, ui, t) = (self.snapshot, self.ui, ui_theme(self.ui));
        if area.height < 4 || area.width < 20 {
            put(buf, area.x, area.y, area.width, "mimic: terminal too small", t.bad(), false);
            return;
        }
        let mut y = area.y;
        render_header(s, t, Rect::new(area.x, y, area.width, 1), buf);
        y += 1;
        if ui.locked {
            lock::render(s, ui, Rect::new(area.x, y, area.width, area.height - 1), buf);
            return;
        }
        render_tabs(ui, t, Rect::new(area.x, y, area.width, 1), buf);
        y += 1;
        if !s.connected {
            render_banner(t, Rect::new(area.x, y, area.width, 1), buf);
            y += 1;
        }
        let footer = Rect::new(area.x, area.bottom() - 1, area.width, 1);
        let body = Rect::new(area.x, y, area.width, footer.y.saturating_sub(y));
        match ui.screen {
            Screen::Overview => overview::render(s, ui, body, buf),
            Screen::Tags => tags::render(s, ui, body, buf),
            Screen::Trend => trend::render(self.trend, s, ui, body, buf),
            Screen::Alarms => match ui.alarm_log.pane {
                AlarmPane::Live => alarms::render(s, ui, body, buf),
                AlarmPane::History => alarm_history::render(ui, body, buf),
                AlarmPane::Kpi => alarm_kpi::render(ui, body, buf),
            },
            Screen::Recommendations => recommendations::render(s, ui, body, buf),
            Screen::Devices => devices::render(s, ui, body, buf),
            Screen::Audit => audit::render(s, ui, body, buf),
        }
        render_footer(ui, t, footer, buf);
        if let Some(m) = &ui.modal {
            confirm::render(m, t, area, buf);
        } else if let Some(w) = &ui.what_if {
            whatif::render(w, t, area, buf);
        } else if ui.show_help {
            help::render(ui, area, buf);
        }
    }
}

fn ui_theme(ui: &UiState) -> Theme {
    ui.theme
}

/// Alarm indicator of the header: `▲ 3 UNACK CRIT` or `no unack alarm`.
pub fn alarm_indicator(s: &Snapshot) -> String {
    match unacked_alarms(s) {
        (0, _) | (_, None) => "no unack alarm".to_string(),
        (n, Some(p)) => format!("▲ {n} UNACK {}", p.label()),
    }
}

fn render_header(s: &Snapshot, t: Theme, area: Rect, buf: &mut Buffer) {
    buf.set_style(area, t.title());
    let link = if s.connected { "LINK OK" } else { "LINK DOWN" };
    let right = format!("{} UTC  {}  {} ", format::clock(s.now_ms), s.user, link);
    let right = crate::sanitize(&right).into_owned();
    let rw = (width(&right) as u16).min(area.width / 2);
    // left: name, then the alarm indicator (never cut before the site name), then the site
    let left_w = area.width.saturating_sub(rw + 1);
    let mut x = area.x;
    let mut seg = |text: &str, style: Style, x: &mut u16| {
        let w = (width(text) as u16).min((area.x + left_w).saturating_sub(*x));
        put(buf, *x, area.y, w, text, style, false);
        *x += w;
    };
    seg(" mimic │ ", t.title(), &mut x);
    let alm = alarm_indicator(s);
    let alm_style = match unacked_alarms(s) {
        (n, Some(p)) if n > 0 && p >= crate::model::Priority::High => t.alarm(),
        (n, _) if n > 0 => t.title().patch(t.warn()),
        _ => t.title(),
    };
    seg(&alm, alm_style, &mut x);
    seg(&format!(" │ {}", s.site), t.title(), &mut x);
    put(buf, area.right() - rw, area.y, rw, &right, t.title(), true);
    if !s.connected {
        let lw = link.len() as u16 + 1;
        if rw > lw {
            buf.set_style(Rect::new(area.right() - lw, area.y, lw - 1, 1), t.alarm());
        }
    }
}

fn render_tabs(ui: &UiState, t: Theme, area: Rect, buf: &mut Buffer) {
    let mut x = area.x;
    for (i, sc) in Screen::ALL.iter().enumerate() {
        let active = *sc == ui.screen;
        let label = if active { format!("[{} {}]", i + 1, sc.title()) } else { format!(" {} {} ", i + 1, sc.title()) };
        let w = (label.len() as u16).min(area.right().saturating_sub(x));
        put(buf, x, area.y, w, &label, if active { t.tab_active() } else { t.normal() }, false);
        x = x.saturating_add(w);
    }
}

fn render_banner(t: Theme, area: Rect, buf: &mut Buffer) {
    buf.set_style(area, t.alarm());
    let text = "!! DISCONNECTED from mimic daemon: data NOT live, last values shown !!";
    let w = (width(text) as u16).min(area.width);
    put(buf, area.x + (area.width - w) / 2, area.y, w, text, t.alarm(), false);
}

/// The most useful keys of each screen (the help lists all of them).
fn footer_keys(ui: &UiState) -> &'static [(&'static str, &'static str)] {
    if ui.modal.is_some() {
        return &[("Enter", "confirm"), ("Esc", "cancel"), ("Ctrl-C", "quit")];
    }
    if ui.what_if.is_some() {
        return &[("Enter", "ask for approval"), ("Esc", "close"), ("Ctrl-C", "quit")];
    }
    if ui.filter_editing || ui.alarm_log.editing {
        return &[("Enter", "keep filter"), ("Esc", "clear filter"), ("↑↓", "select"), ("Ctrl-C", "quit")];
    }
    match (ui.screen, ui.alarm_log.pane) {
        (Screen::Alarms, AlarmPane::History) => {
            return &[("PgDn/PgUp", "page"), ("/", "search"), ("Home", "newest"), ("K", "figures"), ("v", "live")];
        }
        (Screen::Alarms, AlarmPane::Kpi) => {
            return &[
                ("←→", "period"),
                ("↑↓", "position"),
                ("r", "refresh"),
                ("H", "history"),
                ("v", "live"),
                ("q", "quit"),
            ];
        }
        _ => {}
    }
    match ui.screen {
        Screen::Overview => &[("1-7", "screens"), ("↑↓", "scroll"), ("?", "help"), ("q", "quit")],
        Screen::Tags => &[
            ("↑↓", "select"),
            ("Enter", "trend"),
            ("t/T", "add/clear"),
            ("/", "filter"),
            ("s/S", "sort"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Screen::Trend => {
            &[("+/-", "zoom"), ("←→", "pan"), ("c", "cursor"), ("Esc", "back"), ("?", "help"), ("q", "quit")]
        }
        Screen::Alarms => &[
            ("↑↓", "select"),
            ("a", "ack"),
            ("h", "shelve"),
            ("v", "view"),
            ("H/K", "history/KPI"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Screen::Recommendations => {
            &[("↑↓", "select"), ("y", "approve"), ("n", "reject"), ("r", "revert"), ("?", "help"), ("q", "quit")]
        }
        Screen::Devices | Screen::Audit => &[("↑↓", "select"), ("/", "filter"), ("?", "help"), ("q", "quit")],
    }
}

fn render_footer(ui: &UiState, t: Theme, area: Rect, buf: &mut Buffer) {
    if let Some(n) = ui.notice.as_deref().filter(|_| ui.modal.is_none()) {
        put(buf, area.x + 1, area.y, area.width.saturating_sub(1), &format!("! {n}"), t.warn(), false);
        return;
    }
    let mut x = area.x + 1;
    for (k, what) in footer_keys(ui) {
        let need = (width(k) + 1 + width(what) + 2) as u16;
        if x + need > area.right() {
            break;
        }
        put(buf, x, area.y, width(k) as u16, k, t.key(), false);
        x += width(k) as u16 + 1;
        put(buf, x, area.y, width(what) as u16, what, t.dim(), false);
        x += width(what) as u16 + 2;
    }
}

/// What a list screen says when it has no row to show: `msg`, dim, one line below the
/// top of `area` (on the top line when there is only one). Shared by the list screens.
pub(crate) fn render_empty(msg: &str, area: Rect, t: Theme, buf: &mut Buffer) {
    put(
        buf,
        area.x + 1,
        area.y + 1.min(area.height.saturating_sub(1)),
        area.width.saturating_sub(1),
        msg,
        t.dim(),
        false,
    );
}

/// What a filtered list screen says when no row is left: `none` when it has no row at
/// all, else that no `row` matches the filter and how to clear it.
pub(crate) fn render_unmatched(none: &str, row: &str, no_rows_at_all: bool, area: Rect, t: Theme, buf: &mut Buffer) {
    let msg = if no_rows_at_all { none.to_string() } else { format!("No {row} matches the filter (Esc clears it).") };
    render_empty(&msg, area, t, buf);
}

/// A list screen's body in `area`: its table (header first) over all but the bottom
/// `detail_h` rows, showing the rows around `selected`, scrolled from the `scroll` hint so
/// that it is visible, and only those formatted; then the area left below for the
/// selected row's details (none when `detail_h` is 0). Shared by the list screens.
#[allow(clippy::too_many_arguments)]
pub(crate) fn render_list<'a, T>(
    buf: &mut Buffer,
    area: Rect,
    detail_h: u16,
    cols: &[Col],
    items: &'a [T],
    selected: usize,
    scroll: usize,
    t: Theme,
    row: impl Fn(&'a T) -> Vec<CellText<'a>>,
) -> Option<Rect> {
    let table = Rect::new(area.x, area.y, area.width, area.height.saturating_sub(detail_h));
    let rows_h = usize::from(table.height.saturating_sub(1));
    let start = window_start(items.len(), selected, scroll, rows_h);
    let rows: Vec<_> = items[start..].iter().take(rows_h).map(&row).collect();
    draw_table(buf, table, cols, t.header(), &rows, Some(selected - start), t.selected());
    (detail_h > 0).then(|| Rect::new(area.x, table.bottom(), area.width, detail_h))
}

/// How many rows a list screen shows, as its status line starts: ` 12 devices`, or
/// ` 3/12 devices` while a filter is set.
pub(crate) fn count_label(ui: &UiState, shown: usize, all: usize, what: &str) -> String {
    if ui.filter.is_empty() { format!(" {shown} {what}") } else { format!(" {shown}/{all} {what}") }
}

/// The filter as a list screen's status line shows it: with a cursor while it is typed,
/// nothing when there is none.
pub(crate) fn filter_label(ui: &UiState) -> String {
    if ui.filter_editing {
        format!("  filter: {}█", ui.filter)
    } else if !ui.filter.is_empty() {
        format!("  filter: {}", ui.filter)
    } else {
        String::new()
    }
}

/// A one-line status: counts, filter, sort. Shared by the list screens.
pub(crate) fn render_status(spans: &[(&str, Style)], area: Rect, buf: &mut Buffer) {
    let mut x = area.x;
    for (text, style) in spans {
        let w = (width(text) as u16).min(area.right().saturating_sub(x));
        put(buf, x, area.y, w, text, *style, false);
        x += w;
    }
}
