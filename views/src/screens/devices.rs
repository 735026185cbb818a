//! The Devices screen: comm status per field device and, below the table,
//! the selected device's details with its full last error.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Text};
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use crate::format;
use crate::model::{DeviceRow, Snapshot};
use crate::sanitize::sanitize;
use crate::state::{UiState, visible_devices};
use crate::theme::Theme;
use crate::widgets::{CellText, Col};

/// Width from which the protocol column is shown.
pub const WIDE: u16 = 120;

fn columns(width: u16) -> Vec<Col> {
    let mut c = vec![Col::fixed("St", 4), Col::name("Device", 2)];
    if width >= WIDE {
        c.push(Col::fixed("Protocol", 12));
    }
    c.extend([Col::flex("Endpoint", 3), Col::right("Poll", 5), Col::right("Lat", 6)]);
    if width >= WIDE {
        c.push(Col::right("Polls", 5));
    }
    c.extend([Col::right("Err", 5), Col::right("T/O", 5), Col::right("Exc", 5)]);
    if width >= WIDE {
        c.push(Col::right("Dmg", 5));
    }
    c.extend([Col::right("Rcn", 5), Col::right("Bad/Tags", 8)]);
    c
}

fn latency(ms: Option<f64>) -> String {
    match ms {
        Some(v) if v.is_finite() && v < 10.0 => format!("{v:.1}ms"),
        Some(v) if v.is_finite() && v < 10_000.0 => format!("{v:.0}ms"),
        Some(v) if v.is_finite() => format::age(v as i64),
        _ => "-".into(),
    }
}

fn row<'a>(d: &'a DeviceRow, now_ms: i64, t: Theme, wide: bool) -> Vec<CellText<'a>> {
    let (state, sstyle) = if d.connected { ("UP", t.good()) } else { ("DOWN", t.bad()) };
    let n = |v: u64| (Cow::Owned(format::count(v)), if v > 0 { t.warn() } else { t.dim() });
    let mut r: Vec<CellText> = vec![(Cow::Borrowed(state), sstyle), (Cow::Borrowed(&d.name), t.normal())];
    if wide {
        r.push((Cow::Borrowed(&d.protocol), t.dim()));
    }
    r.extend([
        (Cow::Borrowed(d.endpoint.as_str()), t.dim()),
        (Cow::Owned(format::age_since(now_ms, d.last_poll_ms)), t.normal()),
        (Cow::Owned(latency(d.latency_ms)), t.normal()),
    ]);
    if wide {
        r.push((Cow::Owned(format::count(d.polls)), t.dim()));
    }
    r.extend([n(d.errors), n(d.timeouts), n(d.exceptions)]);
    if wide {
        r.push(n(d.garbled));
    }
    r.extend([
        n(d.reconnects),
        (Cow::Owned(format!("{}/{}", d.bad_tags, d.tags)), if d.bad_tags > 0 { t.bad() } else { t.dim() }),
    ]);
    r
}

/// Renders the Devices screen body into `area`.
pub fn render(snapshot: &Snapshot, ui: &UiState, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let t = ui.theme;
    let devs = visible_devices(snapshot, ui);
    let down = devs.iter().filter(|d| !d.connected).count();
    let count = super::count_label(ui, devs.len(), snapshot.devices.len(), "devices");
    let summary = format!("  {} up  {down} down", devs.len() - down);
    let filter = super::filter_label(ui);
    super::render_status(
        &[(&count, t.normal()), (&summary, if down > 0 { t.bad() } else { t.dim() }), (&filter, t.key())],
        Rect::new(area.x, area.y, area.width, 1),
        buf,
    );
    let rest = Rect::new(area.x, area.y + 1, area.width, area.height - 1);
    if devs.is_empty() {
        super::render_unmatched("No devices configured.", "device", snapshot.devices.is_empty(), rest, t, buf);
        return;
    }
    // details panel below the table: borders + error (wrapped, in full when
    // there is room) + one stats line; never more than half the body
    let selected = ui.dev_selected.min(devs.len() - 1);
    let err_w = devs[selected].last_error.as_deref().map_or(16, |e| crate::widgets::width(&sanitize(e)) + 12);
    let err_lines = err_w.div_ceil(usize::from(area.width.saturating_sub(2).max(1))) as u16;
    let detail_h = if rest.height >= 10 { (err_lines + 3).clamp(4, rest.height / 2) } else { 0 };
    let wide = area.width >= WIDE;
    let cols = columns(area.width);
    let (now, scroll) = (snapshot.now_ms, ui.dev_scroll);
    let detail = super::render_list(buf, rest, detail_h, &cols, &devs, selected, scroll, t, |d| row(d, now, t, wide));
    if let Some(d) = detail {
        render_detail(devs[selected], now, t, d, buf);
    }
}

fn render_detail(d: &DeviceRow, now_ms: i64, t: Theme, area: Rect, buf: &mut Buffer) {
    let title = format!(" {} ", sanitize(&d.name));
    let block = Block::bordered().title(title.as_str()).border_style(t.dim());
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let state = if d.connected { "UP" } else { "DOWN" };
    let line = format!(
        "{state}  {}  {}  last poll {} ago  {} polls, {} errors, {} timeouts, {} exceptions, {} damaged frames, {} reconnects",
        d.protocol,
        d.endpoint,
        format::age_since(now_ms, d.last_poll_ms),
        d.polls,
        d.errors,
        d.timeouts,
        d.exceptions,
        d.garbled,
        d.reconnects
    );
    let (err, style) = match &d.last_error {
        Some(e) => (format!("Last error: {}", sanitize(e)), t.bad()),
        None => ("Last error: none".to_string(), t.dim()),
    };
    let text = Text::from(vec![
        Line::styled(err, style),
        Line::styled(sanitize(&line).into_owned(), if d.connected { t.normal() } else { t.bad() }),
    ]);
    Paragraph::new(text).wrap(Wrap { trim: false }).render(inner, buf);
}
