//! The Alarms screen's History pane: one page of the alarm journal (newest first), the
//! search that chose it, the page number and whether more follow, and the selected
//! change in full. The page is what the daemon sent for it: the months behind it stay
//! in the daemon's store.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::alarms::priority_style;
use crate::format;
use crate::sanitize::sanitize;
use crate::state::{HistoryRow, UiState};
use crate::theme::Theme;
use crate::widgets::{CellText, Col, put};

/// Width from which the area and the note get columns.
const WIDE: u16 = 120;

fn columns(wide: bool) -> Vec<Col> {
    let mut c = vec![Col::fixed("Time", 14), Col::fixed("Change", 14), Col::fixed("Pri", 4)];
    if wide {
        c.push(Col::fixed("Area", 12));
    }
    c.extend([Col::name("Alarm", 3), Col::fixed("Kind", 8), Col::right("Value", 9), Col::fixed("User", 8)]);
    if wide {
        c.push(Col::flex("Note", 2));
    }
    c
}

/// `MM-DD HH:MM:SS` of a timestamp.
fn when(ts_ms: i64) -> String {
    let full = format::datetime(ts_ms);
    full.get(5..).map_or(full.clone(), str::to_string)
}

fn change_style(change: &str, t: Theme) -> Style {
    match change {
        "raised" => t.bad(),
        "returned" | "in_service" => t.good(),
        "shelved" | "out_of_service" | "flood_held" => t.warn(),
        _ => t.normal(),
    }
}

fn row(r: &HistoryRow, t: Theme, wide: bool) -> Vec<CellText<'_>> {
    let mut out: Vec<CellText> = vec![
        (Cow::Owned(when(r.ts_ms)), t.normal()),
        (Cow::Borrowed(r.change.as_str()), change_style(&r.change, t)),
        (Cow::Borrowed(r.priority.label()), priority_style(r.priority, t)),
    ];
    if wide {
        out.push((Cow::Borrowed(r.place.area.as_str()), t.dim()));
    }
    out.extend([
        (Cow::Borrowed(r.place.name()), t.normal()),
        (Cow::Borrowed(r.kind.as_str()), t.normal()),
        (Cow::Owned(format::value(r.value, 2, 9)), t.normal()),
        (Cow::Borrowed(if r.user.is_empty() { "-" } else { r.user.as_str() }), t.dim()),
    ]);
    if wide {
        out.push((Cow::Borrowed(r.note.as_str()), t.dim()));
    }
    out
}

/// The selected change in full, one line.
pub fn detail_line(r: &HistoryRow) -> String {
    let mut s = format!(
        "{} UTC  {} {} {} {}",
        format::datetime(r.ts_ms),
        r.priority.label(),
        sanitize(r.place.name()),
        sanitize(&r.kind),
        sanitize(&r.change)
    );
    if r.value.is_some() {
        s.push_str(&format!("  value {}", format::value(r.value, 3, 12).trim()));
    }
    if !r.place.area.is_empty() {
        s.push_str(&format!("  position {}", sanitize(&r.place.area)));
    }
    if !r.user.is_empty() {
        s.push_str(&format!("  by {}", sanitize(&r.user)));
    }
    if !r.note.is_empty() {
        s.push_str(&format!("  {}", sanitize(&r.note)));
    }
    s
}

/// Renders the History pane into `area`.
pub fn render(ui: &UiState, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let t = ui.theme;
    let log = &ui.alarm_log;
    let line = |i: u16| Rect::new(area.x, area.y + i, area.width, 1);
    let more = match &log.page {
        Some(p) if p.next.is_some() => "  more: PgDn",
        Some(_) => "  last page",
        None => "",
    };
    let page = format!(" History (newest first)  page {}{more}", log.page_no());
    let search = if log.editing {
        format!("  search: {}█", log.search)
    } else if log.search.is_empty() {
        "  / search".to_string()
    } else {
        format!("  search: {}", log.search)
    };
    super::render_status(&[(&page, t.header()), (&search, t.key())], line(0), buf);
    if area.height < 2 {
        return;
    }
    let hint = if log.editing {
        " tag:NAME asset:NAME area:NAME prio:high state:raised since:7d until:1d, other words anywhere; Enter asks"
    } else {
        " since:7d by default; v or Esc: live alarms, K: figures"
    };
    match &log.error {
        Some(e) => put(buf, area.x, area.y + 1, area.width, &format!(" ! {e}"), t.warn(), false),
        None => put(buf, area.x, area.y + 1, area.width, hint, t.dim(), false),
    }
    let rest = Rect::new(area.x, area.y + 2, area.width, area.height.saturating_sub(2));
    let Some(p) = &log.page else {
        super::render_empty("Asking the daemon for the journal…", rest, t, buf);
        return;
    };
    if p.rows.is_empty() {
        let msg = if p.next.is_some() {
            "Nothing matches in this stretch of the journal: PgDn searches further back."
        } else {
            "No alarm state change matches (/ searches; since:30d looks further back)."
        };
        super::render_empty(msg, rest, t, buf);
        return;
    }
    let detail_h = if rest.height >= 10 { 2 } else { 0 };
    let wide = area.width >= WIDE;
    let selected = log.selected.min(p.rows.len() - 1);
    let cols = columns(wide);
    if let Some(d) = super::render_list(buf, rest, detail_h, &cols, &p.rows, selected, 0, t, |r| row(r, t, wide)) {
        put(buf, d.x, d.y, d.width, &"─".repeat(usize::from(d.width)), t.dim(), false);
        put(buf, d.x + 1, d.y + 1, d.width.saturating_sub(1), &detail_line(&p.rows[selected]), t.normal(), false);
    }
}
