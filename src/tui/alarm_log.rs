//! The Alarms screen's History and KPI panes, the terminal's side: a page or the figures
//! asked of the daemon ([`Request::AlarmHistory`], [`Request::AlarmReport`]) for what the
//! views want shown, and the answers turned into the views' plain data. The journal stays
//! in the daemon's store: a page is at most [`mimic_views::MAX_HISTORY_ROWS`] records.

use mimic_views::{HistoryPage, HistoryRow, KpiFigure, KpiScope, KpiView, PageStart, Priority};

use crate::alarms::journal::{Page, Query, Record};
use crate::alarms::{kpi, search};
use crate::ipc::Request;

/// The request of one History page: the search as typed, read here (a search that cannot
/// be read is said to the operator, nothing is asked).
pub fn history_request(text: &str, after: PageStart, rows: u32, now_ms: i64) -> Result<Request, search::SearchError> {
    let s = search::parse(text, now_ms)?;
    let limit = rows.clamp(1, mimic_views::MAX_HISTORY_ROWS);
    let query = Query { from_ms: s.from_ms, to_ms: s.to_ms, filter: s.filter, after, newest_first: true, limit };
    Ok(Request::AlarmHistory { query })
}

/// The figures of the last `span_ms`.
pub fn kpi_request(span_ms: i64, now_ms: i64) -> Request {
    Request::AlarmReport { from_ms: now_ms - span_ms.clamp(1, search::MAX_REPORT_MS), to_ms: now_ms }
}

fn row(r: &Record) -> HistoryRow {
    HistoryRow {
        ts_ms: r.ts_ms,
        place: (&r.place).into(),
        kind: r.kind.clone(),
        priority: Priority::ALL[r.priority as usize],
        change: r.change.name().to_string(),
        value: r.value,
        user: r.user.clone().unwrap_or_default(),
        note: r.note.clone(),
    }
}

/// A page as the History pane shows it.
pub fn page(p: &Page) -> HistoryPage {
    HistoryPage { rows: p.records.iter().map(row).collect(), next: p.next }
}

fn scope(s: &kpi::Scope) -> KpiScope {
    let figures = s
        .figures()
        .into_iter()
        .map(|f| KpiFigure {
            name: f.name.to_string(),
            text: f.text,
            target: f.target.to_string(),
            verdict: f.verdict.name().to_string(),
        })
        .collect();
    KpiScope { name: s.name.clone(), raised: s.raised, figures, by_priority: s.by_priority }
}

/// The figures as the KPI pane shows them: the site's, then each operator position's.
pub fn kpis(r: &kpi::Report) -> KpiView {
    KpiView {
        from_ms: r.from_ms,
        to_ms: r.to_ms,
        scopes: std::iter::once(&r.site).chain(&r.areas).map(scope).collect(),
        per_10min: r.per_10min.iter().map(|&n| u64::from(n)).collect(),
        per_hour: r.per_hour.iter().map(|&n| u64::from(n)).collect(),
        top: r.top.iter().map(|f| (f.alarm.clone(), f.count)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::journal::Change;

    #[test]
    fn a_page_request_is_bounded_and_a_bad_search_asks_nothing() {
        let Ok(Request::AlarmHistory { query }) = history_request("prio:low pump", Some((5, 6)), 10_000, 1_000_000_000)
        else {
            panic!("a page request");
        };
        assert_eq!(query.limit, mimic_views::MAX_HISTORY_ROWS);
        assert!(query.newest_first);
        assert_eq!(query.after, Some((5, 6)));
        assert_eq!(query.filter.text.as_deref(), Some("pump"));
        assert_eq!(search::check_query(&query), Ok(()));
        assert!(history_request("prio:urgent", None, 10, 0).is_err());
        assert_eq!(kpi_request(i64::MAX, 0), Request::AlarmReport { from_ms: -search::MAX_REPORT_MS, to_ms: 0 });
    }

    #[test]
    fn records_and_reports_become_plain_rows() {
        let r = Record {
            ts_ms: 7,
            seq: 1,
            place: crate::alarms::Place { tag: None, asset: Some("P-101".into()), area: Some("Pumping".into()) },
            kind: "MODEL anomaly".into(),
            priority: crate::alarms::Priority::High,
            change: Change::Acknowledged,
            state: crate::alarms::AlarmState::AckActive,
            value: None,
            user: Some("alice".into()),
            note: String::new(),
        };
        let p = page(&Page { records: vec![r], next: None });
        assert_eq!(p.rows[0].place.name(), "P-101");
        assert_eq!(p.rows[0].priority, Priority::High);
        assert_eq!(p.rows[0].change, "acknowledged");
        let k = kpis(&kpi::report(&[], 0, 3_600_000));
        assert_eq!(k.per_10min, vec![0; 6]);
        assert_eq!(k.scopes.len(), 1, "the site, no position without alarms");
        assert!(k.scopes[0].figures.iter().any(|f| f.name == "alarms per 10 min" && f.verdict == "acceptable"));
    }
}
