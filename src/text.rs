//! Untrusted text, a small shared module: which characters must never reach a terminal.
//! The domain (free text of maintenance events, names from files) cleans text with it
//! without reaching up into the screens crate; `mimic_views::sanitize` applies the same
//! rule at display time (`tests/layers.rs` keeps the two equal).

/// A character that could drive or mislead a terminal: C0 controls (incl. ESC, CR, LF,
/// TAB), DEL, C1 controls (U+0080–U+009F) and the Unicode bidirectional overrides and
/// isolates.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}
