//! The alarm report's speed: 30 days of a 10,000-tag site with 100,000 alarm journal
//! records (raised, acknowledged, returned; a flood, some chattering), then
//! `kpi::of_store` over the 30 days, as `mimic report alarms --since 30d` runs it, a
//! first page of `mimic alarms history` with a filter, and the terminal's History pane
//! paging all of it newest first (and a search that matches nothing).
//!
//! Run: `cargo run --release --example alarm_kpis` (figures in BENCHMARKS.md).

use std::time::Instant;

use mimic::alarms::journal::{self, Change, Filter, Query, Record};
use mimic::alarms::{AlarmState, Place, Priority, kpi};

const DAY_MS: i64 = 86_400_000;
const TAGS: usize = 10_000;
const EVENTS: usize = 100_000;

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = redb::Database::create(dir.path().join("store.redb")).expect("store");
    let to = 1_790_000_000_000 - 1_790_000_000_000 % DAY_MS;
    let from = to - 30 * DAY_MS;
    // a third of the events of each kind: raised, acknowledged, returned
    let activations = EVENTS / 3;
    let step = 30 * DAY_MS / activations as i64;
    let mut seed = 1u64;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut records = Vec::with_capacity(EVENTS + 2);
    for i in 0..activations {
        let r = rnd();
        let tag = (r % TAGS as u64) as usize;
        let at = from + i as i64 * step;
        let priority = match r % 100 {
            0..80 => Priority::Low,
            80..95 => Priority::Medium,
            95..99 => Priority::High,
            _ => Priority::Critical,
        };
        let rec = |ts_ms, change, state| Record {
            ts_ms,
            seq: 0,
            place: Place {
                tag: Some(format!("U{:02}.T{tag:05}", tag % 40)),
                asset: Some(format!("U{:02}", tag % 40)),
                area: Some(format!("area{}", tag % 10)),
            },
            kind: "HI".into(),
            priority,
            change,
            state,
            value: Some(r as f64 / 1e15),
            user: (change == Change::Acknowledged).then(|| "ana".to_string()),
            note: "value above its limit".into(),
        };
        records.push(rec(at, Change::Raised, AlarmState::UnackActive));
        records.push(rec(at + 30_000 + (r % 300_000) as i64, Change::Acknowledged, AlarmState::AckActive));
        records.push(rec(at + 60_000 + (r % 3_600_000) as i64, Change::Returned, AlarmState::Normal));
    }
    records.sort_by_key(|r| r.ts_ms);
    let t = Instant::now();
    for chunk in records.chunks(10_000) {
        let txn = db.begin_write().expect("txn");
        journal::append(&txn, chunk).expect("append");
        txn.commit().expect("commit");
    }
    println!("journal: {} records written in {:.2} s", records.len(), t.elapsed().as_secs_f64());
    let size = std::fs::metadata(dir.path().join("store.redb")).map(|m| m.len()).unwrap_or(0);
    println!("journal: {:.1} bytes/record in the store", size as f64 / records.len() as f64);

    let mut best = f64::MAX;
    let mut report = None;
    for _ in 0..5 {
        let t = Instant::now();
        report = Some(kpi::of_store(&db, from, to, &mimic::config::FloodPolicy::default()).expect("report"));
        best = best.min(t.elapsed().as_secs_f64());
    }
    let report = report.expect("a report");
    println!(
        "report alarms over 30 days: {} records, {} annunciations, {} areas: best of 5 {:.3} s",
        report.records,
        report.site.raised,
        report.areas.len(),
        best
    );

    let t = Instant::now();
    let filter = Filter { area: Some("area3".into()), change: Some(Change::Acknowledged), ..Filter::default() };
    let page =
        journal::page(&db, &Query { from_ms: from, to_ms: to, filter, limit: 50, ..Query::default() }).expect("page");
    println!("alarms history, first page of 50 (area and state filtered): {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    assert_eq!(page.records.len(), 50);

    // the terminal's History pane: newest first, 16 rows a page (an 80x24 terminal), every
    // page of the 30 days in turn, and a search that matches nothing (each page reads at
    // most journal::MAX_SCAN records)
    let q = Query { from_ms: from, to_ms: to, newest_first: true, limit: 16, ..Query::default() };
    let (pages, slowest, all, found) = every_page(&db, q.clone());
    println!(
        "history pane: {pages} pages of 16, newest first: {:.2} ms a page on average, slowest {:.1} ms",
        all * 1e3 / f64::from(pages),
        slowest * 1e3
    );
    assert_eq!(found, report.records as usize);
    let none = Filter { text: Some("no such words".into()), ..Filter::default() };
    let (pages, slowest, all, found) = every_page(&db, Query { filter: none, ..q });
    println!(
        "history pane, a search matching none of the 100k: {pages} pages, slowest {:.0} ms, all {:.0} ms",
        slowest * 1e3,
        all * 1e3
    );
    assert_eq!(found, 0);
}

/// Every page of `q` in turn: how many, the slowest and all of them (s), records found.
fn every_page(db: &redb::Database, mut q: Query) -> (u32, f64, f64, usize) {
    let (t, mut pages, mut slowest, mut found) = (Instant::now(), 0u32, 0f64, 0);
    loop {
        let tp = Instant::now();
        let page = journal::page(db, &q).expect("page");
        slowest = slowest.max(tp.elapsed().as_secs_f64());
        pages += 1;
        found += page.records.len();
        match page.next {
            Some(n) => q.after = Some(n),
            None => return (pages, slowest, t.elapsed().as_secs_f64(), found),
        }
    }
}
