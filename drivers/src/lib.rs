//! Field drivers of mimic: one module per protocol behind one trait, plus the demo plant.
//!
//! A driver owns one device connection. The generic device task in [`device`] owns the
//! driver, schedules its poll groups, reconnects with back-off, keeps per-device
//! statistics, and sends every reading (value plus quality) to the core over a bounded
//! channel. Nothing here decides what a value *means* for the plant (limits, alarms,
//! storage): that belongs to the core. Nothing here ever writes to a device on its own.
//!
//! - [`ascii`]: line-based ASCII instruments described by profiles.
//! - [`quality`]: the value/quality model every driver speaks.
//! - [`device`]: the [`Driver`] trait and the per-device task.
//! - [`modbus`]: Modbus register decoding, read coalescing and the TCP client.
//! - [`rtu`]: Modbus RTU, several units sharing one serial line task.
//! - [`serial`]: serial port settings shared by the serial drivers.
//! - [`opcua`]: the OPC UA client (subscriptions, security, browsing).
//! - [`probe`]: read-only discovery of a Modbus device's register map (`mimic probe`).
//! - [`sim`]: the demo pump skid, a physical model served as a real Modbus TCP server.
//! - [`write`]: write requests and their read-back outcomes.

pub mod ascii;
pub mod device;
pub mod modbus;
pub mod opcua;
pub mod probe;
pub mod quality;
pub mod rtu;
pub mod serial;
pub mod sim;
pub mod write;

#[cfg(test)]
mod testkit;

pub use device::{DeviceEvent, DeviceStats, Driver, DriverError, PollGroup};
pub use quality::{Quality, Reading, Reason};
pub use write::{WriteOutcome, WriteRequest};

/// Milliseconds since the Unix epoch, from the wall clock (used for timestamps, never
/// for scheduling: scheduling uses the monotonic clock).
pub fn now_ms() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}
