//! [`BlockReader`]s over the crate's own transports: the Modbus TCP client driver and
//! the RTU line task with its frame functions. Both only ever send FC 1..=4.

use std::time::Duration;

use super::{BlockReader, Reply};
use crate::device::{Driver, DriverError};
use crate::modbus::{ModbusTcp, ModbusTcpConfig, RawRead, Table};
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
