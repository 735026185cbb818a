//! The Tags screen: one row per tag, filtered and sorted, only the visible
//! rows are formatted. Quality never depends on colour alone: a marker column
//! (`!` bad, `?` uncertain, `~` stale), a text column (`GOOD`/`UNCR`/`BAD` +
//! reason, `stale`), a `~` before stale values and `HI`/`LO` for limits.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::format;
use crate::model::{QualityView, Snapshot, TagRow};
use crate::state::{UiState, tag_counts, tag_list, window_start};
use crate::theme::Theme;
use crate::widgets::{CellText, Col, draw_table};

/// Width from which the wide layout (asset, limits, W, sparkline) is used.
pub const WIDE: u16 = 120;
/// Width from which the description column is added.
pub const WIDER: u16 = 150;

const VALUE_W: u16 = 11;
const SPARK_W: u16 = 12;

fn columns(width: u16) -> Vec<Col> {
    let mut c = vec![Col::fixed("Q", 1), Col::name("Tag", 3)];
    if width >= WIDE {
        c.push(Col::fixed("Asset", 16));
    }
    if width >= WIDER {
        c.push(Col::flex("Description", 2));
    }
    c.extend([
        Col::right("Value", VALUE_W),
        Col::fixed("Units", 6),
        Col::fixed("Li", 2),
        Col::fixed("Quality", 17),
        Col::right("Age", 5),
    ]);
    if width >= WIDE {
        c.extend([Col::right("Low", 9), Col::right("High", 9), Col::fixed("W", 1), Col::fixed("Recent", SPARK_W)]);
    }
    c
}

/// Marker char and quality text of a tag (the non-colour quality signals).
pub fn quality_text(tag: &TagRow) -> (char, String) {
    let (marker, mut text) = match &tag.quality {
        QualityView::Good => (if tag.stale { '~' } else { ' ' }, "GOOD".to_string()),
        QualityView::Uncertain(r) => ('?', format!("UNCR {r}")),
        QualityView::Bad(r) => ('!', format!("BAD {r}")),
    };
    if tag.stale && !text.to_lowercase().contains("stale") {
        text.push_str(" stale");
    }
    (marker, text)
}

/// `HI`/`LO` when the value lies outside `[low, high]`.
pub fn limit_text(tag: &TagRow) -> &'static str {
    match tag.value {
        Some(v) if tag.high.is_some_and(|h| v > h) => "HI",
        Some(v) if tag.low.is_some_and(|l| v < l) => "LO",
        _ => "",
    }
}

fn limit(v: Option<f64>, decimals: u8) -> String {
    if v.is_none() { String::new() } else { format::value(v, decimals, 9) }
}

fn row<'a>(tag: &'a TagRow, now_ms: i64, t: Theme, wide: bool, wider: bool) -> Vec<CellText<'a>> {
    let (marker, qtext) = quality_text(tag);
    let qstyle = match tag.quality {
        QualityView::Good if tag.stale => t.stale(),
        QualityView::Good => t.good(),
        QualityView::Uncertain(_) => t.warn(),
        QualityView::Bad(_) => t.bad(),
    };
    let lim = limit_text(tag);
    let mut value = format::value(tag.value, tag.decimals, usize::from(VALUE_W) - 1);
    if tag.stale {
        value.insert(0, '~');
    }
    let vstyle = match tag.quality {
        QualityView::Bad(_) => t.bad(),
        _ if tag.stale => t.stale(),
        _ if !lim.is_empty() => t.warn(),
        _ => t.normal(),
    };
    let mut r: Vec<CellText> = vec![(Cow::Owned(marker.to_string()), qstyle), (Cow::Borrowed(&tag.name), t.normal())];
    if wide {
        r.push((Cow::Borrowed(&tag.asset), t.dim()));
    }
    if wider {
        r.push((Cow::Borrowed(&tag.description), t.dim()));
    }
    r.extend([
        (Cow::Owned(value), vstyle),
        (Cow::Borrowed(tag.units.as_str()), t.dim()),
        (Cow::Borrowed(lim), t.warn()),
        (Cow::Owned(qtext), qstyle),
        (Cow::Owned(format::age_since(now_ms, tag.ts_ms)), if tag.stale { t.stale() } else { t.dim() }),
    ]);
    if wide {
        r.extend([
            (Cow::Owned(limit(tag.low, tag.decimals)), t.dim()),
            (Cow::Owned(limit(tag.high, tag.decimals)), t.dim()),
            (Cow::Borrowed(if tag.writable { "W" } else { "" }), t.normal()),
            (Cow::Owned(format::sparkline(&tag.recent, usize::from(SPARK_W))), t.plot()),
        ]);
    }
    r
}

/// Renders the Tags screen body (status line + table) into `area`.
pub fn render(snapshot: &Snapshot, ui: &UiState, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let t = ui.theme;
    let tags = tag_list(snapshot, ui);
    let (bad, stale) = (tags.bad, tags.stale);
    let all = tag_counts(snapshot).0;
    let count = super::count_label(ui, tags.len, all, "tags");
    let summary = format!("  {bad} bad  {stale} stale");
    let sort = format!("  sort: {} {}", ui.sort.label(), if ui.sort_desc { "▼" } else { "▲" });
    let filter = super::filter_label(ui);
    let sum_style = if bad > 0 { t.bad() } else { t.dim() };
    super::render_status(
        &[(&count, t.normal()), (&summary, sum_style), (&sort, t.dim()), (&filter, t.key())],
        Rect::new(area.x, area.y, area.width, 1),
        buf,
    );

    let table = Rect::new(area.x, area.y + 1, area.width, area.height - 1);
    if tags.len == 0 {
        super::render_unmatched("No tags configured.", "tag", all == 0, table, t, buf);
        return;
    }
    let rows_h = usize::from(table.height.saturating_sub(1));
    let selected = ui.selected.min(tags.len - 1);
    let start = window_start(tags.len, selected, ui.scroll, rows_h);
    let (wide, wider) = (area.width >= WIDE, area.width >= WIDER);
    // rows not at hand yet (the daemon's answer to a scroll is on its way) stay blank
    let rows: Vec<_> = (start..tags.len.min(start + rows_h))
        .map(|i| tags.get(i).map_or_else(Vec::new, |tag| row(tag, snapshot.now_ms, t, wide, wider)))
        .collect();
    draw_table(buf, table, &columns(area.width), t.header(), &rows, Some(selected - start), t.selected());
}
