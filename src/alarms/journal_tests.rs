use super::*;

fn rec(ts_ms: i64, tag: &str, priority: Priority, change: Change) -> Record {
    Record {
        ts_ms,
        seq: 0,
        place: Place { tag: Some(tag.into()), asset: Some(format!("asset-{}", &tag[..2])), area: Some("north".into()) },
        kind: "HI".into(),
        priority,
        change,
        state: AlarmState::UnackActive,
        value: Some(1.5),
        user: None,
        note: format!("{tag} high"),
    }
}

fn store() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::create(dir.path().join("store.redb")).expect("store");
    (dir, db)
}

fn write(db: &Database, records: &[Record]) {
    let txn = db.begin_write().expect("txn");
    append(&txn, records).expect("append");
    txn.commit().expect("commit");
}

/// Every page of a query, following `next`.
fn all_pages(db: &Database, q: &Query) -> (Vec<Record>, usize) {
    let mut q = q.clone();
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let p = page(db, &q).expect("page");
        pages += 1;
        assert!(p.records.len() <= q.limit as usize);
        out.extend(p.records);
        match p.next {
            Some(n) => q.after = Some(n),
            None => return (out, pages),
        }
    }
}

#[test]
fn an_empty_store_has_no_pages() {
    let (_d, db) = store();
    let p = page(&db, &Query { from_ms: 0, to_ms: 10, limit: 10, ..Query::default() }).unwrap();
    assert_eq!(p, Page::default());
    assert_eq!(scan(&db, 0, 10, &Filter::default(), |_| {}).unwrap(), 0);
}

#[test]
fn records_keep_their_order_and_sequence_across_commits_even_at_the_same_ms() {
    let (_d, db) = store();
    write(&db, &[rec(5, "T1.a", Priority::Low, Change::Raised), rec(5, "T1.a", Priority::Low, Change::Acknowledged)]);
    write(&db, &[rec(5, "T1.a", Priority::Low, Change::Returned), rec(3, "T1.b", Priority::High, Change::Raised)]);
    let p = page(&db, &Query { from_ms: 0, to_ms: 10, limit: 10, ..Query::default() }).unwrap();
    let got: Vec<(i64, u64, Change)> = p.records.iter().map(|r| (r.ts_ms, r.seq, r.change)).collect();
    assert_eq!(
        got,
        [(3, 4, Change::Raised), (5, 1, Change::Raised), (5, 2, Change::Acknowledged), (5, 3, Change::Returned)]
    );
    assert_eq!(p.next, None);
}

#[test]
fn change_names_read_back() {
    for c in Change::ALL {
        assert_eq!(Change::from_name(c.name()), Some(c));
    }
    assert_eq!(Change::from_name("Out of service"), Some(Change::OutOfService));
    assert_eq!(Change::from_name("acked"), Some(Change::Acknowledged));
    assert_eq!(Change::from_name("gone"), None);
}

/// 100,000 records over three months: pages of 700 in both directions cover each record
/// once, in order; combined filters give exactly what a filter over everything gives.
#[test]
fn a_hundred_thousand_records_page_in_order_and_filters_combine() {
    let (_d, db) = store();
    const N: i64 = 100_000;
    let start = 1_790_000_000_000;
    let step = 90 * 86_400_000 / N;
    let tags = ["P1.flow", "P1.temp", "P2.flow", "P2.level", "P3.vib"];
    let changes = [Change::Raised, Change::Acknowledged, Change::Returned, Change::Shelved];
    let all: Vec<Record> = (0..N)
        .map(|i| {
            let u = i as usize;
            rec(start + i * step, tags[u % 5], Priority::ALL[u / 5 % 4], changes[u / 20 % 4])
        })
        .collect();
    for chunk in all.chunks(20_000) {
        write(&db, chunk);
    }
    let q = Query { from_ms: start, to_ms: start + N * step, limit: 700, ..Query::default() };
    let (got, pages) = all_pages(&db, &q);
    assert_eq!(got.len(), N as usize);
    assert!(pages >= (N / 700) as usize);
    assert!(got.windows(2).all(|w| (w[0].ts_ms, w[0].seq) < (w[1].ts_ms, w[1].seq)));
    let (back, _) = all_pages(&db, &Query { newest_first: true, ..q.clone() });
    assert_eq!(back.len(), N as usize);
    assert!(back.iter().rev().zip(&got).all(|(a, b)| a.seq == b.seq));

    // a window in the middle, three filters at once
    let (from, to) = (start + 10 * 86_400_000, start + 40 * 86_400_000);
    let filter = Filter {
        tag: Some("p2.FLOW".into()),
        priority: Some(Priority::High),
        change: Some(Change::Returned),
        ..Filter::default()
    };
    let want: Vec<u64> = got
        .iter()
        .filter(|r| {
            r.ts_ms >= from
                && r.ts_ms < to
                && r.place.tag.as_deref() == Some("P2.flow")
                && r.priority == Priority::High
                && r.change == Change::Returned
        })
        .map(|r| r.seq)
        .collect();
    assert!(!want.is_empty());
    let (hit, _) = all_pages(&db, &Query { from_ms: from, to_ms: to, filter: filter.clone(), limit: 37, ..q.clone() });
    assert_eq!(hit.iter().map(|r| r.seq).collect::<Vec<_>>(), want);
    let (hit_back, _) =
        all_pages(&db, &Query { from_ms: from, to_ms: to, filter: filter.clone(), limit: 37, newest_first: true, ..q });
    assert_eq!(hit_back.len(), want.len());
    let mut n = 0;
    scan(&db, from, to, &filter, |_| n += 1).unwrap();
    assert_eq!(n, want.len());
    // an asset and a text search combine with the rest too
    let f2 = Filter { asset: Some("asset-P3".into()), text: Some("VIB".into()), ..Filter::default() };
    assert_eq!(scan(&db, start, start + N * step, &f2, |_| {}).unwrap(), (N / 5) as u64);
    let f3 = Filter { asset: Some("asset-P3".into()), text: Some("flow".into()), ..Filter::default() };
    assert_eq!(scan(&db, start, start + N * step, &f3, |_| {}).unwrap(), 0);
    // a page reads at most MAX_SCAN records: a search matching nothing says where to go on
    let none = Query { filter: f3, limit: 10, ..q.clone() };
    let first = page(&db, &none).unwrap();
    assert!(first.records.is_empty() && first.next.is_some(), "{:?}", first.next);
    let (found, pages) = all_pages(&db, &none);
    assert!(found.is_empty());
    // 100,000 records in pages of at most MAX_SCAN read: exactly 5, none offered after the last
    assert_eq!(pages, N as usize / MAX_SCAN, "{pages} pages");
}

