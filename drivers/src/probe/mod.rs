//! Discovery of a Modbus device's register map (`mimic probe modbus`): read-only, careful
//! scanning of the four tables for the ranges a device answers, over TCP or RTU.
//!
//! The scanner in [`scan`] is written against one small trait, [`BlockReader`] ("read
//! `count` entries of `table` at `start`"), so that its whole behaviour can be tested
//! with a scripted device; [`readers`] implements it with the crate's own Modbus TCP
//! client and RTU line task. It only ever sends function codes 1–4 (the trait has no
//! way to write), in small blocks, with a pause between requests; a refused block is
//! narrowed down to the exact addresses the device answers; answers are kept apart as
//! the drivers keep them: device exceptions (the device's word about some addresses)
//! from missing answers (timeouts, broken links), and a device that stops answering
//! ends the probe after a few requests instead of costing a timeout per address.
//! [`guess`] reads the values found for likely 32-bit floats and text.

pub mod guess;
pub mod readers;
pub mod scan;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use thiserror::Error;

use crate::modbus::Table;

pub use readers::{BURST, RtuReader, TcpReader, pipelining};
pub use scan::probe;

/// What one read request gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The values (bits as 0/1), as many as asked for.
    Values(Vec<u16>),
    /// The device answered with this exception code.
    Exception(u8),
    /// No answer within the request timeout.
    Timeout,
    /// The link failed or the answer was unusable (connection refused or reset, CRC
    /// error, garbage): we do not know what the device said.
    Failed(String),
}

/// "Read `count` entries of `table` from `start`": the only thing the scanner can ask of
/// a device. Implementations send FC 1..=4 and nothing else.
pub trait BlockReader {
    fn read(&mut self, table: Table, start: u16, count: u16) -> impl Future<Output = Reply> + Send;
}

/// Modbus exception codes the probe tells apart.
pub mod exception {
    pub const ILLEGAL_FUNCTION: u8 = 1;
    pub const ILLEGAL_DATA_ADDRESS: u8 = 2;
    pub const ILLEGAL_DATA_VALUE: u8 = 3;
    pub const DEVICE_FAILURE: u8 = 4;
    pub const ACKNOWLEDGE: u8 = 5;
    pub const DEVICE_BUSY: u8 = 6;
    pub const GATEWAY_PATH: u8 = 0x0a;
    pub const GATEWAY_TARGET: u8 = 0x0b;

    /// The standard name of an exception code.
    pub fn name(code: u8) -> &'static str {
        match code {
            1 => "illegal function",
            2 => "illegal data address",
            3 => "illegal data value",
            4 => "server device failure",
            5 => "acknowledge",
            6 => "server device busy",
            8 => "memory parity error",
            0x0a => "gateway path unavailable",
            0x0b => "gateway target failed to respond",
            _ => "unknown exception",
        }
    }
}

/// How carefully to probe.
#[derive(Clone, Debug, PartialEq)]
pub struct ProbeOptions {
    /// Tables to scan, in this order.
    pub tables: Vec<Table>,
    /// First address scanned in every table.
    pub start: u16,
    /// Number of addresses scanned per table (`start + count` ≤ 65536).
    pub count: u32,
    /// Registers per request (1..=125).
    pub register_block: u16,
    /// Bits per request (1..=2000).
    pub bit_block: u16,
    /// Silence between two requests.
    pub pause: Duration,
    /// Further tries of a request that got no answer.
    pub retries: u32,
    /// Requests in a row without a usable answer (timeouts, broken links, gateway or
    /// device-failure exceptions) after which the device is taken for gone.
    pub max_failures: u32,
    /// Further tries of a request answered "busy" (exception 5 or 6).
    pub busy_retries: u32,
    /// Wait before the first busy retry (doubled for each further one).
    pub busy_wait: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        ProbeOptions {
            tables: vec![Table::HoldingRegister, Table::InputRegister, Table::Coil, Table::DiscreteInput],
            start: 0,
            count: 1000,
            register_block: 16,
            bit_block: 64,
            pause: Duration::from_millis(20),
            retries: 1,
            max_failures: 3,
            busy_retries: 3,
            busy_wait: Duration::from_millis(500),
        }
    }
}

impl ProbeOptions {
    /// Refuse options no device could be probed with.
    pub fn check(&self) -> Result<(), ProbeError> {
        let bad = |m: String| Err(ProbeError::Options(m));
        if self.tables.is_empty() {
            return bad("no table to probe".into());
        }
        if self.count == 0 || u32::from(self.start) + self.count > 65536 {
            return bad(format!("start {} + count {} must stay within 1..=65536 addresses", self.start, self.count));
        }
        if !(1..=crate::modbus::MAX_REGISTERS).contains(&self.register_block) {
            return bad(format!(
                "register block {} is outside 1..={}",
                self.register_block,
                crate::modbus::MAX_REGISTERS
            ));
        }
        if !(1..=crate::modbus::MAX_BITS).contains(&self.bit_block) {
            return bad(format!("bit block {} is outside 1..={}", self.bit_block, crate::modbus::MAX_BITS));
        }
        if self.max_failures == 0 {
            return bad("max failures must be at least 1".into());
        }
        Ok(())
    }
}

/// A run of consecutive addresses the device answered, with the values read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub start: u16,
    pub values: Vec<u16>,
}

impl Found {
    /// Last address (inclusive).
    pub fn last(&self) -> u16 {
        // a Found is never empty and never runs past 65535 (the scanner builds it so)
        self.start.saturating_add(u16::try_from(self.values.len().saturating_sub(1)).unwrap_or(u16::MAX))
    }
}

/// Why some addresses are neither found nor known to be absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// No answer (after the retries).
    NoAnswer,
    /// The device stayed busy (exception 5 or 6) through every retry.
    Busy,
    /// Another exception than illegal data address/value, e.g. 4 (device failure, after
    /// the retries).
    Exception(u8),
}

/// Addresses left unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Skipped {
    pub start: u16,
    pub count: u16,
    pub why: Why,
}

/// What was learnt about one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableReport {
    pub table: Table,
    /// The device answered "illegal function": it has no such table.
    pub unsupported: bool,
    /// Valid ranges, ascending, never adjacent.
    pub found: Vec<Found>,
    pub skipped: Vec<Skipped>,
    /// Addresses scanned (the probe may have stopped before the end).
    pub scanned: u32,
}

impl TableReport {
    pub fn valid_count(&self) -> usize {
        self.found.iter().map(|f| f.values.len()).sum()
    }

    /// `(first, last)` of every valid range.
    pub fn ranges(&self) -> Vec<(u16, u16)> {
        self.found.iter().map(|f| (f.start, f.last())).collect()
    }
}

/// Everything the probe learnt.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProbeReport {
    pub tables: Vec<TableReport>,
    pub requests: u64,
    /// Requests the device answered (values or an exception).
    pub answered: u64,
    pub timeouts: u64,
    /// Link failures and unusable answers.
    pub failures: u64,
    /// Requests sent again (after no answer, or busy).
    pub retries: u64,
    /// Exceptions seen, by code.
    pub exceptions: BTreeMap<u8, u64>,
    /// Why the probe ended before scanning everything, if it did.
    pub stopped: Option<String>,
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ProbeError {
    #[error("{0}")]
    Options(String),
    /// Not a single usable answer: wrong address, unit id, baud rate or parity, or
    /// nothing there.
    #[error("no usable answer ({0})")]
    NoAnswer(String),
}
