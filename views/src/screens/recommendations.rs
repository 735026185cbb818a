//! The Recommendations screen: set-point proposals of the advisory models
//! (pending first) and, below, the selected one's details: the change, the
//! predicted effect, the confidence as text (`82 %`) and who signed.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use crate::format;
use crate::model::{RecommendationRow, Snapshot};
use crate::sanitize::sanitize;
use crate::state::{UiState, visible_recommendations};
use crate::theme::Theme;
use crate::widgets::{CellText, Col};

/// Width from which asset, age, expiry and the second-approver column are shown.
pub const WIDE: u16 = 120;

fn columns(width: u16) -> Vec<Col> {
    let mut c = vec![Col::fixed("Status", 10)];
    if width >= WIDE {
        c.push(Col::fixed("Asset", 16));
    }
    c.extend([
        Col::name("Tag", 2),
        Col::flex("Recommendation", 3),
        Col::right("Current", 9),
        Col::fixed("", 1),
        Col::right("Proposed", 9),
        Col::fixed("Units", 6),
        Col::right("Conf", 5),
    ]);
    if width >= WIDE {
        c.extend([Col::right("Age", 5), Col::right("Expires", 7), Col::fixed("2nd", 3)]);
    }
    c
}

/// Style of a status (an extra: the status is text).
pub fn status_style(status: &str, t: Theme) -> Style {
    match status {
        "pending" => t.key(),
        "mismatch" => t.bad(),
        s if s.starts_with("effect off") || s.starts_with("mismatch") => t.bad(),
        "written" | "confirmed" => t.good(),
        "rejected" | "expired" => t.dim(),
        _ => t.normal(),
    }
}

/// `in 12m`, `expired`, or `never`.
pub fn expiry_text(r: &RecommendationRow, now_ms: i64) -> String {
    match r.expires_ms {
        Some(e) if e > now_ms => format!("in {}", format::age(e - now_ms)),
        Some(_) => "expired".into(),
        None => "never".into(),
    }
}

fn row<'a>(r: &'a RecommendationRow, now_ms: i64, t: Theme, wide: bool) -> Vec<CellText<'a>> {
    // the table shows the status word; the detail pane gives its reason
    let word = r.status.split(':').next().unwrap_or_default();
    let mut c: Vec<CellText> = vec![(Cow::Borrowed(word), status_style(&r.status, t))];
    if wide {
        c.push((Cow::Borrowed(r.asset.as_str()), t.dim()));
    }
    c.extend([
        (Cow::Borrowed(r.tag.as_str()), t.normal()),
        (Cow::Borrowed(r.title.as_str()), t.normal()),
        (Cow::Owned(format::value(r.current, 2, 9)), t.dim()),
        (Cow::Borrowed("→"), t.dim()),
        (Cow::Owned(format::value(Some(r.proposed), 2, 9)), t.normal()),
        (Cow::Borrowed(r.units.as_str()), t.dim()),
        (Cow::Owned(format::percent(r.confidence)), t.normal()),
    ]);
    if wide {
        c.extend([
            (Cow::Owned(format::age(now_ms.saturating_sub(r.created_ms))), t.dim()),
            (
                Cow::Owned(match r.expires_ms {
                    Some(e) if e > now_ms => format::age(e - now_ms),
                    Some(_) => "expired".into(),
                    None => "-".into(),
                }),
                t.dim(),
            ),
            (Cow::Borrowed(if r.needs_second_approver { "2nd" } else { "" }), t.warn()),
        ]);
    }
    c
}

