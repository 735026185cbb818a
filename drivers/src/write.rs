//! Writes: one ordered queue per device, each write checked by reading the value back.
//!
//! A write is only ever sent when the core asks for it (after approval and limit checks,
//! which are the core's business). The driver reports exactly what it knows, keeping
//! "the device said no" apart from "we do not know what happened": a link that fails
//! mid-write leaves the outcome unknown, is never retried blindly, and the driver reads
//! back what the device holds once the link is up again.

use std::fmt;

use tokio::sync::oneshot;

/// Why reading a point back (after a write) gave no value.
#[derive(Debug, thiserror::Error)]
pub enum ReadBackError {
    #[error("not connected")]
    NotConnected,
    #[error("empty answer")]
    Empty,
    #[error("no value")]
    NoValue,
    #[error("device exception {0}")]
    Exception(u8),
    #[error("the answer does not fit the request")]
    Mismatch,
    #[error("read-back is {0}")]
    Quality(crate::Quality),
    #[error(transparent)]
    Decode(#[from] crate::modbus::DecodeError),
    #[error(transparent)]
    Link(#[from] crate::DriverError),
    #[error(transparent)]
    Line(#[from] crate::rtu::line::LineError),
}

/// Why a Modbus write was not sent.
#[derive(Debug, thiserror::Error)]
pub enum NotSent {
    #[error("{0} is read-only")]
    ReadOnly(&'static str),
    #[error("cannot read the register: the answer does not fit")]
    RegisterMismatch,
    #[error(transparent)]
    Encode(#[from] crate::modbus::DecodeError),
}

/// What became of one write.
#[derive(Clone, Debug, PartialEq)]
pub enum WriteOutcome {
    /// Written and read back within tolerance.
    Confirmed { read_back: f64 },
    /// The device accepted the write but holds another value.
    Mismatch { wrote: f64, read_back: f64 },
    /// The device refused it with this exception code (nothing was applied).
    Rejected { exception: u8 },
    /// The server refused it with this status, e.g. `BadNotWritable (0x803B0000)`
    /// (OPC UA; nothing was applied).
    RejectedStatus { status: String },
    /// No answer in time: the write may or may not have landed.
    Timeout { read_back: Option<f64> },
    /// The link failed during the write: the outcome is unknown.
    Unknown { message: String, read_back: Option<f64> },
    /// The write could not be encoded or the point cannot be written (not sent).
    Invalid { message: String },
}

impl WriteOutcome {
    pub fn is_confirmed(&self) -> bool {
        matches!(self, WriteOutcome::Confirmed { .. })
    }
}

impl fmt::Display for WriteOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rb = |v: &Option<f64>| v.map_or("unreadable".to_string(), |v| v.to_string());
        match self {
            WriteOutcome::Confirmed { read_back } => write!(f, "confirmed (read back {read_back})"),
            WriteOutcome::Mismatch { wrote, read_back } => {
                write!(f, "mismatch: wrote {wrote}, device holds {read_back}")
            }
            WriteOutcome::Rejected { exception } => write!(f, "device exception {exception}"),
            WriteOutcome::RejectedStatus { status } => write!(f, "refused by the server: {status}"),
            WriteOutcome::Timeout { read_back } => write!(f, "timeout (device now holds {})", rb(read_back)),
            WriteOutcome::Unknown { message, read_back } => {
                write!(f, "unknown: {message} (device now holds {})", rb(read_back))
            }
            WriteOutcome::Invalid { message } => write!(f, "not sent: {message}"),
        }
    }
}

/// One write for a device task's queue.
#[derive(Debug)]
pub struct WriteRequest {
    /// Index of the point in the device's point list.
    pub point: usize,
    /// Engineering value to write.
    pub value: f64,
    /// Largest difference between written and read-back value that still confirms.
    pub tolerance: f64,
    pub reply: oneshot::Sender<WriteOutcome>,
}

/// Compare a read-back value with what was written.
pub fn judge_read_back(wrote: f64, read_back: f64, tolerance: f64) -> WriteOutcome {
    if (read_back - wrote).abs() <= tolerance.max(0.0) {
        WriteOutcome::Confirmed { read_back }
    } else {
        WriteOutcome::Mismatch { wrote, read_back }
    }
}
