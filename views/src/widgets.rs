//! Small drawing helpers shared by the screens: clipped text cells and a
//! column table that draws only the rows it is given.

use std::borrow::Cow;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;

use crate::sanitize::sanitize;

/// Display width of `s` in terminal cells.
pub fn width(s: &str) -> usize {
    Span::raw(s).width()
}

/// Writes `text` (sanitized) at `(x, y)` within `w` cells; right-aligned if
/// `right`. Text that does not fit is clipped and ends with `…`.
pub fn put(buf: &mut Buffer, x: u16, y: u16, w: u16, text: &str, style: Style, right: bool) {
    if w == 0 {
        return;
    }
    let text = sanitize(text);
    if text.is_ascii() {
        // fast path: one cell per byte, no grapheme segmentation
        let w = usize::from(w.min(buf.area.right().saturating_sub(x)));
        let b = text.as_bytes();
        let (shown, ell) = if b.len() <= w { (b.len(), false) } else { (w - 1, true) };
        let pad = if right && !ell { w - b.len() } else { 0 };
        for (i, &c) in b[..shown].iter().enumerate() {
            buf[(x + (pad + i) as u16, y)].set_char(char::from(c)).set_style(style);
        }
        if ell {
            buf[(x + shown as u16, y)].set_symbol("…").set_style(style);
        }
        return;
    }
    let tw = width(&text);
    if tw <= usize::from(w) {
        let pad = if right { w - tw as u16 } else { 0 };
        buf.set_stringn(x + pad, y, &text, usize::from(w - pad), style);
    } else {
        buf.set_stringn(x, y, &text, usize::from(w - 1), style);
        buf.set_stringn(x + w - 1, y, "…", 1, style);
    }
}

/// Shortens `s` to `w` cells by replacing its middle with `…`, keeping the
/// start and the (often distinguishing) end, e.g. `Area01.Un…Ends.0042`.
pub fn ellipsize_middle(s: &str, w: usize) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.len() <= w {
            return Cow::Borrowed(s);
        }
        if w <= 1 {
            return Cow::Borrowed(if w == 1 { "…" } else { "" });
        }
        let tail = (w - 1) / 2;
        return Cow::Owned(format!("{}…{}", &s[..w - 1 - tail], &s[s.len() - tail..]));
    }
    if width(s) <= w {
        return Cow::Borrowed(s);
    }
    if w <= 1 {
        return Cow::Borrowed(if w == 1 { "…" } else { "" });
    }
    let cw = |c: char| width(c.encode_utf8(&mut [0; 4]));
    let tail_w = (w - 1) / 2;
    let head_w = w - 1 - tail_w;
    let mut head = String::new();
    let mut used = 0;
    for c in s.chars() {
        if used + cw(c) > head_w {
            break;
        }
        used += cw(c);
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used_t = 0;
    for c in s.chars().rev() {
        if used_t + cw(c) > tail_w {
            break;
        }
        used_t += cw(c);
        tail.push(c);
    }
    head.push('…');
    head.extend(tail.into_iter().rev());
    Cow::Owned(head)
}

/// Column of a [`draw_table`]; `width == 0` marks a flexible column.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub title: &'static str,
    pub width: u16,
    pub right: bool,
    /// Share of the remaining width for flexible columns.
    pub flex: u16,
    /// Shorten overlong text in the middle instead of at the end.
    pub mid: bool,
}

impl Col {
    pub const fn fixed(title: &'static str, width: u16) -> Col {
        Col { title, width, right: false, flex: 0, mid: false }
    }
    pub const fn right(title: &'static str, width: u16) -> Col {
        Col { title, width, right: true, flex: 0, mid: false }
    }
    /// A flexible column shortened in the middle (names).
    pub const fn name(title: &'static str, flex: u16) -> Col {
        Col { title, width: 0, right: false, flex, mid: true }
    }
    pub const fn flex(title: &'static str, flex: u16) -> Col {
        Col { title, width: 0, right: false, flex, mid: false }
    }
}

