//! `[site.flood]`: when an operator position is in an alarm flood, and which alarms are held
//! back while it is (EEMUA 191, ISA-18.2 §16.5).
//!
//! A position (an area) is in flood when more than `limit` alarms were raised there within
//! `window` (default: more than 10 in 10 minutes, the standards' figure); the flood ends
//! when fewer than `end_below` remain in the window (default 5: the hysteresis keeps a flood
//! from ending and starting again on every alarm). While a position is in flood, new alarms
//! of the `suppress` priorities (default `["low"]`) are not annunciated; those still active
//! when the flood ends are annunciated then. `enabled = false` keeps floods detected and
//! counted but holds nothing back. Critical alarms are never held back.

use std::ops::Range;

use serde::Deserialize;
use serde_spanned::Spanned;

use super::alarm_def::Priority;
use super::parse_duration;

/// `[site.flood]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFlood {
    /// Hold back the `suppress` priorities during a flood (default `true`); floods are
    /// detected and counted either way.
    pub enabled: Option<Spanned<bool>>,
    /// A position is in flood with more than this many alarms within `window` (default 10).
    pub limit: Option<Spanned<i64>>,
    /// The flood ends when fewer than this many remain in the window (default 5, at most `limit`).
    pub end_below: Option<Spanned<i64>>,
    /// The counting window (default `"10m"`).
    pub window: Option<Spanned<String>>,
    /// Priorities not annunciated during a flood (default `["low"]`; `[]`: none). `critical`
    /// is never held back.
    pub suppress: Option<Vec<Spanned<String>>>,
}

/// When a position is in flood, and what is held back then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FloodPolicy {
    /// Hold back [`FloodPolicy::suppress`] during a flood.
    pub enabled: bool,
    /// In flood with more than this many alarms in [`FloodPolicy::window_ms`].
    pub limit: usize,
    /// Out of flood when fewer than this many remain in the window.
    pub end_below: usize,
    pub window_ms: i64,
    /// Priorities held back, indexed like [`Priority::ALL`].
    pub suppress: [bool; 4],
}

impl Default for FloodPolicy {
    fn default() -> FloodPolicy {
        FloodPolicy {
            enabled: true,
            limit: 10,
            end_below: 5,
            window_ms: 600_000,
            suppress: [true, false, false, false],
        }
    }
}

impl FloodPolicy {
    /// Is an alarm of priority `p` held back while its position is in flood?
    pub fn holds_back(&self, p: Priority) -> bool {
        self.enabled && p != Priority::Critical && self.suppress[p as usize]
    }

    /// The priorities held back, lowest first (`low, medium`), for notes and screens.
    pub fn held_back(&self) -> Vec<Priority> {
        Priority::ALL.into_iter().filter(|&p| self.holds_back(p)).collect()
    }
}

/// Validates `[site.flood]`; each problem goes to `err(span, path, message)`.
pub(super) fn build(raw: Option<&RawFlood>, err: &mut dyn FnMut(Range<usize>, String, String)) -> FloodPolicy {
    let mut p = FloodPolicy::default();
    let Some(raw) = raw else { return p };
    let path = |f: &str| format!("site.flood.{f}");
    if let Some(e) = &raw.enabled {
        p.enabled = *e.get_ref();
    }
    if let Some(l) = &raw.limit {
        match usize::try_from(*l.get_ref()) {
            Ok(v) if (1..=10_000).contains(&v) => p.limit = v,
            _ => err(l.span(), path("limit"), format!("{} is outside 1..=10000", l.get_ref())),
        }
    }
    p.end_below = p.end_below.min(p.limit);
    if let Some(e) = &raw.end_below {
        match usize::try_from(*e.get_ref()) {
            Ok(v) if v >= 1 && v <= p.limit => p.end_below = v,
            _ => err(e.span(), path("end_below"), format!("{} is outside 1..={} (the limit)", e.get_ref(), p.limit)),
        }
    }
    if let Some(w) = &raw.window {
        match parse_duration(w.get_ref()) {
            Ok(d) if d.is_zero() => err(w.span(), path("window"), "must be greater than zero".into()),
            Ok(d) => p.window_ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(m) => err(w.span(), path("window"), m.to_string()),
        }
    }
    if let Some(list) = &raw.suppress {
        p.suppress = [false; 4];
        for (i, s) in list.iter().enumerate() {
            match Priority::from_name(s.get_ref()) {
                Some(Priority::Critical) => {
                    err(s.span(), format!("site.flood.suppress[{i}]"), "critical alarms are never held back".into())
                }
                Some(pr) => p.suppress[pr as usize] = true,
                None => err(
                    s.span(),
                    format!("site.flood.suppress[{i}]"),
                    format!("unknown priority `{}` (low, medium, high)", s.get_ref()),
                ),
            }
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use crate::config::alarm_def::Priority;
    use crate::config::testkit::{parse_errors, site, text};

    #[test]
    fn the_default_is_the_standards_figure() {
        let f = site("").flood;
        assert_eq!((f.enabled, f.limit, f.end_below, f.window_ms), (true, 10, 5, 600_000));
        assert_eq!(f.held_back(), [Priority::Low]);
    }

    #[test]
    fn every_field_is_read() {
        let f = site(
            "[site.flood]\nenabled = false\nlimit = 20\nend_below = 8\nwindow = \"5m\"\nsuppress = [\"low\", \"medium\"]\n",
        )
        .flood;
        assert_eq!((f.enabled, f.limit, f.end_below, f.window_ms), (false, 20, 8, 300_000));
        assert_eq!(f.suppress, [true, true, false, false]);
        assert!(f.held_back().is_empty(), "disabled: nothing held back");
    }

    #[test]
    fn bad_values_name_their_place() {
        let t = text(
            "[site.flood]\nlimit = 0\nend_below = 30\nwindow = \"0s\"\nsuppress = [\"critical\", \"lowish\"]\nextra = 1\n",
        );
        let errs = parse_errors("t.toml", &t);
        assert_eq!(errs.len(), 1, "an unknown field stops the parse: {errs:?}");
        assert!(errs[0].contains("extra"), "{errs:?}");
        let t =
            text("[site.flood]\nlimit = 0\nend_below = 30\nwindow = \"0s\"\nsuppress = [\"critical\", \"lowish\"]\n");
        let errs = parse_errors("t.toml", &t);
        let base = t.lines().position(|l| l == "[site.flood]").unwrap_or(0) + 1;
        let want = [
            (1, "site.flood.limit", "0 is outside 1..=10000"),
            (2, "site.flood.end_below", "30 is outside 1..=10 (the limit)"),
            (3, "site.flood.window", "must be greater than zero"),
            (4, "site.flood.suppress[0]", "critical alarms are never held back"),
            (4, "site.flood.suppress[1]", "unknown priority `lowish` (low, medium, high)"),
        ];
        assert_eq!(errs.len(), want.len(), "{errs:?}");
        for (e, (line, path, msg)) in errs.iter().zip(want) {
            assert!(e.starts_with(&format!("t.toml:{}:", base + line)), "{e}");
            assert!(e.contains(path) && e.contains(msg), "{e}");
        }
    }
}
