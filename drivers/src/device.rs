//! The one driver trait, and the task that runs one device.
//!
//! Each device gets its own task (so a dead or slow device never delays another one),
//! owning its [`Driver`] and therefore its connection. The task polls each
//! [`PollGroup`] on its period, measured on the monotonic clock; a missed period is
//! skipped rather than bunched. When the link is down it reconnects with exponential
//! back-off and, meanwhile, reports the group's points Bad (comm failure) on every period
//! so that the core always knows the truth. Every poll produces one [`DeviceEvent`] with
//! the readings and fresh statistics, sent over a bounded channel.

use std::future::Future;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::quality::{Reading, Reason};
use crate::write::{WriteOutcome, WriteRequest};

/// A transport-level failure: the link is gone or the device did not answer. Device
/// exceptions are not errors at this level; they are per-point qualities.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum DriverError {
    #[error("connect to {endpoint} failed: {message}")]
    Connect { endpoint: String, message: String },
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("link failed: {0}")]
    Link(String),
}

impl DriverError {
    pub fn reason(&self) -> Reason {
        match self {
            DriverError::Timeout(_) => Reason::Timeout,
            _ => Reason::CommFailure,
        }
    }
}

/// What one `read` did, for the device statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadSummary {
    pub requests: u64,
    pub exceptions: u64,
    pub decode_errors: u64,
    /// Requests that got no answer in time (the read itself still returned `Ok`).
    pub timeouts: u64,
    /// Damaged answers or lines: CRC errors, garbage, truncated or run-together lines.
    pub garbled: u64,
}

/// One protocol's client for one device.
pub trait Driver: Send + 'static {
    /// The driver's precomputed read plan for one poll group.
    type Plan: Send + Sync + 'static;

    /// Human-readable address of the device, for logs and the Devices screen.
    fn endpoint(&self) -> String;
    /// Protocol name, e.g. `modbus-tcp`.
    fn protocol(&self) -> &'static str;
    /// Plan the reads for these points (indices into the driver's point list).
    fn plan(&self, points: &[usize]) -> Self::Plan;
    fn is_connected(&self) -> bool;
    /// Open the link. Called by the device task when not connected.
    fn connect(&mut self) -> impl Future<Output = Result<(), DriverError>> + Send;
    /// Read the plan. Pushes at least one [`Reading`] per planned point into `out`, Good
    /// or Bad (a subscription driver hands on every change that arrived since the last
    /// read, oldest first). Returns `Err` only when the link must be re-established; the driver has
    /// then already dropped it and marked the unread points Bad.
    fn read(
        &mut self,
        plan: &Self::Plan,
        out: &mut Vec<Reading>,
    ) -> impl Future<Output = Result<ReadSummary, DriverError>> + Send;
    /// Write one point and read it back. Never retries a write whose outcome is unknown.
    fn write(&mut self, point: usize, value: f64, tolerance: f64) -> impl Future<Output = WriteOutcome> + Send;
}

/// Points polled together at one period.
#[derive(Clone, Debug, PartialEq)]
pub struct PollGroup {
    pub period: Duration,
    pub points: Vec<usize>,
}

/// Per-device statistics, as shown on the Devices screen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeviceStats {
    pub connected: bool,
    pub polls: u64,
    pub requests: u64,
    pub errors: u64,
    pub timeouts: u64,
    pub exceptions: u64,
    pub decode_errors: u64,
    /// Damaged answers or lines (serial drivers): CRC errors, garbage, truncation.
    pub garbled: u64,
    pub reconnects: u64,
    pub last_poll_ms: Option<i64>,
    pub last_latency_us: Option<u64>,
    pub last_error: Option<String>,
}

/// One poll's outcome.
#[derive(Clone, Debug)]
pub struct DeviceEvent {
    pub device: usize,
    pub readings: Vec<Reading>,
    pub stats: DeviceStats,
}

/// Reconnect back-off: 250 ms doubling up to 10 s, reset by a successful connect.
#[derive(Clone, Debug)]
pub struct Backoff {
    next_delay: Duration,
    not_before: Option<Instant>,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(250);
    const MAX: Duration = Duration::from_secs(10);

