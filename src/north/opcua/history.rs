//! HistoryRead over the historian: raw values in either time direction with bounds and
//! continuation, the processed aggregates of OPC UA Part 13 that mimic serves, and
//! values at given times. Pure over a [`Source`] of one tag's samples, so that every
//! rule is tested without a server.
//!
//! Limits against hostile requests: a response carries at most [`PAGE`] values (or
//! intervals), and decodes at most [`MAX_DECODED`] samples; past either the answer
//! ends with a continuation point. Empty stretches are skipped in windows that double
//! (an hour first, up to [`MAX_SPAN_MS`]), so a read over ten empty years costs a few
//! dozen index lookups, not a scan. ReadAtTime takes at most [`MAX_AT_TIME`] times.

use std::collections::VecDeque;

use mimic_drivers::Quality;
use opcua::types::{StatusCode, StatusCodeValueType};

use crate::historian::{HistorianError, Keep, Sample};

/// Values (raw) or intervals (processed) in one response at most.
pub const PAGE: usize = 10_000;
/// Samples decoded for one response at most (then a continuation point).
pub const MAX_DECODED: usize = 5_000_000;
/// Times in one ReadAtTime at most.
pub const MAX_AT_TIME: usize = 10_000;
/// The first window of a raw read.
const FIRST_WINDOW_MS: i64 = 3_600_000;
/// How far a search for a bound looks at most (and the widest window).
pub const MAX_SPAN_MS: i64 = 20 * 366 * 86_400_000;
/// Intervals whose samples are read in one query (processed reads).
const INTERVALS_PER_QUERY: i64 = 1_440;

/// One tag's stored samples.
pub trait Source {
    /// Samples with `from_ms <= ts < to_ms`, in time order.
    fn query(&self, from_ms: i64, to_ms: i64) -> Result<Vec<Sample>, HistorianError>;

    /// The `max` oldest or newest of them, in time order; a timestamp is never split
    /// (see [`crate::historian::Historian::query_limited`]).
    fn query_limited(&self, from_ms: i64, to_ms: i64, max: usize, keep: Keep) -> Result<Vec<Sample>, HistorianError> {
        let mut samples = self.query(from_ms, to_ms)?;
        keep.trim(&mut samples, max);
        Ok(samples)
    }
}

/// One tag's samples in the historian (its read lock held by the caller).
pub struct Store<'a> {
    pub h: &'a crate::historian::Historian,
    pub tag: crate::historian::TagId,
}

impl Source for Store<'_> {
    fn query(&self, from_ms: i64, to_ms: i64) -> Result<Vec<Sample>, HistorianError> {
        self.h.query(self.tag, from_ms, to_ms)
    }

    fn query_limited(&self, from_ms: i64, to_ms: i64, max: usize, keep: Keep) -> Result<Vec<Sample>, HistorianError> {
        self.h.query_limited(self.tag, from_ms, to_ms, max, keep)
    }
}

/// One value of an answer (turned into a DataValue by the caller).
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub ts_ms: i64,
    pub value: Option<f64>,
    pub status: StatusCode,
}

/// Why a read is refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum HistError {
    #[error("the times do not describe a range")]
    Timestamps,
    #[error("too many times or intervals")]
    TooMany,
    #[error("processing interval must be positive")]
    Interval,
    /// The historian's error is not a `source`: its text is in this message already.
    #[error("store: {0}")]
    Store(HistorianError),
    #[error("store: store lock poisoned")]
    Poisoned,
    #[error("store: history task failed")]
    Task,
}

impl HistError {
    pub fn status(&self) -> StatusCode {
        match self {
            HistError::Timestamps => StatusCode::BadInvalidTimestampArgument,
            HistError::TooMany => StatusCode::BadTooManyOperations,
            HistError::Interval => StatusCode::BadAggregateInvalidInputs,
            HistError::Store(_) | HistError::Poisoned | HistError::Task => StatusCode::BadHistoryOperationUnsupported,
        }
    }
}

