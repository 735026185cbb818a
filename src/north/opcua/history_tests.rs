use std::cell::Cell;

use mimic_drivers::{Quality, Reason};
use opcua::types::StatusCode;

use super::*;

/// Samples in memory; counts the queries, and keeps the largest answer.
struct Mem(Vec<Sample>, Cell<usize>, Cell<usize>);

impl Source for Mem {
    fn query(&self, from_ms: i64, to_ms: i64) -> Result<Vec<Sample>, crate::historian::HistorianError> {
        self.1.set(self.1.get() + 1);
        let got: Vec<Sample> = self.0.iter().filter(|s| s.ts_ms >= from_ms && s.ts_ms < to_ms).copied().collect();
        self.2.set(self.2.get().max(got.len()));
        Ok(got)
    }

    /// As the historian answers: only what is asked for is decoded.
    fn query_limited(
        &self,
        from_ms: i64,
        to_ms: i64,
        max: usize,
        keep: Keep,
    ) -> Result<Vec<Sample>, crate::historian::HistorianError> {
        self.1.set(self.1.get() + 1);
        let mut got: Vec<Sample> = self.0.iter().filter(|s| s.ts_ms >= from_ms && s.ts_ms < to_ms).copied().collect();
        keep.trim(&mut got, max);
        self.2.set(self.2.get().max(got.len()));
        Ok(got)
    }
}

fn s(ts_ms: i64, value: f64) -> Sample {
    Sample { tag: 0, ts_ms, value, quality: 0 }
}

fn mem(samples: Vec<Sample>) -> Mem {
    Mem(samples, Cell::new(0), Cell::new(0))
}

/// One sample a second for `n` seconds, value = second.
fn ramp(n: i64) -> Mem {
    mem((0..n).map(|i| s(i * 1000, i as f64)).collect())
}

fn all_pages(c: &mut RawCursor, src: &dyn Source) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let (v, done) = c.page(src).expect("page");
        pages += 1;
        out.extend(v);
        if done {
            return (out, pages);
        }
    }
}

#[test]
fn raw_forward_pages_with_continuation_and_start_included_end_excluded() {
    let src = ramp(100);
    let mut c = RawCursor::new(Some(10_000), Some(20_000), 4, false).expect("cursor");
    let (v, pages) = all_pages(&mut c, &src);
    let ts: Vec<i64> = v.iter().map(|v| v.ts_ms / 1000).collect();
    assert_eq!(ts, (10..20).collect::<Vec<_>>());
    assert_eq!(pages, 3, "4 + 4 + 2");
    assert!(v.iter().all(|v| v.status == StatusCode::Good));
    for (start, end) in [(10_000, 18_000), (17_500, 9_500)] {
        let mut c = RawCursor::new(Some(start), Some(end), 4, false).expect("cursor");
        assert_eq!(all_pages(&mut c, &src).1, 2, "4 + 4, no empty last page ({start}..{end})");
    }
}

#[test]
fn raw_reverse_when_start_is_after_end() {
    let src = ramp(100);
    let mut c = RawCursor::new(Some(20_000), Some(10_000), 0, false).expect("cursor");
    let (v, _) = all_pages(&mut c, &src);
    let ts: Vec<i64> = v.iter().map(|v| v.ts_ms / 1000).collect();
    assert_eq!(ts, (11..=20).rev().collect::<Vec<_>>());
    // only an end time: newest first from it, as many as asked
    let mut c = RawCursor::new(None, Some(50_000), 3, false).expect("cursor");
    let (v, _) = c.page(&src).expect("page");
    assert_eq!(
        v.iter().map(|v| v.ts_ms / 1000).collect::<Vec<_>>(),
        vec![50, 49, 48],
        "the time it starts from is included"
    );
    assert!(matches!(RawCursor::new(None, None, 3, false).err(), Some(HistError::Timestamps)));
    assert!(matches!(RawCursor::new(Some(1), None, 0, false).err(), Some(HistError::Timestamps)));
}