/// Renders the Recommendations body into `area`.
pub fn render(snapshot: &Snapshot, ui: &UiState, area: Rect, buf: &mut Buffer) {
    if area.height == 0 {
        return;
    }
    let t = ui.theme;
    let recs = visible_recommendations(snapshot, ui);
    let pending = recs.iter().filter(|r| r.status == "pending").count();
    let count = format!(" {} recommendations", recs.len());
    let pend = format!("  {pending} pending");
    super::render_status(
        &[(&count, t.normal()), (&pend, if pending > 0 { t.key() } else { t.dim() })],
        Rect::new(area.x, area.y, area.width, 1),
        buf,
    );
    let rest = Rect::new(area.x, area.y + 1, area.width, area.height - 1);
    if recs.is_empty() {
        super::render_empty("No recommendations.", rest, t, buf);
        return;
    }
    let detail_h = if rest.height >= 12 { rest.height - (rest.height * 2 / 5).max(4) } else { 0 };
    let selected = ui.rec_selected.min(recs.len() - 1);
    let wide = area.width >= WIDE;
    let cols = columns(area.width);
    let (now, scroll) = (snapshot.now_ms, ui.rec_scroll);
    let detail = super::render_list(buf, rest, detail_h, &cols, &recs, selected, scroll, t, |r| row(r, now, t, wide));
    if let Some(d) = detail {
        render_detail(recs[selected], now, t, d, buf);
    }
}

/// The value before the change (as it was when the request was made) and the value
/// asked for, whatever happened after; while pending, the live value too when it moved.
fn change_line(r: &RecommendationRow, u: &str) -> String {
    let before = r.previous.or(r.current);
    let mut line =
        format!("Change {} {u} → {} {u}", format::value(before, 3, 14), format::value(Some(r.proposed), 3, 14));
    if r.status == "pending" && r.current.is_some() && r.current != before {
        line.push_str(&format!("   now {} {u}", format::value(r.current, 3, 14).trim()));
    }
    line
}

/// The detail pane as text lines (sanitized).
pub fn detail_lines(r: &RecommendationRow, now_ms: i64) -> Vec<String> {
    let u = sanitize(&r.units);
    let mut v = vec![
        format!("Tag {}   asset {}", sanitize(&r.tag), sanitize(&r.asset)),
        change_line(r, &u),
        format!("Predicted effect: {}", sanitize(&r.predicted_effect)),
        format!("Confidence {}", format::percent(r.confidence)),
        format!(
            "Status {}   created {} UTC ({} ago)   expires {}",
            sanitize(&r.status),
            format::clock(r.created_ms),
            format::age(now_ms.saturating_sub(r.created_ms)),
            expiry_text(r, now_ms)
        ),
    ];
    if r.needs_second_approver {
        v.push(format!("Needs a second approver: {} of 2 signatures", r.approvals.len().min(2)));
    }
    if r.revertable {
        v.push(format!("r: ask to revert to {} {u} (needs approval)", format::value(r.previous, 3, 14).trim()));
    }
    if r.approvals.is_empty() {
        v.push("Signed: nobody yet".into());
    } else {
        v.push("Signed:".into());
        v.extend(r.approvals.iter().map(|a| format!("  ✓ {}", sanitize(a))));
    }
    v
}

fn render_detail(r: &RecommendationRow, now_ms: i64, t: Theme, area: Rect, buf: &mut Buffer) {
    let title = format!(" {} ", sanitize(&r.title));
    let block = Block::bordered().title(title.as_str()).border_style(t.dim());
    let lines: Vec<Line> = detail_lines(r, now_ms)
        .into_iter()
        .enumerate()
        .map(|(i, l)| Line::styled(l, if i == 4 { status_style(&r.status, t) } else { t.normal() }))
        .collect();
    Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(status: &str, previous: Option<f64>, current: Option<f64>) -> RecommendationRow {
        RecommendationRow {
            tag: "FV101.position_sp".into(),
            units: "L/min".into(),
            proposed: 61.5,
            status: status.into(),
            previous,
            current,
            ..RecommendationRow::default()
        }
    }

    #[test]
    fn the_detail_keeps_the_value_before_the_change_after_the_write() {
        let lines = detail_lines(&req("confirmed", Some(55.0), Some(61.5)), 0);
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["Change", "55.000", "L/min", "→", "61.500", "L/min"]
        );
        // pending, the plant moved meanwhile: the value at the request, and the live one
        let lines = detail_lines(&req("pending", Some(55.0), Some(57.25)), 0);
        assert!(lines[1].contains("55.000 L/min →") && lines[1].ends_with("now 57.250 L/min"), "{}", lines[1]);
        // no value recorded at the request: the live value, as before
        let lines = detail_lines(&req("pending", None, Some(57.25)), 0);
        assert!(lines[1].contains("57.250 L/min →") && !lines[1].contains("now"), "{}", lines[1]);
    }
}
