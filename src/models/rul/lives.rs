//! Run-to-failure histories from a site's own store: the lives of an asset, as its lifecycle
//! events delimit them, turned into cycles of its tags' history.
//!
//! A life starts at the asset's commissioning (or, without one, at its first stored sample)
//! and at each replacement of the wearing part, and ends at the next replacement: the part
//! ran until it had to be replaced. Only replacements end a life; a recalibrated sensor or an
//! inspection does not renew the part, so a life runs on through them. The present life has
//! not ended yet and is not a run to failure. With `part`, only replacements of that part
//! (compared without regard to case) delimit lives, so a new impeller does not reset the
//! bearing's age.

use super::asset::Cycler;
use crate::lifecycle::{Event, EventKind};

/// Most cycles asked of the store at once.
pub const CYCLES_PER_READ: usize = 2_000;

/// One finished life of an asset: from its start to the replacement that ended it.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub from_ms: i64,
    pub to_ms: i64,
    /// The event that ended it (`part-replaced bearing by eve: …`).
    pub ended_by: String,
}

/// The finished lives of an asset from its `events` (any order). `first_data_ms` starts the
/// first life when no commissioning is recorded.
pub fn spans(events: &[Event], part: Option<&str>, first_data_ms: Option<i64>) -> Vec<Span> {
    let mut events: Vec<&Event> = events.iter().collect();
    events.sort_by_key(|e| (e.ts_ms, e.seq));
    let ends = |e: &Event| {
        e.kind == EventKind::PartReplaced && part.is_none_or(|p| e.part.trim().eq_ignore_ascii_case(p.trim()))
    };
    let mut start = events.iter().find(|e| e.kind == EventKind::Commissioned).map(|e| e.ts_ms).or(first_data_ms);
    let mut out = Vec::new();
    for e in events.into_iter().filter(|e| ends(e)) {
        if let Some(from) = start.filter(|&s| s < e.ts_ms) {
            out.push(Span { from_ms: from, to_ms: e.ts_ms, ended_by: e.line() });
        }
        start = Some(e.ts_ms);
    }
    out
}

/// The rows of one life: whole cycles of `cycle_ms` from its start, each the mean of every
/// channel's Good samples (see [`Cycler`]). `read(channel, from, to)` returns the samples
/// `(ts_ms, value, good)` of a channel over `[from, to)`, time-ordered.
pub fn rows<E>(
    span: &Span,
    cycle_ms: i64,
    channels: usize,
    mut read: impl FnMut(usize, i64, i64) -> Result<Vec<(i64, f64, bool)>, E>,
) -> Result<Vec<Vec<f64>>, E> {
    let cycle_ms = cycle_ms.max(1);
    let total = usize::try_from((span.to_ms - span.from_ms) / cycle_ms).unwrap_or(0);
    let mut cycler = Cycler::default();
    let mut done = 0;
    while done < total {
        let n = (total - done).min(CYCLES_PER_READ);
        let from = span.from_ms + done as i64 * cycle_ms;
        let to = from + n as i64 * cycle_ms;
        let per_tag = (0..channels).map(|c| read(c, from, to)).collect::<Result<Vec<_>, E>>()?;
        cycler.push_span(from, cycle_ms, n, &per_tag);
        done += n;
    }
    Ok(cycler.rows().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts_ms: i64, kind: EventKind, part: &str) -> Event {
        Event { asset: "P-1".into(), seq: 0, ts_ms, kind, part: part.into(), note: String::new(), by: "eve".into() }
    }

    #[test]
    fn lives_run_from_commissioning_or_a_replacement_to_the_next_replacement() {
        let events = vec![
            ev(5_000, EventKind::PartReplaced, "bearing"),
            ev(1_000, EventKind::Commissioned, ""),
            ev(3_000, EventKind::SensorRecalibrated, "PT-1"),
            ev(7_000, EventKind::PartReplaced, "impeller"),
            ev(9_000, EventKind::PartReplaced, "Bearing"),
            ev(9_500, EventKind::Inspection, ""),
        ];
        let all = spans(&events, None, None);
        let bounds: Vec<(i64, i64)> = all.iter().map(|s| (s.from_ms, s.to_ms)).collect();
        assert_eq!(bounds, [(1_000, 5_000), (5_000, 7_000), (7_000, 9_000)]);
        assert!(all[0].ended_by.contains("part-replaced bearing by eve"), "{:?}", all[0]);
        // only the bearing's replacements delimit the bearing's lives
        let bearing: Vec<(i64, i64)> =
            spans(&events, Some("bearing"), None).iter().map(|s| (s.from_ms, s.to_ms)).collect();
        assert_eq!(bearing, [(1_000, 5_000), (5_000, 9_000)]);
        // no commissioning: the first life starts with the data, or is unknown
        let later = &events[..1];
        assert_eq!(spans(later, None, Some(2_000)).first().map(|s| s.from_ms), Some(2_000));
        assert!(spans(later, None, None).is_empty());
    }

    #[test]
    fn rows_are_whole_cycles_read_in_chunks() {
        let span = Span { from_ms: 0, to_ms: 2_500 * 1_000 + 400, ended_by: String::new() };
        let mut reads = Vec::new();
        let rows = rows(&span, 1_000, 2, |c, from, to| {
            reads.push((c, from, to));
            Ok::<_, ()>((from / 1_000..to / 1_000).map(|s| (s * 1_000 + 100, s as f64 + c as f64, true)).collect())
        })
        .expect("rows");
        assert_eq!(rows.len(), 2_500, "the unfinished last cycle is left out");
        assert_eq!(rows[0], [0.0, 1.0]);
        assert_eq!(rows[2_499], [2_499.0, 2_500.0]);
        assert_eq!(reads, [(0, 0, 2_000_000), (1, 0, 2_000_000), (0, 2_000_000, 2_500_000), (1, 2_000_000, 2_500_000)]);
    }
}