/// The OPC UA status of a stored quality (the table in README "OPC UA server").
pub fn status_of(q: Quality) -> StatusCode {
    use mimic_drivers::Reason::*;
    match q {
        Quality::Good => StatusCode::Good,
        Quality::Uncertain(r) => match r {
            CommFailure => StatusCode::UncertainNoCommunicationLastUsableValue,
            Timeout | Stale => StatusCode::UncertainLastUsableValue,
            OutOfRange => StatusCode::UncertainEngineeringUnitsExceeded,
            DeviceFlag | DeviceException(_) => StatusCode::UncertainSensorNotAccurate,
            DecodeError | NotYetRead | TimeAdjusted => StatusCode::Uncertain,
        },
        Quality::Bad(r) => match r {
            CommFailure => StatusCode::BadCommunicationError,
            Timeout => StatusCode::BadTimeout,
            DeviceException(_) => StatusCode::BadDeviceFailure,
            DecodeError => StatusCode::BadDataEncodingInvalid,
            OutOfRange => StatusCode::BadOutOfRange,
            Stale => StatusCode::UncertainLastUsableValue,
            DeviceFlag => StatusCode::BadSensorFailure,
            NotYetRead => StatusCode::BadWaitingForInitialData,
            TimeAdjusted => StatusCode::Uncertain,
        },
    }
}

/// The status of a stored quality code (an unknown code is Bad).
pub fn status_of_code(code: u16) -> StatusCode {
    Quality::from_code(code).map_or(StatusCode::Bad, status_of)
}

fn raw_value(s: &Sample) -> Value {
    Value { ts_ms: s.ts_ms, value: Some(s.value).filter(|v| !v.is_nan()), status: status_of_code(s.quality) }
}

fn good(s: &Sample) -> bool {
    s.quality == 0 && !s.value.is_nan()
}

/// Samples asked for at first by [`prev`] and [`next`] (doubled while none is kept).
const NEIGHBOUR_BATCH: usize = 16;

/// The newest sample with `ts < before_ms` (and `keep`), looking back at most
/// [`MAX_SPAN_MS`]: the newest few samples first, then more before them (one query when
/// the nearest sample is kept, however far back it is).
pub fn prev(src: &dyn Source, before_ms: i64, keep: impl Fn(&Sample) -> bool) -> Result<Option<Sample>, HistError> {
    let lo = before_ms.saturating_sub(MAX_SPAN_MS);
    let (mut to, mut n) = (before_ms, NEIGHBOUR_BATCH);
    while lo < to {
        let found = src.query_limited(lo, to, n, Keep::Newest).map_err(HistError::Store)?;
        if let Some(s) = found.iter().rev().find(|s| keep(s)) {
            return Ok(Some(*s));
        }
        match found.first() {
            // every sample at the oldest time read was read: go on before it
            Some(s) if found.len() >= n => to = s.ts_ms,
            _ => break,
        }
        n = n.saturating_mul(2).min(PAGE);
    }
    Ok(None)
}

/// The oldest sample with `ts >= from_ms` (and `keep`), looking ahead at most
/// [`MAX_SPAN_MS`] (and never past `limit_ms`), as [`prev`] does backwards.
pub fn next(
    src: &dyn Source,
    from_ms: i64,
    limit_ms: i64,
    keep: impl Fn(&Sample) -> bool,
) -> Result<Option<Sample>, HistError> {
    let limit = limit_ms.min(from_ms.saturating_add(MAX_SPAN_MS));
    let (mut from, mut n) = (from_ms, NEIGHBOUR_BATCH);
    while from < limit {
        let found = src.query_limited(from, limit, n, Keep::Oldest).map_err(HistError::Store)?;
        if let Some(s) = found.iter().find(|s| keep(s)) {
            return Ok(Some(*s));
        }
        match found.last() {
            Some(s) if found.len() >= n => from = s.ts_ms.saturating_add(1),
            _ => break,
        }
        n = n.saturating_mul(2).min(PAGE);
    }
    Ok(None)
}

/// A raw read in progress: what is left of it (kept in the continuation point).
#[derive(Debug)]
pub struct RawCursor {
    forward: bool,
    /// Forward: the next window starts here; reverse: the next window ends here
    /// (exclusive, in the half-open `[from, to)` the store speaks).
    next_ms: i64,
    /// Forward: the exclusive end; reverse: the inclusive lowest time.
    limit_ms: i64,
    /// The requested end time, for its bound.
    end_ms: i64,
    per_page: usize,
    bounds: bool,
    end_bound_done: bool,
    window_ms: i64,
    buffered: VecDeque<Sample>,
    first: Option<Value>,
}

