//! The what-if popup: the twin's answer to a setpoint value the operator tried — where the
//! KPI goes, how (a sparkline of its predicted trajectory), whether that is inside its band,
//! with the confidence and the model behind it. Enter asks for the write (a request that
//! still needs approval), Esc closes; nothing is written from here.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Clear, Widget};

use crate::format::{percent, sparkline};
use crate::model::WhatIfView;
use crate::sanitize::sanitize;
use crate::theme::Theme;
use crate::widgets::{put, width};

/// Where the predicted steady state lies against the band.
pub fn verdict(w: &WhatIfView) -> &'static str {
    if !w.steady_state.is_finite() {
        "no prediction"
    } else if w.steady_state < w.low {
        "below its band"
    } else if w.steady_state > w.high {
        "above its band"
    } else {
        "inside its band"
    }
}

/// The popup's text lines (untrusted text sanitised), before the sparkline.
pub fn lines(w: &WhatIfView) -> Vec<String> {
    let s = |x: &str| sanitize(x).into_owned();
    let mut v = vec![
        format!("{} {:.1} → {:.1} {}", s(&w.tag), w.from, w.value, s(&w.units)),
        format!("{} now {:.1} → {:.1} {} at steady state", s(&w.kpi), w.kpi_now, w.steady_state, s(&w.kpi_units)),
        format!("Band {}..{}: {}; confidence {}", w.low, w.high, verdict(w), percent(w.confidence)),
        s(&w.model),
    ];
    if let Some(n) = &w.note {
        v.push(format!("! {}", s(n)));
    }
    v.push(format!("Predicted {} over {:.0} s:", s(&w.kpi), w.horizon_s()));
    v
}

/// Draws the popup centred in `area` (the whole screen).
pub fn render(w: &WhatIfView, t: Theme, area: Rect, buf: &mut Buffer) {
    if area.width < 8 || area.height < 3 {
        return;
    }
    let text = lines(w);
    let pw = area.width.min(72);
    let h = (text.len() as u16 + 4).min(area.height);
    let popup = Rect::new(area.x + (area.width - pw) / 2, area.y + (area.height - h) / 2, pw, h);
    Clear.render(popup, buf);
    let title = format!(" What-if: {} ", sanitize(&w.loop_name));
    let block = Block::bordered()
        .title(title.as_str())
        .title_bottom(" Enter ask for approval · Esc close ")
        .border_style(t.key());
    let inner = block.inner(popup);
    block.render(popup, buf);
    if inner.height == 0 || inner.width < 3 {
        return;
    }
    let body = Rect::new(inner.x + 1, inner.y, inner.width - 2, inner.height);
    let mut y = body.y;
    for l in &text {
        if y >= body.bottom() {
            return;
        }
        let style = if l.starts_with('!') { t.bad() } else { t.normal() };
        put(buf, body.x, y, body.width, l, style, false);
        y += 1;
    }
    // the trajectory, resampled to the width, with its first and last values under it
    let cols = usize::from(body.width);
    if y < body.bottom() && cols > 0 && !w.trajectory.is_empty() {
        let n = w.trajectory.len();
        let m = cols.min(n);
        let picked: Vec<f64> =
            (0..m).map(|c| w.trajectory[if m > 1 { c * (n - 1) / (m - 1) } else { n - 1 }].1).collect();
        put(buf, body.x, y, body.width, &sparkline(&picked, cols), t.key(), false);
        y += 1;
    }
    if y < body.bottom() {
        let first = format!("{:.1}", w.trajectory.first().map_or(w.kpi_now, |p| p.1));
        let last = format!("{:.1}", w.trajectory.last().map_or(w.steady_state, |p| p.1));
        put(buf, body.x, y, body.width, &first, t.dim(), false);
        let lw = width(&last) as u16;
        if lw + (width(&first) as u16) < body.width {
            put(buf, body.right() - lw, y, lw, &last, t.dim(), false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_reads_the_band() {
        let mut w = WhatIfView { low: 60.0, high: 70.0, steady_state: 65.0, ..Default::default() };
        assert_eq!(verdict(&w), "inside its band");
        w.steady_state = 71.0;
        assert_eq!(verdict(&w), "above its band");
        w.steady_state = f64::NAN;
        assert_eq!(verdict(&w), "no prediction");
    }
}
