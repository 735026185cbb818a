//! The scanner: blocks in address order, narrowing refused blocks down to single
//! addresses, with retries, busy back-off and a stop on a device that went away.

use std::time::Duration;

use super::exception as exc;
use super::{BlockReader, Found, ProbeError, ProbeOptions, ProbeReport, Reply, Skipped, TableReport, Why};
use crate::modbus::Table;

/// A refused block at most this long is asked address by address at once (halving it
/// further costs more requests than it saves).
const SINGLES_BELOW: u16 = 4;

/// What asking for one block came to, after retries.
enum Asked {
    Values(Vec<u16>),
    /// An exception to act on (not busy, not a gateway's "no answer").
    Exception(u8),
    NoAnswer,
    Busy,
}

/// The device stopped answering: end the probe.
struct Stop(String);

struct Scanner<'a, R> {
    reader: &'a mut R,
    opts: &'a ProbeOptions,
    report: ProbeReport,
    /// Requests in a row that got no answer.
    failures_in_a_row: u32,
    last_failure: String,
    sent_any: bool,
}

/// Probe the tables `opts` names. Returns what was learnt, also when the device stopped
/// answering part way (then `stopped` says why); an error only for bad options or a
/// device that never answered at all.
pub async fn probe<R: BlockReader>(reader: &mut R, opts: &ProbeOptions) -> Result<ProbeReport, ProbeError> {
    opts.check()?;
    let mut s = Scanner {
        reader,
        opts,
        report: ProbeReport::default(),
        failures_in_a_row: 0,
        last_failure: String::new(),
        sent_any: false,
    };
    for &table in &opts.tables {
        let mut t = TableReport { table, unsupported: false, found: Vec::new(), skipped: Vec::new(), scanned: 0 };
        let outcome = s.table(&mut t).await;
        s.report.tables.push(t);
        if let Err(Stop(why)) = outcome {
            s.report.stopped = Some(why);
            break;
        }
    }
    if s.report.answered == 0 {
        return Err(ProbeError::NoAnswer(s.report.stopped.unwrap_or(s.last_failure)));
    }
    Ok(s.report)
}

