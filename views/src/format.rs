//! Compact text formatting of ages, clock times, values and sizes.

/// Compact age: `850ms`, `12s`, `3m`, `2h`, `5d`. Negative ages (clock skew)
/// show as `0ms`.
pub fn age(ms: i64) -> String {
    let ms = ms.max(0);
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{}s", ms / 1_000),
        60_000..3_600_000 => format!("{}m", ms / 60_000),
        3_600_000..86_400_000 => format!("{}h", ms / 3_600_000),
        _ => format!("{}d", ms / 86_400_000),
    }
}

/// Age of an event at `ts_ms` seen at `now_ms`, or `-` when unknown.
pub fn age_since(now_ms: i64, ts_ms: Option<i64>) -> String {
    match ts_ms {
        Some(ts) => age(now_ms.saturating_sub(ts)),
        None => "-".into(),
    }
}

/// Duration span as the largest fitting unit with one decimal where useful:
/// `90s`, `15m`, `1.5h`, `2d`.
pub fn span(ms: i64) -> String {
    let ms = ms.max(0);
    let (unit, div) = match ms {
        0..60_000 => return age(ms),
        60_000..3_600_000 => ("m", 60_000.0),
        3_600_000..86_400_000 => ("h", 3_600_000.0),
        _ => ("d", 86_400_000.0),
    };
    let v = ms as f64 / div;
    if (v - v.round()).abs() < 0.05 { format!("{}{unit}", v.round()) } else { format!("{v:.1}{unit}") }
}

/// UTC wall-clock `HH:MM:SS` of a Unix epoch millisecond timestamp.
pub fn clock(ms: i64) -> String {
    let s = ms.div_euclid(1_000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3_600, s / 60 % 60, s % 60)
}

/// UTC date and time `YYYY-MM-DD HH:MM:SS` of a Unix epoch millisecond timestamp.
pub fn datetime(ms: i64) -> String {
    let (y, m, d) = crate::civil::civil_from_days(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02} {}", clock(ms))
}

/// A 0..=1 fraction as whole percent text, `82 %`; `-` when not finite.
/// Values outside 0..=1 are clamped (a confidence is never shown as 140 %).
pub fn percent(f: f64) -> String {
    if !f.is_finite() {
        return "-".into();
    }
    format!("{:.0} %", (f.clamp(0.0, 1.0) * 100.0).round())
}

/// Remaining life in days: `0.5d`, `12d`, `>9999d`; `-` when not finite.
pub fn days(d: f64) -> String {
    match d {
        d if !d.is_finite() => "-".into(),
        d if d < 0.0 => "0d".into(),
        d if d < 10.0 => format!("{d:.1}d"),
        d if d < 9_999.5 => format!("{d:.0}d"),
        _ => ">9999d".into(),
    }
}

/// A span of life in the largest unit that keeps it short: `45s`, `38m`, `5.2h`, `143h`,
/// `12d`; `-` when not finite.
pub fn life(seconds: f64) -> String {
    match seconds.max(0.0) {
        s if !s.is_finite() => "-".into(),
        s if s < 90.0 => format!("{s:.0}s"),
        s if s < 5_400.0 => format!("{:.0}m", s / 60.0),
        s if s < 36_000.0 => format!("{:.1}h", s / 3_600.0),
        s if s < 720.0 * 3_600.0 => format!("{:.0}h", s / 3_600.0),
        s => days(s / 86_400.0),
    }
}

/// A remaining life with its interval and the interval's nominal level: `143h (120h–170h
/// 90%)`, or `≥21m` at the model's cap.
pub fn rul(r: &crate::model::RulView) -> String {
    if r.capped {
        return format!("≥{}", life(r.seconds));
    }
    let level = if r.level > 0.0 && r.level < 1.0 { format!(" {:.0}%", r.level * 100.0) } else { String::new() };
    format!("{} ({}–{}{level})", life(r.seconds), life(r.low), life(r.high))
}

/// A value formatted with `decimals` (capped at 9) in at most `width` chars:
/// `---` when absent, `NaN`, `+inf`/`-inf`, scientific notation when the fixed
/// form does not fit, `#` fill as a last resort.
pub fn value(v: Option<f64>, decimals: u8, width: usize) -> String {
    let Some(v) = v else { return "---".into() };
    let s = if v.is_nan() {
        "NaN".to_string()
    } else if v.is_infinite() {
        if v > 0.0 { "+inf" } else { "-inf" }.to_string()
    } else {
        let d = usize::from(decimals.min(9));
        // estimate the fixed length first: formatting 1e300 in fixed notation
        // is slow (hundreds of digits) and would never fit anyway
        let int_digits = if v.abs() < 1.0 { 1 } else { v.abs().log10().floor() as usize + 1 };
        let fixed_len = usize::from(v.is_sign_negative()) + int_digits + if d > 0 { d + 1 } else { 0 };
        if fixed_len <= width + 1 {
            let fixed = format!("{v:.d$}");
            if fixed.len() <= width {
                return fixed;
            }
        }
        // scientific: sign, one digit, ".", p digits, "e", exponent
        let exp = if v == 0.0 { 0 } else { v.abs().log10().floor() as i32 };
        let overhead = usize::from(v.is_sign_negative()) + 2 + exp.to_string().len();
        let mut p = width.saturating_sub(overhead + 1).min(d.min(6));
        loop {
            let e = format!("{v:.p$e}");
            if e.len() <= width || p == 0 {
                break e;
            }
            p -= 1;
        }
    };
    if s.len() <= width { s } else { "#".repeat(width) }
}

