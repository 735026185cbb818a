//! Time for every layer: the wall clock in ms since the epoch, and its one text form
//! (RFC 3339 UTC with milliseconds) both ways, and durations as written in site files and
//! on the command line. A small shared module: it imports nothing of the crate, so every
//! layer (core, domain, shell, faces) may use it.

/// Now, in ms since the Unix epoch (negative before it).
pub fn now_ms() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// `2026-11-26T08:00:00.000Z`; a time outside the calendar prints as its ms.
pub fn format_ts(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => ms.to_string(),
    }
}

/// Parse a duration like `500ms`, `1s`, `2m`, `400d`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("`{s}` is not a duration ({e}); write e.g. \"500ms\", \"1s\", \"30d\""))
}

/// `1h` / `30m` / `7d` ago (from `now_ms`), or an RFC 3339 timestamp, as ms since the epoch.
pub fn parse_ago(s: &str, now_ms: i64) -> Result<i64, String> {
    if let Ok(d) = parse_duration(s) {
        return Ok(now_ms - i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2));
    }
    let ts: jiff::Timestamp = s.parse().map_err(|e| {
        format!("`{s}` is neither a duration ago (1h, 30m, 7d) nor a timestamp like 2026-11-26T08:00:00Z ({e})")
    })?;
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
        assert!(parse_ago("yesterday", 0).unwrap_err().contains("neither a duration ago"));
        assert_eq!(format_ts(i64::MAX), i64::MAX.to_string());
    }
}
