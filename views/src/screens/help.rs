//! The help popup: every key of the current screen. Modal: any key closes it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Clear, Widget};

use crate::state::{Screen, UiState};
use crate::widgets::put;

/// Keys of `screen`, then the global keys, as `(keys, meaning)`.
pub fn help_lines(screen: Screen) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<(&str, &str)> = match screen {
        Screen::Overview => vec![
            ("↑ ↓ PgUp PgDn", "scroll the asset tree"),
            ("Home End", "top / bottom of the tree"),
            ("m", "record maintenance on an asset (engineer)"),
        ],
        Screen::Tags => vec![
            ("↑ ↓ PgUp PgDn", "move the selection"),
            ("Home End", "first / last tag"),
            ("Enter", "open the trend of the selected tag"),
            ("t", "add the selected tag to the trend (max 4)"),
            ("T", "clear the extra trend tags"),
            ("w", "what-if: try a loop's setpoint, then ask"),
            ("/", "filter (name, asset, description)"),
            ("  typing", "Enter keeps, Esc clears, Bksp deletes"),
            ("Esc", "clear the filter"),
            ("s", "cycle sort: name, value, quality, age"),
            ("S", "reverse the sort order"),
        ],
        Screen::Trend => vec![
            ("+ -", "zoom in / out (halve / double span)"),
            ("← →", "pan back / forward by 1/10 span"),
            ("Shift-← →", "pan by 1/10 span, also with the cursor on"),
            ("PgUp PgDn", "pan back / forward by a whole span"),
            ("c", "time cursor on / off (values per tag)"),
            ("  cursor on", "← → move it one column, Home End first/last"),
            ("Esc", "back to Tags"),
        ],
        Screen::Alarms => vec![
            ("↑ ↓ PgUp PgDn", "move the selection"),
            ("Home End", "first / last alarm"),
            ("v", "view: Active, Shelved, Flood, Out-of-service, All"),
            ("/", "filter by tag, asset, area, kind, message"),
            ("a", "acknowledge the selected alarm (confirm)"),
            ("A", "acknowledge all unacked in view (confirm)"),
            ("h", "shelve: reason + duration (←/→), confirm"),
            ("u", "unshelve the selected alarm (confirm)"),
            ("o", "out of service on/off: reason, confirm"),
            ("  popup", "Enter confirms, Esc cancels, Bksp deletes"),
            ("H", "history: / search, PgDn PgUp pages, v back"),
            ("K", "figures (ISA-18.2) beside targets, ←/→ period"),
        ],
        Screen::Recommendations => vec![
            ("↑ ↓ PgUp PgDn", "move the selection"),
            ("Home End", "first / last recommendation"),
            ("y", "approve (confirm, then your secret)"),
            ("n", "reject: reason required, confirm"),
            ("r", "revert a change whose effect was off (confirm)"),
            ("  popup", "Enter confirms, Esc cancels, Bksp deletes"),
        ],
        Screen::Devices => vec![
            ("↑ ↓ PgUp PgDn", "move the selection"),
            ("Home End", "first / last device"),
            ("/", "filter (name, protocol, endpoint)"),
            ("Esc", "clear the filter"),
        ],
        Screen::Audit => vec![
            ("↑ ↓ PgUp PgDn", "move the selection"),
            ("Home End", "newest / oldest entry"),
            ("/", "filter (user, action, target, detail)"),
            ("  typing", "Enter keeps, Esc clears, Bksp deletes"),
            ("Esc", "clear the filter"),
        ],
    };
    v.extend([
        ("1 … 7", "the screen of that number (see the tab bar)"),
        ("Tab Shift-Tab", "next / previous screen"),
        ("?", "this help (any key closes it)"),
        ("q", "quit (Ctrl-C always quits)"),
    ]);
    v
}

/// Draws the help popup centred in `area`.
pub fn render(ui: &UiState, area: Rect, buf: &mut Buffer) {
    let t = ui.theme;
    let lines = help_lines(ui.screen);
    let w = area.width.min(64);
    let h = area.height.min(lines.len() as u16 + 4);
    let popup = Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h);
    Clear.render(popup, buf);
    let title = format!(" Help: {} ", ui.screen.title());
    let block = Block::bordered().title(title.as_str()).title_bottom(" any key closes ").border_style(t.key());
    let inner = block.inner(popup);
    block.render(popup, buf);
    let kw = 15.min(inner.width);
    for (i, (k, what)) in lines.iter().enumerate().take(usize::from(inner.height.saturating_sub(1))) {
        let y = inner.y + 1 + i as u16;
        put(buf, inner.x + 1, y, kw, k, t.key(), false);
        put(buf, inner.x + 1 + kw, y, inner.width.saturating_sub(kw + 1), what, t.normal(), false);
    }
}
