//! Modbus TCP client driver, one connection per device (framing in [`super::mbap`], the
//! connection in [`super::link`]).
//!
//! Outcomes are kept apart: a device exception is the device's answer about some
//! addresses, so only the points of that read go Bad and the connection stays; a timeout
//! or transport error means we no longer know the state of the link, so the connection is
//! dropped (a late answer must never be taken for the next request's) and the device task
//! reconnects. A well-framed answer that does not fit its request (another register count)
//! marks that read's points Bad (decode error) and keeps the connection.

use std::time::Duration;

use super::link::{Link, LinkError, Stream};
use super::mbap::{Answer, MbapError, Request};
use super::plan::{ReadBlock, plan_reads};
use super::{ModbusPoint, Table, decode_block};
use crate::device::{Driver, DriverError, ReadSummary};
use crate::quality::{Reading, Reason};
use crate::write::{NotSent, ReadBackError, WriteOutcome, judge_read_back};

#[derive(Clone, Debug, PartialEq)]
pub struct ModbusTcpConfig {
    /// `host:port`
    pub endpoint: String,
    pub unit: u8,
    /// Per-request (and connect) timeout.
    pub timeout: Duration,
    /// Largest hole of unused addresses a coalesced read may span.
    pub max_gap: u16,
    /// Read requests a poll sends before their answers arrive (pipelined on the one
    /// connection, told apart by transaction id); 0 or 1: one at a time. Many devices
    /// answer only one request at a time, so 1 is the site file's default; a device that
    /// answers part of a burst and then times out is polled one at a time from then on.
    pub max_in_flight: u8,
}

pub struct ModbusTcp {
    cfg: ModbusTcpConfig,
    points: Vec<ModbusPoint>,
    link: Option<Link>,
}

impl ModbusTcp {
    pub fn new(cfg: ModbusTcpConfig, points: Vec<ModbusPoint>) -> Self {
        ModbusTcp { cfg, points, link: None }
    }

    pub fn points(&self) -> &[ModbusPoint] {
        &self.points
    }

    /// Use an already open byte stream as the device link instead of connecting to the
    /// endpoint: for tests and fuzzing of the read and write paths against scripted or
    /// arbitrary answers. Dropped like a connection on the first link failure.
    pub fn attach<T: Stream + 'static>(&mut self, transport: T) {
        self.link = Some(Link::new(Box::new(transport), self.cfg.unit));
    }
}

enum BlockOutcome {
    /// The values are in the link's buffer.
    Values,
    Exception(u8),
    /// A complete answer that does not fit the request (the link is still in step).
    Mismatch,
}

fn link_error(e: LinkError) -> DriverError {
    match e {
        LinkError::Timeout(t) => DriverError::Timeout(t),
        e => DriverError::Link(e.to_string()),
    }
}

async fn read_block(
    link: &mut Link,
    table: Table,
    start: u16,
    count: u16,
    timeout: Duration,
) -> Result<BlockOutcome, DriverError> {
    match link.transact(&Request::Read { table, start, count }, timeout).await {
        Ok(Answer::Values) => Ok(BlockOutcome::Values),
        Ok(Answer::Exception(code)) => Ok(BlockOutcome::Exception(code)),
        Ok(Answer::Written) => Err(DriverError::Link("a read answered as a write".into())),
        Err(LinkError::Mismatch(_)) => Ok(BlockOutcome::Mismatch),
        Err(e) => Err(link_error(e)),
    }
}

impl ModbusTcp {
    /// The points of one read whose answer did not fit: Bad (decode error).
    fn mismatched(members: &[usize], recv: i64, out: &mut Vec<Reading>, summary: &mut ReadSummary) {
        summary.decode_errors += members.len() as u64;
        out.extend(members.iter().map(|&i| Reading::bad(i, Reason::DecodeError, recv)));
    }
}

enum Sent {
    Done,
    Exception(u8),
    Failed(DriverError),
}

