//! Checks of the `[[alarm]]` tables: known tags, kinds and priorities, limits where a
//! kind needs one, ordered limits per tag (`hi` ≤ `hihi`, `lo` ≥ `lolo`), one alarm of a
//! kind per tag, non-negative deadbands, positive rate limits and windows.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use serde_spanned::Spanned;

use super::alarm_def::{AlarmDef, AlarmKind, Place, Priority};
use super::parse_duration;
use super::raw::{RawAlarm, RawSite};

const KINDS: &str = "hihi, hi, lo, lolo, rate, bad_quality";

/// Validate every `[[alarm]]` against the site's tags and assets; each problem goes to
/// `err(span, path, message)`. The definitions returned are meaningful only when no
/// error was reported.
pub(super) fn build(raw: &RawSite, err: &mut dyn FnMut(Range<usize>, String, String)) -> Vec<AlarmDef> {
    let tag_ix: HashMap<&str, usize> =
        raw.tag.iter().enumerate().rev().map(|(i, t)| (t.name.get_ref().as_str(), i)).collect();
    let area_of: HashMap<&str, &str> =
        raw.asset.iter().rev().map(|a| (a.name.get_ref().as_str(), a.area.get_ref().as_str())).collect();
    let mut defs = Vec::with_capacity(raw.alarm.len());
    // (tag, kind) → (alarm index, limit)
    let mut seen: HashMap<(usize, &'static str), (usize, Option<f64>)> = HashMap::new();
    for (i, a) in raw.alarm.iter().enumerate() {
        let p = |f: &str| format!("alarm[{i}].{f}");
        let tag = tag_ix.get(a.tag.get_ref().as_str()).copied();
        if tag.is_none() {
            err(a.tag.span(), p("tag"), format!("unknown tag `{}`", a.tag.get_ref()));
        }
        let kind = AlarmKind::from_name(a.kind.get_ref());
        if kind.is_none() {
            err(a.kind.span(), p("kind"), format!("unknown kind `{}` ({KINDS})", a.kind.get_ref()));
        }
        let priority = Priority::from_name(a.priority.get_ref()).unwrap_or_else(|| {
            err(
                a.priority.span(),
                p("priority"),
                format!("unknown priority `{}` (low, medium, high, critical)", a.priority.get_ref()),
            );
            Priority::Medium
        });
        let limit = a.limit.as_ref().map(|l| *l.get_ref());
        if let Some(l) = &a.limit
            && !l.get_ref().is_finite()
        {
            err(l.span(), p("limit"), "must be a finite number".into());
        }
        match (&kind, &a.limit) {
            (Some(k), None) if k.has_limit() => {
                let what = if *k == AlarmKind::RateOfChange { " (units per second)" } else { "" };
                err(a.kind.span(), p("limit"), format!("a `{}` alarm needs a `limit`{what}", a.kind.get_ref()));
            }
            (Some(AlarmKind::BadQuality), Some(l)) => {
                err(l.span(), p("limit"), "a `bad_quality` alarm takes no `limit`".into());
            }
            (Some(AlarmKind::RateOfChange), Some(l)) if *l.get_ref() <= 0.0 => {
                err(l.span(), p("limit"), "a rate limit must be greater than zero (units per second)".into());
            }
            _ => {}
        }
        let deadband = match &a.deadband {
            None => 0.0,
            Some(d) if d.get_ref().is_finite() && *d.get_ref() >= 0.0 => *d.get_ref(),
            Some(d) => {
                err(d.span(), p("deadband"), "must be a finite number ≥ 0".into());
                0.0
            }
        };
        let on_delay = delay(&a.on_delay, p("on_delay"), err);
        let off_delay = delay(&a.off_delay, p("off_delay"), err);
        let window = window(a, kind.as_ref(), p("window"), err);
        if let Some(m) = &a.message
            && m.get_ref().chars().any(char::is_control)
        {
            err(m.span(), p("message"), "must not contain control characters".into());
        }

        let (Some(tag), Some(kind)) = (tag, kind) else { continue };
        check_order(raw, i, a, tag, &kind, limit, &mut seen, err);

        let t = &raw.tag[tag];
        let asset = t.asset.as_ref().map(|a| a.get_ref().clone());
        let area = asset.as_deref().and_then(|name| area_of.get(name)).map(|a| (*a).to_string());
        defs.push(AlarmDef {
            tag,
            place: Place::of_tag(t.name.get_ref(), asset, area),
            kind,
            priority,
            limit,
            deadband,
            on_delay,
            off_delay,
            window,
            message: a.message.as_ref().map(|m| m.get_ref().clone()),
        });
    }
    defs
}

/// The window of a `rate` alarm (default 10 s, greater than zero); other kinds take none.
fn window(
    a: &RawAlarm,
    kind: Option<&AlarmKind>,
    path: String,
    err: &mut dyn FnMut(Range<usize>, String, String),
) -> Duration {
    match (&a.window, kind) {
        (None, _) => Duration::from_secs(10),
        (Some(w), Some(AlarmKind::RateOfChange)) => match delay(&a.window, path.clone(), err) {
            d if d.is_zero() => {
                if parse_duration(w.get_ref()).is_ok() {
                    err(w.span(), path, "must be greater than zero".into());
                }
                Duration::from_secs(10)
            }
            d => d,
        },
        (Some(w), _) => {
            err(w.span(), path, "`window` applies only to `rate` alarms".into());
            Duration::from_secs(10)
        }
    }
}

/// An on/off delay or window: a duration, zero allowed.
fn delay(v: &Option<Spanned<String>>, path: String, err: &mut dyn FnMut(Range<usize>, String, String)) -> Duration {
    let Some(v) = v else { return Duration::ZERO };
    parse_duration(v.get_ref()).unwrap_or_else(|m| {
        err(v.span(), path, m.to_string());
        Duration::ZERO
    })
}

fn kind_key(kind: &AlarmKind) -> &'static str {
    match kind {
        AlarmKind::HiHi => "hihi",
        AlarmKind::Hi => "hi",
        AlarmKind::Lo => "lo",
        AlarmKind::LoLo => "lolo",
        AlarmKind::RateOfChange => "rate",
        AlarmKind::BadQuality => "bad_quality",
        AlarmKind::Model { .. } => "model",
    }
}

