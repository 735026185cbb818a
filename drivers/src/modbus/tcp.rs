//! Modbus TCP client driver (tokio-modbus), one connection per device.
//!
//! Outcomes are kept apart as tokio-modbus does: a device exception is the device's
//! answer about some addresses, so only the points of that read go Bad and the connection
//! stays; a timeout or transport error means we no longer know the state of the link, so
//! the connection is dropped (a late answer must never be taken for the next request's)
//! and the device task reconnects.

use std::time::Duration;

use tokio_modbus::client::{Context, Reader};
use tokio_modbus::{ExceptionCode, Slave};

use super::plan::{ReadBlock, plan_reads};
use super::{ModbusPoint, Table};
use crate::device::{Driver, DriverError, ReadSummary};
use crate::quality::{Reading, Reason};

#[derive(Clone, Debug, PartialEq)]
pub struct ModbusTcpConfig {
    /// `host:port`
    pub endpoint: String,
    pub unit: u8,
    /// Per-request (and connect) timeout.
    pub timeout: Duration,
    /// Largest hole of unused addresses a coalesced read may span.
    pub max_gap: u16,
}

pub struct ModbusTcp {
    cfg: ModbusTcpConfig,
    points: Vec<ModbusPoint>,
    ctx: Option<Context>,
}

impl ModbusTcp {
    pub fn new(cfg: ModbusTcpConfig, points: Vec<ModbusPoint>) -> Self {
        ModbusTcp { cfg, points, ctx: None }
    }

    pub fn points(&self) -> &[ModbusPoint] {
        &self.points
    }
}

enum BlockOutcome {
    Words(Vec<u16>),
    Exception(ExceptionCode),
}

async fn read_block(
    ctx: &mut Context,
    table: Table,
    start: u16,
    count: u16,
    timeout: Duration,
) -> Result<BlockOutcome, DriverError> {
    let fut = async {
        match table {
            Table::HoldingRegister => ctx.read_holding_registers(start, count).await,
            Table::InputRegister => ctx.read_input_registers(start, count).await,
            Table::Coil => {
                ctx.read_coils(start, count).await.map(|r| r.map(|bits| bits.into_iter().map(u16::from).collect()))
            }
            Table::DiscreteInput => ctx
                .read_discrete_inputs(start, count)
                .await
                .map(|r| r.map(|bits| bits.into_iter().map(u16::from).collect())),
        }
    };
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => Err(DriverError::Timeout(timeout)),
        Ok(Err(e)) => Err(DriverError::Link(e.to_string())),
        Ok(Ok(Err(exc))) => Ok(BlockOutcome::Exception(exc)),
        Ok(Ok(Ok(words))) => Ok(BlockOutcome::Words(words)),
    }
}

impl ModbusTcp {
    fn decode_block(
        &self,
        block_start: u16,
        members: &[usize],
        words: &[u16],
        recv: i64,
        out: &mut Vec<Reading>,
        summary: &mut ReadSummary,
    ) {
        for &i in members {
            let p = &self.points[i];
            let from = usize::from(p.address - block_start);
            let to = from + usize::from(p.width());
            let reading = match words.get(from..to) {
                // bit tables carry one bit per "word"; decode as a register holding 0/1
                Some(w) if p.table.is_bits() => Ok(f64::from(w[0] & 1)),
                Some(w) => p.decode_words(w),
                None => Err(super::DecodeError::Length { expected: to, got: words.len() }),
            };
            match reading {
                Ok(v) => out.push(Reading::good(i, v, recv)),
                Err(_) => {
                    summary.decode_errors += 1;
                    out.push(Reading::bad(i, Reason::DecodeError, recv));
                }
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
        self.ctx.is_some()
    }

    async fn connect(&mut self) -> Result<(), DriverError> {
        self.ctx = None;
        let err = |message: String| DriverError::Connect { endpoint: self.cfg.endpoint.clone(), message };
        let attempt = async {
            let mut last = String::from("no address");
            for addr in tokio::net::lookup_host(&self.cfg.endpoint).await.map_err(|e| e.to_string())? {
                match tokio_modbus::client::tcp::connect_slave(addr, Slave(self.cfg.unit)).await {
                    Ok(ctx) => return Ok(ctx),
                    Err(e) => last = e.to_string(),
                }
            }
            Err(last)
        };
        match tokio::time::timeout(self.cfg.timeout, attempt).await {
            Err(_) => Err(err(format!("timed out after {:?}", self.cfg.timeout))),
            Ok(Err(m)) => Err(err(m)),
            Ok(Ok(ctx)) => {
                self.ctx = Some(ctx);
                Ok(())
            }
        }
    }

    async fn read(&mut self, plan: &Self::Plan, out: &mut Vec<Reading>) -> Result<ReadSummary, DriverError> {
        let mut summary = ReadSummary::default();
        let Some(mut ctx) = self.ctx.take() else {
            let recv = crate::now_ms();
            out.extend(plan.iter().flat_map(|b| b.points()).map(|&p| Reading::bad(p, Reason::CommFailure, recv)));
            return Err(DriverError::Link("not connected".into()));
        };
        for (bi, block) in plan.iter().enumerate() {
            summary.requests += 1;
            let outcome = read_block(&mut ctx, block.table(), block.start(), block.count(), self.cfg.timeout).await;
            let recv = crate::now_ms();
            match outcome {
                Ok(BlockOutcome::Words(words)) => {
                    self.decode_block(block.start(), block.points(), &words, recv, out, &mut summary);
                }
                Ok(BlockOutcome::Exception(exc)) if block.points().len() > 1 => {
                    // The device refused the coalesced range (often a hole in its map):
                    // ask for each point on its own so only the truly bad ones go Bad.
                    summary.exceptions += 1;
                    for &i in block.points() {
                        let p = &self.points[i];
                        summary.requests += 1;
                        match read_block(&mut ctx, p.table, p.address, p.width(), self.cfg.timeout).await {
                            Ok(BlockOutcome::Words(words)) => {
                                self.decode_block(p.address, &[i], &words, crate::now_ms(), out, &mut summary)
                            }
                            Ok(BlockOutcome::Exception(exc)) => {
                                summary.exceptions += 1;
                                out.push(Reading::bad(i, Reason::DeviceException(exc.into()), crate::now_ms()));
                            }
                            Err(e) => {
                                let done: std::collections::HashSet<usize> = out.iter().map(|r| r.point).collect();
                                let recv = crate::now_ms();
                                for b in &plan[bi..] {
                                    for &j in b.points() {
                                        if !done.contains(&j) {
                                            out.push(Reading::bad(j, e.reason(), recv));
                                        }
                                    }
                                }
                                return Err(e);
                            }
                        }
                    }
                    let _ = exc;
                }
                Ok(BlockOutcome::Exception(exc)) => {
                    summary.exceptions += 1;
                    for &i in block.points() {
                        out.push(Reading::bad(i, Reason::DeviceException(exc.into()), recv));
                    }
                }
                Err(e) => {
                    for b in &plan[bi..] {
                        for &j in b.points() {
                            out.push(Reading::bad(j, e.reason(), recv));
                        }
                    }
                    return Err(e);
                }
            }
        }
        self.ctx = Some(ctx);
        Ok(summary)
    }
}
