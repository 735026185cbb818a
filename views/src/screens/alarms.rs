//! The Alarms screen (ISA-18.2): a header strip (FLOOD banner, activations
//! per 10 min and per operator position, counts), the view tab (`v`), the
//! alarm table and the selected alarm's details. State and priority are text
//! (`UNACK`/`ACK`/`RTN`, `CRIT`/`HIGH`/`MED`/`LOW`) plus a steady marker
//! (`▲` unacked active, `△` unacked returned, `■` acked); flags are letters
//! (`F` first-out, `C` chattering, `S` stale, `SHLV`, `FLD` held back by a flood, `OOS`).
//! In a flood the banner names each position in flood, since when and how many alarms it
//! holds back; the Flood view lists those. Colour is extra.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Widget, Wrap};

use crate::format;
use crate::model::{AlarmRow, AlarmStateView, DiagnosisView, Priority, Snapshot};
use crate::sanitize::sanitize;
use crate::state::{AlarmView, UiState, visible_alarms};
use crate::theme::Theme;
use crate::widgets::{CellText, Col, put, width};

/// Width from which area, asset, age, limit, units and message are shown.
pub const WIDE: u16 = 120;

fn columns(width: u16) -> Vec<Col> {
    let mut c = vec![Col::fixed("", 1), Col::fixed("State", 5), Col::fixed("Pri", 4), Col::fixed("Time", 8)];
    if width >= WIDE {
        c.extend([Col::right("Age", 5), Col::fixed("Area", 10), Col::fixed("Asset", 16)]);
    }
    c.push(Col::name("Tag", 2));
    if width >= WIDE {
        c.extend([Col::fixed("Kind", 13), Col::right("Value", 11), Col::right("Limit", 11), Col::fixed("Units", 6)]);
    } else {
        c.extend([Col::fixed("Kind", 6), Col::right("Value", 9)]);
    }
    c.push(Col::fixed("Flags", 12));
    if width >= WIDE {
        c.push(Col::flex("Message", 3));
    }
    c
}

/// Flags as text: `F` first-out, `C` chattering, `S` stale, then `SHLV`
/// (shelved), `FLD` (held back by a flood) and `OOS` (out of service), e.g. `FC SHLV`.
pub fn flags_text(a: &AlarmRow) -> String {
    let mut f = String::new();
    for (on, c) in [(a.first_out, 'F'), (a.chattering, 'C'), (a.stale, 'S')] {
        if on {
            f.push(c);
        }
    }
    for (on, w) in [(a.shelved(), "SHLV"), (a.flood_held, "FLD"), (a.out_of_service, "OOS")] {
        if on {
            if !f.is_empty() {
                f.push(' ');
            }
            f.push_str(w);
        }
    }
    f
}

/// Style of a priority (an extra: the text says it).
pub fn priority_style(p: Priority, t: Theme) -> Style {
    match p {
        Priority::Critical | Priority::High => t.bad(),
        Priority::Medium => t.warn(),
        Priority::Low => t.normal(),
    }
}

fn state_style(s: AlarmStateView, t: Theme) -> Style {
    match s {
        AlarmStateView::UnackActive => t.bad(),
        AlarmStateView::UnackRtn => t.warn(),
        AlarmStateView::AckActive => t.normal(),
        AlarmStateView::Normal => t.dim(),
    }
}

fn row<'a>(a: &'a AlarmRow, now_ms: i64, t: Theme, wide: bool) -> Vec<CellText<'a>> {
    let ss = state_style(a.state, t);
    let time = a.active_since_ms.map_or_else(|| "-".to_string(), format::clock);
    let mut r: Vec<CellText> = vec![
        (Cow::Borrowed(a.state.marker()), ss),
        (Cow::Borrowed(a.state.label()), ss),
        (Cow::Borrowed(a.priority.label()), priority_style(a.priority, t)),
        (Cow::Owned(time), t.normal()),
    ];
    if wide {
        r.extend([
            (Cow::Owned(format::age_since(now_ms, a.active_since_ms)), t.dim()),
            (Cow::Borrowed(a.place.area.as_str()), t.dim()),
            (Cow::Borrowed(a.place.asset.as_str()), t.dim()),
        ]);
    }
    r.push((Cow::Borrowed(a.place.tag.as_str()), t.normal()));
    let vw = if wide { 11 } else { 9 };
    let value = format::value(a.value, 2, vw);
    r.push((Cow::Borrowed(a.kind.as_str()), t.normal()));
    r.push((Cow::Owned(value), if a.stale { t.stale() } else { t.normal() }));
    if wide {
        let limit = if a.limit.is_some() { format::value(a.limit, 2, vw) } else { String::new() };
        r.extend([(Cow::Owned(limit), t.dim()), (Cow::Borrowed(a.units.as_str()), t.dim())]);
    }
    r.push((Cow::Owned(flags_text(a)), t.warn()));
    if wide {
        r.push((Cow::Borrowed(a.message.as_str()), t.normal()));
    }
    r
}