impl<R: BlockReader> Scanner<'_, R> {
    async fn table(&mut self, t: &mut TableReport) -> Result<(), Stop> {
        let block = u32::from(if t.table.is_bits() { self.opts.bit_block } else { self.opts.register_block });
        let end = u32::from(self.opts.start) + self.opts.count;
        let mut at = u32::from(self.opts.start);
        while at < end {
            // both fit in u16: at < end ≤ 65536 and n ≤ block ≤ 2000, at + n ≤ 65536
            let n = block.min(end - at);
            let (a, n16) = (u16::try_from(at).unwrap_or(u16::MAX), u16::try_from(n).unwrap_or(1));
            let go_on = self.region(t, a, n16).await?;
            at += n;
            t.scanned = at - u32::from(self.opts.start);
            if !go_on {
                break;
            }
        }
        Ok(())
    }

    /// One block and, if it is refused, its parts. `Ok(false)`: the table is not there.
    async fn region(&mut self, t: &mut TableReport, start: u16, count: u16) -> Result<bool, Stop> {
        // pending parts, the lowest address on top
        let mut todo = vec![(start, count)];
        while let Some((a, n)) = todo.pop() {
            match self.ask(t.table, a, n).await? {
                Asked::Values(values) => add_found(&mut t.found, a, values),
                Asked::Exception(exc::ILLEGAL_FUNCTION) if t.found.is_empty() => {
                    t.unsupported = true;
                    return Ok(false);
                }
                Asked::Exception(exc::ILLEGAL_DATA_ADDRESS | exc::ILLEGAL_DATA_VALUE) if n > 1 => {
                    if n <= SINGLES_BELOW {
                        todo.extend((0..n).rev().map(|k| (a + k, 1)));
                    } else {
                        let left = n / 2;
                        todo.push((a + left, n - left));
                        todo.push((a, left));
                    }
                }
                // a single address the device refuses: a hole in its map
                Asked::Exception(exc::ILLEGAL_DATA_ADDRESS | exc::ILLEGAL_DATA_VALUE) => {}
                Asked::Exception(code) => add_skipped(&mut t.skipped, a, n, Why::Exception(code)),
                Asked::NoAnswer => add_skipped(&mut t.skipped, a, n, Why::NoAnswer),
                Asked::Busy => add_skipped(&mut t.skipped, a, n, Why::Busy),
            }
        }
        Ok(true)
    }

    /// One request, with the pause before it, retries after no answer and back-off
    /// while the device is busy.
    async fn ask(&mut self, table: Table, start: u16, count: u16) -> Result<Asked, Stop> {
        let (mut tries, mut busy) = (0u32, 0u32);
        loop {
            if self.sent_any && !self.opts.pause.is_zero() {
                tokio::time::sleep(self.opts.pause).await;
            }
            self.sent_any = true;
            self.report.requests += 1;
            // what the request comes to if it keeps failing
            let mut give_up = Asked::NoAnswer;
            let failure = match self.reader.read(table, start, count).await {
                Reply::Values(v) if v.len() == usize::from(count) => {
                    self.answered();
                    return Ok(Asked::Values(v));
                }
                Reply::Values(v) => {
                    self.report.failures += 1;
                    format!("{} values in the answer to a read of {count}", v.len())
                }
                Reply::Exception(code) => {
                    *self.report.exceptions.entry(code).or_default() += 1;
                    match code {
                        exc::GATEWAY_PATH | exc::GATEWAY_TARGET => {
                            // the gateway answered; the unit behind it did not
                            self.report.failures += 1;
                            format!("exception {code} ({})", exc::name(code))
                        }
                        exc::DEVICE_FAILURE => {
                            // the device cannot serve the request (also what some servers
                            // answer for a unit id they do not have): retried, and a
                            // device answering nothing else is taken for a dead unit
                            give_up = Asked::Exception(code);
                            format!("exception {code} ({})", exc::name(code))
                        }
                        exc::ACKNOWLEDGE | exc::DEVICE_BUSY => {
                            self.answered();
                            if busy >= self.opts.busy_retries {
                                return Ok(Asked::Busy);
                            }
                            tokio::time::sleep(backoff(self.opts.busy_wait, busy)).await;
                            busy += 1;
                            self.report.retries += 1;
                            continue;
                        }
                        _ => {
                            self.answered();
                            return Ok(Asked::Exception(code));
                        }
                    }
                }
                Reply::Timeout => {
                    self.report.timeouts += 1;
                    "no answer within the timeout".to_string()
                }
                Reply::Failed(m) => {
                    self.report.failures += 1;
                    m
                }
            };
            self.failures_in_a_row += 1;
            self.last_failure = format!(
                "{} request(s) in a row failed, last: {} {}..={}: {failure}",
                self.failures_in_a_row,
                table.short(),
                start,
                u32::from(start) + u32::from(count) - 1
            );
            if self.failures_in_a_row >= self.opts.max_failures {
                return Err(Stop(self.last_failure.clone()));
            }
            if tries >= self.opts.retries {
                return Ok(give_up);
            }
            tries += 1;
            self.report.retries += 1;
        }
    }

    fn answered(&mut self) {
        self.report.answered += 1;
        self.failures_in_a_row = 0;
    }
}

fn backoff(base: Duration, attempt: u32) -> Duration {
    base.saturating_mul(1u32 << attempt.min(6))
}

/// Append values read at `start`, merging with the range before when they touch.
fn add_found(found: &mut Vec<Found>, start: u16, values: Vec<u16>) {
    if let Some(last) = found.last_mut()
        && u32::from(last.last()) + 1 == u32::from(start)
    {
        last.values.extend(values);
        return;
    }
    found.push(Found { start, values });
}

