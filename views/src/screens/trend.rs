//! The Trend screen: one tag's history as vertical min–max bars (one per
//! screen column, half-block resolution), so a one-sample spike is never
//! averaged away. Y labels carry the units, the x axis shows UTC clock times
//! (relative days for spans over two days) and a help line shows the span.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::widgets::Widget;

use crate::format;
use crate::model::{Snapshot, TrendColumn, TrendData};
pub use crate::plot::{GUTTER, plot_area, plot_width};
use crate::sanitize::sanitize;
use crate::state::{MAX_TREND_TAGS, UiState};
use crate::theme::Theme;
use crate::widgets::{put, width};

/// Min–max bar chart of a [`TrendData`]; a widget of its own so it can be
/// reused elsewhere. Renders "no data" when nothing is plottable. Extra
/// series ([`TrendData::extra`]) are drawn over the same time axis, each with
/// its own marker ([`MARKERS`]).
#[derive(Debug, Clone, Copy)]
pub struct MinMaxChart<'a> {
    pub data: &'a TrendData,
    pub theme: Theme,
}

/// Marker character of each series, main series first.
pub const MARKERS: [&str; 4] = ["█", "▒", "░", "+"];

/// One series of a trend: tag, units and columns.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub tag: &'a str,
    pub units: &'a str,
    pub columns: &'a [TrendColumn],
}

/// The series of `data`, main first, at most [`MAX_TREND_TAGS`].
pub fn series(data: &TrendData) -> Vec<Series<'_>> {
    std::iter::once(Series { tag: &data.tag, units: &data.units, columns: &data.columns })
        .chain(data.extra.iter().map(|e| Series { tag: &e.tag, units: &e.units, columns: &e.columns }))
        .take(MAX_TREND_TAGS)
        .collect()
}

/// Whether all series share their units (then they share one y axis).
pub fn same_units(series: &[Series<'_>]) -> bool {
    series.windows(2).all(|w| w[0].units.trim() == w[1].units.trim())
}

/// Data columns `[a, b)` of `n` that fall into screen column `x` of `w`.
pub fn column_range(n: usize, w: usize, x: usize) -> (usize, usize) {
    let a = x * n / w.max(1);
    let b = ((x + 1) * n / w.max(1)).max(a + 1).min(n);
    (a.min(n), b)
}

/// Merged min/max of the data columns that fall into each of `w` screen
/// columns; `None` where there are no finite samples.
pub fn bucket(columns: &[TrendColumn], w: usize) -> Vec<Option<(f64, f64)>> {
    let n = columns.len();
    (0..w)
        .map(|x| {
            if n == 0 {
                return None;
            }
            let (a, b) = column_range(n, w, x);
            columns[a..b]
                .iter()
                .filter(|c| c.count > 0)
                .flat_map(|c| [c.min, c.max])
                .filter(|v| v.is_finite())
                .fold(None, |acc: Option<(f64, f64)>, v| Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v)))))
        })
        .collect()
}

/// Min, max and last of the data columns under screen column `x` of `w`;
/// `None` when they hold no samples ("no data").
pub fn readout(columns: &[TrendColumn], w: usize, x: usize) -> Option<(f64, f64, f64)> {
    let (a, b) = column_range(columns.len(), w, x);
    let cols = columns.get(a..b)?.iter().filter(|c| c.count > 0);
    let (mut lo, mut hi, mut last, mut any) = (f64::INFINITY, f64::NEG_INFINITY, f64::NAN, false);
    for c in cols {
        any = true;
        lo = lo.min(c.min);
        hi = hi.max(c.max);
        last = c.last;
    }
    any.then_some((lo, hi, last))
}

/// Time span `[start, end)` of screen column `x` of `w` (from the main
/// columns, or the window divided evenly when there are none).
pub fn column_span(data: &TrendData, w: usize, x: usize) -> (i64, i64) {
    let n = data.columns.len();
    if n > 0 {
        let (a, b) = column_range(n, w, x);
        return (data.columns[a].start_ms, data.columns[b - 1].end_ms);
    }
    let span = i128::from(data.to_ms.saturating_sub(data.from_ms));
    let at = |i: usize| data.from_ms + (span * i as i128 / w.max(1) as i128) as i64;
    (at(x), at(x + 1))
}

