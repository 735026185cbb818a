//! Registers ↔ numbers, for every data type and byte/word order mimic supports.
//!
//! Orders are named by where the bytes of the big-endian value `A B C D` (A most
//! significant) land in the registers, each register written high byte first:
//! `ABCD` = registers `[AB, CD]` (Modbus standard), `CDAB` = `[CD, AB]` (word swap),
//! `BADC` = `[BA, DC]` (byte swap), `DCBA` = `[DC, BA]` (little-endian). 64-bit values
//! follow the same two rules: word swap reverses all four words, byte swap swaps the
//! bytes inside each word. 16-bit values only feel the byte swap (`AB` / `BA`).

use thiserror::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    U16,
    I16,
    U32,
    I32,
    F32,
    F64,
    /// A single bit: a coil, a discrete input, or bit N of a register.
    Bool,
}

impl DataType {
    pub fn registers(self) -> u16 {
        match self {
            DataType::U16 | DataType::I16 | DataType::Bool => 1,
            DataType::U32 | DataType::I32 | DataType::F32 => 2,
            DataType::F64 => 4,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DataType::U16 => "u16",
            DataType::I16 => "i16",
            DataType::U32 => "u32",
            DataType::I32 => "i32",
            DataType::F32 => "f32",
            DataType::F64 => "f64",
            DataType::Bool => "bool",
        }
    }