#[test]
fn raw_bounds_are_the_neighbours_or_bound_not_found() {
    let src = mem(vec![s(1_000, 1.0), s(5_000, 5.0), s(9_000, 9.0)]);
    let mut c = RawCursor::new(Some(2_000), Some(8_000), 0, true).expect("cursor");
    c.start_bound(&src, 2_000).expect("bound");
    let (v, _) = all_pages(&mut c, &src);
    assert_eq!(v.iter().map(|v| v.ts_ms).collect::<Vec<_>>(), vec![1_000, 5_000, 9_000]);
    let mut c = RawCursor::new(Some(10_000), Some(20_000), 0, true).expect("cursor");
    c.start_bound(&src, 10_000).expect("bound");
    let (v, _) = all_pages(&mut c, &src);
    assert_eq!(v.len(), 2, "{v:?}");
    assert_eq!((v[0].ts_ms, v[0].status), (9_000, StatusCode::Good));
    assert_eq!((v[1].ts_ms, v[1].status), (20_000, StatusCode::BadBoundNotFound));
}

#[test]
fn an_empty_decade_costs_few_queries() {
    let year = 365 * 86_400_000;
    let src = mem(vec![s(10 * year - 1000, 1.0)]);
    let mut c = RawCursor::new(Some(0), Some(10 * year), 0, false).expect("cursor");
    let (v, _) = all_pages(&mut c, &src);
    assert_eq!(v.len(), 1);
    assert!(src.1.get() < 40, "{} queries", src.1.get());
}

#[test]
fn neighbours_are_found_in_few_queries_however_far() {
    let year = 365 * 86_400_000;
    let bad = |ts| Sample { tag: 0, ts_ms: ts, value: 0.0, quality: 3 };
    // a good sample ten years back and ahead, a hundred bad ones nearer on each side
    let mut samples = vec![s(-10 * year, 1.0)];
    samples.extend((1..=100).map(|i| bad(-i * 1000)).rev());
    samples.extend((1..=100).map(|i| bad(i * 1000)));
    samples.push(s(10 * year, 2.0));
    let src = mem(samples);
    let found = prev(&src, 0, |_| true).expect("prev");
    assert_eq!((found.map(|s| s.ts_ms), src.1.get()), (Some(-1000), 1), "the nearest, in one query");
    src.1.set(0);
    assert_eq!(prev(&src, 0, good).expect("prev").map(|s| s.value), Some(1.0));
    assert!(src.1.get() <= 4, "16, 32, 64 bad ones then the good one: {} queries", src.1.get());
    src.1.set(0);
    assert_eq!(next(&src, 1, i64::MAX, good).expect("next").map(|s| s.value), Some(2.0));
    assert!(src.1.get() <= 4, "{} queries", src.1.get());
    assert_eq!(next(&src, 1, 10 * year, good).expect("next"), None, "never past the limit");
    assert_eq!(prev(&src, -10 * year, good).expect("prev"), None);
}

/// A day at 1 Hz after ten empty years.
fn dense_after_a_decade() -> (Mem, i64) {
    let year = 365 * 86_400_000;
    (mem((0..86_400).map(|i| s(10 * year + i * 1000, (i % 977) as f64)).collect()), 10 * year)
}

#[test]
fn raw_reads_decode_a_page_at_a_time_after_an_empty_stretch() {
    let (src, start) = dense_after_a_decade();
    for (from, to) in [(0, start + 86_400_000), (start + 86_400_000, -1)] {
        let mut c = RawCursor::new(Some(from), Some(to), 1_000, false).expect("cursor");
        let (v, pages) = all_pages(&mut c, &src);
        assert_eq!(v.len(), 86_400, "{from}..{to}");
        assert_eq!(pages, 87, "86 full pages and the rest");
        assert!(v.windows(2).all(|w| (w[0].ts_ms < w[1].ts_ms) == (from < to)), "in order {from}..{to}");
        assert!(src.2.get() <= 1_001, "one query answered {} samples", src.2.get());
    }
}

