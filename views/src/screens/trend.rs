//! The Trend screen: one tag's history as vertical min–max bars (one per
//! screen column, half-block resolution), so a one-sample spike is never
//! averaged away. Y labels carry the units, the x axis shows UTC clock times
//! (relative days for spans over two days) and a help line shows the span.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use crate::format;
use crate::model::{Snapshot, TrendColumn, TrendData};
use crate::sanitize::sanitize;
use crate::state::UiState;
use crate::theme::Theme;
use crate::widgets::{put, width};

/// Min–max bar chart of a [`TrendData`]; a widget of its own so it can be
/// reused elsewhere. Renders "no data" when nothing is plottable.
#[derive(Debug, Clone, Copy)]
pub struct MinMaxChart<'a> {
    pub data: &'a TrendData,
    pub theme: Theme,
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
            let a = x * n / w;
            let b = ((x + 1) * n / w).max(a + 1).min(n);
            columns[a..b]
                .iter()
                .filter(|c| c.count > 0)
                .flat_map(|c| [c.min, c.max])
                .filter(|v| v.is_finite())
                .fold(None, |acc: Option<(f64, f64)>, v| Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v)))))
        })
        .collect()
}

/// Decimals for axis labels given the value range.
fn label_decimals(lo: f64, hi: f64) -> u8 {
    let r = (hi * 0.5 - lo * 0.5) * 2.0;
    if !(r.is_finite() && r > 0.0) {
        return 2;
    }
    (2.0 - r.log10().floor()).clamp(0.0, 6.0) as u8
}

impl Widget for &MinMaxChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let t = self.theme;
        if area.height < 3 || area.width < 12 {
            return;
        }
        let units = sanitize(&self.data.units);
        let units: String = units.chars().take(8).collect();
        // rough gutter: widest label + units
        let gutter = (10 + width(&units) as u16 + 1).min(area.width / 3);
        let plot = Rect::new(area.x + gutter + 1, area.y, area.width - gutter - 1, area.height - 1);
        let buckets = bucket(&self.data.columns, usize::from(plot.width));
        let Some((lo, hi)) = buckets
            .iter()
            .flatten()
            .fold(None, |acc: Option<(f64, f64)>, &(a, b)| Some(acc.map_or((a, b), |(lo, hi)| (lo.min(a), hi.max(b)))))
        else {
            let msg = "no data in this time window";
            let w = (width(msg) as u16).min(area.width);
            put(buf, area.x + (area.width - w) / 2, area.y + area.height / 2, w, msg, t.dim(), false);
            return;
        };
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            (lo - pad, hi + pad)
        };
        // half-sub-row resolution: 2 sub-rows per cell
        let sub = i64::from(plot.height) * 2;
        let to_sub = |v: f64| -> i64 {
            let f = (v * 0.5 - lo * 0.5) / (hi * 0.5 - lo * 0.5);
            if f.is_finite() { ((f * (sub - 1) as f64).round() as i64).clamp(0, sub - 1) } else { 0 }
        };
        for (i, b) in buckets.iter().enumerate() {
            let x = plot.x + i as u16;
            let Some((mn, mx)) = *b else {
                buf[(x, plot.bottom() - 1)].set_symbol("·").set_style(t.dim());
                continue;
            };
            let (r0, r1) = (to_sub(mn), to_sub(mx));
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
        // y axis
        let d = label_decimals(lo, hi);
        let lw = gutter.saturating_sub(width(&units) as u16 + 1);
        let mid = lo * 0.5 + hi * 0.5;
        for (v, y) in [(hi, plot.y), (mid, plot.y + plot.height / 2), (lo, plot.bottom() - 1)] {
            put(buf, area.x, y, lw, &format::value(Some(v), d, usize::from(lw)), t.dim(), true);
            put(buf, area.x + lw + 1, y, gutter - lw - 1, &units, t.dim(), false);
        }
        for y in plot.y..plot.bottom() {
            buf[(area.x + gutter, y)].set_symbol("│").set_style(t.dim());
        }
        // x axis
        let y = area.bottom() - 1;
        buf[(area.x + gutter, y)].set_symbol("└").set_style(t.dim());
        let (from, to) = (self.data.from_ms, self.data.to_ms);
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
}

/// Renders the Trend body into `area`.
pub fn render(trend: Option<&TrendData>, _snapshot: &Snapshot, ui: &UiState, area: Rect, buf: &mut Buffer) {
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
    let last = data.columns.iter().rev().find(|c| c.count > 0 && c.last.is_finite());
    let head = format!(" {} [{}]", data.tag, data.units);
    let head_w = (width(&sanitize(&head)) as u16).min(area.width * 2 / 3);
    put(buf, area.x, area.y, head_w, &head, t.header(), false);
    if let Some(c) = last {
        let d = label_decimals(c.min.min(c.last), c.max.max(c.last)).max(2);
        let s = format!("last {} {}", format::value(Some(c.last), d, 12), data.units);
        let sw = (width(&sanitize(&s)) as u16).min(area.width.saturating_sub(head_w + 2));
        put(buf, area.right() - sw - 1, area.y, sw, &s, t.normal(), false);
    }
    if area.height < 3 {
        return;
    }
    let chart = Rect::new(area.x, area.y + 1, area.width, area.height - 2);
    (&MinMaxChart { data, theme: t }).render(chart, buf);
    let window = if span >= 86_400_000 {
        format!("ending {} UTC", format::clock(data.to_ms))
    } else {
        format!("{} → {} UTC", format::clock(data.from_ms), format::clock(data.to_ms))
    };
    let help = format!(" span {} ({window})   + zoom in  - zoom out  ←→ pan  PgUp/PgDn pan a span", format::span(span));
    put(buf, area.x, area.bottom() - 1, area.width, &help, t.dim(), false);
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let data = TrendData { tag: "x".into(), units: "u".into(), from_ms: 0, to_ms: 40_000, columns: cols };
        let mut buf = Buffer::empty(Rect::new(0, 0, 60, 10));
        (&MinMaxChart { data: &data, theme: Theme { color: false } }).render(buf.area, &mut buf);
        let full = (0..60).filter(|&x| buf[(x, 0)].symbol() != " " && x > 13).count();
        assert!(full >= 1, "spike reaches the top row");
    }
}
