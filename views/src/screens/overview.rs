//! Overview screen (placeholder until priority 2).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::model::Snapshot;
use crate::state::UiState;

/// Renders the Overview body.
pub fn render(_snapshot: &Snapshot, _ui: &UiState, _area: Rect, _buf: &mut Buffer) {}
