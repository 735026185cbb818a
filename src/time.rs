//! Time for every layer: the wall clock in ms since the epoch, and its one text form
//! (RFC 3339 UTC with milliseconds) both ways, and durations as written in site files and
//! on the command line. A small shared module: it imports nothing of the crate, so every
//! layer (core, domain, shell, faces) may use it.

/// Now, in ms since the Unix epoch (negative before it): the drivers' clock, which stamps
/// every reading, so that one rule reads the time everywhere.
pub use mimic_drivers::now_ms;

/// `2026-11-26T08:00:00.000Z`; a time outside the calendar prints as its ms.
pub fn format_ts(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => ms.to_string(),
    }
}

/// Text that is not a duration or a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("`{text}` is not a duration ({why}); write e.g. \"500ms\", \"1s\", \"30d\"")]
    Duration { text: String, why: String },
    #[error("`{text}` is neither a duration ago (1h, 30m, 7d) nor a timestamp like 2026-11-26T08:00:00Z ({why})")]
    Time { text: String, why: String },
}

/// Parse a duration like `500ms`, `1s`, `2m`, `1h 30m`, `400d` (a day is 24 hours;
/// months and years, whose length varies, are refused).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, TimeError> {
    let err = |why: &dyn std::fmt::Display| TimeError::Duration { text: s.to_string(), why: why.to_string() };
    let span: jiff::Span = s.trim().parse().map_err(|e| err(&e))?;
    let signed = span.to_duration(jiff::SpanRelativeTo::days_are_24_hours()).map_err(|e| err(&e))?;
    std::time::Duration::try_from(signed).map_err(|_| err(&"it is negative"))
}

/// A duration as it is written back (`15m`, `1m 30s`, `500ms`): [`parse_duration`] reads
/// it again.
pub fn format_duration(d: std::time::Duration) -> String {
    match jiff::SignedDuration::try_from(d) {
        Ok(sd) => format!("{sd:#}"),
        Err(_) => format!("{}s", d.as_secs()),
    }
}

/// `1h` / `30m` / `7d` ago (from `now_ms`), or an RFC 3339 timestamp, as ms since the epoch.
pub fn parse_ago(s: &str, now_ms: i64) -> Result<i64, TimeError> {
    if let Ok(d) = parse_duration(s) {
        return Ok(now_ms - i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2));
    }
    let ts: jiff::Timestamp =
        s.parse().map_err(|e: jiff::Error| TimeError::Time { text: s.to_string(), why: e.to_string() })?;
    Ok(ts.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_print_and_parse_back() {
        assert_eq!(format_ts(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_ago("2026-11-26T08:00:00Z", 0).map(format_ts).as_deref(), Ok("2026-11-26T08:00:00.000Z"));
        assert_eq!(parse_ago("1h", 7_200_000), Ok(3_600_000));
        assert!(parse_ago("yesterday", 0).unwrap_err().to_string().contains("neither a duration ago"));
        assert_eq!(format_ts(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn durations_as_site_files_and_users_write_them() {
        let ms = |s: &str| parse_duration(s).map(|d| d.as_millis());
        assert_eq!(ms("500ms"), Ok(500));
        assert_eq!(ms(" 1s "), Ok(1000));
        assert_eq!(ms("2m"), Ok(120_000));
        assert_eq!(ms("1h 30m"), Ok(5_400_000));
        assert_eq!(ms("1h30m"), Ok(5_400_000));
        assert_eq!(ms("400d"), Ok(400 * 86_400_000));
        assert_eq!(ms("2 days"), Ok(2 * 86_400_000));
        for bad in ["fast", "one year", "", "5", "-1s", "1y"] {
            assert!(
                parse_duration(bad).unwrap_err().to_string().starts_with(&format!("`{bad}` is not a duration (")),
                "{bad}"
            );
        }
        for (d, text) in [(3_000, "3s"), (900_000, "15m"), (90_000, "1m 30s"), (500, "500ms"), (0, "0s")] {
            let d = std::time::Duration::from_millis(d);
            assert_eq!(format_duration(d), text);
            assert_eq!(parse_duration(text), Ok(d));
        }
    }
}