impl ModbusTcp {
    /// Read one point on its own (for read-back).
    async fn read_point(&mut self, i: usize) -> Result<f64, ReadBackError> {
        let p = &self.points[i];
        let Some(link) = self.link.as_mut() else { return Err(ReadBackError::NotConnected) };
        match read_block(link, p.table, p.address, p.width(), self.cfg.timeout).await {
            Ok(BlockOutcome::Values) if p.table.is_bits() => {
                link.values().first().map(|b| f64::from(b & 1)).ok_or(ReadBackError::Empty)
            }
            Ok(BlockOutcome::Values) => Ok(p.decode_words(link.values())?),
            Ok(BlockOutcome::Exception(e)) => Err(ReadBackError::Exception(e)),
            Ok(BlockOutcome::Mismatch) => Err(ReadBackError::Mismatch),
            Err(e) => {
                self.link = None;
                Err(e.into())
            }
        }
    }

    async fn send_write(&mut self, i: usize, value: f64) -> Result<Sent, NotSent> {
        let p = self.points[i].clone();
        let timeout = self.cfg.timeout;
        if !p.table.writable() {
            return Err(NotSent::ReadOnly(p.table.short()));
        }
        let Some(link) = self.link.as_mut() else { return Ok(Sent::Failed(DriverError::Link("not connected".into()))) };
        // A bit inside a holding register: read-modify-write of that register.
        let words = if p.table == Table::HoldingRegister && p.dtype == super::DataType::Bool {
            let bit = p.bit.unwrap_or(0);
            let current = match read_block(link, p.table, p.address, 1, timeout).await {
                Ok(BlockOutcome::Values) => link.values().first().copied().unwrap_or(0),
                Ok(BlockOutcome::Exception(e)) => return Ok(Sent::Exception(e)),
                Ok(BlockOutcome::Mismatch) => return Err(NotSent::RegisterMismatch),
                Err(e) => return Ok(Sent::Failed(e)),
            };
            let mask = 1u16 << bit;
            vec![if value != 0.0 { current | mask } else { current & !mask }]
        } else if p.table == Table::Coil {
            vec![u16::from(value != 0.0)]
        } else {
            p.encode_value(value)?
        };
        let request = match (p.table, words.as_slice()) {
            (Table::Coil, [w, ..]) => Request::WriteCoil { address: p.address, on: *w != 0 },
            (_, [w]) => Request::WriteRegister { address: p.address, value: *w },
            (_, ws) => Request::WriteRegisters { address: p.address, values: ws },
        };
        Ok(match link.transact(&request, timeout).await {
            Ok(Answer::Written) => Sent::Done,
            Ok(Answer::Exception(code)) => Sent::Exception(code),
            Ok(Answer::Values) => Sent::Failed(DriverError::Link("a write answered as a read".into())),
            Err(e) => Sent::Failed(link_error(e)),
        })
    }

    /// After a failed link: reconnect once and read back what the device holds.
    async fn recover_read_back(&mut self, i: usize) -> Option<f64> {
        self.link = None;
        if self.connect().await.is_err() {
            return None;
        }
        self.read_point(i).await.ok()
    }
}

/// What one raw read gave: the device's words (bits as 0/1), or its exception code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawRead {
    Words(Vec<u16>),
    Exception(u8),
}

impl ModbusTcp {
    /// One read of `count` registers (or bits) at `start`, outside any plan: for `mimic
    /// probe`. Connects first when not connected; a timeout or transport failure drops the
    /// connection (as a poll does), so a late answer is never taken for the next request's.
    pub async fn read_raw(&mut self, table: Table, start: u16, count: u16) -> Result<RawRead, DriverError> {
        if self.link.is_none() {
            self.connect().await?;
        }
        let Some(link) = self.link.as_mut() else { return Err(DriverError::Link("not connected".into())) };
        match read_block(link, table, start, count, self.cfg.timeout).await {
            Ok(BlockOutcome::Values) => Ok(RawRead::Words(link.values().to_vec())),
            Ok(BlockOutcome::Exception(e)) => Ok(RawRead::Exception(e)),
            // a well-framed answer of another length: the link is still in step
            Ok(BlockOutcome::Mismatch) => Err(DriverError::Link("the answer does not fit the request".into())),
            Err(e) => {
                self.link = None;
                Err(e)
            }
        }
    }
}

impl Driver for ModbusTcp {
    type Plan = Vec<ReadBlock>;

