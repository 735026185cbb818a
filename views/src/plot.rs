//! Geometry of the trend chart: where its plot cells lie in an area and how many
//! columns a terminal of a given width plots. Shared by the Trend screen (which draws
//! into it) and the UI state (which asks the daemon for as many columns as are drawn).

use ratatui::layout::Rect;

/// Width of the y-axis labels (value and units) left of the plot.
pub const GUTTER: u16 = 19;

/// The plot cells of a chart drawn into `area` (without the y axis labels
/// and the x axis line).
pub fn plot_area(area: Rect) -> Rect {
    let gutter = GUTTER.min(area.width / 3);
    Rect::new(area.x + gutter + 1, area.y, area.width.saturating_sub(gutter + 1), area.height.saturating_sub(1))
}

/// Screen columns of the Trend chart on a terminal `width` cells wide.
pub fn plot_width(width: u16) -> usize {
    usize::from(plot_area(Rect::new(0, 0, width, 3)).width)
}
