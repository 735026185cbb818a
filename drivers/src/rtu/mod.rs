//! Modbus RTU: several units on one serial line (multi-drop RS-485).
//!
//! Each unit is a device with its own task ([`crate::device::run_device`]) and its own
//! [`ModbusRtu`] driver, exactly like a Modbus TCP device; what they share is a
//! [`LineHandle`] to the one task that owns the port ([`line`]) and serialises their
//! requests. Reads are planned by the transport-independent planner and decoded by the
//! shared register codec; frames are built and checked by the pure functions of
//! [`frame`].
//!
//! A unit that does not answer has its tags marked Bad (timeout) and is then treated as
//! "down": the device task probes it with exponential back-off (one small read) instead
//! of polling it, so a dead unit costs the line one timeout per back-off step, never one
//! per poll, and the other units keep their rate. A garbled answer (CRC error, garbage)
//! marks only that read's tags Bad (decode error) and is counted per device.

pub mod frame;
pub mod line;

use std::time::Duration;

pub use frame::{Answer, FrameError, Request};
pub use line::{Exchange, LineConfig, LineError, LineHandle, Noise};

use crate::device::{Driver, DriverError, ReadSummary};
use crate::modbus::plan::{ReadBlock, plan_reads};
use crate::modbus::{DataType, ModbusPoint, Table, decode_block};
use crate::quality::{Reading, Reason};
use crate::write::{ReadBackError, WriteOutcome, judge_read_back};

/// One unit on a line.
#[derive(Clone, Debug, PartialEq)]
pub struct ModbusRtuConfig {
    /// Port path, for logs and the Devices screen.
    pub port: String,
    /// Unit id 1..=247.
    pub unit: u8,
    /// How long the unit has to answer, after the request has left the wire.
    pub timeout: Duration,
    /// Largest hole of unused addresses a coalesced read may span.
    pub max_gap: u16,
}

pub struct ModbusRtu {
    cfg: ModbusRtuConfig,
    line: LineHandle,
    points: Vec<ModbusPoint>,
    /// The unit answered its last request (or probe).
    alive: bool,
    /// Transactions with noise seen outside `read` (probes, writes), reported by the next read.
    noisy: u64,
}

/// The read request (FC 1..=4) for `count` entries of `table` at `start`.
pub fn read_request(table: Table, start: u16, count: u16) -> Request {
    let function = match table {
        Table::Coil => 1,
        Table::DiscreteInput => 2,
        Table::HoldingRegister => 3,
        Table::InputRegister => 4,
    };
    Request::Read { function, start, count }
}

enum Got {
    Values(Vec<u16>),
    Exception(u8),
}

impl ModbusRtu {
    pub fn new(cfg: ModbusRtuConfig, line: LineHandle, points: Vec<ModbusPoint>) -> Self {
        ModbusRtu { cfg, line, points, alive: false, noisy: 0 }
    }

    pub fn points(&self) -> &[ModbusPoint] {
        &self.points
    }

    /// One read on the line; `Err` carries the line error (noise is tallied).
    async fn read_range(&mut self, table: Table, start: u16, count: u16) -> Result<Got, LineError> {
        let ex = self.line.transact(self.cfg.unit, read_request(table, start, count), self.cfg.timeout).await;
        if ex.noise.any() || matches!(ex.result, Err(LineError::Garbled(_))) {
            self.noisy += 1;
        }
        match ex.result? {
            Answer::Exception(code) => Ok(Got::Exception(code)),
            Answer::Data(data) => {
                let decoded = if table.is_bits() { frame::bits(&data, count) } else { frame::words(&data, count) };
                decoded.map(Got::Values).map_err(|e| LineError::Garbled(e.to_string()))
            }
        }
    }

    fn decode_into(
        &self,
        start: u16,
        members: &[usize],
        values: &[u16],
        summary: &mut ReadSummary,
        out: &mut Vec<Reading>,
    ) {
        summary.decode_errors += decode_block(&self.points, start, members, values, crate::now_ms(), out);
    }

    async fn read_point(&mut self, i: usize) -> Result<f64, ReadBackError> {
        let p = self.points[i].clone();
        match self.read_range(p.table, p.address, p.width()).await {
            Ok(Got::Values(w)) if p.table.is_bits() => w.first().map(|b| f64::from(b & 1)).ok_or(ReadBackError::Empty),
            Ok(Got::Values(w)) => Ok(p.decode_words(&w)?),
            Ok(Got::Exception(e)) => Err(ReadBackError::Exception(e)),
            Err(e) => Err(e.into()),
        }
    }

    async fn send(&mut self, request: Request) -> Result<Answer, LineError> {
        let ex = self.line.transact(self.cfg.unit, request, self.cfg.timeout).await;
        if ex.noise.any() {
            self.noisy += 1;
        }
        ex.result
    }
}

fn line_error(e: LineError) -> DriverError {
    match e {
        LineError::Timeout(t) => DriverError::Timeout(t),
        LineError::Port(m) | LineError::Garbled(m) => DriverError::Link(m),
    }
}

impl Driver for ModbusRtu {
    type Plan = Vec<ReadBlock>;

    fn endpoint(&self) -> String {
        format!("{} unit {}", self.cfg.port, self.cfg.unit)
    }