impl RawCursor {
    /// `start`/`end` as the client gave them (`None`: not given); `num_values` 0 means
    /// all (in pages of [`PAGE`]).
    pub fn new(start: Option<i64>, end: Option<i64>, num_values: u32, bounds: bool) -> Result<RawCursor, HistError> {
        let (forward, start, end) = match (start, end) {
            (Some(s), Some(e)) => (s <= e, s, e),
            (Some(s), None) if num_values > 0 => (true, s, i64::MAX),
            (None, Some(e)) if num_values > 0 => (false, e, i64::MIN),
            _ => return Err(HistError::Timestamps),
        };
        let per_page = if num_values == 0 { PAGE } else { (num_values as usize).min(PAGE) };
        // Reverse: end < ts <= start is [end + 1, start + 1) in the store's terms.
        let (next_ms, limit_ms) = if forward { (start, end) } else { (start.saturating_add(1), end.saturating_add(1)) };
        Ok(RawCursor {
            forward,
            next_ms,
            limit_ms,
            end_ms: end,
            per_page,
            bounds,
            end_bound_done: !bounds || end == i64::MAX || end == i64::MIN,
            window_ms: FIRST_WINDOW_MS,
            buffered: VecDeque::new(),
            first: None,
        })
    }

    /// The start bound, when asked for: a value at the start time, or the nearest one
    /// outside the range (BadBoundNotFound at the start time when there is none).
    pub fn start_bound(&mut self, src: &dyn Source, start_ms: i64) -> Result<(), HistError> {
        if !self.bounds {
            return Ok(());
        }
        let at = src.query(start_ms, start_ms.saturating_add(1)).map_err(HistError::Store)?;
        if !at.is_empty() {
            return Ok(());
        }
        let found = if self.forward {
            prev(src, start_ms, |_| true)?
        } else {
            next(src, start_ms.saturating_add(1), i64::MAX, |_| true)?
        };
        self.first = Some(bound(found, start_ms));
        Ok(())
    }

    fn exhausted(&self) -> bool {
        if self.forward { self.next_ms >= self.limit_ms } else { self.next_ms <= self.limit_ms }
    }

    /// The next page; `true` when the read is complete (no continuation point).
    pub fn page(&mut self, src: &dyn Source) -> Result<(Vec<Value>, bool), HistError> {
        let mut out = Vec::with_capacity(self.per_page.min(4096));
        out.extend(self.first.take());
        let mut decoded = 0usize;
        while out.len() < self.per_page {
            if let Some(s) = self.buffered.pop_front() {
                out.push(raw_value(&s));
                continue;
            }
            if self.exhausted() {
                if !self.end_bound_done {
                    self.end_bound_done = true;
                    out.push(self.end_bound(src)?);
                    continue;
                }
                break;
            }
            if decoded >= MAX_DECODED {
                break;
            }
            let need = self.per_page - out.len();
            let got = self.window(src, need)?;
            decoded += got;
            if got < need {
                self.window_ms = self.window_ms.saturating_mul(2).min(MAX_SPAN_MS);
            }
        }
        let done = self.buffered.is_empty() && self.exhausted() && self.end_bound_done;
        Ok((out, done))
    }

    /// Reads the next window into the buffer, at most about `need` samples of it (the
    /// window then ends after the last one read); how many samples came.
    fn window(&mut self, src: &dyn Source, need: usize) -> Result<usize, HistError> {
        if self.forward {
            let to = self.next_ms.saturating_add(self.window_ms).min(self.limit_ms);
            // one more than needed tells whether the window holds more
            let got = src.query_limited(self.next_ms, to, need + 1, Keep::Oldest).map_err(HistError::Store)?;
            self.next_ms = match got.last() {
                Some(s) if got.len() > need => s.ts_ms.saturating_add(1),
                _ => to,
            };
            let n = got.len();
            self.buffered.extend(got);
            Ok(n)
        } else {
            let from = self.next_ms.saturating_sub(self.window_ms).max(self.limit_ms);
            let got = src.query_limited(from, self.next_ms, need + 1, Keep::Newest).map_err(HistError::Store)?;
            self.next_ms = match got.first() {
                Some(s) if got.len() > need => s.ts_ms,
                _ => from,
            };
            let n = got.len();
            self.buffered.extend(got.into_iter().rev());
            Ok(n)
        }
    }