#[test]
fn a_page_ending_on_the_last_record_offers_no_empty_page_after_it() {
    let (_d, db) = store();
    write(&db, &(0..6).map(|i| rec(i, "T1.a", Priority::Low, Change::Raised)).collect::<Vec<_>>());
    for newest_first in [false, true] {
        let q = Query { from_ms: 0, to_ms: 10, limit: 3, newest_first, ..Query::default() };
        let first = page(&db, &q).unwrap();
        assert!(first.next.is_some(), "three more to come");
        let second = page(&db, &Query { after: first.next, ..q.clone() }).unwrap();
        assert_eq!((second.records.len(), second.next), (3, None), "newest_first {newest_first}");
        assert_eq!(all_pages(&db, &q).1, 2);
    }
}

#[test]
fn alarms_active_at_a_time_are_the_raised_ones_not_yet_returned() {
    let (_d, db) = store();
    write(
        &db,
        &[
            rec(1, "A1.x", Priority::Low, Change::Raised),
            rec(2, "B1.y", Priority::Low, Change::Raised),
            rec(3, "A1.x", Priority::Low, Change::Returned),
            rec(4, "C1.z", Priority::Low, Change::Raised),
            rec(5, "C1.z", Priority::Low, Change::Shelved),
        ],
    );
    let active: Vec<_> = active_at(&db, 10, 100).unwrap().into_iter().map(|r| r.place.tag.unwrap()).collect();
    assert_eq!(active, ["B1.y"]);
}

/// A record as the journal stored it while its tag, asset and area were three fields of
/// the record itself (postcard, written by that layout): it reads the same now they are one
/// [`Place`], and the same record is stored as these very bytes.
#[test]
fn records_stored_before_the_place_read_the_same() {
    let old: Vec<u8> = [
        b"\xf6\xa1\xab\xfe\xf9\x62".as_slice(),  // ts_ms 1_700_000_000_123 (zigzag varint)
        b"\x2a",                                 // seq 42
        b"\x01\x09P101.temp",                    // tag Some("P101.temp")
        b"\x01\x05P-101",                        // asset Some("P-101")
        b"\x00",                                 // area None
        b"\x02HI",                               // kind
        b"\x02\x02\x02",                         // priority High, change Acknowledged, state AckActive
        b"\x01\x00\x00\x00\x00\x00\x60\x54\x40", // value Some(81.5), f64 little-endian
        b"\x01\x04olga",                         // user Some("olga")
        b"\x00",                                 // note ""
    ]
    .concat();
    let want = Record {
        ts_ms: 1_700_000_000_123,
        seq: 42,
        place: Place { tag: Some("P101.temp".into()), asset: Some("P-101".into()), area: None },
        kind: "HI".into(),
        priority: Priority::High,
        change: Change::Acknowledged,
        state: AlarmState::AckActive,
        value: Some(81.5),
        user: Some("olga".into()),
        note: String::new(),
    };
    assert_eq!(postcard::to_allocvec(&want).unwrap(), old, "the same bytes as before");
    // read back from the store as an old journal holds it
    let (_d, db) = store();
    let txn = db.begin_write().unwrap();
    txn.open_table(JOURNAL).unwrap().insert((want.ts_ms, want.seq), old.as_slice()).unwrap();
    txn.commit().unwrap();
    let p = page(&db, &Query { from_ms: 0, to_ms: i64::MAX, limit: 10, ..Query::default() }).unwrap();
    assert_eq!(p.records, [want]);
}
