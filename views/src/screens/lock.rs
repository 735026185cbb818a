//! The lock screen of an idle terminal: process values are hidden until the user
//! re-enters their secret. It still shows the site, the clock, the link and the count
//! of unacknowledged alarms (no values, no messages), so a passer-by sees that the
//! plant wants attention without seeing the plant.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use crate::model::Snapshot;
use crate::sanitize::sanitize;
use crate::state::UiState;
use crate::widgets::put;

/// The lock screen's lines (sanitized).
pub fn lines(s: &Snapshot, ui: &UiState) -> Vec<String> {
    let mut v = vec![
        format!("Terminal of {} locked after {} idle.", sanitize(&s.user), crate::format::age(ui.lock_after_ms)),
        String::new(),
        "Process values are hidden.".to_string(),
        format!("Alarms: {}", super::alarm_indicator(s)),
        String::new(),
        "Enter: type your secret to unlock    q: quit".to_string(),
    ];
    if let Some(note) = &ui.lock_note {
        v.push(String::new());
        v.push(sanitize(note).into_owned());
    }
    v
}

pub fn render(s: &Snapshot, ui: &UiState, area: Rect, buf: &mut Buffer) {
    let t = ui.theme;
    if area.height == 0 || area.width == 0 {
        return;
    }
    let text = lines(s, ui);
    let h = (text.len() as u16 + 2).min(area.height);
    let w = area.width.min(72);
    let r = Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h);
    let body: Vec<Line> = text.into_iter().map(|l| Line::styled(l, t.normal())).collect();
    Paragraph::new(body)
        .block(Block::bordered().title(" Locked ").border_style(t.warn()))
        .wrap(Wrap { trim: false })
        .render(r, buf);
    if area.height > h {
        put(buf, area.x, area.bottom() - 1, area.width, " Enter unlock  q quit", t.dim(), false);
    }
}