/// One cell: text and style.
pub type CellText<'a> = (Cow<'a, str>, Style);

/// Resolves column widths for `total` cells with one space between columns.
pub fn col_widths(cols: &[Col], total: u16) -> Vec<u16> {
    let gaps = cols.len().saturating_sub(1) as u16;
    let fixed: u16 = cols.iter().map(|c| c.width).sum::<u16>() + gaps;
    let mut rest = total.saturating_sub(fixed);
    let flex_sum: u16 = cols.iter().map(|c| c.flex).sum();
    let mut out: Vec<u16> = Vec::with_capacity(cols.len());
    let mut flex_left = flex_sum;
    for c in cols {
        if c.flex > 0 {
            let w = if flex_left == c.flex {
                rest
            } else {
                (u32::from(rest) * u32::from(c.flex) / u32::from(flex_left)) as u16
            };
            rest -= w;
            flex_left -= c.flex;
            out.push(w);
        } else {
            out.push(c.width);
        }
    }
    out
}

/// Draws a header line and then `rows` (already limited to the visible
/// window) into `area`; `selected` (index into `rows`) is drawn reversed.
pub fn draw_table(
    buf: &mut Buffer,
    area: Rect,
    cols: &[Col],
    header: Style,
    rows: &[Vec<CellText<'_>>],
    selected: Option<usize>,
    selected_style: Style,
) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let widths = col_widths(cols, area.width);
    let mut x = area.x;
    for (c, w) in cols.iter().zip(&widths) {
        let w = (*w).min(area.right().saturating_sub(x));
        put(buf, x, area.y, w, c.title, header, c.right);
        x = x.saturating_add(w + 1);
    }
    for (i, row) in rows.iter().enumerate().take(usize::from(area.height - 1)) {
        let y = area.y + 1 + i as u16;
        let mut x = area.x;
        for ((text, style), (c, w)) in row.iter().zip(cols.iter().zip(&widths)) {
            let w = (*w).min(area.right().saturating_sub(x));
            if c.mid {
                let clean = sanitize(text);
                put(buf, x, y, w, &ellipsize_middle(&clean, usize::from(w)), *style, c.right);
            } else {
                put(buf, x, y, w, text, *style, c.right);
            }
            x = x.saturating_add(w + 1);
        }
        if selected == Some(i) {
            buf.set_style(Rect::new(area.x, y, area.width, 1), selected_style);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_share_the_rest() {
        let cols = [Col::fixed("a", 4), Col::flex("b", 1), Col::flex("c", 1)];
        assert_eq!(col_widths(&cols, 20), vec![4, 7, 7]);
        assert_eq!(col_widths(&cols, 3), vec![4, 0, 0]);
    }

    #[test]
    fn middle_ellipsis() {
        assert_eq!(ellipsize_middle("abcdefghij", 7), "abc…hij");
        assert_eq!(ellipsize_middle("abc", 7), "abc");
        assert_eq!(ellipsize_middle("温度計温度計", 7), "温…計");
        assert_eq!(ellipsize_middle("abcdef", 1), "…");
        assert_eq!(ellipsize_middle("abcdef", 0), "");
        assert_eq!(ellipsize_middle("abcdef", 2), "a…");
    }

    #[test]
    fn put_clips_with_ellipsis_and_aligns() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 1));
        put(&mut buf, 0, 0, 6, "abcdefgh", Style::new(), false);
        assert_eq!(buf, Buffer::with_lines(["abcde…"]));
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 1));
        put(&mut buf, 0, 0, 6, "12", Style::new(), true);
        assert_eq!(buf, Buffer::with_lines(["    12"]));
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 1));
        put(&mut buf, 0, 0, 6, "\x1b[2J", Style::new(), false);
        assert_eq!(buf, Buffer::with_lines(["�[2J  "]));
    }
}
