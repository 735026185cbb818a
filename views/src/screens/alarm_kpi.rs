//! The Alarms screen's KPI pane: the ISA-18.2 / EEMUA 191 figures of a period for the site
//! or one operator position (↑/↓), each beside its target and its verdict (in words: `over target` needs no colour), the alarm rate
//! per 10 minutes and per hour (sparklines), the priority mix (a bar chart, against the
//! ~80/15/5 % target) and, with room, the most frequent alarms.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::{Bar, BarChart, Block, Borders, Sparkline, Widget};

use super::alarms::priority_style;
use crate::model::Priority;
use crate::state::{KPI_SPANS, KpiFigure, KpiScope, KpiView, UiState};
use crate::theme::Theme;
use crate::widgets::{CellText, Col, draw_table, put};

/// Width from which targets are written out in full.
const WIDE: u16 = 120;

fn verdict_style(v: &str, t: Theme) -> Style {
    match v {
        "acceptable" => t.good(),
        "manageable" => t.warn(),
        "" => t.dim(),
        _ => t.bad(),
    }
}

/// A target as it fits: `≤ 1 acc., ≤ 2 man.` below [`WIDE`].
fn target(f: &KpiFigure, wide: bool) -> Cow<'_, str> {
    if wide {
        Cow::Borrowed(&f.target)
    } else {
        Cow::Owned(f.target.replace(" acceptable", " acc.").replace(" manageable", " man."))
    }
}

fn figure_rows(k: &KpiScope, t: Theme, wide: bool) -> Vec<Vec<CellText<'_>>> {
    k.figures
        .iter()
        .map(|f| {
            vec![
                (Cow::Borrowed(f.name.as_str()), t.normal()),
                (Cow::Borrowed(f.text.as_str()), t.normal()),
                (target(f, wide), t.dim()),
                (
                    Cow::Borrowed(if f.verdict.is_empty() { "-" } else { f.verdict.as_str() }),
                    verdict_style(&f.verdict, t),
                ),
            ]
        })
        .collect()
}

/// The last values of `data` that fit `width` columns.
fn tail(data: &[u64], width: u16) -> &[u64] {
    &data[data.len().saturating_sub(usize::from(width))..]
}

fn sparkline(title: String, data: &[u64], t: Theme, area: Rect, buf: &mut Buffer) {
    let block = Block::new().borders(Borders::TOP).border_style(t.dim()).title(title);
    let inner = block.inner(area);
    Sparkline::default().block(block).data(tail(data, inner.width)).style(t.plot()).render(area, buf);
}

fn priority_mix(k: &KpiScope, t: Theme, area: Rect, buf: &mut Buffer) {
    let total = k.by_priority.iter().sum::<u64>().max(1);
    let bars: Vec<Bar> = Priority::ALL
        .iter()
        .map(|p| {
            let n = k.by_priority[p.index()];
            Bar::with_label(p.label(), n)
                .text_value(format!("{n} ({:.0} %)", n as f64 * 100.0 / total as f64))
                .style(priority_style(*p, t))
        })
        .collect();
    let block = Block::new().borders(Borders::TOP).border_style(t.dim()).title(" Priority mix (target ~80/15/5 %) ");
    BarChart::horizontal(bars)
        .block(block)
        .bar_gap(0)
        .value_style(t.normal())
        .label_style(t.normal())
        .render(area, buf);
}

fn top_alarms(k: &KpiView, raised: u64, t: Theme, area: Rect, buf: &mut Buffer) {
    put(buf, area.x, area.y, area.width, " Most frequent alarms (site)", t.header(), false);
    for (i, (alarm, n)) in k.top.iter().take(usize::from(area.height.saturating_sub(1))).enumerate() {
        let share = *n as f64 * 100.0 / raised.max(1) as f64;
        let text = format!(" {n:>6} {share:>5.1} %  {alarm}");
        put(buf, area.x, area.y + 1 + i as u16, area.width, &text, t.normal(), false);
    }
}

/// Renders the KPI pane into `area`.
pub fn render(ui: &UiState, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let t = ui.theme;
    let log = &ui.alarm_log;
    let (label, _) = log.span();
    let spans: Vec<String> =
        KPI_SPANS.iter().map(|(l, _)| if *l == label { format!("[{l}]") } else { l.to_string() }).collect();
    let head = format!(" Alarms of the last {label} (←/→ {})", spans.join(" "));
    let scope = log.scope();
    let of = scope.map_or(String::new(), |s| {
        let n = log.kpi.as_ref().map_or(0, |k| k.scopes.len());
        let pick = if n > 1 { " (↑↓)" } else { "" };
        format!("  {}{pick}: {} raised", s.name, s.raised)
    });
    super::render_status(&[(&head, t.header()), (&of, t.normal())], Rect::new(area.x, area.y, area.width, 1), buf);
    let rest = Rect::new(area.x, area.y + 1, area.width, area.height - 1);
    if let Some(e) = &log.error {
        super::render_empty(&format!("! {e}"), rest, t, buf);
        return;
    }
    let (Some(k), Some(scope)) = (&log.kpi, scope) else {
        super::render_empty("Asking the daemon for the figures…", rest, t, buf);
        return;
    };
    let wide = area.width >= WIDE;
    let cols = if wide {
        [Col::fixed("Figure", 26), Col::flex("Value", 3), Col::fixed("Target", 34), Col::fixed("Verdict", 11)]
    } else {
        [Col::fixed("Figure", 26), Col::flex("Value", 1), Col::fixed("Target", 22), Col::fixed("Verdict", 11)]
    };
    let table_h = (scope.figures.len() as u16 + 1).min(rest.height);
    let table = Rect::new(rest.x, rest.y, rest.width, table_h);
    draw_table(buf, table, &cols, t.header(), &figure_rows(scope, t, wide), None, t.selected());
    let charts = Rect::new(rest.x, table.bottom(), rest.width, rest.bottom().saturating_sub(table.bottom()));
    if charts.height < 3 {
        return;
    }
    let peak10 = k.per_10min.iter().max().copied().unwrap_or(0);
    let peak_h = k.per_hour.iter().max().copied().unwrap_or(0);
    let left = Rect::new(charts.x, charts.y, charts.width / 2, charts.height);
    let right = Rect::new(left.right(), charts.y, charts.width - left.width, charts.height);
    if charts.height >= 12 {
        // room for both rates, the mix and the most frequent alarms
        let h = charts.height / 2;
        sparkline(
            format!(" Site alarms per 10 min (peak {peak10}) "),
            &k.per_10min,
            t,
            Rect { height: h, ..left },
            buf,
        );
        let below = Rect::new(left.x, left.y + h, left.width, left.height - h);
        sparkline(format!(" Site alarms per hour (peak {peak_h}) "), &k.per_hour, t, below, buf);
        priority_mix(scope, t, Rect { height: 5.min(right.height), ..right }, buf);
        let raised = k.scopes.first().map_or(0, |s| s.raised);
        top_alarms(k, raised, t, Rect::new(right.x, right.y + 6, right.width, right.height.saturating_sub(6)), buf);
    } else {
        sparkline(format!(" Site per 10 min (peak {peak10}) "), &k.per_10min, t, left, buf);
        priority_mix(scope, t, right, buf);
    }
}