fn range_of(b: &[Option<(f64, f64)>]) -> Option<(f64, f64)> {
    b.iter()
        .flatten()
        .fold(None, |acc: Option<(f64, f64)>, &(a, b)| Some(acc.map_or((a, b), |(lo, hi)| (lo.min(a), hi.max(b)))))
}

fn padded((lo, hi): (f64, f64)) -> (f64, f64) {
    if hi > lo {
        (lo, hi)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        (lo - pad, hi + pad)
    }
}

/// Decimals for axis labels given the value range.
fn label_decimals(lo: f64, hi: f64) -> u8 {
    let r = (hi * 0.5 - lo * 0.5) * 2.0;
    if !(r.is_finite() && r > 0.0) {
        return 2;
    }
    (2.0 - r.log10().floor()).clamp(0.0, 6.0) as u8
}

/// Fraction of `v` in `lo..hi` scaled to `0..=steps-1`.
fn scale(v: f64, lo: f64, hi: f64, steps: i64) -> i64 {
    let f = (v * 0.5 - lo * 0.5) / (hi * 0.5 - lo * 0.5);
    if f.is_finite() { ((f * (steps - 1) as f64).round() as i64).clamp(0, steps - 1) } else { 0 }
}

type Buckets = Vec<Option<(f64, f64)>>;

impl Widget for &MinMaxChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        if area.height < 3 || area.width < 12 {
            return;
        }
        let plot = plot_area(area);
        let all = series(self.data);
        let w = usize::from(plot.width);
        let buckets: Vec<_> = all.iter().map(|s| bucket(s.columns, w)).collect();
        let ranges: Vec<_> = buckets.iter().map(|b| range_of(b)).collect();
        let Some(global) = range_of(&ranges) else {
            let msg = "no data in this time window";
            let w = (width(msg) as u16).min(area.width);
            put(buf, area.x + (area.width - w) / 2, area.y + area.height / 2, w, msg, t.dim(), false);
            return;
        };
        let shared = same_units(&all);
        let (lo, hi) = padded(global);
        if all.len() == 1 {
            plot_bars(&buckets[0], plot, (lo, hi), t, buf);
        } else {
            let own = |si: usize| if shared { (lo, hi) } else { padded(ranges[si].unwrap_or((0.0, 1.0))) };
            plot_markers(&buckets, plot, own, t, buf);
        }
        let units: String = if shared { sanitize(all[0].units).chars().take(8).collect() } else { "of range".into() };
        y_axis(area, plot, shared.then_some((lo, hi)), &units, t, buf);
        x_axis(area, plot, (self.data.from_ms, self.data.to_ms), t, buf);
    }
}

/// One series as min–max bars, half-sub-row resolution (2 sub-rows per cell).
fn plot_bars(buckets: &Buckets, plot: Rect, (lo, hi): (f64, f64), t: Theme, buf: &mut Buffer) {
    let sub = i64::from(plot.height) * 2;
    for (i, b) in buckets.iter().enumerate() {
        let x = plot.x + i as u16;
        let Some((mn, mx)) = *b else {
            buf[(x, plot.bottom() - 1)].set_symbol("·").set_style(t.dim());
            continue;
        };
        let (r0, r1) = (scale(mn, lo, hi, sub), scale(mx, lo, hi, sub));
        for cy in 0..plot.height {
            let lower = i64::from(cy) * 2;
            let (l, u) = ((r0..=r1).contains(&lower), (r0..=r1).contains(&(lower + 1)));
            let sym = match (l, u) {
                (true, true) => "█",
                (true, false) => "▄",
                (false, true) => "▀",
                _ => continue,
            };
            buf[(x, plot.bottom() - 1 - cy)].set_symbol(sym).set_style(t.plot());
        }
    }
}

