//! The `[[loop]]` tables: the control loops the twin may advise on. Each names a
//! manipulated setpoint (a writable tag with engineering limits), the KPI it moves and the
//! band the KPI should stay in. The daemon identifies a model of each pair from the
//! store's history of setpoint moves and, when the KPI leaves its band, files a
//! recommendation as a write request (see `crate::daemon::advise`); `mimic whatif` and
//! the terminal's what-if use the same loops.
//!
//! Checks: known tags; the setpoint writable and numeric (a writable tag has `low` and `high`,
//! see the tag checks: recommendations stay inside them); the KPI
//! numeric and not the setpoint; `low < high`, finite, inside the KPI's engineering range;
//! one loop per setpoint; positive durations with `horizon` no longer than `window`.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Duration;

use serde::Deserialize;
use serde_spanned::Spanned;

use super::{Address, Tag, parse_duration};

/// `[[loop]]`: a manipulated → controlled pair the twin may advise on.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLoop {
    /// Shown with its recommendations (default `SETPOINT -> KPI`).
    pub name: Option<Spanned<String>>,
    /// The setpoint the twin may recommend changes to: a writable tag with `low` and `high`.
    pub manipulated: Spanned<String>,
    /// The controlled tag whose band the loop keeps.
    pub kpi: Spanned<String>,
    /// The KPI's target band, in its engineering units.
    pub low: Spanned<f64>,
    pub high: Spanned<f64>,
    /// How far ahead a recommendation's trajectory is predicted (default `"60s"`).
    pub horizon: Option<Spanned<String>>,
    /// History the model is identified from (default `"2h"`).
    pub window: Option<Spanned<String>>,
    /// Longest dead time tried when identifying (default `"10s"`).
    pub max_dead_time: Option<Spanned<String>>,
}

/// A validated control loop.
#[derive(Clone, Debug, PartialEq)]
pub struct ControlLoop {
    pub name: String,
    /// Index into [`super::Site::tags`] of the setpoint.
    pub manipulated: usize,
    /// Index of the KPI.
    pub kpi: usize,
    pub low: f64,
    pub high: f64,
    pub horizon: Duration,
    pub window: Duration,
    pub max_dead_time: Duration,
}

fn numeric(t: &Tag) -> bool {
    match &t.address {
        Address::Modbus(p) => p.bit.is_none() && !p.table.is_bits() && p.dtype != mimic_drivers::modbus::DataType::Bool,
        Address::Ascii(_) | Address::OpcUa(_) => true,
    }
}