    fn endpoint(&self) -> String {
        format!("{} unit {}", self.cfg.endpoint, self.cfg.unit)
    }

    fn protocol(&self) -> &'static str {
        "modbus-tcp"
    }

    fn plan(&self, points: &[usize]) -> Self::Plan {
        plan_reads(&self.points, points, self.cfg.max_gap)
    }

    fn is_connected(&self) -> bool {
        self.link.is_some()
    }

    async fn connect(&mut self) -> Result<(), DriverError> {
        self.link = None;
        let err = |message: String| DriverError::Connect { endpoint: self.cfg.endpoint.clone(), message };
        let attempt = async {
            let mut last = String::from("no address");
            for addr in tokio::net::lookup_host(&self.cfg.endpoint).await.map_err(|e| e.to_string())? {
                match tokio::net::TcpStream::connect(addr).await {
                    Ok(s) => {
                        // requests are single small frames: send each at once
                        s.set_nodelay(true).map_err(|e| e.to_string())?;
                        return Ok(s);
                    }
                    Err(e) => last = e.to_string(),
                }
            }
            Err(last)
        };
        match tokio::time::timeout(self.cfg.timeout, attempt).await {
            Err(_) => Err(err(format!("timed out after {:?}", self.cfg.timeout))),
            Ok(Err(m)) => Err(err(m)),
            Ok(Ok(stream)) => {
                self.link = Some(Link::new(Box::new(stream), self.cfg.unit));
                Ok(())
            }
        }
    }

    async fn write(&mut self, point: usize, value: f64, tolerance: f64) -> WriteOutcome {
        if point >= self.points.len() {
            return WriteOutcome::Invalid { message: format!("no point {point}") };
        }
        if self.link.is_none() {
            return WriteOutcome::Invalid { message: "not connected: nothing sent".into() };
        }
        match self.send_write(point, value).await {
            Err(e) => WriteOutcome::Invalid { message: e.to_string() },
            Ok(Sent::Exception(exception)) => WriteOutcome::Rejected { exception },
            Ok(Sent::Failed(DriverError::Timeout(_))) => {
                WriteOutcome::Timeout { read_back: self.recover_read_back(point).await }
            }
            Ok(Sent::Failed(e)) => {
                WriteOutcome::Unknown { message: e.to_string(), read_back: self.recover_read_back(point).await }
            }
            Ok(Sent::Done) => match self.read_point(point).await {
                Ok(rb) => judge_read_back(value, rb, tolerance),
                Err(message) => WriteOutcome::Unknown {
                    message: format!("written, read-back failed: {message}"),
                    read_back: self.recover_read_back(point).await,
                },
            },
        }
    }

    async fn read(&mut self, plan: &Self::Plan, out: &mut Vec<Reading>) -> Result<ReadSummary, DriverError> {
        let mut summary = ReadSummary::default();
        let Some(mut link) = self.link.take() else {
            let recv = crate::now_ms();
            out.extend(plan.iter().flat_map(|b| b.points()).map(|&p| Reading::bad(p, Reason::CommFailure, recv)));
            return Err(DriverError::Link("not connected".into()));
        };
        let mut done = vec![false; plan.len()];
        let failed = match self.read_pipelined(&mut link, plan, &mut done, out, &mut summary).await {
            Ok(refused) => self.read_refused(&mut link, plan, &refused, &mut done, out, &mut summary).await.err(),
            Err(e) => {
                self.fall_back(&e, &done);
                Some(e)
            }
        };
        if let Some(e) = failed {
            // the link is out of step or gone: whatever was not answered is Bad for its reason
            let recv = crate::now_ms();
            for (block, _) in plan.iter().zip(&done).filter(|(_, d)| !**d) {
                out.extend(block.points().iter().map(|&j| Reading::bad(j, e.reason(), recv)));
            }
            return Err(e);
        }
        self.link = Some(link);
        Ok(summary)
    }
}

impl ModbusTcp {
    /// Requests sent at once by a poll now (`max_in_flight`, or 1 after [`Self::fall_back`]).
    pub fn in_flight(&self) -> u8 {
        self.cfg.max_in_flight.max(1)
    }

