//! The Audit screen: the most recent audit-trail entries, newest first,
//! filterable with `/` (user, action, target, detail); the selected entry's
//! full detail below the table.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use crate::format;
use crate::model::{AuditRow, Snapshot};
use crate::sanitize::sanitize;
use crate::state::{UiState, visible_audit};
use crate::theme::Theme;
use crate::widgets::{CellText, Col};

/// Width from which full dates and the meaning column are shown.
pub const WIDE: u16 = 120;

fn columns(width: u16) -> Vec<Col> {
    let wide = width >= WIDE;
    let (seq, user, action, detail) = if wide { (8, 16, 16, 4) } else { (6, 10, 12, 3) };
    let time = if wide { Col::fixed("Time (UTC)", 19) } else { Col::fixed("Time", 8) };
    let mut c = vec![
        Col::right("Seq", seq),
        time,
        Col::fixed("User", user),
        Col::fixed("Action", action),
        Col::name("Target", 2),
    ];
    if wide {
        c.push(Col::fixed("Meaning", 12));
    }
    c.push(Col::flex("Detail", detail));
    c
}

fn row(r: &AuditRow, t: Theme, wide: bool) -> Vec<CellText<'_>> {
    let time = if wide { format::datetime(r.ts_ms) } else { format::clock(r.ts_ms) };
    let mut c: Vec<CellText> = vec![
        (Cow::Owned(r.seq.to_string()), t.dim()),
        (Cow::Owned(time), t.normal()),
        (Cow::Borrowed(r.user.as_str()), t.normal()),
        (Cow::Borrowed(r.action.as_str()), t.key()),
        (Cow::Borrowed(r.target.as_str()), t.normal()),
    ];
    if wide {
        c.push((Cow::Borrowed(r.meaning.as_str()), t.normal()));
    }
    c.push((Cow::Borrowed(r.detail.as_str()), t.dim()));
    c
}

/// Renders the Audit body into `area`.
pub fn render(snapshot: &Snapshot, ui: &UiState, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let t = ui.theme;
    let rows_all = visible_audit(snapshot, ui);
    let count = super::count_label(ui, rows_all.len(), snapshot.audit.len(), "entries, newest first");
    let filter = super::filter_label(ui);
    super::render_status(&[(&count, t.normal()), (&filter, t.key())], Rect::new(area.x, area.y, area.width, 1), buf);
    let rest = Rect::new(area.x, area.y + 1, area.width, area.height - 1);
    if rows_all.is_empty() {
        super::render_unmatched("No audit entries.", "audit entry", snapshot.audit.is_empty(), rest, t, buf);
        return;
    }
    let detail_h = if rest.height >= 12 { 4 } else { 0 };
    let selected = ui.audit_selected.min(rows_all.len() - 1);
    let wide = area.width >= WIDE;
    let cols = columns(area.width);
    let scroll = ui.audit_scroll;
    let detail = super::render_list(buf, rest, detail_h, &cols, &rows_all, selected, scroll, t, |r| row(r, t, wide));
    if let Some(d) = detail {
        let r = rows_all[selected];
        let head = format!(
            "#{} {} UTC  {}  {}  {}{}",
            r.seq,
            format::datetime(r.ts_ms),
            sanitize(&r.user),
            sanitize(&r.action),
            sanitize(&r.target),
            if r.meaning.is_empty() { String::new() } else { format!("  meaning: {}", sanitize(&r.meaning)) }
        );
        let block = Block::new().borders(Borders::TOP).border_style(t.dim()).title(" Selected entry ");
        Paragraph::new(vec![Line::styled(head, t.normal()), Line::styled(sanitize(&r.detail).into_owned(), t.dim())])
            .block(block)
            .wrap(Wrap { trim: false })
            .render(d, buf);
    }
}
