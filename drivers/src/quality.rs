//! Values and their quality, as delivered by drivers.
//!
//! A reading is never "just a number": it carries Good / Uncertain / Bad with the reason,
//! the source timestamp (when the device says it measured it, if it says) and the receive
//! timestamp. Quality encodes into a `u16` for the historian so that every stored sample
//! keeps it.

use std::fmt;

/// Why a value is not Good.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The connection to the device failed or is down.
    CommFailure,
    /// The device did not answer within the configured timeout.
    Timeout,
    /// The device answered with a Modbus (or protocol) exception code.
    DeviceException(u8),
    /// The device answered, but the bytes could not be decoded into the tag's type.
    DecodeError,
    /// The decoded value lies outside the tag's engineering range.
    OutOfRange,
    /// No fresh value arrived for longer than the tag's staleness limit.
    Stale,
    /// The device reports its own measurement as unreliable (e.g. a scale not settled).
    DeviceFlag,
    /// The tag has not been read yet.
    NotYetRead,
    /// The value is fine but its time is not: the clock stepped back and the stored
    /// sample was given a time just after the tag's previous one (see the daemon's
    /// clock module). Only ever stored, never live.
    TimeAdjusted,
}

impl Reason {
    fn id(self) -> u16 {
        match self {
            Reason::CommFailure => 1,
            Reason::Timeout => 2,
            Reason::DeviceException(_) => 3,
            Reason::DecodeError => 4,
            Reason::OutOfRange => 5,
            Reason::Stale => 6,
            Reason::DeviceFlag => 7,
            Reason::NotYetRead => 8,
            Reason::TimeAdjusted => 9,
        }
    }

    fn from_parts(id: u16, code: u8) -> Option<Reason> {
        Some(match id {
            1 => Reason::CommFailure,
            2 => Reason::Timeout,
            3 => Reason::DeviceException(code),
            4 => Reason::DecodeError,
            5 => Reason::OutOfRange,
            6 => Reason::Stale,
            7 => Reason::DeviceFlag,
            8 => Reason::NotYetRead,
            9 => Reason::TimeAdjusted,
            _ => return None,
        })
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::CommFailure => f.write_str("comm failure"),
            Reason::Timeout => f.write_str("timeout"),
            Reason::DeviceException(n) => write!(f, "device exception {n}"),
            Reason::DecodeError => f.write_str("decode error"),
            Reason::OutOfRange => f.write_str("out of range"),
            Reason::Stale => f.write_str("stale"),
            Reason::DeviceFlag => f.write_str("device flag"),
            Reason::NotYetRead => f.write_str("not yet read"),
            Reason::TimeAdjusted => f.write_str("time adjusted after a clock step"),
        }
    }
}

/// OPC-style quality of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quality {
    Good,
    Uncertain(Reason),
    Bad(Reason),
}

impl Quality {
    /// Compact code for storage: 0 is Good; bits 14..16 the class, 8..14 the reason,
    /// 0..8 the exception code.
    pub fn to_code(self) -> u16 {
        let (class, reason) = match self {
            Quality::Good => return 0,
            Quality::Uncertain(r) => (1u16, r),
            Quality::Bad(r) => (2u16, r),
        };
        let code = match reason {
            Reason::DeviceException(n) => u16::from(n),
            _ => 0,
        };
        (class << 14) | (reason.id() << 8) | code
    }

    /// Inverse of [`Quality::to_code`]; `None` for a code no version of mimic writes.
    pub fn from_code(code: u16) -> Option<Quality> {
        if code == 0 {
            return Some(Quality::Good);
        }
        let reason = Reason::from_parts((code >> 8) & 0x3f, (code & 0xff) as u8)?;
        match code >> 14 {
            1 => Some(Quality::Uncertain(reason)),
            2 => Some(Quality::Bad(reason)),
            _ => None,
        }
    }

    pub fn is_good(self) -> bool {
        matches!(self, Quality::Good)
    }

    pub fn is_bad(self) -> bool {
        matches!(self, Quality::Bad(_))
    }
}

impl fmt::Display for Quality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Quality::Good => f.write_str("Good"),
            Quality::Uncertain(r) => write!(f, "Uncertain ({r})"),
            Quality::Bad(r) => write!(f, "Bad ({r})"),
        }
    }
}

/// One value of one point from a device.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    /// Index of the point in the device's point list.
    pub point: usize,
    /// The engineering value (after scale and offset); `None` when nothing usable arrived.
    pub value: Option<f64>,
    pub quality: Quality,
    /// Time the device stamped the value with, when the protocol carries one.
    pub source_ms: Option<i64>,
    /// Time mimic received it.
    pub recv_ms: i64,
}

impl Reading {
    pub fn good(point: usize, value: f64, recv_ms: i64) -> Self {
        Reading { point, value: Some(value), quality: Quality::Good, source_ms: None, recv_ms }
    }

    pub fn bad(point: usize, reason: Reason, recv_ms: i64) -> Self {
        Reading { point, value: None, quality: Quality::Bad(reason), source_ms: None, recv_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_codes_round_trip() {
        let reasons = [
            Reason::CommFailure,
            Reason::Timeout,
            Reason::DeviceException(0),
            Reason::DeviceException(2),
            Reason::DeviceException(255),
            Reason::DecodeError,
            Reason::OutOfRange,
            Reason::Stale,
            Reason::DeviceFlag,
            Reason::NotYetRead,
            Reason::TimeAdjusted,
        ];
        // Stored codes never change meaning: a new reason only appends an id.
        assert_eq!(Quality::Uncertain(Reason::TimeAdjusted).to_code(), (1 << 14) | (9 << 8));
        assert_eq!(Quality::from_code(0), Some(Quality::Good));
        for r in reasons {
            for q in [Quality::Bad(r), Quality::Uncertain(r)] {
                assert_ne!(q.to_code(), 0);
                assert_eq!(Quality::from_code(q.to_code()), Some(q), "{q}");
            }
        }
        assert_eq!(Quality::from_code(0xffff), None);
    }
}