    /// A device that answered part of a burst and then nothing more (many answer only the
    /// first of several requests sent at once) is polled one request at a time from then on,
    /// and the log says so: its tags come back Good instead of timing out at every poll.
    fn fall_back(&mut self, e: &DriverError, done: &[bool]) {
        if self.cfg.max_in_flight > 1 && matches!(e, DriverError::Timeout(_)) && done.contains(&true) {
            tracing::warn!(
                "{}: answered only part of {} reads sent at once; polling one request at a time \
                 from now on (set max_in_flight = 1 for this device)",
                self.endpoint(),
                self.cfg.max_in_flight
            );
            self.cfg.max_in_flight = 1;
        }
    }

    /// Reads every block of `plan`, up to `max_in_flight` requests at once, matching the
    /// answers by transaction id; answered blocks are marked in `done`. Returns the coalesced
    /// blocks the device refused with an exception, to be read point by point once the
    /// pipeline is drained.
    async fn read_pipelined(
        &mut self,
        link: &mut Link,
        plan: &[ReadBlock],
        done: &mut [bool],
        out: &mut Vec<Reading>,
        summary: &mut ReadSummary,
    ) -> Result<Vec<usize>, DriverError> {
        let window = usize::from(self.cfg.max_in_flight.max(1));
        let request = |b: &ReadBlock| Request::Read { table: b.table(), start: b.start(), count: b.count() };
        let mut in_flight: Vec<(u16, usize)> = Vec::with_capacity(window.min(plan.len()));
        let mut refused = Vec::new();
        let mut next = 0;
        loop {
            // take the answers already received before sending more: one write per burst (with
            // nothing in flight a waiting frame is a stray, which the id check then finds)
            if (in_flight.is_empty() || !link.answer_ready().map_err(link_error)?)
                && in_flight.len() < window
                && next < plan.len()
            {
                while in_flight.len() < window && next < plan.len() {
                    in_flight.push((link.queue(&request(&plan[next])), next));
                    summary.requests += 1;
                    next += 1;
                }
                link.flush(self.cfg.timeout).await.map_err(link_error)?;
            }
            if in_flight.is_empty() {
                debug_assert_eq!(next, plan.len(), "every block sent");
                return Ok(refused);
            }
            let tid = link.next_answer(self.cfg.timeout).await.map_err(link_error)?;
            let Some(k) = in_flight.iter().position(|&(t, _)| t == tid) else {
                let expected = in_flight[0].0;
                return Err(link_error(LinkError::Frame(MbapError::Transaction { expected, got: tid })));
            };
            let (_, bi) = in_flight.swap_remove(k);
            let block = &plan[bi];
            let outcome = match link.take_answer(tid, &request(block)) {
                Ok(Answer::Values) => BlockOutcome::Values,
                Ok(Answer::Exception(code)) => BlockOutcome::Exception(code),
                Ok(Answer::Written) => return Err(DriverError::Link("a read answered as a write".into())),
                Err(LinkError::Mismatch(_)) => BlockOutcome::Mismatch,
                Err(e) => return Err(link_error(e)),
            };
            let recv = crate::now_ms();
            done[bi] = true;
            match outcome {
                BlockOutcome::Values => {
                    summary.decode_errors +=
                        decode_block(&self.points, block.start(), block.points(), link.values(), recv, out)
                }
                BlockOutcome::Mismatch => Self::mismatched(block.points(), recv, out, summary),
                BlockOutcome::Exception(_) if block.points().len() > 1 => {
                    // The device refused the coalesced range (often a hole in its map):
                    // each point is asked for on its own so only the truly bad ones go Bad.
                    summary.exceptions += 1;
                    done[bi] = false;
                    refused.push(bi);
                }
                BlockOutcome::Exception(exc) => {
                    summary.exceptions += 1;
                    out.extend(block.points().iter().map(|&i| Reading::bad(i, Reason::DeviceException(exc), recv)));
                }
            }
        }
    }

