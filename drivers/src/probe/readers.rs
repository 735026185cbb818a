//! [`BlockReader`]s over the crate's own transports: the Modbus TCP client driver and
//! the RTU line task with its frame functions. Both only ever send FC 1..=4.

use std::time::Duration;

use super::{BlockReader, Reply};
use crate::device::{Driver, DriverError};
use crate::modbus::{ByteOrder, DataType, ModbusPoint, ModbusTcp, ModbusTcpConfig, RawRead, ReadBlock, Table};
use crate::rtu::{Answer, LineError, LineHandle, frame, read_request};

/// A Modbus TCP device, through [`ModbusTcp`] (one connection, re-opened after a
/// timeout or a broken link so that a late answer is never taken for the next one's).
pub struct TcpReader {
    client: ModbusTcp,
}

impl TcpReader {
    pub fn new(endpoint: &str, unit: u8, timeout: Duration) -> Self {
        let cfg = ModbusTcpConfig { endpoint: endpoint.to_string(), unit, timeout, max_gap: 0, max_in_flight: 1 };
        TcpReader { client: ModbusTcp::new(cfg, Vec::new()) }
    }

    /// Open the connection now, so that an unreachable endpoint is reported at once.
    pub async fn connect(&mut self) -> Result<(), DriverError> {
        self.client.connect().await
    }
}

impl BlockReader for TcpReader {
    async fn read(&mut self, table: Table, start: u16, count: u16) -> Reply {
        match self.client.read_raw(table, start, count).await {
            Ok(RawRead::Words(w)) => Reply::Values(w),
            Ok(RawRead::Exception(code)) => Reply::Exception(code),
            Err(DriverError::Timeout(_)) => Reply::Timeout,
            Err(e) => Reply::Failed(e.to_string()),
        }
    }
}

/// Reads sent in the burst of [`pipelining`].
pub const BURST: u8 = 8;

/// Whether a Modbus TCP device answers pipelined reads: on a connection of its own, a burst
/// of [`BURST`] reads of the one register or bit at `address` (found valid by the scan) in
/// one write. Returns how many of them were answered with that value; [`BURST`] means the
/// device can be polled with `max_in_flight` up to that. A device that answers only the
/// first costs one timeout here. Only FC 1..=4 are sent.
pub async fn pipelining(endpoint: &str, unit: u8, timeout: Duration, table: Table, address: u16) -> usize {
    let cfg = ModbusTcpConfig { endpoint: endpoint.to_string(), unit, timeout, max_gap: 0, max_in_flight: BURST };
    let dtype = if table.is_bits() { DataType::Bool } else { DataType::U16 };
    let point = ModbusPoint { table, address, dtype, order: ByteOrder::Abcd, bit: None, scale: 1.0, offset: 0.0 };
    let mut client = ModbusTcp::new(cfg, vec![point]);
    if client.connect().await.is_err() {
        return 0;
    }
    let plan: Vec<ReadBlock> = (0..BURST).filter_map(|_| ReadBlock::new(table, address, 1, vec![0])).collect();
    let mut out = Vec::new();
    let _ = client.read(&plan, &mut out).await;
    let first = out.iter().find_map(|r| r.quality.is_good().then_some(r.value).flatten());
    out.iter().filter(|r| r.quality.is_good() && r.value.is_some() && r.value == first).count()
}

/// One unit on a serial line, through the [`LineHandle`] of the line task (which keeps
/// the inter-frame gap and checks every answer's CRC).
pub struct RtuReader {
    line: LineHandle,
    unit: u8,
    timeout: Duration,
}

impl RtuReader {
    pub fn new(line: LineHandle, unit: u8, timeout: Duration) -> Self {
        RtuReader { line, unit, timeout }
    }
}

impl BlockReader for RtuReader {
    async fn read(&mut self, table: Table, start: u16, count: u16) -> Reply {
        let ex = self.line.transact(self.unit, read_request(table, start, count), self.timeout).await;
        match ex.result {
            Ok(Answer::Exception(code)) => Reply::Exception(code),
            Ok(Answer::Data(data)) => {
                let decoded = if table.is_bits() { frame::bits(&data, count) } else { frame::words(&data, count) };
                decoded.map_or_else(|e| Reply::Failed(format!("garbled answer: {e}")), Reply::Values)
            }
            Err(LineError::Timeout(_)) => Reply::Timeout,
            Err(e) => Reply::Failed(e.to_string()),
        }
    }
}