    fn protocol(&self) -> &'static str {
        "modbus-rtu"
    }

    fn plan(&self, points: &[usize]) -> Self::Plan {
        plan_reads(&self.points, points, self.cfg.max_gap)
    }

    fn is_connected(&self) -> bool {
        self.alive
    }

    /// Probe the unit with one small read: any answer, even an exception, means it is there.
    async fn connect(&mut self) -> Result<(), DriverError> {
        let Some(p) = self.points.first().cloned() else {
            self.alive = true;
            return Ok(());
        };
        match self.read_range(p.table, p.address, 1).await {
            Ok(_) => {
                self.alive = true;
                Ok(())
            }
            Err(e) => {
                self.alive = false;
                Err(line_error(e))
            }
        }
    }

    async fn read(&mut self, plan: &Self::Plan, out: &mut Vec<Reading>) -> Result<ReadSummary, DriverError> {
        let mut summary = ReadSummary::default();
        for (bi, block) in plan.iter().enumerate() {
            summary.requests += 1;
            let got = self.read_range(block.table(), block.start(), block.count()).await;
            match got {
                Ok(Got::Values(v)) => self.decode_into(block.start(), block.points(), &v, &mut summary, out),
                Ok(Got::Exception(_)) if block.points().len() > 1 => {
                    // Refused as a whole (often a hole in the map): ask point by point.
                    summary.exceptions += 1;
                    for &i in block.points() {
                        let p = self.points[i].clone();
                        summary.requests += 1;
                        match self.read_range(p.table, p.address, p.width()).await {
                            Ok(Got::Values(v)) => self.decode_into(p.address, &[i], &v, &mut summary, out),
                            Ok(Got::Exception(code)) => {
                                summary.exceptions += 1;
                                out.push(Reading::bad(i, Reason::DeviceException(code), crate::now_ms()));
                            }
                            Err(LineError::Garbled(_)) => {
                                out.push(Reading::bad(i, Reason::DecodeError, crate::now_ms()));
                            }
                            Err(e) => {
                                let done: std::collections::HashSet<usize> = out.iter().map(|r| r.point).collect();
                                let reason = line_error(e.clone()).reason();
                                let recv = crate::now_ms();
                                for j in plan[bi..].iter().flat_map(|b| b.points()).filter(|j| !done.contains(j)) {
                                    out.push(Reading::bad(*j, reason, recv));
                                }
                                // noise seen so far is reported by the next successful read
                                self.alive = false;
                                return Err(line_error(e));
                            }
                        }
                    }
                }
                Ok(Got::Exception(code)) => {
                    summary.exceptions += 1;
                    let recv = crate::now_ms();
                    out.extend(block.points().iter().map(|&i| Reading::bad(i, Reason::DeviceException(code), recv)));
                }
                Err(LineError::Garbled(_)) => {
                    // The unit (or the line) is alive but this answer is unusable.
                    let recv = crate::now_ms();
                    out.extend(block.points().iter().map(|&i| Reading::bad(i, Reason::DecodeError, recv)));
                }
                Err(e) => {
                    let err = line_error(e);
                    let recv = crate::now_ms();
                    out.extend(
                        plan[bi..].iter().flat_map(|b| b.points()).map(|&j| Reading::bad(j, err.reason(), recv)),
                    );
                    self.alive = false;
                    return Err(err);
                }
            }
        }
        summary.garbled += std::mem::take(&mut self.noisy);
        Ok(summary)
    }

    async fn write(&mut self, point: usize, value: f64, tolerance: f64) -> WriteOutcome {
        let Some(p) = self.points.get(point).cloned() else {
            return WriteOutcome::Invalid { message: format!("no point {point}") };
        };
        if !p.table.writable() {
            return WriteOutcome::Invalid { message: format!("{} is read-only", p.table.short()) };
        }
        let request = if p.table == Table::Coil {
            Request::WriteCoil { address: p.address, on: value != 0.0 }
        } else if p.dtype == DataType::Bool {
            // One bit of a holding register: read-modify-write of that register.
            let current = match self.read_range(p.table, p.address, 1).await {
                Ok(Got::Values(w)) => w.first().copied().unwrap_or(0),
                Ok(Got::Exception(exception)) => return WriteOutcome::Rejected { exception },
                Err(e) => return WriteOutcome::Invalid { message: format!("cannot read the register: {e}") },
            };
            let mask = 1u16 << p.bit.unwrap_or(0);
            Request::WriteRegister {
                address: p.address,
                value: if value != 0.0 { current | mask } else { current & !mask },
            }
        } else {
            match p.encode_value(value) {
                Err(e) => return WriteOutcome::Invalid { message: e.to_string() },
                Ok(w) if w.len() == 1 => Request::WriteRegister { address: p.address, value: w[0] },
                Ok(w) => Request::WriteRegisters { address: p.address, values: w },
            }
        };
        match self.send(request).await {
            Ok(Answer::Exception(exception)) => WriteOutcome::Rejected { exception },
            Err(LineError::Timeout(_)) => WriteOutcome::Timeout { read_back: self.read_point(point).await.ok() },
            Err(e) => WriteOutcome::Unknown { message: e.to_string(), read_back: self.read_point(point).await.ok() },
            Ok(Answer::Data(_)) => match self.read_point(point).await {
                Ok(rb) => judge_read_back(value, rb, tolerance),
                Err(message) => WriteOutcome::Unknown {
                    message: format!("written, read-back failed: {message}"),
                    read_back: self.read_point(point).await.ok(),
                },
            },
        }
    }
}