#[test]
fn processed_reads_stop_at_what_a_page_may_decode() {
    let (src, start) = dense_after_a_decade();
    for a in [Aggregate::Average, Aggregate::TimeAverage, Aggregate::Count, Aggregate::End] {
        for (from, to, iv) in [(start, start + 86_400_000, 600_000), (start + 86_400_000, start, 60_000)] {
            let whole = ProcCursor::new(a, from, to, iv).expect("cursor").page(&src).expect("page").0;
            let mut c = ProcCursor::new(a, from, to, iv).expect("cursor");
            // a page may decode 5,000 samples: a window of 1,440 intervals does not fit
            c.max_decoded = 5_000;
            src.2.set(0);
            let (mut got, mut pages) = (Vec::new(), 0);
            loop {
                let (v, done) = c.page(&src).expect("page");
                got.extend(v);
                pages += 1;
                if done {
                    break;
                }
            }
            assert_eq!(got, whole, "{a:?} {from}..{to} every {iv}");
            assert!(pages > 10, "{a:?}: {pages} pages");
            assert!(src.2.get() <= 5_000, "{a:?}: one query answered {} samples", src.2.get());
        }
    }
    // an interval alone holding more than a page may decode is read whole
    let mut c = ProcCursor::new(Aggregate::Count, start, start + 86_400_000, 3_600_000).expect("cursor");
    c.max_decoded = 1_000;
    let (v, _) = c.page(&src).expect("page");
    assert_eq!(v.first().and_then(|v| v.value), Some(3_600.0));
}

#[test]
fn processed_average_minimum_maximum_count_start_end() {
    let src = ramp(120);
    let agg = |a| {
        let mut c = ProcCursor::new(a, 0, 120_000, 60_000).expect("cursor");
        let (v, done) = c.page(&src).expect("page");
        assert!(done);
        v
    };
    let avg = agg(Aggregate::Average);
    assert_eq!(avg.iter().map(|v| v.value).collect::<Vec<_>>(), vec![Some(29.5), Some(89.5)]);
    assert_eq!(avg[1].ts_ms, 60_000);
    assert!(avg[0].status.is_good());
    assert_eq!(agg(Aggregate::Minimum)[1].value, Some(60.0));
    assert_eq!(agg(Aggregate::Maximum)[0].value, Some(59.0));
    assert_eq!(agg(Aggregate::Maximum)[0].ts_ms, 59_000, "the time of the maximum");
    assert_eq!(agg(Aggregate::Count)[0].value, Some(60.0));
    assert_eq!(agg(Aggregate::Start)[1].value, Some(60.0));
    assert_eq!(agg(Aggregate::End)[1].value, Some(119.0));
    // a ramp's time average over a whole interval is its midpoint, bounds interpolated
    let ta = agg(Aggregate::TimeAverage);
    assert_eq!(ta[0].value, Some(30.0), "{ta:?}");
    assert!(ta[0].status.is_good());
    assert!(ta[1].status.is_uncertain(), "no sample after the end: {ta:?}");
}

#[test]
fn processed_is_quality_aware() {
    let bad = Quality::Bad(Reason::CommFailure).to_code();
    let mut v: Vec<Sample> = (0..10).map(|i| s(i * 1000, 10.0)).collect();
    v[3] = Sample { tag: 0, ts_ms: 3000, value: 1000.0, quality: bad };
    let src = mem(v);
    let mut c = ProcCursor::new(Aggregate::Average, 0, 10_000, 10_000).expect("cursor");
    let (out, _) = c.page(&src).expect("page");
    assert_eq!(out[0].value, Some(10.0), "bad values do not count");
    assert_eq!(out[0].status.sub_code(), StatusCode::UncertainDataSubNormal.sub_code());
    let mut c = ProcCursor::new(Aggregate::Count, 0, 10_000, 10_000).expect("cursor");
    assert_eq!(c.page(&src).expect("page").0[0].value, Some(9.0));
    let mut c = ProcCursor::new(Aggregate::Average, 20_000, 30_000, 5_000).expect("cursor");
    let (out, _) = c.page(&src).expect("page");
    assert!(out.iter().all(|v| v.status == StatusCode::BadNoData));
    assert!(matches!(ProcCursor::new(Aggregate::Average, 5, 5, 1).err(), Some(HistError::Timestamps)));
    assert!(matches!(ProcCursor::new(Aggregate::Average, 0, 5, 0).err(), Some(HistError::Interval)));
}