/// Renders the Alarms body into `area`.
pub fn render(snapshot: &Snapshot, ui: &UiState, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let t = ui.theme;
    let sum = &snapshot.alarm_summary;
    let line = |i: u16| Rect::new(area.x, area.y + i, area.width, 1);
    // 1: flood banner (each position in flood) and activation rate per position
    let flood = if sum.flood { " FLOOD " } else { "" };
    let floods: Vec<String> = sum
        .floods
        .iter()
        .map(|f| format!("{} since {}, {} held back", sanitize(&f.position), format::clock(f.since_ms), f.held_back))
        .collect();
    let floods = if floods.is_empty() { String::new() } else { format!(" {};", floods.join(", ")) };
    let mut rate = format!(" {} activations/10 min", sum.activations_10min);
    if !sum.per_position.is_empty() {
        let per: Vec<String> = sum.per_position.iter().map(|(p, n)| format!("{p} {n}")).collect();
        rate.push_str(&format!("  per position: {}", per.join(", ")));
    }
    let in_flood = if sum.time_in_flood_ms > 0 || sum.flood {
        format!("  in flood {}", format::span(sum.time_in_flood_ms))
    } else {
        String::new()
    };
    super::render_status(
        &[
            (flood, t.alarm()),
            (&floods, t.bad()),
            (&rate, if sum.flood { t.bad() } else { t.normal() }),
            (&in_flood, t.dim()),
        ],
        line(0),
        buf,
    );
    if area.height < 2 {
        return;
    }
    // 2: counts
    let held = if sum.held_back > 0 { format!("  {} held back", sum.held_back) } else { String::new() };
    let counts = format!(" {} active  {} unacked  {} shelved{held}  │", sum.active, sum.unacked, sum.shelved);
    let mut spans: Vec<(String, Style)> = vec![(counts, t.normal())];
    for p in Priority::ALL.iter().rev() {
        let n = sum.by_priority[p.index()];
        spans.push((format!(" {} {n}", p.label()), if n > 0 { priority_style(*p, t) } else { t.dim() }));
    }
    let spans: Vec<(&str, Style)> = spans.iter().map(|(s, st)| (s.as_str(), *st)).collect();
    super::render_status(&spans, line(1), buf);
    if area.height < 3 {
        return;
    }
    // 3: the view tab
    let alarms = visible_alarms(snapshot, ui);
    let mut x = area.x;
    let mut tab = |text: &str, style: Style, x: &mut u16| {
        let w = (width(text) as u16).min(area.right().saturating_sub(*x));
        put(buf, *x, area.y + 2, w, text, style, false);
        *x += w;
    };
    tab(" View (v):", t.key(), &mut x);
    for v in AlarmView::ALL {
        if v == ui.alarm_view {
            tab(&format!(" [{}]", v.label()), t.tab_active(), &mut x);
        } else {
            tab(&format!("  {} ", v.label()), t.dim(), &mut x);
        }
    }
    tab(&format!("  {} shown", alarms.len()), t.normal(), &mut x);
    if ui.filter_editing {
        tab(&format!("  filter: {}█", ui.filter), t.key(), &mut x);
    } else if !ui.filter.is_empty() {
        tab(&format!("  filter: {}", ui.filter), t.key(), &mut x);
    }

    let rest = Rect::new(area.x, area.y + 3, area.width, area.height - 3);
    if alarms.is_empty() {
        let msg = if snapshot.alarms.is_empty() {
            "No alarms.".to_string()
        } else {
            format!("No alarm in the {} view (v changes the view).", ui.alarm_view.label())
        };
        super::render_empty(&msg, rest, t, buf);
        return;
    }
    let selected = ui.alarm_selected.min(alarms.len() - 1);
    let diagnosed = alarms[selected].diagnosis.is_some();
    let detail_h = match rest.height {
        // the diagnosis wraps at 80 columns: half the height, leaving the table 7 rows
        h if h >= 14 && diagnosed => (h / 2 + 1).clamp(6, 12),
        h if h >= 12 => 3,
        _ => 0,
    };
    let wide = area.width >= WIDE;
    let cols = columns(area.width);
    let (now, scroll) = (snapshot.now_ms, ui.alarm_scroll);
    let detail = super::render_list(buf, rest, detail_h, &cols, &alarms, selected, scroll, t, |a| row(a, now, t, wide));
    if let Some(d) = detail {
        render_detail(alarms[selected], now, t, d, buf);
    }
}

