//! Modbus: register decoding, read planning, TCP framing and the TCP client driver.
//!
//! A [`ModbusPoint`] says where a value lives (table, 0-based protocol address, bit) and
//! how its registers become a number (data type, byte/word order, scale, offset). The
//! planner in [`plan`] coalesces the points of one poll group into as few reads as the
//! protocol allows; [`tcp`] runs those reads over one connection per device ([`link`]),
//! framed by the pure functions of [`mbap`] (which the simulator's server uses too).

pub mod codec;
pub mod link;
pub mod mbap;
pub mod plan;
pub mod tcp;

pub use codec::{ByteOrder, DataType, DecodeError, decode, encode};
pub use plan::{MAX_BITS, MAX_REGISTERS, ReadBlock, plan_reads};
pub use tcp::{ModbusTcp, ModbusTcpConfig, RawRead};

use crate::quality::{Reading, Reason};

/// The readings of `members` (indexes into `points`) from the words of one read starting at
/// `start`, received at `recv`: a point whose words are missing or do not decode is Bad
/// (decode error). Returns how many did not decode, for the read's summary. Shared by the
/// TCP and RTU drivers.
pub fn decode_block(
    points: &[ModbusPoint],
    start: u16,
    members: &[usize],
    words: &[u16],
    recv: i64,
    out: &mut Vec<Reading>,
) -> u64 {
    let mut errors = 0;
    for &i in members {
        match points[i].value_in(start, words) {
            Ok(v) => out.push(Reading::good(i, v, recv)),
            Err(_) => {
                errors += 1;
                out.push(Reading::bad(i, Reason::DecodeError, recv));
            }
        }
    }
    errors
}

/// The four Modbus data tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    Coil,
    DiscreteInput,
    InputRegister,
    HoldingRegister,
}

impl Table {
    /// Bit tables hold single bits; register tables hold 16-bit words.
    pub fn is_bits(self) -> bool {
        matches!(self, Table::Coil | Table::DiscreteInput)
    }

    /// Short name used in site files: `coil`, `di`, `ir`, `hr`.
    pub fn short(self) -> &'static str {
        match self {
            Table::Coil => "coil",
            Table::DiscreteInput => "di",
            Table::InputRegister => "ir",
            Table::HoldingRegister => "hr",
        }
    }

    pub fn from_short(s: &str) -> Option<Table> {
        Some(match s {
            "coil" => Table::Coil,
            "di" => Table::DiscreteInput,
            "ir" => Table::InputRegister,
            "hr" => Table::HoldingRegister,
            _ => return None,
        })
    }

    pub fn writable(self) -> bool {
        matches!(self, Table::Coil | Table::HoldingRegister)
    }
}

/// Where one value lives in a Modbus device and how to turn it into engineering units.
#[derive(Clone, Debug, PartialEq)]
pub struct ModbusPoint {
    pub table: Table,
    /// 0-based protocol address (register 40001 is holding address 0).
    pub address: u16,
    pub dtype: DataType,
    pub order: ByteOrder,
    /// For `Bool` in a register table: the bit number 0..=15 (0 = least significant).
    pub bit: Option<u8>,
    /// engineering = raw * scale + offset
    pub scale: f64,
    pub offset: f64,
}

impl ModbusPoint {
    /// Number of registers (or bits, in bit tables) the point occupies.
    pub fn width(&self) -> u16 {
        if self.table.is_bits() { 1 } else { self.dtype.registers() }
    }

    /// Last address occupied (inclusive), or `None` when the span runs past 65535.
    pub fn last_address(&self) -> Option<u16> {
        self.address.checked_add(self.width() - 1)
    }

    /// Turn raw words (exactly `width()` of them) into an engineering value.
    pub fn decode_words(&self, words: &[u16]) -> Result<f64, DecodeError> {
        let raw = decode(words, self.dtype, self.order, self.bit)?;
        if self.dtype == DataType::Bool {
            return Ok(raw);
        }
        Ok(apply_scale(raw, self.scale, self.offset))
    }

    /// The point's engineering value from the words of one read starting at `start`
    /// (bit tables carry one bit per "word": decoded as a register holding 0/1).
    pub fn value_in(&self, start: u16, words: &[u16]) -> Result<f64, DecodeError> {
        let from = usize::from(self.address - start);
        let to = from + usize::from(self.width());
        match words.get(from..to) {
            Some(w) if self.table.is_bits() => Ok(f64::from(w[0] & 1)),
            Some(w) => self.decode_words(w),
            None => Err(DecodeError::Length { expected: to, got: words.len() }),
        }
    }

    /// Turn an engineering value into register words for a write.
    pub fn encode_value(&self, value: f64) -> Result<Vec<u16>, DecodeError> {
        let raw = if self.dtype == DataType::Bool { value } else { remove_scale(value, self.scale, self.offset) };
        encode(raw, self.dtype, self.order)
    }
}

/// `raw * scale + offset`, computed so that decimal scales give the nearest decimal:
/// a scale of 0.1 divides by 10 rather than multiplying by the inexact 0.1, so that
/// register 1234 reads as exactly the double nearest 123.4 (this keeps values
/// readable and makes the historian's integer encoding apply).
pub fn apply_scale(raw: f64, scale: f64, offset: f64) -> f64 {
    let scaled = match decimal_divisor(scale) {
        Some(div) => raw / div,
        None => raw * scale,
    };
    if offset == 0.0 { scaled } else { scaled + offset }
}

/// Inverse of [`apply_scale`].
pub fn remove_scale(value: f64, scale: f64, offset: f64) -> f64 {
    let v = value - offset;
    match decimal_divisor(scale) {
        Some(div) => v * div,
        None => v / scale,
    }
}

fn decimal_divisor(scale: f64) -> Option<f64> {
    if scale <= 0.0 || scale >= 1.0 {
        return None;
    }
    let div = (1.0 / scale).round();
    (div > 1.0 && (1.0 / div - scale).abs() <= f64::EPSILON * scale && div <= 1e9).then_some(div)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_scale_reads_exact_decimals() {
        assert_eq!(apply_scale(1234.0, 0.1, 0.0), 123.4);
        assert_eq!(apply_scale(1234.0, 0.01, 0.0), 12.34);
        assert_eq!(apply_scale(7.0, 2.0, 1.0), 15.0);
        assert_eq!(remove_scale(123.4, 0.1, 0.0).round(), 1234.0);
        assert_eq!(remove_scale(15.0, 2.0, 1.0), 7.0);
    }
}