/// Several series, one marker each at cell resolution, later series drawn on top;
/// `range(i)` is the value range series `i` is drawn against.
fn plot_markers(buckets: &[Buckets], plot: Rect, range: impl Fn(usize) -> (f64, f64), t: Theme, buf: &mut Buffer) {
    let rows = i64::from(plot.height);
    for x in 0..usize::from(plot.width) {
        if buckets.iter().all(|b| b[x].is_none()) {
            buf[(plot.x + x as u16, plot.bottom() - 1)].set_symbol("·").set_style(t.dim());
        }
    }
    for (si, b) in buckets.iter().enumerate() {
        let (slo, shi) = range(si);
        for (x, c) in b.iter().enumerate() {
            let Some((mn, mx)) = *c else { continue };
            let (r0, r1) = (scale(mn, slo, shi, rows), scale(mx, slo, shi, rows));
            for r in r0..=r1 {
                buf[(plot.x + x as u16, plot.bottom() - 1 - r as u16)].set_symbol(MARKERS[si]).set_style(t.plot());
            }
        }
    }
}

/// The y axis: values of the shared range `(lo, hi)` with their units, or, when the
/// series have different units (`None`), fractions of each one's range.
fn y_axis(area: Rect, plot: Rect, range: Option<(f64, f64)>, units: &str, t: Theme, buf: &mut Buffer) {
    let gutter = plot.x - area.x - 1;
    let lw = gutter.saturating_sub(9);
    let texts: [String; 3] = match range {
        Some((lo, hi)) => {
            let d = label_decimals(lo, hi);
            [hi, lo * 0.5 + hi * 0.5, lo].map(|v| format::value(Some(v), d, usize::from(lw)))
        }
        None => ["100%".into(), "50%".into(), "0%".into()],
    };
    for (v, y) in texts.iter().zip([plot.y, plot.y + plot.height / 2, plot.bottom() - 1]) {
        put(buf, area.x, y, lw, v, t.dim(), true);
        put(buf, area.x + lw + 1, y, gutter.saturating_sub(lw + 1), units, t.dim(), false);
    }
    for y in plot.y..plot.bottom() {
        buf[(area.x + gutter, y)].set_symbol("│").set_style(t.dim());
    }
}

/// The x axis: clock times of the window `(from, to)` (relative days past two days) at
/// its left, middle and right, where they fit.
fn x_axis(area: Rect, plot: Rect, (from, to): (i64, i64), t: Theme, buf: &mut Buffer) {
    let gutter = plot.x - area.x - 1;
    let y = area.bottom() - 1;
    buf[(area.x + gutter, y)].set_symbol("└").set_style(t.dim());
    let label = |ms: i64| {
        if to - from > 2 * 86_400_000 {
            if ms >= to { "now".to_string() } else { format!("-{}", format::span(to - ms)) }
        } else {
            format::clock(ms)
        }
    };
    let l = label(from);
    let m = label(from / 2 + to / 2);
    let r = label(to);
    put(buf, plot.x, y, plot.width, &l, t.dim(), false);
    let mw = width(&m) as u16;
    if plot.width > 3 * mw + 4 {
        put(buf, plot.x + (plot.width - mw) / 2, y, mw, &m, t.dim(), false);
    }
    let rw = width(&r) as u16;
    if plot.width > 2 * rw + 2 {
        put(buf, plot.right() - rw, y, rw, &r, t.dim(), false);
    }
}

/// Maintenance events of the main tag's asset inside the window, as (plot column, label),
/// oldest first.
pub fn maintenance_marks(snapshot: &Snapshot, data: &TrendData, plot_w: u16) -> Vec<(u16, String)> {
    let span = i128::from(data.to_ms.saturating_sub(data.from_ms));
    // the daemon names the asset with the trend; a snapshot of all tags knows it too
    let asset = if data.asset.is_empty() {
        snapshot.tags.iter().find(|t| t.name == data.tag).map(|t| t.asset.as_str())
    } else {
        Some(data.asset.as_str())
    };
    let Some(asset) = asset else {
        return Vec::new();
    };
    let Some(life) = snapshot.life.iter().find(|l| l.asset == asset) else { return Vec::new() };
    if span <= 0 || plot_w == 0 {
        return Vec::new();
    }
    let mut marks: Vec<(i64, u16, String)> = life
        .events
        .iter()
        .filter(|e| e.ts_ms >= data.from_ms && e.ts_ms < data.to_ms)
        .map(|e| {
            let x = i128::from(e.ts_ms - data.from_ms) * i128::from(plot_w) / span;
            (e.ts_ms, u16::try_from(x).unwrap_or(plot_w - 1).min(plot_w - 1), e.short())
        })
        .collect();
    marks.sort_by_key(|m| m.0);
    marks.into_iter().map(|(_, x, l)| (x, l)).collect()
}