/// Details of one alarm as text lines (message, value vs limit, times, who acked, shelving).
pub fn detail_lines(a: &AlarmRow, now_ms: i64) -> [String; 2] {
    let units = sanitize(&a.units);
    // first, as it says why an active condition is not annunciated
    let held = if a.flood_held {
        format!("HELD BACK by the alarm flood at {}, annunciated when it ends  ", sanitize(a.place.position()))
    } else {
        String::new()
    };
    let mut second = format!("{held}Value {} {units}", format::value(a.value, 3, 12));
    if a.limit.is_some() {
        second.push_str(&format!("  limit {} {units}", format::value(a.limit, 3, 12)));
    }
    if let Some(ms) = a.active_since_ms {
        second.push_str(&format!("  since {} UTC ({} ago)", format::clock(ms), format::age(now_ms.saturating_sub(ms))));
    }
    if let Some(by) = &a.acked_by {
        second.push_str(&format!("  acked by {}", sanitize(by)));
    }
    if let Some(until) = a.shelved_until_ms {
        second.push_str(&format!(
            "  SHELVED until {} UTC: {}",
            format::clock(until),
            sanitize(a.shelve_reason.as_deref().unwrap_or("-"))
        ));
    }
    if a.out_of_service {
        second.push_str("  OUT OF SERVICE");
    }
    let flags = [(a.first_out, "first-out"), (a.chattering, "chattering"), (a.stale, "stale")]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, w)| *w)
        .collect::<Vec<_>>()
        .join(", ");
    if !flags.is_empty() {
        second.push_str(&format!("  ({flags})"));
    }
    [
        format!(
            "{} {} {} {}: {}",
            a.state.label(),
            a.priority.label(),
            sanitize(&a.place.tag),
            sanitize(&a.kind),
            sanitize(&a.message)
        ),
        second,
    ]
}

/// The diagnosis of an alarm's asset as text lines: the likely cause, the signals that moved
/// first (with their onsets relative to the alarm), the contributions to the anomaly score.
pub fn diagnosis_lines(d: &DiagnosisView) -> Vec<String> {
    let mut out = Vec::new();
    match &d.cause {
        Some(c) => out.push(format!("Likely cause: {}", sanitize(c))),
        None if d.note.is_none() => out.push("Likely cause: no known fault signature matches".into()),
        None => {}
    }
    if !d.moved.is_empty() {
        let moved: Vec<String> =
            d.moved.iter().take(5).map(|(s, dt)| format!("{} {:+.0} s", sanitize(s), dt)).collect();
        out.push(format!("Moved first: {}", moved.join(", ")));
    }
    if !d.contributions.is_empty() {
        let c: Vec<String> = d
            .contributions
            .iter()
            .filter(|(_, share)| *share >= 0.005)
            .take(5)
            .map(|(s, share)| format!("{} {:.0}%", sanitize(s), share * 100.0))
            .collect();
        out.push(format!("Anomaly score: {}", c.join(", ")));
    }
    if let Some(n) = &d.note {
        out.push(format!("Diagnosis: {}", sanitize(n)));
    }
    out
}

fn render_detail(a: &AlarmRow, now_ms: i64, t: Theme, area: Rect, buf: &mut Buffer) {
    let block = Block::new().borders(Borders::TOP).border_style(t.dim()).title(" Selected alarm ");
    let [first, second] = detail_lines(a, now_ms);
    let mut lines = vec![Line::styled(first, state_style(a.state, t)), Line::styled(second, t.normal())];
    if let Some(d) = &a.diagnosis {
        lines.extend(diagnosis_lines(d).into_iter().map(|l| Line::styled(l, t.key())));
    }
    Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_letters_and_words() {
        let mut a = AlarmRow { first_out: true, stale: true, ..Default::default() };
        assert_eq!(flags_text(&a), "FS");
        a.shelved_until_ms = Some(1);
        a.out_of_service = true;
        a.chattering = true;
        assert_eq!(flags_text(&a), "FCS SHLV OOS");
        assert_eq!(flags_text(&AlarmRow { out_of_service: true, ..Default::default() }), "OOS");
        assert_eq!(flags_text(&AlarmRow { flood_held: true, chattering: true, ..Default::default() }), "C FLD");
    }
}
