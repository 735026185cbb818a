//! Serial line settings shared by the serial drivers (Modbus RTU and ASCII instruments).
//!
//! A [`SerialSettings`] is what a site file says about one port: device path, baud rate,
//! character format. It knows the wire time of a character (start bit + data bits +
//! parity bit + stop bits) so that drivers can honour the silent intervals of a protocol,
//! and it opens the port with tokio-serial. It does not decide who may use the port: the
//! Modbus RTU line task owns its port, an ASCII instrument driver owns its own.

use std::fmt;
use std::time::Duration;

use tokio_serial::{SerialPortBuilderExt, SerialStream};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Parity {
    None,
    Even,
    Odd,
}

impl Parity {
    /// `N`, `E` or `O` (as in "8E1").
    pub fn from_letter(s: &str) -> Option<Parity> {
        Some(match s {
            "N" => Parity::None,
            "E" => Parity::Even,
            "O" => Parity::Odd,
            _ => return None,
        })
    }

    pub fn letter(self) -> char {
        match self {
            Parity::None => 'N',
            Parity::Even => 'E',
            Parity::Odd => 'O',
        }
    }
}

/// One serial port and its character format.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SerialSettings {
    /// Device path, e.g. `/dev/ttyUSB0`.
    pub port: String,
    pub baud: u32,
    /// 7 or 8.
    pub data_bits: u8,
    pub parity: Parity,
    /// 1 or 2.
    pub stop_bits: u8,
}

impl SerialSettings {
    /// Bits on the wire per character: start + data + parity + stop.
    pub fn char_bits(&self) -> u32 {
        1 + u32::from(self.data_bits) + u32::from(self.parity != Parity::None) + u32::from(self.stop_bits)
    }

    /// Wire time of `n` characters at this baud rate.
    pub fn wire_time(&self, n: usize) -> Duration {
        let bits = u64::try_from(n).unwrap_or(u64::MAX).saturating_mul(u64::from(self.char_bits()));
        Duration::from_nanos(bits.saturating_mul(1_000_000_000) / u64::from(self.baud.max(1)))
    }

    /// Open the port (non-blocking, exclusive).
    pub fn open(&self) -> Result<SerialStream, OpenError> {
        let data_bits = match self.data_bits {
            5 => tokio_serial::DataBits::Five,
            6 => tokio_serial::DataBits::Six,
            7 => tokio_serial::DataBits::Seven,
            _ => tokio_serial::DataBits::Eight,
        };
        let parity = match self.parity {
            Parity::None => tokio_serial::Parity::None,
            Parity::Even => tokio_serial::Parity::Even,
            Parity::Odd => tokio_serial::Parity::Odd,
        };
        let stop_bits = if self.stop_bits == 2 { tokio_serial::StopBits::Two } else { tokio_serial::StopBits::One };
        tokio_serial::new(&self.port, self.baud)
            .data_bits(data_bits)
            .parity(parity)
            .stop_bits(stop_bits)
            .flow_control(tokio_serial::FlowControl::None)
            .open_native_async()
            .map_err(|source| OpenError { port: self.port.clone(), source })
    }
}

/// A serial port that would not open.
#[derive(Debug, thiserror::Error)]
#[error("cannot open {port}: {source}")]
pub struct OpenError {
    pub port: String,
    #[source]
    pub source: tokio_serial::Error,
}

impl fmt::Display for SerialSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}{}{}", self.port, self.baud, self.data_bits, self.parity.letter(), self.stop_bits)
    }
}

/// Printable rendering of bytes from a device: printable ASCII as is, everything else as
/// `\xNN` (and `\\` for a backslash), so that nothing a device sends can steer a terminal
/// or forge a log line. At most `max` input bytes are shown, then `…`.
pub fn escape_bytes(bytes: &[u8], max: usize) -> String {
    let mut out = String::with_capacity(bytes.len().min(max) + 8);
    for &b in bytes.iter().take(max) {
        match b {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if bytes.len() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_time_counts_every_bit() {
        let s = SerialSettings { port: "x".into(), baud: 19200, data_bits: 8, parity: Parity::Even, stop_bits: 1 };
        assert_eq!(s.char_bits(), 11);
        // 11 bits at 19200 baud = 572.9 µs
        assert_eq!(s.wire_time(1).as_nanos(), 572_916);
        let n = SerialSettings { parity: Parity::None, ..s };
        assert_eq!(n.char_bits(), 10);
    }

    #[test]
    fn escaping_keeps_only_printable_ascii() {
        assert_eq!(escape_bytes(b"ST,GS\x1b[2J\r\n\\", 64), "ST,GS\\x1b[2J\\r\\n\\\\");
        assert_eq!(escape_bytes(&[0xff, b'a', b'b'], 2), "\\xffa…");
        assert!(escape_bytes(&(0u8..=255).collect::<Vec<_>>(), 300).chars().all(|c| (' '..='~').contains(&c)));
    }
}