    pub fn new() -> Self {
        Backoff { next_delay: Self::FIRST, not_before: None }
    }
    pub fn may_try(&self, now: Instant) -> bool {
        self.not_before.is_none_or(|t| now >= t)
    }
    pub fn failed(&mut self, now: Instant) {
        self.not_before = Some(now + self.next_delay);
        self.next_delay = (self.next_delay * 2).min(Self::MAX);
    }
    pub fn succeeded(&mut self) {
        *self = Self::new();
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// The next due time after a poll that was due at `due` and ran at `now`: one period
/// later, skipping whole periods that were missed (never a burst of catch-up polls).
pub fn next_due(due: Instant, period: Duration, now: Instant) -> Instant {
    let mut next = due + period;
    if next <= now && !period.is_zero() {
        let behind = now.duration_since(next).as_nanos() / period.as_nanos() + 1;
        next += period * u32::try_from(behind).unwrap_or(u32::MAX);
    }
    next
}

/// Run one device until the receiving side of `tx` is dropped. Writes arrive on
/// `writes` and are carried out in order, between polls.
pub async fn run_device<D: Driver>(
    device: usize,
    mut driver: D,
    groups: Vec<PollGroup>,
    tx: mpsc::Sender<DeviceEvent>,
    mut writes: mpsc::Receiver<WriteRequest>,
) {
    if groups.is_empty() {
        // Nothing to poll: still serve writes.
        while let Some(w) = writes.recv().await {
            let outcome = write_now(&mut driver, &w).await;
            let _ = w.reply.send(outcome);
        }
        return;
    }
    let plans: Vec<D::Plan> = groups.iter().map(|g| driver.plan(&g.points)).collect();
    let mut due: Vec<Instant> = vec![Instant::now(); groups.len()];
    let mut link = Link::new();
    let mut writes_open = true;
    loop {
        let (gi, at) = due.iter().copied().enumerate().min_by_key(|&(_, t)| t).expect("at least one group");
        // Serve writes until the next poll is due.
        loop {
            tokio::select! {
                biased;
                w = writes.recv(), if writes_open => match w {
                    Some(w) => {
                        let outcome = write_now(&mut driver, &w).await;
                        let _ = w.reply.send(outcome);
                    }
                    None => writes_open = false,
                },
                _ = tokio::time::sleep_until(at) => break,
            }
        }
        let group = &groups[gi];
        let readings = link.poll(&mut driver, &plans[gi], &group.points).await;
        due[gi] = next_due(at, group.period, Instant::now());
        if tx.send(DeviceEvent { device, readings, stats: link.stats.clone() }).await.is_err() {
            return;
        }
    }
}

/// One device's connection as the poll loop sees it: its statistics, its reconnect
/// back-off and why it is down.
struct Link {
    stats: DeviceStats,
    backoff: Backoff,
    ever_connected: bool,
    /// Why the device is down, for the points reported while it is (a unit that stopped
    /// answering stays "timeout", a refused connection "comm failure").
    down_reason: Reason,
}

impl Link {
    fn new() -> Self {
        Link {
            stats: DeviceStats::default(),
            backoff: Backoff::new(),
            ever_connected: false,
            down_reason: Reason::CommFailure,
        }
    }

    /// One poll of a group: connect first if need be (within the back-off); while the
    /// device is down every point reads bad with the reason.
    async fn poll<D: Driver>(&mut self, driver: &mut D, plan: &D::Plan, points: &[usize]) -> Vec<Reading> {
        let mut readings = Vec::with_capacity(points.len());
        if !driver.is_connected() && !self.connect(driver).await {
            let recv = crate::now_ms();
            readings.extend(points.iter().map(|&p| Reading::bad(p, self.down_reason, recv)));
            return readings;
        }
        let t0 = Instant::now();
        let result = driver.read(plan, &mut readings).await;
        let latency = t0.elapsed();
        self.stats.polls += 1;
        self.stats.last_poll_ms = Some(crate::now_ms());
        self.stats.last_latency_us = Some(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
        match result {
            Ok(summary) => {
                self.stats.connected = true;
                self.stats.count(&summary);
            }
            Err(e) => {
                // Try again at once on the next due poll: back-off only applies to connects.
                self.failed(&e);
            }
        }
        readings
    }

    /// Connect if the back-off allows; whether the device is up.
    async fn connect<D: Driver>(&mut self, driver: &mut D) -> bool {
        let mut up = false;
        if self.backoff.may_try(Instant::now()) {
            match driver.connect().await {
                Ok(()) => {
                    self.backoff.succeeded();
                    if self.ever_connected {
                        self.stats.reconnects += 1;
                    }
                    self.ever_connected = true;
                    up = true;
                }
                Err(e) => {
                    self.backoff.failed(Instant::now());
                    self.failed(&e);
                }
            }
        }
        self.stats.connected = up;
        up
    }

    fn failed(&mut self, e: &DriverError) {
        self.stats.connected = false;
        self.stats.errors += 1;
        self.down_reason = e.reason();
        if matches!(e, DriverError::Timeout(_)) {
            self.stats.timeouts += 1;
        }
        self.stats.last_error = Some(e.to_string());
    }
}

impl DeviceStats {
    /// Adds one successful read's counts; a poll with failures names them in `last_error`.
    fn count(&mut self, summary: &ReadSummary) {
        self.requests += summary.requests;
        self.exceptions += summary.exceptions;
        self.decode_errors += summary.decode_errors;
        self.timeouts += summary.timeouts;
        self.garbled += summary.garbled;
        let bad = summary.exceptions + summary.decode_errors + summary.timeouts + summary.garbled;
        if bad > 0 {
            self.errors += bad;
            self.last_error = Some(format!(
                "{} exception(s), {} decode error(s), {} timeout(s), {} garbled in last poll",
                summary.exceptions, summary.decode_errors, summary.timeouts, summary.garbled
            ));
        }
    }
}

/// Connect if needed, then write. A device that cannot be reached gets nothing sent.
async fn write_now<D: Driver>(driver: &mut D, w: &WriteRequest) -> WriteOutcome {
    if !driver.is_connected()
        && let Err(e) = driver.connect().await
    {
        return WriteOutcome::Invalid { message: format!("device unreachable, nothing sent: {e}") };
    }
    driver.write(w.point, w.value, w.tolerance).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_due_skips_missed_periods() {
        let t = Instant::now();
        let p = Duration::from_secs(1);
        assert_eq!(next_due(t, p, t + Duration::from_millis(10)), t + p);
        assert_eq!(next_due(t, p, t + Duration::from_millis(3500)), t + 4 * p);
        assert_eq!(next_due(t, p, t + p), t + 2 * p);
    }

    #[test]
    fn backoff_doubles_and_resets() {
        let t = Instant::now();
        let mut b = Backoff::new();
        assert!(b.may_try(t));
        b.failed(t);
        assert!(!b.may_try(t + Duration::from_millis(200)));
        assert!(b.may_try(t + Duration::from_millis(250)));
        b.failed(t);
        assert!(!b.may_try(t + Duration::from_millis(400)));
        for _ in 0..10 {
            b.failed(t);
        }
        assert!(b.may_try(t + Duration::from_secs(10)));
        b.succeeded();
        assert!(b.may_try(t));
    }
}