    fn end_bound(&self, src: &dyn Source) -> Result<Value, HistError> {
        let end = self.end_ms;
        let found = if self.forward {
            next(src, end, i64::MAX, |_| true)?
        } else {
            prev(src, end.saturating_add(1), |_| true)?
        };
        Ok(bound(found, end))
    }
}

fn bound(found: Option<Sample>, at_ms: i64) -> Value {
    match found {
        Some(s) => raw_value(&s),
        None => Value { ts_ms: at_ms, value: None, status: StatusCode::BadBoundNotFound },
    }
}

/// The aggregates served (Part 13).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregate {
    Average,
    TimeAverage,
    Minimum,
    Maximum,
    Count,
    Start,
    End,
}

impl Aggregate {
    /// From the aggregate function's NodeId (namespace 0, numeric).
    pub fn from_id(id: u32) -> Option<Aggregate> {
        use opcua::types::ObjectId as O;
        Some(match id {
            x if x == O::AggregateFunction_Average as u32 => Aggregate::Average,
            x if x == O::AggregateFunction_TimeAverage as u32 => Aggregate::TimeAverage,
            x if x == O::AggregateFunction_Minimum as u32 => Aggregate::Minimum,
            x if x == O::AggregateFunction_Maximum as u32 => Aggregate::Maximum,
            x if x == O::AggregateFunction_Count as u32 => Aggregate::Count,
            x if x == O::AggregateFunction_Start as u32 => Aggregate::Start,
            x if x == O::AggregateFunction_End as u32 => Aggregate::End,
            _ => return None,
        })
    }
}

/// A processed read in progress. Forward (start before end) intervals are
/// `[t, t + interval)` reported at `t`; backward (start after end: time runs backwards,
/// Part 11) they are `(t - interval, t]` reported at `t`, their beginning in the
/// direction of time, newest first. The last interval is cut at the end time.
#[derive(Debug)]
pub struct ProcCursor {
    pub aggregate: Aggregate,
    /// Samples decoded for one page at most ([`MAX_DECODED`]).
    max_decoded: usize,
    next_ms: i64,
    end_ms: i64,
    interval_ms: i64,
    backward: bool,
}

impl ProcCursor {
    pub fn new(aggregate: Aggregate, start_ms: i64, end_ms: i64, interval_ms: i64) -> Result<ProcCursor, HistError> {
        if start_ms == end_ms {
            return Err(HistError::Timestamps);
        }
        if interval_ms <= 0 {
            return Err(HistError::Interval);
        }
        let backward = start_ms > end_ms;
        Ok(ProcCursor { aggregate, max_decoded: MAX_DECODED, next_ms: start_ms, end_ms, interval_ms, backward })
    }

    fn done(&self) -> bool {
        if self.backward { self.next_ms <= self.end_ms } else { self.next_ms >= self.end_ms }
    }

    /// The next intervals; `true` when done.
    pub fn page(&mut self, src: &dyn Source) -> Result<(Vec<Value>, bool), HistError> {
        let mut out = Vec::new();
        let mut decoded = 0usize;
        let iv = self.interval_ms;
        while !self.done() && out.len() < PAGE && decoded < self.max_decoded {
            let n = INTERVALS_PER_QUERY.min((PAGE - out.len()) as i64);
            let (samples, window_end) = self.window(src, n, self.max_decoded - decoded)?;
            decoded += samples.len();
            let mut t = self.next_ms;
            while t != window_end {
                let (from, to, next) = if self.backward {
                    let t0 = t.saturating_sub(iv).max(self.end_ms);
                    (t0, t, t0)
                } else {
                    let t1 = t.saturating_add(iv).min(self.end_ms);
                    (t, t1, t1)
                };
                out.push(interval(self.aggregate, &samples, Span { from, to, backward: self.backward }));
                t = next;
            }
            self.next_ms = window_end;
        }
        Ok((out, self.done()))
    }

    /// Where a window of `n` intervals from the next one ends.
    fn end_after(&self, n: i64) -> i64 {
        let span = self.interval_ms.saturating_mul(n);
        if self.backward {
            self.next_ms.saturating_sub(span).max(self.end_ms)
        } else {
            self.next_ms.saturating_add(span).min(self.end_ms)
        }
    }