/// Count in at most 5 columns with a k/M/G/T/P/E suffix: `9999`, `12k`,
/// `4.5M`, `18E`.
pub fn count(n: u64) -> String {
    if n < 10_000 {
        return n.to_string();
    }
    let mut v = n as f64;
    for suffix in ["k", "M", "G", "T", "P", "E"] {
        v /= 1000.0;
        if v < 9.95 {
            return format!("{v:.1}{suffix}");
        }
        if v < 999.5 || suffix == "E" {
            return format!("{v:.0}{suffix}");
        }
    }
    unreachable!()
}

/// Byte size in binary units: `512 B`, `1.5 KiB`, `12.0 MiB`.
pub fn bytes(n: u64) -> String {
    const U: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1} {}", U[i])
}

/// Sparkline of the last `width` values using `▁▂▃▄▅▆▇█`, scaled between the
/// shown minimum and maximum; non-finite values show as a space.
pub fn sparkline(values: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let vals = &values[values.len().saturating_sub(width)..];
    let (lo, hi) = vals
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    vals.iter()
        .map(|&v| {
            if !v.is_finite() {
                ' '
            } else if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
                BARS[3]
            } else {
                let i = ((v - lo) / (hi - lo) * 7.0).round() as usize;
                BARS[i.min(7)]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages() {
        assert_eq!(age(850), "850ms");
        assert_eq!(age(12_400), "12s");
        assert_eq!(age(3 * 60_000 + 5), "3m");
        assert_eq!(age(2 * 3_600_000 + 59 * 60_000), "2h");
        assert_eq!(age(3 * 86_400_000), "3d");
        assert_eq!(age(-5), "0ms");
        assert_eq!(age_since(10_000, Some(9_000)), "1s");
        assert_eq!(age_since(10_000, None), "-");
    }

    #[test]
    fn spans() {
        assert_eq!(span(3_600_000), "1h");
        assert_eq!(span(5_400_000), "1.5h");
        assert_eq!(span(15 * 60_000), "15m");
        assert_eq!(span(30_000), "30s");
    }

    #[test]
    fn clocks() {
        assert_eq!(clock(0), "00:00:00");
        assert_eq!(clock(1_700_000_000_000), "22:13:20");
        assert_eq!(clock(-1_000), "23:59:59");
        assert_eq!(clock(86_399_999), "23:59:59");
    }

    #[test]
    fn dates_percents_days() {
        assert_eq!(datetime(0), "1970-01-01 00:00:00");
        assert_eq!(datetime(1_700_000_000_000), "2023-11-14 22:13:20");
        assert_eq!(datetime(951_782_400_000), "2000-02-29 00:00:00");
        assert_eq!(datetime(-1_000), "1969-12-31 23:59:59");
        for (x, want) in [(0.824, "82 %"), (1.7, "100 %"), (f64::NAN, "-")] {
            assert_eq!(percent(x), want, "percent({x})");
        }
        for (x, want) in [(3.25, "3.2d"), (123.4, "123d"), (1e9, ">9999d"), (f64::INFINITY, "-")] {
            assert_eq!(days(x), want, "days({x})");
        }
        let lives = [
            (45.0, "45s"),
            (38.0 * 60.0, "38m"),
            (143.0 * 3600.0, "143h"),
            (5.25 * 3600.0, "5.2h"),
            (40.0 * 86_400.0, "40d"),
        ];
        for (s, want) in lives {
            assert_eq!(life(s), want, "life({s})");
        }
        let r = crate::model::RulView {
            seconds: 143.0 * 3600.0,
            low: 120.0 * 3600.0,
            high: 170.0 * 3600.0,
            capped: false,
            level: 0.9,
        };
        assert_eq!(rul(&r), "143h (120h–170h 90%)");
        assert_eq!(rul(&crate::model::RulView { level: 0.0, ..r }), "143h (120h–170h)");
        assert_eq!(rul(&crate::model::RulView { capped: true, ..r }), "≥143h");
    }

    #[test]
    fn values() {
        assert_eq!(value(Some(1.23456), 2, 10), "1.23");
        assert_eq!(value(Some(-2.0), 0, 10), "-2");
        assert_eq!(value(None, 2, 10), "---");
        assert_eq!(value(Some(f64::NAN), 2, 10), "NaN");
        assert_eq!(value(Some(f64::INFINITY), 2, 10), "+inf");
        assert_eq!(value(Some(f64::NEG_INFINITY), 2, 10), "-inf");
        assert_eq!(value(Some(1.0e300), 2, 10), "1.00e300");
        assert_eq!(value(Some(-1.0e300), 2, 9), "-1.00e300");
        assert_eq!(value(Some(-1.0e300), 6, 9), "-1.000e300".replace("1.000", "1.00"));
        assert!(value(Some(-1.23e-300), 255, 9).len() <= 9);
        assert_eq!(value(Some(1.0e300), 2, 3), "###");
    }

    #[test]
    fn counts_and_bytes() {
        let counts = [
            (999, "999"),
            (12_345, "12k"),
            (999_999, "1.0M"),
            (123_456, "123k"),
            (u64::MAX, "18E"),
            (4_500_000, "4.5M"),
        ];
        for (n, want) in counts {
            assert_eq!(count(n), want, "count({n})");
        }
        for (n, want) in [(512, "512 B"), (1536, "1.5 KiB"), (12 * 1024 * 1024, "12.0 MiB")] {
            assert_eq!(bytes(n), want, "bytes({n})");
        }
    }

    #[test]
    fn sparklines() {
        assert_eq!(sparkline(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 8), "▁▂▃▄▅▆▇█");
        assert_eq!(sparkline(&[1.0, 2.0, 3.0], 2), "▁█");
        assert_eq!(sparkline(&[5.0, 5.0], 4), "▄▄");
        assert_eq!(sparkline(&[0.0, f64::NAN, 1.0], 3), "▁ █");
        assert_eq!(sparkline(&[], 3), "");
    }
}