#[test]
fn processed_backward_runs_from_start_to_end_newest_first() {
    let src = ramp(120);
    let read = |a, start, end, iv| {
        let mut c = ProcCursor::new(a, start, end, iv).expect("cursor");
        let (v, done) = c.page(&src).expect("page");
        assert!(done);
        v
    };
    // intervals (t - 60 s, t], reported at t
    let avg = read(Aggregate::Average, 119_000, -1_000, 60_000);
    let got: Vec<(i64, Option<f64>)> = avg.iter().map(|v| (v.ts_ms, v.value)).collect();
    assert_eq!(got, vec![(119_000, Some(89.5)), (59_000, Some(29.5))]);
    assert_eq!(read(Aggregate::Start, 119_000, -1_000, 60_000)[0].value, Some(119.0), "first in backward time");
    assert_eq!(read(Aggregate::End, 119_000, -1_000, 60_000)[0].value, Some(60.0));
    assert_eq!(read(Aggregate::Count, 119_000, -1_000, 60_000)[1].value, Some(60.0));
    // the last interval is cut at the end time: (0, 20 s] holds 1..=20
    let cut = read(Aggregate::Average, 120_000, 0, 50_000);
    let got: Vec<(i64, Option<f64>)> = cut.iter().map(|v| (v.ts_ms, v.value)).collect();
    assert_eq!(got, vec![(120_000, Some(95.0)), (70_000, Some(45.5)), (20_000, Some(10.5))]);
    // away from sample times, backward is forward reversed
    for a in [Aggregate::Average, Aggregate::TimeAverage, Aggregate::Minimum, Aggregate::Maximum, Aggregate::Count] {
        let fwd = read(a, 500, 120_500, 60_000);
        let mut back: Vec<Option<f64>> = read(a, 120_500, 500, 60_000).iter().map(|v| v.value).collect();
        back.reverse();
        assert_eq!(back, fwd.iter().map(|v| v.value).collect::<Vec<_>>(), "{a:?}");
    }
}

#[test]
fn processed_pages_a_day_of_minutes() {
    let src = ramp(86_400);
    let mut c = ProcCursor::new(Aggregate::Average, 0, 86_400_000, 60_000).expect("cursor");
    let (v, done) = c.page(&src).expect("page");
    assert!(done);
    assert_eq!(v.len(), 1_440);
    assert_eq!(v[1439].value, Some((86_340.0 + 86_399.0) / 2.0));
}

#[test]
fn at_time_exact_interpolated_stepped_or_no_data() {
    let src = mem(vec![s(1_000, 10.0), s(3_000, 30.0)]);
    let v = at_times(&src, &[500, 1_000, 2_000, 5_000]).expect("at");
    assert_eq!(v[0].status, StatusCode::BadNoData);
    assert_eq!((v[1].value, v[1].status), (Some(10.0), StatusCode::Good));
    assert_eq!(v[2].value, Some(20.0));
    assert!(v[2].status.is_good());
    assert_eq!(v[2].status.value_type(), StatusCodeValueType::Interpolated);
    assert_eq!(v[3].value, Some(30.0));
    assert!(v[3].status.is_uncertain());
    assert!(matches!(at_times(&src, &vec![0; MAX_AT_TIME + 1]).err(), Some(HistError::TooMany)));
}

#[test]
fn the_status_table() {
    use Reason::*;
    let cases = [
        (Quality::Good, StatusCode::Good),
        (Quality::Bad(CommFailure), StatusCode::BadCommunicationError),
        (Quality::Bad(Timeout), StatusCode::BadTimeout),
        (Quality::Bad(DeviceException(2)), StatusCode::BadDeviceFailure),
        (Quality::Bad(DecodeError), StatusCode::BadDataEncodingInvalid),
        (Quality::Uncertain(Stale), StatusCode::UncertainLastUsableValue),
        (Quality::Uncertain(OutOfRange), StatusCode::UncertainEngineeringUnitsExceeded),
        (Quality::Uncertain(TimeAdjusted), StatusCode::Uncertain),
        (Quality::Bad(NotYetRead), StatusCode::BadWaitingForInitialData),
    ];
    for (q, want) in cases {
        assert_eq!(status_of(q), want, "{q}");
        assert_eq!(status_of_code(q.to_code()), want, "{q}");
    }
    assert_eq!(status_of_code(0xffff), StatusCode::Bad);
}
