//! Asking the alarm journal from a terminal: the History search as an operator types it
//! (`tag:P101.temp prio:high state:raised since:30d motor`) read into a journal
//! [`Filter`] and period, and the bounds a request for a page or for the figures must keep
//! (a daemon refuses the rest on its connection, naming the field).

use super::Priority;
use super::journal::{Change, Filter, MAX_PAGE, Query};

/// The History's period when the search names none.
pub const DEFAULT_SINCE: &str = "7d";
/// Longest text in a journal filter, in characters.
pub const MAX_FILTER_TEXT: usize = 256;
/// Longest period of figures one request may ask for.
pub const MAX_REPORT_MS: i64 = 400 * 86_400_000;

/// A search that cannot be read, by word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    #[error("`{0}` is not a priority (low, medium, high, critical)")]
    Priority(String),
    #[error("`{0}` is not an alarm state change (raised, acknowledged, returned, shelved, …)")]
    Change(String),
    #[error("{0}")]
    Time(#[from] crate::time::TimeError),
    #[error("`{0}:` names nothing: write it with its value, e.g. {0}:NAME")]
    Empty(String),
    #[error("since must be before until")]
    Period,
}

/// A History search read: its filter and the period `[from_ms, to_ms)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    pub filter: Filter,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// Reads a search: `tag:`, `asset:`, `area:`, `prio:`/`priority:`, `state:`/`change:`,
/// `since:`, `until:` (a duration ago or a timestamp), and the other words as text found
/// anywhere in a record (tag, asset, kind, user, note).
pub fn parse(text: &str, now_ms: i64) -> Result<Search, SearchError> {
    let mut filter = Filter::default();
    let (mut since, mut until) = (DEFAULT_SINCE.to_string(), None);
    let mut words = Vec::new();
    for word in text.split_whitespace() {
        let Some((key, value)) = word.split_once(':').filter(|(k, _)| KEYS.contains(&k.to_ascii_lowercase().as_str()))
        else {
            words.push(word);
            continue;
        };
        let key = key.to_ascii_lowercase();
        if value.is_empty() {
            return Err(SearchError::Empty(key));
        }
        match key.as_str() {
            "tag" => filter.tag = Some(value.to_string()),
            "asset" => filter.asset = Some(value.to_string()),
            "area" => filter.area = Some(value.to_string()),
            "prio" | "priority" => {
                let p = Priority::from_name(&value.to_ascii_lowercase());
                filter.priority = Some(p.ok_or_else(|| SearchError::Priority(value.to_string()))?);
            }
            "state" | "change" => {
                filter.change = Some(Change::from_name(value).ok_or_else(|| SearchError::Change(value.to_string()))?);
            }
            "since" => since = value.to_string(),
            _ => until = Some(value.to_string()),
        }
    }
    let from_ms = crate::time::parse_ago(&since, now_ms)?;
    let to_ms = match until {
        Some(u) => crate::time::parse_ago(&u, now_ms)?,
        None => now_ms + 1,
    };
    if from_ms >= to_ms {
        return Err(SearchError::Period);
    }
    filter.text = (!words.is_empty()).then(|| words.join(" "));
    Ok(Search { filter, from_ms, to_ms })
}

const KEYS: [&str; 9] = ["tag", "asset", "area", "prio", "priority", "state", "change", "since", "until"];