/// Validate every `[[loop]]` against the built tags (`raw_tags`: every tag name of the file,
/// so that a tag which failed its own checks is not reported again as unknown).
pub(super) fn build(
    raw: &[RawLoop],
    tags: &[Tag],
    raw_tags: &[&str],
    err: &mut dyn FnMut(Range<usize>, String, String),
) -> Vec<ControlLoop> {
    let by_name: HashMap<&str, usize> = tags.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
    let mut seen: HashMap<usize, usize> = HashMap::new();
    let mut out = Vec::with_capacity(raw.len());
    for (i, l) in raw.iter().enumerate() {
        let p = |f: &str| format!("loop[{i}].{f}");
        let mut ok = true;
        let mut find = |v: &Spanned<String>, field: &str, ok: &mut bool| -> Option<usize> {
            let found = by_name.get(v.get_ref().as_str()).copied();
            if found.is_none() {
                *ok = false;
                if !raw_tags.contains(&v.get_ref().as_str()) {
                    err(v.span(), p(field), format!("unknown tag `{}`", v.get_ref()));
                }
            }
            found
        };
        let mv = find(&l.manipulated, "manipulated", &mut ok);
        let kpi = find(&l.kpi, "kpi", &mut ok);
        if let Some(m) = mv {
            let t = &tags[m];
            if !t.writable || !numeric(t) {
                ok = false;
                err(
                    l.manipulated.span(),
                    p("manipulated"),
                    format!("`{}` must be a writable numeric tag (a setpoint)", t.name),
                );
            }
            if let Some(first) = seen.insert(m, i) {
                ok = false;
                err(
                    l.manipulated.span(),
                    p("manipulated"),
                    format!("`{}` is already the setpoint of loop[{first}]: one loop per setpoint", t.name),
                );
            }
        }
        if let Some(k) = kpi {
            let t = &tags[k];
            if !numeric(t) {
                ok = false;
                err(l.kpi.span(), p("kpi"), format!("`{}` is a bit, not a measurement", t.name));
            } else if Some(k) == mv {
                ok = false;
                err(l.kpi.span(), p("kpi"), "must not be the manipulated tag itself".into());
            }
        }
        let (low, high) = (*l.low.get_ref(), *l.high.get_ref());
        if !low.is_finite() || !high.is_finite() || low >= high {
            ok = false;
            err(l.low.span(), p("low"), format!("the band needs finite low < high (got {low} and {high})"));
        } else if let Some(t) = kpi.map(|k| &tags[k]) {
            let (lo, hi) = (t.low.unwrap_or(f64::NEG_INFINITY), t.high.unwrap_or(f64::INFINITY));
            if low < lo || high > hi {
                ok = false;
                err(
                    l.low.span(),
                    p("low"),
                    format!("the band {low}..{high} leaves `{}`'s engineering range {lo}..{hi}", t.name),
                );
            }
        }
        let horizon = positive(&l.horizon, p("horizon"), 60, err);
        let window = positive(&l.window, p("window"), 7200, err);
        let max_dead_time = positive(&l.max_dead_time, p("max_dead_time"), 10, err);
        if horizon > window
            && let Some(h) = &l.horizon
        {
            ok = false;
            err(h.span(), p("horizon"), "must not be longer than the identification `window`".into());
        }
        let name = match &l.name {
            Some(n) if n.get_ref().trim().is_empty() || n.get_ref().chars().any(char::is_control) => {
                err(n.span(), p("name"), "must be non-empty text without control characters".into());
                continue;
            }
            Some(n) => n.get_ref().clone(),
            None => format!("{} -> {}", l.manipulated.get_ref(), l.kpi.get_ref()),
        };
        if let (true, Some(manipulated), Some(kpi)) = (ok, mv, kpi) {
            out.push(ControlLoop { name, manipulated, kpi, low, high, horizon, window, max_dead_time });
        }
    }
    out
}