fn add_skipped(skipped: &mut Vec<Skipped>, start: u16, count: u16, why: Why) {
    if let Some(last) = skipped.last_mut()
        && last.why == why
        && u32::from(last.start) + u32::from(last.count) == u32::from(start)
        && let Some(n) = last.count.checked_add(count)
    {
        last.count = n;
        return;
    }
    skipped.push(Skipped { start, count, why });
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    /// A scripted device: valid addresses per table with their values; everything else
    /// answers `refuse` (exception 2 unless set). Records every request.
    struct Fake {
        valid: BTreeMap<Table, BTreeMap<u16, u16>>,
        illegal_function: BTreeSet<Table>,
        /// Addresses whose reads answer this exception instead.
        special: BTreeMap<(Table, u16), u8>,
        /// Answer `Timeout` to every request from this request number on.
        dead_from: Option<usize>,
        /// Answers "busy" to the first N requests.
        busy_first: usize,
        /// Requests touching this address time out.
        silent: Option<(Table, u16)>,
        log: Vec<(Table, u16, u16)>,
    }

    impl Fake {
        fn new() -> Self {
            Fake {
                valid: BTreeMap::new(),
                illegal_function: BTreeSet::new(),
                special: BTreeMap::new(),
                dead_from: None,
                busy_first: 0,
                silent: None,
                log: Vec::new(),
            }
        }

        fn with(mut self, table: Table, range: std::ops::RangeInclusive<u16>) -> Self {
            let t = self.valid.entry(table).or_default();
            for a in range {
                t.insert(a, a.wrapping_mul(3));
            }
            self
        }
    }

    impl BlockReader for Fake {
        async fn read(&mut self, table: Table, start: u16, count: u16) -> Reply {
            self.log.push((table, start, count));
            let n = self.log.len();
            if self.dead_from.is_some_and(|d| n > d) {
                return Reply::Timeout;
            }
            if n <= self.busy_first {
                return Reply::Exception(exc::DEVICE_BUSY);
            }
            if self.illegal_function.contains(&table) {
                return Reply::Exception(exc::ILLEGAL_FUNCTION);
            }
            let addrs: Vec<u16> = (u32::from(start)..u32::from(start) + u32::from(count))
                .map(|a| u16::try_from(a).expect("the scanner never asks past 65535"))
                .collect();
            if let Some((t, a)) = self.silent
                && t == table
                && addrs.contains(&a)
            {
                return Reply::Timeout;
            }
            if let Some(code) = addrs.iter().find_map(|&a| self.special.get(&(table, a))) {
                return Reply::Exception(*code);
            }
            let map = self.valid.get(&table);
            let values: Option<Vec<u16>> = addrs.iter().map(|a| map.and_then(|m| m.get(a)).copied()).collect();
            values.map_or(Reply::Exception(exc::ILLEGAL_DATA_ADDRESS), Reply::Values)
        }
    }

    fn opts(tables: &[Table], start: u16, count: u32) -> ProbeOptions {
        ProbeOptions {
            tables: tables.to_vec(),
            start,
            count,
            pause: Duration::ZERO,
            busy_wait: Duration::from_millis(1),
            ..ProbeOptions::default()
        }
    }

    fn run(fake: &mut Fake, o: &ProbeOptions) -> Result<ProbeReport, ProbeError> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        rt.block_on(probe(fake, o))
    }

    #[test]
    fn holes_are_narrowed_to_exact_boundaries() {
        let mut f = Fake::new()
            .with(Table::HoldingRegister, 0..=9)
            .with(Table::HoldingRegister, 13..=13)
            .with(Table::HoldingRegister, 20..=47)
            .with(Table::HoldingRegister, 100..=100);
        let r = run(&mut f, &opts(&[Table::HoldingRegister], 0, 200)).unwrap();
        let t = &r.tables[0];
        assert_eq!(t.ranges(), [(0, 9), (13, 13), (20, 47), (100, 100)]);
        assert_eq!(t.found[2].values[0], 60, "values kept with their addresses");
        assert!(t.skipped.is_empty() && !t.unsupported && t.scanned == 200);
        assert_eq!(r.stopped, None);
        // only reads, never past the asked range, never more than a block
        assert!(f.log.iter().all(|&(_, a, n)| (1..=16).contains(&n) && u32::from(a) + u32::from(n) <= 200));
        assert_eq!(r.requests, f.log.len() as u64);
        assert_eq!(r.answered, r.requests);
        // the fully valid block 32..47 was read once, whole
        assert!(f.log.contains(&(Table::HoldingRegister, 32, 16)));
    }

    #[test]
    fn every_address_is_decided_exactly_on_random_maps() {
        let mut rng = crate::testkit::Lcg(99);
        for round in 0..40 {
            let mut f = Fake::new();
            let mut truth = BTreeSet::new();
            let mut a = 0u16;
            while a < 150 {
                let x = rng.next_u32();
                let len = (x >> 16) as u16 % 20;
                if (x >> 8) & 1 == 1 {
                    for k in a..(a + len).min(150) {
                        truth.insert(k);
                        f.valid.entry(Table::InputRegister).or_default().insert(k, k);
                    }
                }
                a += len.max(1);
            }
            let mut o = opts(&[Table::InputRegister], 0, 150);
            o.register_block = [16, 7, 125, 1][round % 4];
            let got: BTreeSet<u16> = match run(&mut f, &o) {
                Ok(r) => r.tables[0].found.iter().flat_map(|f| f.start..=f.last()).collect(),
                Err(ProbeError::NoAnswer(_)) => unreachable!("the fake always answers"),
                Err(e) => panic!("{e}"),
            };
            assert_eq!(got, truth, "round {round}");
        }
    }

    #[test]
    fn a_table_answering_illegal_function_is_marked_unsupported_after_one_request() {
        let mut f = Fake::new().with(Table::Coil, 0..=20);
        f.illegal_function.insert(Table::InputRegister);
        let r = run(&mut f, &opts(&[Table::InputRegister, Table::Coil], 0, 1000)).unwrap();
        assert!(r.tables[0].unsupported && r.tables[0].found.is_empty());
        assert_eq!(f.log.iter().filter(|l| l.0 == Table::InputRegister).count(), 1);
        assert_eq!(r.tables[1].ranges(), [(0, 20)]);
        assert_eq!(r.exceptions.get(&exc::ILLEGAL_FUNCTION), Some(&1));
    }

    #[test]
    fn other_exceptions_are_reported_not_narrowed() {
        let mut f = Fake::new().with(Table::HoldingRegister, 0..=47);
        f.special.insert((Table::HoldingRegister, 20), 8);
        f.special.insert((Table::HoldingRegister, 40), exc::DEVICE_FAILURE);
        let r = run(&mut f, &opts(&[Table::HoldingRegister], 0, 48)).unwrap();
        let t = &r.tables[0];
        assert_eq!(t.ranges(), [(0, 15)]);
        let skipped = [
            Skipped { start: 16, count: 16, why: Why::Exception(8) },
            Skipped { start: 32, count: 16, why: Why::Exception(exc::DEVICE_FAILURE) },
        ];
        assert_eq!(t.skipped, skipped);
        // device failure is tried again once
        assert_eq!((r.requests, r.retries), (4, 1));
    }

    #[test]
    fn a_device_failing_every_request_is_taken_for_dead() {
        let mut f = Fake::new();
        for a in 0..100 {
            f.special.insert((Table::HoldingRegister, a), exc::DEVICE_FAILURE);
        }
        match run(&mut f, &opts(&[Table::HoldingRegister], 0, 100)) {
            Err(ProbeError::NoAnswer(m)) => assert!(m.contains("server device failure"), "{m}"),
            other => panic!("expected NoAnswer, got {other:?}"),
        }
        assert_eq!(f.log.len(), 3);
    }

    #[test]
    fn a_busy_device_is_retried_with_back_off() {
        let mut f = Fake::new().with(Table::HoldingRegister, 0..=15);
        f.busy_first = 2;
        let r = run(&mut f, &opts(&[Table::HoldingRegister], 0, 16)).unwrap();
        assert_eq!(r.tables[0].ranges(), [(0, 15)]);
        assert_eq!((r.requests, r.retries), (3, 2));
        // busy for longer than the retries: left unknown, not taken for a hole
        let mut f = Fake::new().with(Table::HoldingRegister, 0..=15);
        f.busy_first = 100;
        let r = run(&mut f, &opts(&[Table::HoldingRegister], 0, 16)).unwrap();
        assert_eq!(r.tables[0].skipped, [Skipped { start: 0, count: 16, why: Why::Busy }]);
        assert_eq!(r.requests, 4);
    }

    #[test]
    fn a_dead_unit_fails_after_max_failures_requests() {
        let mut f = Fake::new().with(Table::HoldingRegister, 0..=999);
        f.dead_from = Some(0);
        let o = opts(&[Table::HoldingRegister, Table::Coil], 0, 1000);
        match run(&mut f, &o) {
            Err(ProbeError::NoAnswer(m)) => assert!(m.contains("3 request(s) in a row failed"), "{m}"),
            other => panic!("expected NoAnswer, got {other:?}"),
        }
        assert_eq!(f.log.len(), 3, "stops after 3 unanswered requests");
    }

    #[test]
    fn a_device_that_goes_away_keeps_what_was_found() {
        let mut f = Fake::new().with(Table::HoldingRegister, 0..=99);
        f.dead_from = Some(2);
        let r = run(&mut f, &opts(&[Table::HoldingRegister, Table::Coil], 0, 100)).unwrap();
        assert_eq!(r.tables.len(), 1, "the coil table was never started");
        assert_eq!(r.tables[0].ranges(), [(0, 31)]);
        assert!(r.stopped.as_deref().is_some_and(|s| s.contains("no answer")), "{:?}", r.stopped);
        assert_eq!(r.timeouts, 3);
    }

    #[test]
    fn one_silent_block_is_retried_then_skipped_and_the_scan_goes_on() {
        let mut f = Fake::new().with(Table::HoldingRegister, 0..=63);
        f.silent = Some((Table::HoldingRegister, 20));
        let r = run(&mut f, &opts(&[Table::HoldingRegister], 0, 64)).unwrap();
        let t = &r.tables[0];
        assert_eq!(t.ranges(), [(0, 15), (32, 63)]);
        assert_eq!(t.skipped, [Skipped { start: 16, count: 16, why: Why::NoAnswer }]);
        assert_eq!((r.timeouts, r.retries), (2, 1));
    }

    #[test]
    fn gateway_exceptions_count_as_no_answer() {
        let mut f = Fake::new();
        f.valid.insert(Table::HoldingRegister, (0..1000).map(|a| (a, 0)).collect());
        for a in 0..1000 {
            f.special.insert((Table::HoldingRegister, a), exc::GATEWAY_TARGET);
        }
        assert!(matches!(run(&mut f, &opts(&[Table::HoldingRegister], 0, 1000)), Err(ProbeError::NoAnswer(_))));
        assert_eq!(f.log.len(), 3);
    }

    #[test]
    fn bits_use_the_bit_block_and_options_are_checked() {
        let mut f = Fake::new().with(Table::DiscreteInput, 5..=70);
        let r = run(&mut f, &opts(&[Table::DiscreteInput], 0, 128)).unwrap();
        assert_eq!(r.tables[0].ranges(), [(5, 70)]);
        assert!(f.log.iter().all(|l| l.2 <= 64));
        assert!(matches!(run(&mut f, &opts(&[Table::Coil], 65000, 1000)), Err(ProbeError::Options(_))));
        let mut o = opts(&[Table::Coil], 0, 10);
        o.register_block = 126;
        assert!(o.check().is_err());
        o.register_block = 16;
        o.tables.clear();
        assert!(o.check().is_err());
    }

    #[test]
    fn the_top_of_the_address_space_is_reachable() {
        let mut f = Fake::new().with(Table::HoldingRegister, 65530..=65535);
        let r = run(&mut f, &opts(&[Table::HoldingRegister], 65520, 16)).unwrap();
        assert_eq!(r.tables[0].ranges(), [(65530, 65535)]);
    }
}