/// A request for the journal or its figures no terminal sends, by field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("alarm_history.limit: {0} is not in 1..={MAX_PAGE}")]
    Limit(u32),
    #[error("alarm_history.filter.{0}: longer than {MAX_FILTER_TEXT} characters")]
    TooLong(&'static str),
    #[error("alarm_history.filter.{0}: control characters are not allowed")]
    Control(&'static str),
    #[error("alarm_report: from_ms must be before to_ms")]
    Period,
    #[error("alarm_report: a period of {0} days, at most 400")]
    TooLongPeriod(i64),
}

/// Refuses a page request out of bounds: its size, its filter's texts.
pub fn check_query(q: &Query) -> Result<(), RequestError> {
    if q.limit == 0 || q.limit as usize > MAX_PAGE {
        return Err(RequestError::Limit(q.limit));
    }
    let f = &q.filter;
    for (name, text) in [("tag", &f.tag), ("asset", &f.asset), ("area", &f.area), ("text", &f.text)] {
        let Some(text) = text else { continue };
        if text.chars().count() > MAX_FILTER_TEXT {
            return Err(RequestError::TooLong(name));
        }
        if text.chars().any(char::is_control) {
            return Err(RequestError::Control(name));
        }
    }
    Ok(())
}

/// Refuses a period of figures that is empty or longer than [`MAX_REPORT_MS`].
pub fn check_period(from_ms: i64, to_ms: i64) -> Result<(), RequestError> {
    match to_ms.checked_sub(from_ms) {
        Some(span) if span <= 0 => Err(RequestError::Period),
        Some(span) if span <= MAX_REPORT_MS => Ok(()),
        Some(span) => Err(RequestError::TooLongPeriod(span / 86_400_000)),
        None => Err(RequestError::TooLongPeriod(i64::MAX / 86_400_000)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_765_000_000_000;

    #[test]
    fn a_search_reads_its_keys_and_keeps_the_other_words() {
        let s = parse("tag:P101.temp PRIO:High state:acked since:30d until:1d motor bearing", NOW).expect("reads");
        assert_eq!(s.filter.tag.as_deref(), Some("P101.temp"));
        assert_eq!(s.filter.priority, Some(Priority::High));
        assert_eq!(s.filter.change, Some(Change::Acknowledged));
        assert_eq!(s.filter.text.as_deref(), Some("motor bearing"));
        assert_eq!((s.from_ms, s.to_ms), (NOW - 30 * 86_400_000, NOW - 86_400_000));
        let plain = parse("", NOW).expect("empty");
        assert_eq!(plain.filter, Filter::default());
        assert_eq!((plain.from_ms, plain.to_ms), (NOW - 7 * 86_400_000, NOW + 1));
        // a word with a colon that is not a key is text
        assert_eq!(parse("http://x", NOW).expect("text").filter.text.as_deref(), Some("http://x"));
    }

    #[test]
    fn a_bad_search_says_which_word() {
        let e = |t: &str| parse(t, NOW).expect_err(t).to_string();
        assert!(e("prio:urgent").contains("`urgent` is not a priority"), "{}", e("prio:urgent"));
        assert!(e("state:exploded").contains("`exploded` is not an alarm state change"));
        assert!(e("since:yesterday").contains("`yesterday` is neither a duration ago"));
        assert!(e("tag:").contains("`tag:` names nothing"));
        assert_eq!(e("since:1d until:2d"), "since must be before until");
    }

    #[test]
    fn requests_out_of_bounds_are_refused_by_field() {
        let q = Query { from_ms: 0, to_ms: 1, limit: 20, ..Default::default() };
        assert_eq!(check_query(&q), Ok(()));
        let refused = |q: Query| check_query(&q).expect_err("refused").to_string();
        assert_eq!(refused(Query { limit: 0, ..q.clone() }), "alarm_history.limit: 0 is not in 1..=5000");
        assert_eq!(refused(Query { limit: 100_000, ..q.clone() }), "alarm_history.limit: 100000 is not in 1..=5000");
        let long = Filter { text: Some("x".repeat(257)), ..Default::default() };
        assert_eq!(
            refused(Query { filter: long, ..q.clone() }),
            "alarm_history.filter.text: longer than 256 characters"
        );
        let esc = Filter { tag: Some("a\u{1b}[2J".into()), ..Default::default() };
        assert_eq!(refused(Query { filter: esc, ..q }), "alarm_history.filter.tag: control characters are not allowed");
        assert_eq!(check_period(0, 86_400_000), Ok(()));
        assert_eq!(check_period(5, 5).expect_err("empty").to_string(), "alarm_report: from_ms must be before to_ms");
        assert!(check_period(i64::MIN, i64::MAX).expect_err("huge").to_string().contains("at most 400"));
        assert!(check_period(0, 401 * 86_400_000).expect_err("long").to_string().contains("401 days"));
    }
}