    /// Reads the points of each refused block one at a time.
    async fn read_refused(
        &mut self,
        link: &mut Link,
        plan: &[ReadBlock],
        refused: &[usize],
        done: &mut [bool],
        out: &mut Vec<Reading>,
        summary: &mut ReadSummary,
    ) -> Result<(), DriverError> {
        for &bi in refused {
            let points = plan[bi].points();
            for (k, &i) in points.iter().enumerate() {
                let p = &self.points[i];
                summary.requests += 1;
                match read_block(link, p.table, p.address, p.width(), self.cfg.timeout).await {
                    Ok(BlockOutcome::Values) => {
                        summary.decode_errors +=
                            decode_block(&self.points, p.address, &[i], link.values(), crate::now_ms(), out)
                    }
                    Ok(BlockOutcome::Mismatch) => Self::mismatched(&[i], crate::now_ms(), out, summary),
                    Ok(BlockOutcome::Exception(exc)) => {
                        summary.exceptions += 1;
                        out.push(Reading::bad(i, Reason::DeviceException(exc), crate::now_ms()));
                    }
                    Err(e) => {
                        // this block's remaining points here; the blocks not done by the caller
                        let recv = crate::now_ms();
                        out.extend(points[k..].iter().map(|&j| Reading::bad(j, e.reason(), recv)));
                        done[bi] = true;
                        return Err(e);
                    }
                }
            }
            done[bi] = true;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modbus::{ByteOrder, DataType, ModbusPoint};
    use crate::sim::plant::map;

    fn point(table: Table, address: u16, dtype: DataType, scale: f64) -> ModbusPoint {
        ModbusPoint { table, address, dtype, order: ByteOrder::Abcd, bit: None, scale, offset: 0.0 }
    }

    #[tokio::test]
    async fn writes_are_read_back_and_refusals_kept_apart() {
        let sim = crate::sim::serve("127.0.0.1:0".parse().unwrap(), 1, 1, 1.0).await.unwrap();
        let points = vec![
            point(Table::HoldingRegister, map::HR_SPEED_SP, DataType::U16, 0.1),
            point(Table::Coil, map::COIL_RUN, DataType::Bool, 1.0),
            point(Table::InputRegister, map::IR_FLOW, DataType::U16, 0.1),
            point(Table::HoldingRegister, 9, DataType::U16, 1.0),
        ];
        let cfg = ModbusTcpConfig {
            endpoint: sim.local_addr().to_string(),
            unit: 1,
            timeout: Duration::from_millis(500),
            max_gap: 4,
            max_in_flight: 1,
        };
        let mut d = ModbusTcp::new(cfg, points);
        d.connect().await.unwrap();
        assert_eq!(d.write(0, 80.0, 0.05).await, WriteOutcome::Confirmed { read_back: 80.0 });
        assert_eq!(sim.plant(1).unwrap().speed_sp, 80.0);
        // the PLC refuses a setpoint above 100 % with "illegal data value"
        assert_eq!(d.write(0, 150.0, 0.05).await, WriteOutcome::Rejected { exception: 3 });
        assert_eq!(d.write(1, 0.0, 0.0).await, WriteOutcome::Confirmed { read_back: 0.0 });
        assert!(!sim.plant(1).unwrap().run_cmd);
        assert!(matches!(d.write(2, 1.0, 0.0).await, WriteOutcome::Invalid { .. }), "input registers are read-only");
        // an address the PLC does not map
        assert_eq!(d.write(3, 1.0, 0.0).await, WriteOutcome::Rejected { exception: 2 });
        // and the link is still fine for reads
        let plan = d.plan(&[0, 1]);
        let mut out = Vec::new();
        d.read(&plan, &mut out).await.unwrap();
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|r| r.quality.is_good()));
    }

    #[tokio::test]
    async fn a_dead_device_gets_nothing_sent() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let cfg = ModbusTcpConfig {
            endpoint: addr.to_string(),
            unit: 1,
            timeout: Duration::from_millis(300),
            max_gap: 0,
            max_in_flight: 1,
        };
        let mut d = ModbusTcp::new(cfg, vec![point(Table::HoldingRegister, 0, DataType::U16, 1.0)]);
        assert!(d.connect().await.is_err());
        assert!(matches!(d.write(0, 1.0, 0.0).await, WriteOutcome::Invalid { .. }));
    }
}
