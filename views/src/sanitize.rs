//! Neutralising untrusted text before it reaches the terminal.

use std::borrow::Cow;

/// The visible placeholder that replaces every control character.
pub const PLACEHOLDER: char = '\u{FFFD}';

/// Returns `true` for characters that must never reach a terminal: C0 controls
/// (incl. ESC, CR, LF, TAB), DEL, C1 controls (U+0080–U+009F, e.g. CSI U+009B)
/// and the Unicode bidirectional overrides/isolates (which can make text
/// display in a misleading order).
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Replaces each control character (C0 incl. ESC/CR/TAB, DEL, C1 0x80–0x9F)
/// and each bidi override with [`PLACEHOLDER`] (`�`), so escape sequences
/// from devices or configuration can never reach the operator's terminal and
/// the tampering stays visible. Borrows when nothing needs replacing.
///
/// ```
/// # use mimic_views::sanitize;
/// assert_eq!(sanitize("\x1b[2Jpump"), "�[2Jpump");
/// assert_eq!(sanitize("FT-101"), "FT-101");
/// ```
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(s.chars().map(|c| if is_unsafe(c) { PLACEHOLDER } else { c }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(sanitize("PT-101 bar µ 温度 🚰"), Cow::Borrowed(_)));
        assert!(matches!(sanitize(""), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_sequences_are_defused() {
        assert_eq!(sanitize("\x1b[2J"), "�[2J");
        assert_eq!(sanitize("\x1b]0;title\x07"), "�]0;title�");
        assert_eq!(sanitize("a\rb\nc\td"), "a�b�c�d");
    }

    #[test]
    fn every_c0_del_and_c1_is_replaced() {
        for c in (0u32..0x20).chain(0x7F..0xA0).filter_map(char::from_u32) {
            let s = format!("x{c}y");
            assert_eq!(sanitize(&s), "x�y", "U+{:04X}", c as u32);
        }
        // single-byte CSI (U+009B) in particular
        assert_eq!(sanitize("\u{9b}31m"), "�31m");
    }

    #[test]
    fn bidi_overrides_are_replaced() {
        assert_eq!(sanitize("ok\u{202E}gnp"), "ok�gnp");
        assert_eq!(sanitize("\u{2066}x\u{2069}"), "�x�");
    }

    #[test]
    fn printable_unicode_is_kept() {
        for s in ["¡", "\u{A0}", "µs", "温度計", "🔥", "é"] {
            assert_eq!(sanitize(s), s);
        }
    }
}