    /// The samples of a window of `n` intervals from the next one (and one interval
    /// more on each side, for the bounds of TimeAverage), at most about `limit` of them,
    /// and where the window ends: cut short to the intervals the samples read wholly
    /// cover when there were more. An interval alone holding more than `limit` samples
    /// is read whole (a window of one).
    fn window(&self, src: &dyn Source, n: i64, limit: usize) -> Result<(Vec<Sample>, i64), HistError> {
        let iv = self.interval_ms;
        let range = |end: i64| {
            let (lo, hi) = (self.next_ms.min(end), self.next_ms.max(end));
            (lo.saturating_sub(iv), hi.saturating_add(iv).saturating_add(1))
        };
        let (from, to) = range(self.end_after(n));
        let keep = if self.backward { Keep::Newest } else { Keep::Oldest };
        let samples = src.query_limited(from, to, limit, keep).map_err(HistError::Store)?;
        if samples.len() < limit {
            return Ok((samples, self.end_after(n)));
        }
        // every sample from the first read (backward) or up to the last (forward) is here
        let covered = match (self.backward, samples.first(), samples.last()) {
            (true, Some(first), _) => self.next_ms.saturating_sub(first.ts_ms).saturating_add(1),
            (false, _, Some(last)) => last.ts_ms.saturating_sub(self.next_ms).saturating_add(1),
            _ => 0,
        };
        let whole = (covered / iv - 1).clamp(0, n);
        if whole > 0 {
            return Ok((samples, self.end_after(whole)));
        }
        let (from, to) = range(self.end_after(1));
        Ok((src.query(from, to).map_err(HistError::Store)?, self.end_after(1)))
    }
}

/// One interval of a processed read: forward `[from, to)` reported at `from`, backward
/// `(from, to]` reported at `to`.
#[derive(Clone, Copy, Debug)]
struct Span {
    from: i64,
    to: i64,
    backward: bool,
}

impl Span {
    /// Its beginning in the direction of time: the timestamp of its result.
    fn at(self) -> i64 {
        if self.backward { self.to } else { self.from }
    }

    /// The indices of `samples` (sorted) inside it.
    fn range(self, samples: &[Sample]) -> (usize, usize) {
        if self.backward {
            (samples.partition_point(|s| s.ts_ms <= self.from), samples.partition_point(|s| s.ts_ms <= self.to))
        } else {
            (samples.partition_point(|s| s.ts_ms < self.from), samples.partition_point(|s| s.ts_ms < self.to))
        }
    }
}

fn calculated(s: StatusCode) -> StatusCode {
    s.set_info_type(opcua::types::StatusCodeInfoType::DataValue).set_value_type(StatusCodeValueType::Calculated)
}

/// One interval of `samples` (sorted, covering the interval and its neighbours).
/// Start and End are the first and last values in the direction of time.
fn interval(agg: Aggregate, samples: &[Sample], span: Span) -> Value {
    let (lo, hi) = span.range(samples);
    let inside = &samples[lo..hi];
    let t0 = span.at();
    let n_good = inside.iter().filter(|s| good(s)).count();
    let all_good = n_good == inside.len();
    let quality = if all_good { StatusCode::Good } else { StatusCode::UncertainDataSubNormal };
    let none = Value { ts_ms: t0, value: None, status: StatusCode::BadNoData };
    let goods = || inside.iter().filter(|s| good(s));
    match agg {
        Aggregate::Count => Value { ts_ms: t0, value: Some(n_good as f64), status: calculated(StatusCode::Good) },
        Aggregate::Start | Aggregate::End => {
            let first = (agg == Aggregate::Start) != span.backward;
            let pick = if first { inside.first() } else { inside.last() };
            pick.map_or(none, raw_value)
        }
        Aggregate::Average => {
            if n_good == 0 {
                return none;
            }
            let sum: f64 = goods().map(|s| s.value).sum();
            Value { ts_ms: t0, value: Some(sum / n_good as f64), status: calculated(quality) }
        }
        Aggregate::Minimum | Aggregate::Maximum => {
            let pick = goods().reduce(|a, b| {
                let better = if agg == Aggregate::Minimum { b.value < a.value } else { b.value > a.value };
                if better { b } else { a }
            });
            pick.map_or(none, |s| Value { ts_ms: s.ts_ms, value: Some(s.value), status: calculated(quality) })
        }
        Aggregate::TimeAverage => time_average(samples, (lo, hi), span, quality).unwrap_or(none),
    }
}

