//! Trend screen (placeholder until priority 2).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::model::{Snapshot, TrendData};
use crate::state::UiState;

/// Renders the Trend body.
pub fn render(_trend: Option<&TrendData>, _snapshot: &Snapshot, _ui: &UiState, _area: Rect, _buf: &mut Buffer) {}