    pub fn from_name(s: &str) -> Option<DataType> {
        Some(match s {
            "u16" => DataType::U16,
            "i16" => DataType::I16,
            "u32" => DataType::U32,
            "i32" => DataType::I32,
            "f32" => DataType::F32,
            "f64" => DataType::F64,
            "bool" => DataType::Bool,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ByteOrder {
    #[default]
    Abcd,
    Cdab,
    Badc,
    Dcba,
}

impl ByteOrder {
    pub fn from_name(s: &str) -> Option<ByteOrder> {
        Some(match s {
            "ABCD" | "AB" => ByteOrder::Abcd,
            "CDAB" => ByteOrder::Cdab,
            "BADC" | "BA" => ByteOrder::Badc,
            "DCBA" => ByteOrder::Dcba,
            _ => return None,
        })
    }

    fn word_swap(self) -> bool {
        matches!(self, ByteOrder::Cdab | ByteOrder::Dcba)
    }

    fn byte_swap(self) -> bool {
        matches!(self, ByteOrder::Badc | ByteOrder::Dcba)
    }
}

#[derive(Debug, Error, Clone, PartialEq)]
pub enum DecodeError {
    #[error("expected {expected} registers, got {got}")]
    Length { expected: usize, got: usize },
    #[error("bit {0} is outside a 16-bit register")]
    Bit(u8),
    #[error("value {value} does not fit in {dtype}")]
    Range { value: f64, dtype: &'static str },
}

/// Put the words into standard (ABCD) order, as one big-endian byte string.
fn normalise(words: &[u16], order: ByteOrder, out: &mut [u8]) {
    let n = words.len();
    for i in 0..n {
        let w = if order.word_swap() { words[n - 1 - i] } else { words[i] };
        let w = if order.byte_swap() { w.swap_bytes() } else { w };
        out[2 * i..2 * i + 2].copy_from_slice(&w.to_be_bytes());
    }
}

/// Decode `words` (exactly the type's register count) into a raw number. Bools give 0/1.
pub fn decode(words: &[u16], dtype: DataType, order: ByteOrder, bit: Option<u8>) -> Result<f64, DecodeError> {
    let expected = usize::from(dtype.registers());
    if words.len() != expected {
        return Err(DecodeError::Length { expected, got: words.len() });
    }
    let mut b = [0u8; 8];
    normalise(words, order, &mut b[..expected * 2]);
    Ok(match dtype {
        DataType::U16 => f64::from(u16::from_be_bytes([b[0], b[1]])),
        DataType::I16 => f64::from(i16::from_be_bytes([b[0], b[1]])),
        DataType::U32 => f64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        DataType::I32 => f64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        DataType::F32 => f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        DataType::F64 => f64::from_be_bytes(b),
        DataType::Bool => {
            let w = u16::from_be_bytes([b[0], b[1]]);
            let n = bit.unwrap_or(0);
            if n > 15 {
                return Err(DecodeError::Bit(n));
            }
            f64::from((w >> n) & 1)
        }
    })
}

/// Encode a raw number into registers (the inverse of [`decode`]; bools set bit 0 —
/// writing one bit of a register is a read-modify-write the caller must do).
pub fn encode(raw: f64, dtype: DataType, order: ByteOrder) -> Result<Vec<u16>, DecodeError> {
    let range = |lo: f64, hi: f64| {
        let r = raw.round();
        if raw.is_finite() && r >= lo && r <= hi {
            Ok(r)
        } else {
            Err(DecodeError::Range { value: raw, dtype: dtype.name() })
        }
    };
    let bytes: Vec<u8> = match dtype {
        DataType::U16 => (range(0.0, 65535.0)? as u16).to_be_bytes().to_vec(),
        DataType::I16 => (range(-32768.0, 32767.0)? as i16).to_be_bytes().to_vec(),
        DataType::U32 => (range(0.0, 4_294_967_295.0)? as u32).to_be_bytes().to_vec(),
        DataType::I32 => (range(-2_147_483_648.0, 2_147_483_647.0)? as i32).to_be_bytes().to_vec(),
        DataType::F32 => {
            if raw.is_finite() && raw.abs() > f64::from(f32::MAX) {
                return Err(DecodeError::Range { value: raw, dtype: "f32" });
            }
            (raw as f32).to_be_bytes().to_vec()
        }
        DataType::F64 => raw.to_be_bytes().to_vec(),
        DataType::Bool => u16::from(raw != 0.0).to_be_bytes().to_vec(),
    };
    let std_words: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
    let n = std_words.len();
    Ok((0..n)
        .map(|i| {
            let w = if order.word_swap() { std_words[n - 1 - i] } else { std_words[i] };
            if order.byte_swap() { w.swap_bytes() } else { w }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDERS: [ByteOrder; 4] = [ByteOrder::Abcd, ByteOrder::Cdab, ByteOrder::Badc, ByteOrder::Dcba];

    #[test]
    fn f32_orders_match_the_documented_layout() {
        // 1.0f32 = 0x3F80_0000
        assert_eq!(encode(1.0, DataType::F32, ByteOrder::Abcd).unwrap(), [0x3F80, 0x0000]);
        assert_eq!(encode(1.0, DataType::F32, ByteOrder::Cdab).unwrap(), [0x0000, 0x3F80]);
        assert_eq!(encode(1.0, DataType::F32, ByteOrder::Badc).unwrap(), [0x803F, 0x0000]);
        assert_eq!(encode(1.0, DataType::F32, ByteOrder::Dcba).unwrap(), [0x0000, 0x803F]);
    }

    #[test]
    fn every_type_and_order_round_trips() {
        let cases = [
            (DataType::U16, 65535.0),
            (DataType::I16, -32768.0),
            (DataType::U32, 4_000_000_000.0),
            (DataType::I32, -123_456_789.0),
            (DataType::F32, -12.5),
            (DataType::F64, 12345.678901),
            (DataType::Bool, 1.0),
        ];
        for order in ORDERS {
            for (t, v) in cases {
                let words = encode(v, t, order).unwrap();
                assert_eq!(words.len(), usize::from(t.registers()));
                assert_eq!(decode(&words, t, order, None).unwrap(), v, "{t:?} {order:?}");
            }
        }
    }

    #[test]
    fn bits_and_bad_lengths() {
        assert_eq!(decode(&[0x8000], DataType::Bool, ByteOrder::Abcd, Some(15)).unwrap(), 1.0);
        assert_eq!(decode(&[0x8000], DataType::Bool, ByteOrder::Abcd, Some(14)).unwrap(), 0.0);
        assert_eq!(decode(&[1], DataType::Bool, ByteOrder::Abcd, Some(16)), Err(DecodeError::Bit(16)));
        assert_eq!(
            decode(&[1], DataType::F32, ByteOrder::Abcd, None),
            Err(DecodeError::Length { expected: 2, got: 1 })
        );
        assert!(encode(70000.0, DataType::U16, ByteOrder::Abcd).is_err());
        assert!(encode(f64::NAN, DataType::I32, ByteOrder::Abcd).is_err());
    }
}
