//! Styles. Meaning is always carried by text and markers first; colour is an
//! extra. With `color: false` only modifiers (BOLD, DIM, REVERSED, UNDERLINED)
//! are used; otherwise only the 16 basic ANSI colours.

use ratatui::style::{Color, Modifier, Style};

/// Visual theme. `color: false` is monochrome (NO_COLOR, dumb terminals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Theme { color: true }
    }
}

impl Theme {
    fn pick(self, color: Style, mono: Style) -> Style {
        if self.color { color } else { mono }
    }
    /// Normal text.
    pub fn normal(self) -> Style {
        Style::new()
    }
    /// Secondary text (labels, units, descriptions).
    pub fn dim(self) -> Style {
        self.pick(Style::new().fg(Color::DarkGray), Style::new().add_modifier(Modifier::DIM))
    }
    /// Good quality / device up / running.
    pub fn good(self) -> Style {
        self.pick(Style::new().fg(Color::Green), Style::new())
    }
    /// Uncertain quality, stale values, warnings.
    pub fn warn(self) -> Style {
        self.pick(Style::new().fg(Color::Yellow), Style::new().add_modifier(Modifier::UNDERLINED))
    }
    /// Stale values: dimmed (also marked with `~` in text).
    pub fn stale(self) -> Style {
        self.pick(Style::new().fg(Color::Yellow).add_modifier(Modifier::DIM), Style::new().add_modifier(Modifier::DIM))
    }
    /// Bad quality, device down, errors.
    pub fn bad(self) -> Style {
        self.pick(Style::new().fg(Color::Red).add_modifier(Modifier::BOLD), Style::new().add_modifier(Modifier::BOLD))
    }
    /// Highlighted row under the cursor.
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    /// Column headers.
    pub fn header(self) -> Style {
        self.pick(
            Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
        )
    }
    /// Title bar.
    pub fn title(self) -> Style {
        self.pick(
            Style::new().fg(Color::White).bg(Color::Blue).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }
    /// The DISCONNECTED banner.
    pub fn alarm(self) -> Style {
        self.pick(
            Style::new().fg(Color::White).bg(Color::Red).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }
    /// Active tab.
    pub fn tab_active(self) -> Style {
        self.pick(
            Style::new().fg(Color::Black).bg(Color::Cyan).add_modifier(Modifier::BOLD),
            Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
        )
    }
    /// Key names in footers and help.
    pub fn key(self) -> Style {
        self.pick(Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD), Style::new().add_modifier(Modifier::BOLD))
    }
    /// Trend bars.
    pub fn plot(self) -> Style {
        self.pick(Style::new().fg(Color::Cyan), Style::new())
    }
}