/// Each mark as a dashed vertical line over blank plot cells, labelled `▾label` on the
/// plot's top row (cut at the next mark or the edge).
fn draw_marks(marks: &[(u16, String)], t: Theme, plot: Rect, buf: &mut Buffer) {
    for (i, (x, label)) in marks.iter().enumerate() {
        let cx = plot.x + x;
        for cy in plot.y..plot.bottom() {
            let cell = &mut buf[(cx, cy)];
            if cell.symbol() == " " || cell.symbol() == "·" {
                cell.set_symbol("┆").set_style(t.warn());
            }
        }
        let end = marks.get(i + 1).map_or(plot.right(), |(nx, _)| plot.x + nx);
        let room = end.saturating_sub(cx);
        put(buf, cx, plot.y, room, &format!("▾{label}"), t.warn(), false);
    }
}

/// Time text of the cursor: `HH:MM:SS`, with the date when the window or
/// the column spans more than a day.
fn when(ms: i64, long: bool) -> String {
    if long { format::datetime(ms) } else { format::clock(ms) }
}

/// The legend from the top of `area`: the header line for one series, one line per
/// series otherwise (tag, units, the range when units differ, the last value); the row
/// below it, or `None` when `area` has no room left.
fn legend(all: &[Series<'_>], area: Rect, t: Theme, buf: &mut Buffer) -> Option<u16> {
    let shared = same_units(all);
    let last_of = |cols: &[TrendColumn]| cols.iter().rev().find(|c| c.count > 0 && c.last.is_finite()).cloned();
    let mut y = area.y;
    for (i, s) in all.iter().enumerate() {
        if y >= area.bottom() {
            return None;
        }
        let head = if all.len() == 1 {
            format!(" {} [{}]", s.tag, s.units)
        } else {
            format!(" {} {} [{}]", MARKERS[i], s.tag, s.units)
        };
        let head_w = (width(&sanitize(&head)) as u16).min(area.width * 2 / 3);
        put(buf, area.x, y, head_w, &head, if i == 0 { t.header() } else { t.normal() }, false);
        let mut right = String::new();
        let range = range_of(&bucket(s.columns, 1));
        if !shared && let Some((lo, hi)) = range {
            let d = label_decimals(lo, hi);
            right.push_str(&format!(
                "range {} … {} {}   ",
                format::value(Some(lo), d, 12),
                format::value(Some(hi), d, 12),
                s.units
            ));
        }
        if let Some(c) = last_of(s.columns) {
            let d = label_decimals(c.min.min(c.last), c.max.max(c.last)).max(2);
            right.push_str(&format!("last {} {}", format::value(Some(c.last), d, 12), s.units));
        }
        if !right.is_empty() {
            let sw = (width(&sanitize(&right)) as u16).min(area.width.saturating_sub(head_w + 2));
            put(buf, area.right().saturating_sub(sw + 1), y, sw, right.trim_end(), t.normal(), false);
        }
        y += 1;
    }
    Some(y)
}

/// The cursor's readout in `at`: the column's time span, then each series' min, max and
/// last value in that column.
fn readout_lines(data: &TrendData, all: &[Series<'_>], plot_w: u16, c: usize, at: Rect, t: Theme, buf: &mut Buffer) {
    let span = data.to_ms.saturating_sub(data.from_ms);
    let w = usize::from(plot_w);
    let (a, b) = column_span(data, w, c);
    let long = span > 86_400_000 || b - a > 86_400_000;
    let mut ry = at.y;
    let line =
        format!(" cursor {} → {} UTC  ({}, column {}/{})", when(a, long), when(b, long), format::span(b - a), c + 1, w);
    put(buf, at.x, ry, at.width, &line, t.header(), false);
    ry += 1;
    for (i, s) in all.iter().enumerate() {
        let text = match readout(s.columns, w, c) {
            Some((mn, mx, last)) => {
                let d = range_of(&bucket(s.columns, 1)).map_or(2, |(lo, hi)| label_decimals(lo, hi)).max(1);
                let v = |x: f64| format!("{} {}", format::value(Some(x), d, 12), s.units);
                format!(" {} {}  min {}  max {}  last {}", MARKERS[i], s.tag, v(mn), v(mx), v(last))
            }
            None => format!(" {} {}  no data", MARKERS[i], s.tag),
        };
        put(buf, at.x, ry, at.width, &text, t.normal(), false);
        ry += 1;
    }
}

/// Renders the Trend body into `area`.
pub fn render(trend: Option<&TrendData>, snapshot: &Snapshot, ui: &UiState, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let t = ui.theme;
    let Some(data) = trend else {
        let msg = match &ui.trend_tag {
            Some(tag) => format!("Loading the trend of {}…", sanitize(tag)),
            None => "No tag selected: choose one on 2 Tags and press Enter.".to_string(),
        };
        put(buf, area.x + 1, area.y + area.height / 2, area.width.saturating_sub(2), &msg, t.dim(), false);
        return;
    };
    let span = data.to_ms.saturating_sub(data.from_ms);
    let all = series(data);
    let Some(y) = legend(&all, area, t, buf) else { return };
    let readout_rows = if ui.trend_cursor.is_some() { 1 + all.len() as u16 } else { 0 };
    let top = y - area.y;
    let readout_rows = if area.height >= top + readout_rows + 1 + 3 { readout_rows } else { 0 };
    if area.height < top + 2 {
        return;
    }
    let chart = Rect::new(area.x, y, area.width, area.height - top - 1 - readout_rows);
    (&MinMaxChart { data, theme: t }).render(chart, buf);
    // cursor: a vertical marker (│ on blank cells, reversed cells on bars)
    let plot = plot_area(chart);
    if chart.height >= 3 && plot.width > 0 {
        draw_marks(&maintenance_marks(snapshot, data, plot.width), t, plot, buf);
    }
    let cursor = ui.trend_cursor.filter(|_| chart.height >= 3 && chart.width >= 12 && plot.width > 0);
    if let Some(c) = cursor {
        let c = c.min(usize::from(plot.width) - 1);
        let x = plot.x + c as u16;
        for cy in plot.y..plot.bottom() {
            let cell = &mut buf[(x, cy)];
            if cell.symbol() == " " || cell.symbol() == "·" {
                cell.set_symbol("│").set_style(t.normal());
            } else {
                cell.set_style(t.normal().add_modifier(Modifier::REVERSED));
            }
        }
        if readout_rows > 0 {
            let at = Rect::new(area.x, chart.bottom(), area.width, readout_rows);
            readout_lines(data, &all, plot.width, c, at, t, buf);
        }
    }
    let window = if span >= 86_400_000 {
        format!("ending {} UTC", format::clock(data.to_ms))
    } else {
        format!("{} → {} UTC", format::clock(data.from_ms), format::clock(data.to_ms))
    };
    let help = if cursor.is_some() {
        format!(" span {}  ←→ cursor  Home End first/last  Shift-←→ PgUp/PgDn pan  c off", format::span(span))
    } else {
        format!(" span {} ({window})  +/- zoom  ←→ PgUp/PgDn pan  c cursor", format::span(span))
    };
    put(buf, area.x, area.bottom() - 1, area.width, &help, t.dim(), false);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TrendSeries;

    fn col(min: f64, max: f64) -> TrendColumn {
        TrendColumn { min, max, last: max, count: 1, ..Default::default() }
    }

    #[test]
    fn buckets_keep_spikes() {
        let mut cols: Vec<_> = (0..100).map(|_| col(1.0, 2.0)).collect();
        cols[57] = col(1.0, 100.0);
        let b = bucket(&cols, 10);
        assert_eq!(b[5], Some((1.0, 100.0)));
        assert_eq!(b[4], Some((1.0, 2.0)));
    }

    #[test]
    fn buckets_skip_empty_and_nan() {
        let mut cols = vec![col(1.0, 2.0), col(f64::NAN, f64::NAN), col(3.0, 4.0)];
        cols[2].count = 0;
        let b = bucket(&cols, 6);
        assert_eq!(b, vec![Some((1.0, 2.0)), Some((1.0, 2.0)), None, None, None, None]);
        assert_eq!(bucket(&[], 3), vec![None, None, None]);
    }

    #[test]
    fn a_single_spike_is_drawn() {
        let mut cols: Vec<_> = (0..40).map(|_| col(0.0, 0.0)).collect();
        cols[20] = col(0.0, 50.0);
        let data = TrendData {
            asset: String::new(),
            tag: "x".into(),
            units: "u".into(),
            from_ms: 0,
            to_ms: 40_000,
            columns: cols,
            ..Default::default()
        };
        let mut buf = Buffer::empty(Rect::new(0, 0, 60, 10));
        (&MinMaxChart { data: &data, theme: Theme { color: false } }).render(buf.area, &mut buf);
        let full = (0..60).filter(|&x| buf[(x, 0)].symbol() != " " && x > 13).count();
        assert!(full >= 1, "spike reaches the top row");
    }

    fn multi(units: [&str; 3]) -> TrendData {
        let cols = |k: f64| (0..200).map(|i| col(k, k + f64::from(i % 7) * 0.1)).collect::<Vec<_>>();
        let mut extra: Vec<_> = (1..3)
            .map(|i| TrendSeries { tag: format!("e{i}"), units: units[i].into(), columns: cols(10.0 * i as f64) })
            .collect();
        extra[1].columns[133] = col(20.0, 900.0);
        extra[0].columns[10].count = 0;
        TrendData {
            tag: "m".into(),
            units: units[0].into(),
            from_ms: 0,
            to_ms: 200_000,
            columns: cols(0.0),
            extra,
            ..Default::default()
        }
    }

    #[test]
    fn a_spike_in_an_extra_series_survives_and_is_drawn() {
        for units in [["u", "u", "u"], ["a", "b", "c"]] {
            let data = multi(units);
            let mut buf = Buffer::empty(Rect::new(0, 0, 60, 12));
            (&MinMaxChart { data: &data, theme: Theme { color: false } }).render(buf.area, &mut buf);
            let plot = plot_area(buf.area);
            let top: Vec<&str> = (plot.x..plot.right()).map(|x| buf[(x, plot.y)].symbol()).collect();
            assert_eq!(top.iter().filter(|s| **s == MARKERS[2]).count(), 1, "{units:?}: {top:?}");
            let x = 133 * usize::from(plot.width) / 200;
            assert_eq!(readout(&data.extra[1].columns, usize::from(plot.width), x).map(|r| r.1), Some(900.0));
        }
    }

    #[test]
    fn readout_merges_columns_and_says_no_data() {
        let mut cols: Vec<_> = (0..4).map(|i| col(f64::from(i), f64::from(i) + 1.0)).collect();
        assert_eq!(readout(&cols, 2, 0), Some((0.0, 2.0, 2.0)));
        cols[2].count = 0;
        cols[3].count = 0;
        assert_eq!(readout(&cols, 2, 1), None);
        assert_eq!(readout(&[], 2, 1), None);
        assert_eq!(readout(&cols, 8, 7), None, "count 0 is no data");
        let data = TrendData { from_ms: 0, to_ms: 1000, ..Default::default() };
        assert_eq!(column_span(&data, 10, 3), (300, 400));
    }

    #[test]
    fn at_most_four_series_and_unit_agreement() {
        let mut data = multi(["u", "u", "u"]);
        assert!(same_units(&series(&data)));
        data.extra.extend((0..5).map(|i| TrendSeries { tag: format!("x{i}"), units: "v".into(), columns: vec![] }));
        assert_eq!(series(&data).len(), MAX_TREND_TAGS);
        assert!(!same_units(&series(&data)));
    }
}