/// Time-weighted average with sloped interpolation (Part 13 TimeAverage): the bounding
/// values at `t0` and `t1` are interpolated from the nearest good samples around them,
/// and the area under the line through the good points is divided by the time covered.
/// Not covering the whole interval (no bound on a side) makes the result Uncertain.
fn time_average(samples: &[Sample], (lo, hi): (usize, usize), within: Span, quality: StatusCode) -> Option<Value> {
    let (t0, t1) = (within.from, within.to);
    let before = samples[..lo].iter().rev().find(|s| good(s));
    let after = samples[hi..].iter().find(|s| good(s));
    let inside: Vec<(i64, f64)> = samples[lo..hi].iter().filter(|s| good(s)).map(|s| (s.ts_ms, s.value)).collect();
    let mut pts: Vec<(i64, f64)> = Vec::with_capacity(inside.len() + 2);
    let lerp = |a: (i64, f64), b: (i64, f64), t: i64| a.1 + (b.1 - a.1) * (t - a.0) as f64 / (b.0 - a.0) as f64;
    let first_in = inside.first().copied().or(after.map(|s| (s.ts_ms, s.value)));
    let last_in = inside.last().copied().or(before.map(|s| (s.ts_ms, s.value)));
    let mut whole = true;
    match (before, first_in) {
        _ if inside.first().is_some_and(|p| p.0 == t0) => {}
        (Some(b), Some(f)) if f.0 > t0 => pts.push((t0, lerp((b.ts_ms, b.value), f, t0))),
        _ => whole = false,
    }
    pts.extend(&inside);
    match (last_in, after) {
        (Some(l), Some(a)) if l.0 < t1 => pts.push((t1, lerp(l, (a.ts_ms, a.value), t1))),
        _ => whole = false,
    }
    let (first, last) = (pts.first()?, pts.last()?);
    let span = (last.0 - first.0) as f64;
    let value = if span <= 0.0 {
        first.1
    } else {
        pts.windows(2).map(|w| (w[1].0 - w[0].0) as f64 * (w[0].1 + w[1].1) / 2.0).sum::<f64>() / span
    };
    let status = if whole { quality } else { StatusCode::UncertainDataSubNormal };
    Some(Value { ts_ms: within.at(), value: Some(value), status: calculated(status) })
}

/// The value at each of `times` (ReadAtTime): the sample at that time, else the line
/// between the nearest good samples around it (Interpolated), else the last good value
/// before it (Uncertain, stepped), else BadNoData.
pub fn at_times(src: &dyn Source, times: &[i64]) -> Result<Vec<Value>, HistError> {
    if times.len() > MAX_AT_TIME {
        return Err(HistError::TooMany);
    }
    let mut out = Vec::with_capacity(times.len());
    for &t in times {
        let exact = src.query(t, t.saturating_add(1)).map_err(HistError::Store)?;
        if let Some(s) = exact.last() {
            out.push(raw_value(s));
            continue;
        }
        let before = prev(src, t, good)?;
        let after = match before {
            Some(_) => next(src, t, i64::MAX, good)?,
            None => None,
        };
        let interpolated = |s: StatusCode| {
            s.set_info_type(opcua::types::StatusCodeInfoType::DataValue)
                .set_value_type(StatusCodeValueType::Interpolated)
        };
        out.push(match (before, after) {
            (Some(b), Some(a)) => {
                let v = b.value + (a.value - b.value) * (t - b.ts_ms) as f64 / (a.ts_ms - b.ts_ms) as f64;
                Value { ts_ms: t, value: Some(v), status: interpolated(StatusCode::Good) }
            }
            (Some(b), None) => {
                Value { ts_ms: t, value: Some(b.value), status: interpolated(StatusCode::UncertainDataSubNormal) }
            }
            _ => Value { ts_ms: t, value: None, status: StatusCode::BadNoData },
        });
    }
    Ok(out)
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