/// A duration greater than zero; `default` seconds when absent or refused.
fn positive(
    v: &Option<Spanned<String>>,
    path: String,
    default: u64,
    err: &mut dyn FnMut(Range<usize>, String, String),
) -> Duration {
    let fallback = Duration::from_secs(default);
    let Some(v) = v else { return fallback };
    match parse_duration(v.get_ref()) {
        Ok(d) if !d.is_zero() => d,
        Ok(_) => {
            err(v.span(), path, "must be greater than zero".into());
            fallback
        }
        Err(m) => {
            err(v.span(), path, m.to_string());
            fallback
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Site;
    use crate::config::testkit::{self, SP};

    /// The tags the loops are built on besides `sp`.
    const TAGS: &str = r#"[[tag]]
name = "flow"
device = "plc"
address = "ir:0"
low = 0.0
high = 150.0

[[tag]]
name = "ro"
device = "plc"
address = "hr:1"

[[tag]]
name = "bit"
device = "plc"
address = "di:0"
"#;

    fn whole(loops: &str) -> String {
        format!("{}{TAGS}\n{loops}", testkit::text(SP))
    }

    fn parse(loops: &str) -> Result<Site, String> {
        Site::parse(Path::new("/sites/l.toml"), &whole(loops)).map_err(|e| e.to_string())
    }

    #[test]
    fn a_loop_loads_with_its_defaults() {
        let s = parse("[[loop]]\nmanipulated = \"sp\"\nkpi = \"flow\"\nlow = 60.0\nhigh = 70.0\n").expect("valid");
        let l = &s.loops[0];
        assert_eq!((l.manipulated, l.kpi, l.low, l.high), (0, 1, 60.0, 70.0));
        assert_eq!(l.name, "sp -> flow");
        assert_eq!((l.horizon.as_secs(), l.window.as_secs(), l.max_dead_time.as_secs()), (60, 7200, 10));
        let s = parse(
            "[[loop]]\nname = \"flow\"\nmanipulated = \"sp\"\nkpi = \"flow\"\nlow = 1.0\nhigh = 2.0\nhorizon = \"2m\"\nwindow = \"1h\"\nmax_dead_time = \"5s\"\n",
        )
        .expect("valid");
        assert_eq!((s.loops[0].horizon.as_secs(), s.loops[0].window.as_secs()), (120, 3600));
    }

    #[test]
    fn bad_loops_name_the_file_line_and_field() {
        for (text, field, why) in [
            (
                "manipulated = \"nope\"\nkpi = \"flow\"\nlow = 1.0\nhigh = 2.0",
                "loop[0].manipulated",
                "unknown tag `nope`",
            ),
            ("manipulated = \"flow\"\nkpi = \"sp\"\nlow = 1.0\nhigh = 2.0", "loop[0].manipulated", "writable numeric"),
            ("manipulated = \"sp\"\nkpi = \"bit\"\nlow = 1.0\nhigh = 2.0", "loop[0].kpi", "is a bit"),
            ("manipulated = \"sp\"\nkpi = \"sp\"\nlow = 1.0\nhigh = 2.0", "loop[0].kpi", "the manipulated tag itself"),
            ("manipulated = \"sp\"\nkpi = \"flow\"\nlow = 3.0\nhigh = 2.0", "loop[0].low", "finite low < high"),
            ("manipulated = \"sp\"\nkpi = \"flow\"\nlow = 100.0\nhigh = 200.0", "loop[0].low", "engineering range"),
            (
                "manipulated = \"sp\"\nkpi = \"flow\"\nlow = 1.0\nhigh = 2.0\nwindow = \"0s\"",
                "loop[0].window",
                "greater than zero",
            ),
            (
                "manipulated = \"sp\"\nkpi = \"flow\"\nlow = 1.0\nhigh = 2.0\nhorizon = \"3h\"",
                "loop[0].horizon",
                "not be longer",
            ),
            (
                "manipulated = \"sp\"\nkpi = \"flow\"\nlow = 1.0\nhigh = 2.0\nband = 3",
                "loop[0]",
                "unknown field `band`",
            ),
        ] {
            let loops = format!("[[loop]]\n{text}\n");
            let e = parse(&loops).expect_err(text);
            // the line of the offending key in the whole file
            let key = if field == "loop[0]" { "band" } else { field.rsplit('.').next().unwrap_or(field) };
            let full = whole(&loops);
            let lines: Vec<&str> = full.lines().collect();
            let line = lines.iter().rposition(|l| l.starts_with(&format!("{key} ="))).map(|i| i + 1);
            assert!(line.is_some_and(|n| e.contains(&format!("/sites/l.toml:{n}:"))), "{key} at {line:?}: {e}");
            assert!(e.contains(field) && e.contains(why), "{text}: {e}");
        }
        // a writable tag without limits is refused by the tag checks, and not again by the loop's
        let e = parse(
            "[[tag]]\nname = \"sp2\"\ndevice = \"plc\"\naddress = \"hr:2\"\nwritable = true\n\n[[loop]]\nmanipulated = \"sp2\"\nkpi = \"flow\"\nlow = 1.0\nhigh = 2.0\n",
        )
        .expect_err("no limits");
        assert!(e.contains("tag[4].writable") && e.contains("engineering limits") && !e.contains("loop[0]"), "{e}");
        // a second loop on the same setpoint
        let twice = "[[loop]]\nmanipulated = \"sp\"\nkpi = \"flow\"\nlow = 1.0\nhigh = 2.0\n";
        let e = parse(&format!("{twice}{twice}")).expect_err("twice");
        assert!(e.contains("loop[1].manipulated") && e.contains("one loop per setpoint"), "{e}");
    }
}
