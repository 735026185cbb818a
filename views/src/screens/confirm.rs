//! The confirm-then-act popup of a [`Modal`]: what will happen, the reason
//! and duration fields when the act needs them, why Enter was refused, and
//! the two ways out (Enter confirms, Esc cancels).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use crate::sanitize::sanitize;
use crate::state::{MaintenanceForm, Modal, SHELVE_MINUTES, shelve_label};
use crate::theme::Theme;
use crate::widgets::{put, width};

/// Text of the duration field: the choices with the current one in brackets,
/// e.g. `[15 min]  1 h  8 h  24 h`.
pub fn duration_text(index: usize) -> String {
    SHELVE_MINUTES
        .iter()
        .enumerate()
        .map(|(i, m)| if i == index { format!("[{}]", shelve_label(*m)) } else { format!(" {} ", shelve_label(*m)) })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The maintenance form's fields as (label, value) rows, values sanitised.
pub fn form_fields(f: &MaintenanceForm) -> [(&'static str, String); 4] {
    let asset = f.assets.get(f.asset).map_or_else(|| "-".to_string(), |a| sanitize(a).into_owned());
    [
        ("Asset ←/→: ", format!("[{asset}]")),
        ("Kind  ←/→: ", format!("[{}]", f.kind_name())),
        ("Part/tag:  ", sanitize(&f.part).into_owned()),
        ("Note:      ", sanitize(&f.note).into_owned()),
    ]
}

/// The last `w` cells of `s` (the end of a long reason stays visible while typing).
fn tail(s: &str, w: usize) -> String {
    let mut out: Vec<char> = Vec::new();
    let mut used = 0;
    for c in s.chars().rev() {
        let cw = width(c.encode_utf8(&mut [0; 4]));
        if used + cw > w {
            break;
        }
        used += cw;
        out.push(c);
    }
    out.into_iter().rev().collect()
}

/// Rows `s` takes when word-wrapped greedily at `w` cells (long words are
/// broken), as the popup's paragraph does.
pub fn wrapped_rows(s: &str, w: usize) -> usize {
    let w = w.max(1);
    let mut rows = 1;
    let mut used = 0;
    for word in s.split(' ') {
        let ww = width(word);
        let need = if used == 0 { ww } else { used + 1 + ww };
        if need <= w {
            used = need;
        } else {
            if used > 0 {
                rows += 1;
            }
            used = ww;
            while used > w {
                rows += 1;
                used -= w;
            }
        }
    }
    rows
}

/// Draws the popup centred in `area` (the whole screen).
pub fn render(m: &Modal, t: Theme, area: Rect, buf: &mut Buffer) {
    if area.width < 8 || area.height < 3 {
        return;
    }
    let w = area.width.min(72);
    let inner_w = usize::from(w.saturating_sub(4)).max(1);
    let lines: Vec<String> = m.lines.iter().map(|l| sanitize(l).into_owned()).collect();
    let text_h: usize = lines.iter().map(|l| wrapped_rows(l, inner_w)).sum();
    let form_rows = if m.form.is_some() { MaintenanceForm::FIELDS } else { 0 };
    let fields = usize::from(m.reason.is_some()) + usize::from(m.duration.is_some()) + form_rows;
    let extra = if fields > 0 { fields + 1 } else { 0 } + usize::from(m.error.is_some());
    let h = ((text_h + extra + 2) as u16).min(area.height);
    let popup = Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h);
    Clear.render(popup, buf);
    let title = format!(" {} ", sanitize(&m.title));
    let block =
        Block::bordered().title(title.as_str()).title_bottom(" Enter confirm · Esc cancel ").border_style(t.bad());
    let inner = block.inner(popup);
    block.render(popup, buf);
    if inner.height == 0 || inner.width < 3 {
        return;
    }
    let body = Rect::new(inner.x + 1, inner.y, inner.width - 2, inner.height);
    // fields and the error go at the bottom so they stay visible on small screens
    let mut y = body.bottom();
    if let Some(e) = &m.error {
        y = y.saturating_sub(1).max(body.y);
        put(buf, body.x, y, body.width, &format!("! {e}"), t.bad(), false);
    }
    if let Some(i) = m.duration {
        y = y.saturating_sub(1).max(body.y);
        let label = "Duration ←/→: ";
        put(buf, body.x, y, body.width, label, t.key(), false);
        let lw = width(label) as u16;
        put(buf, body.x + lw.min(body.width), y, body.width.saturating_sub(lw), &duration_text(i), t.normal(), false);
    }
    if let Some(r) = &m.reason {
        y = y.saturating_sub(1).max(body.y);
        let label = if matches!(m.action, crate::state::Action::WhatIf { .. }) { "Value: " } else { "Reason: " };
        let lw = width(label) as u16;
        put(buf, body.x, y, body.width, label, t.key(), false);
        let room = usize::from(body.width.saturating_sub(lw + 1));
        let shown = format!("{}█", tail(&sanitize(r), room));
        put(buf, body.x + lw.min(body.width), y, body.width.saturating_sub(lw), &shown, t.normal(), false);
    }
    if let Some(f) = &m.form {
        for (i, (label, value)) in form_fields(f).into_iter().enumerate().rev() {
            y = y.saturating_sub(1).max(body.y);
            let focus = i == f.field;
            let label = format!("{}{label}", if focus { "▸ " } else { "  " });
            let lw = width(&label) as u16;
            put(buf, body.x, y, body.width, &label, if focus { t.key() } else { t.dim() }, false);
            let room = usize::from(body.width.saturating_sub(lw + 1));
            let shown = if focus && i >= 2 { format!("{}█", tail(&value, room)) } else { tail(&value, room) };
            put(buf, body.x + lw.min(body.width), y, body.width.saturating_sub(lw), &shown, t.normal(), false);
        }
    }
    if fields > 0 {
        y = y.saturating_sub(1).max(body.y);
    }
    let text_area = Rect::new(body.x, body.y, body.width, y - body.y);
    let text: Vec<Line> = lines.into_iter().map(|l| Line::styled(l, t.normal())).collect();
    Paragraph::new(text).wrap(Wrap { trim: false }).render(text_area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_mark_the_choice_in_text() {
        assert_eq!(duration_text(1), " 15 min  [1 h]  8 h   24 h ");
    }

    #[test]
    fn wrapping_is_counted_like_the_paragraph() {
        assert_eq!(wrapped_rows("", 10), 1);
        assert_eq!(wrapped_rows("abc def", 7), 1);
        assert_eq!(wrapped_rows("abc defg", 7), 2);
        assert_eq!(wrapped_rows("abcdefghijklmno", 5), 3);
    }

    #[test]
    fn tail_keeps_the_end() {
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("温度計", 4), "度計");
        assert_eq!(tail("ab", 5), "ab");
    }
}