/// One alarm of a kind per tag; `hi` not above `hihi`, `lo` not below `lolo`.
#[allow(clippy::too_many_arguments)]
fn check_order(
    raw: &RawSite,
    i: usize,
    a: &RawAlarm,
    tag: usize,
    kind: &AlarmKind,
    limit: Option<f64>,
    seen: &mut HashMap<(usize, &'static str), (usize, Option<f64>)>,
    err: &mut dyn FnMut(Range<usize>, String, String),
) {
    let key = kind_key(kind);
    if let Some(&(first, _)) = seen.get(&(tag, key)) {
        err(
            a.kind.span(),
            format!("alarm[{i}].kind"),
            format!("tag `{}` already has a `{key}` alarm (alarm[{first}])", raw.tag[tag].name.get_ref()),
        );
        return;
    }
    seen.insert((tag, key), (i, limit));
    // The partner kind, and whether this limit must be at most (or else at least) its limit.
    let pair = match kind {
        AlarmKind::Hi => Some(("hihi", true)),
        AlarmKind::HiHi => Some(("hi", false)),
        AlarmKind::Lo => Some(("lolo", false)),
        AlarmKind::LoLo => Some(("lo", true)),
        _ => None,
    };
    let (Some((partner, at_most)), Some(mine)) = (pair, limit) else { return };
    let Some(&(j, Some(theirs))) = seen.get(&(tag, partner)) else { return };
    let wrong = if at_most { mine > theirs } else { mine < theirs };
    if wrong {
        let span = a.limit.as_ref().map_or_else(|| a.kind.span(), Spanned::span);
        let rel = if at_most { "above" } else { "below" };
        err(
            span,
            format!("alarm[{i}].limit"),
            format!("{key} limit ({mine}) is {rel} the {partner} limit ({theirs}) of alarm[{j}] on the same tag"),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use crate::config::Site;
    use crate::config::alarm_def::{AlarmKind, Priority};

    /// 21 lines; the first `[[alarm]]` appended is on line 22.
    const BASE: &str = r#"[site]
name = "t"
[[asset]]
name = "P-1"
area = "north"
unit = "u"
[[device]]
name = "plc"
protocol = "modbus-tcp"
endpoint = "127.0.0.1:502"
[[tag]]
name = "temp"
device = "plc"
asset = "P-1"
address = "hr:0"
low = 0.0
high = 100.0
[[tag]]
name = "flow"
device = "plc"
address = "hr:1"
"#;

    fn errors(alarms: &str) -> Vec<String> {
        crate::config::testkit::parse_errors("s.toml", &format!("{BASE}{alarms}"))
    }

    /// One `[[alarm]]` table in five lines (four without a limit): tag, kind, limit, priority.
    fn alarm(tag: &str, kind: &str, limit: Option<f64>, priority: &str) -> String {
        let limit = limit.map(|l| format!("limit = {l:?}\n")).unwrap_or_default();
        format!("[[alarm]]\ntag = \"{tag}\"\nkind = \"{kind}\"\n{limit}priority = \"{priority}\"\n")
    }

    /// A hihi (with every optional field) and a hi on `temp`, a rate and a bad-quality
    /// alarm on `flow`.
    fn places(hihi: f64, hi: f64) -> String {
        let hihi = alarm("temp", "hihi", Some(hihi), "critical")
            + "deadband = 1.0\non_delay = \"5s\"\noff_delay = \"500ms\"\nmessage = \"Too hot\"\n";
        let rate = "[[alarm]]\ntag = \"flow\"\nkind = \"rate\"\nlimit = 2.5\nwindow = \"30s\"\npriority = \"low\"\n";
        [hihi, alarm("temp", "hi", Some(hi), "high"), rate.into(), alarm("flow", "bad_quality", None, "medium")]
            .concat()
    }

    #[test]
    fn alarms_parse_with_defaults_and_places() {
        let site = Site::parse(Path::new("s.toml"), &format!("{BASE}{}", places(95.0, 150.0)));
        // hi 150 is above hihi 95: fix that first, then check the rest.
        let errs = site.expect_err("hi above hihi").0;
        assert_eq!(errs.len(), 1);
        assert_eq!(
            errs[0].to_string(),
            "s.toml:34:9: alarm[1].limit: hi limit (150) is above the hihi limit (95) of alarm[0] on the same tag"
        );

        let text = format!("{BASE}{}", places(110.0, 95.0));
        let site = Site::parse(Path::new("s.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
        let a = &site.alarms;
        assert_eq!(a.len(), 4);
        assert_eq!((a[0].tag, a[0].tag_name(), &a[0].kind), (0, "temp", &AlarmKind::HiHi));
        assert_eq!((a[0].place.asset.as_deref(), a[0].place.area.as_deref()), (Some("P-1"), Some("north")));
        assert_eq!((a[0].priority, a[0].limit, a[0].deadband), (Priority::Critical, Some(110.0), 1.0));
        assert_eq!((a[0].on_delay, a[0].off_delay), (Duration::from_secs(5), Duration::from_millis(500)));
        assert_eq!(a[0].message.as_deref(), Some("Too hot"));
        // 110 is above the tag's engineering range (0..100): allowed.
        assert_eq!(a[1].limit, Some(95.0));
        assert_eq!((a[1].deadband, a[1].on_delay, a[1].message.as_deref()), (0.0, Duration::ZERO, None));
        assert_eq!((a[2].tag, &a[2].kind, a[2].window), (1, &AlarmKind::RateOfChange, Duration::from_secs(30)));
        assert_eq!((a[2].place.asset.as_deref(), a[2].place.area.as_deref()), (None, None));
        assert_eq!((&a[3].kind, a[3].limit), (&AlarmKind::BadQuality, None));
    }

    #[test]
    fn unknown_tag_kind_and_priority() {
        let got = errors(
            r#"[[alarm]]
tag = "nope"
kind = "high"
limit = 1.0
priority = "urgent"
"#,
        );
        assert_eq!(
            got,
            [
                "s.toml:23:7: alarm[0].tag: unknown tag `nope`",
                "s.toml:24:8: alarm[0].kind: unknown kind `high` (hihi, hi, lo, lolo, rate, bad_quality)",
                "s.toml:26:12: alarm[0].priority: unknown priority `urgent` (low, medium, high, critical)",
            ]
        );
    }

    #[test]
    fn missing_limit_and_limit_on_bad_quality() {
        let got = errors(
            &[
                alarm("temp", "hi", None, "low"),
                alarm("flow", "bad_quality", Some(3.0), "low"),
                alarm("flow", "rate", None, "low"),
            ]
            .concat(),
        );
        assert_eq!(
            got,
            [
                "s.toml:24:8: alarm[0].limit: a `hi` alarm needs a `limit`",
                "s.toml:29:9: alarm[1].limit: a `bad_quality` alarm takes no `limit`",
                "s.toml:33:8: alarm[2].limit: a `rate` alarm needs a `limit` (units per second)",
            ]
        );
    }

    #[test]
    fn lo_below_lolo_and_hihi_below_hi() {
        let got = errors(
            &[
                alarm("temp", "lolo", Some(10.0), "high"),
                alarm("temp", "lo", Some(5.0), "low"),
                alarm("temp", "hi", Some(80.0), "low"),
                alarm("temp", "hihi", Some(70.0), "high"),
            ]
            .concat(),
        );
        assert_eq!(
            got,
            [
                "s.toml:30:9: alarm[1].limit: lo limit (5) is below the lolo limit (10) of alarm[0] on the same tag",
                "s.toml:40:9: alarm[3].limit: hihi limit (70) is below the hi limit (80) of alarm[2] on the same tag",
            ]
        );
        assert!(
            errors(&(alarm("temp", "hi", Some(80.0), "low") + &alarm("temp", "hihi", Some(80.0), "low"))).is_empty(),
            "equal limits are allowed"
        );
    }

    #[test]
    fn duplicate_kind_on_one_tag() {
        let got = errors(
            &[
                alarm("temp", "hi", Some(80.0), "low"),
                alarm("flow", "hi", Some(80.0), "low"),
                alarm("temp", "hi", Some(85.0), "high"),
            ]
            .concat(),
        );
        assert_eq!(got, ["s.toml:34:8: alarm[2].kind: tag `temp` already has a `hi` alarm (alarm[0])"]);
    }

    #[test]
    fn deadband_rate_limit_window_and_delays() {
        let got = errors(
            &[
                alarm("temp", "hi", Some(80.0), "low"),
                "deadband = -1.0\nwindow = \"5s\"\non_delay = \"soon\"\n".into(),
                alarm("flow", "rate", Some(0.0), "low"),
                "window = \"0s\"\noff_delay = \"0s\"\n".into(),
            ]
            .concat(),
        );
        assert_eq!(got.len(), 5, "{got:#?}");
        assert_eq!(got[0], "s.toml:27:12: alarm[0].deadband: must be a finite number ≥ 0");
        assert_eq!(got[1], "s.toml:28:10: alarm[0].window: `window` applies only to `rate` alarms");
        assert!(got[2].starts_with("s.toml:29:12: alarm[0].on_delay: `soon` is not a duration"), "{}", got[2]);
        assert_eq!(got[3], "s.toml:33:9: alarm[1].limit: a rate limit must be greater than zero (units per second)");
        assert_eq!(got[4], "s.toml:35:10: alarm[1].window: must be greater than zero");
    }

    #[test]
    fn unknown_and_missing_fields_are_refused() {
        let got = errors("[[alarm]]\ntag = \"temp\"\nkind = \"hi\"\nlimt = 80.0\npriority = \"low\"\n");
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("s.toml:25:1: alarm[0]"), "{}", got[0]);
        assert!(got[0].contains("unknown field `limt`"), "{}", got[0]);
        let got = errors("[[alarm]]\ntag = \"temp\"\nkind = \"hi\"\nlimit = 80.0\n");
        assert_eq!(got.len(), 1);
        assert!(got[0].contains("missing field `priority`"), "{}", got[0]);
    }
}
