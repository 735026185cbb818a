//! Modbus RTU frames as pure functions over bytes: build a request, find and check the
//! response in whatever arrived on the line.
//!
//! An RTU frame is `unit, function, data…, CRC-16 (low byte first)`. Nothing here touches
//! a port or a clock, so everything can be fed arbitrary bytes (and fuzzed): decoding
//! returns a [`FrameError`] for every malformed input and never panics.

use thiserror::Error;

use crate::modbus::mbap::Mismatch;

/// Largest RTU frame (unit + PDU of at most 253 bytes + CRC).
pub const MAX_FRAME: usize = 256;

/// One request this driver sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// FC 1..=4: read `count` coils / discrete inputs / holding / input registers.
    Read { function: u8, start: u16, count: u16 },
    /// FC 5.
    WriteCoil { address: u16, on: bool },
    /// FC 6.
    WriteRegister { address: u16, value: u16 },
    /// FC 16.
    WriteRegisters { address: u16, values: Vec<u16> },
}

impl Request {
    pub fn function(&self) -> u8 {
        match self {
            Request::Read { function, .. } => *function,
            Request::WriteCoil { .. } => 5,
            Request::WriteRegister { .. } => 6,
            Request::WriteRegisters { .. } => 16,
        }
    }

    /// The whole frame for `unit`, CRC included.
    pub fn to_frame(&self, unit: u8) -> Vec<u8> {
        let mut f = Vec::with_capacity(16);
        f.push(unit);
        f.push(self.function());
        match self {
            Request::Read { start, count, .. } => {
                f.extend(start.to_be_bytes());
                f.extend(count.to_be_bytes());
            }
            Request::WriteCoil { address, on } => {
                f.extend(address.to_be_bytes());
                f.extend(if *on { [0xff, 0x00] } else { [0x00, 0x00] });
            }
            Request::WriteRegister { address, value } => {
                f.extend(address.to_be_bytes());
                f.extend(value.to_be_bytes());
            }
            Request::WriteRegisters { address, values } => {
                f.extend(address.to_be_bytes());
                f.extend(u16::try_from(values.len()).unwrap_or(0).to_be_bytes());
                f.push(u8::try_from(values.len() * 2).unwrap_or(0));
                for v in values {
                    f.extend(v.to_be_bytes());
                }
            }
        }
        let crc = crc16(&f);
        f.extend(crc.to_le_bytes());
        f
    }
}

/// What a well-formed response says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The data bytes of a read (after the byte count), or the echo of a write.
    Data(Vec<u8>),
    /// The unit refused with this exception code.
    Exception(u8),
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("frame too short ({0} bytes)")]
    Short(usize),
    #[error("frame length {got} does not match its content ({expected})")]
    Length { expected: usize, got: usize },
    #[error("CRC error: frame says {frame:04x}, content gives {computed:04x}")]
    Crc { frame: u16, computed: u16 },
    #[error(transparent)]
    Mismatch(#[from] Mismatch),
}

/// CRC-16/MODBUS (polynomial 0x8005 reflected, initial 0xFFFF), from the `crc` crate.
const MODBUS_CRC: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_MODBUS);

/// CRC-16/MODBUS of `bytes`, sent low byte first.
pub fn crc16(bytes: &[u8]) -> u16 {
    MODBUS_CRC.checksum(bytes)
}

/// Length of the response frame to `function` whose first bytes are `head`, once enough
/// of it is known (`None`: need more bytes).
fn response_len(function: u8, head: &[u8]) -> Option<usize> {
    let fc = *head.get(1)?;
    if fc == function | 0x80 {
        return Some(5);
    }
    match function {
        1..=4 => head.get(2).map(|&n| 5 + usize::from(n)),
        _ => Some(8),
    }
}

/// Decode exactly one complete response frame from `unit` to a request with `function`.
pub fn decode_response(frame: &[u8], unit: u8, function: u8) -> Result<Answer, FrameError> {
    if frame.len() < 5 {
        return Err(FrameError::Short(frame.len()));
    }
    let (body, crc_bytes) = frame.split_at(frame.len() - 2);
    let got_crc = u16::from_le_bytes([crc_bytes[0], crc_bytes[1]]);
    let computed = crc16(body);
    if got_crc != computed {
        return Err(FrameError::Crc { frame: got_crc, computed });
    }
    if frame[0] != unit {
        return Err(Mismatch::Unit { expected: unit, got: frame[0] }.into());
    }
    let fc = frame[1];
    if fc != function && fc != function | 0x80 {
        return Err(Mismatch::Function { expected: function, got: fc }.into());
    }
    let expected = response_len(function, frame).unwrap_or(0);
    if expected != frame.len() {
        return Err(FrameError::Length { expected, got: frame.len() });
    }
    if fc & 0x80 != 0 {
        return Ok(Answer::Exception(frame[2]));
    }
    Ok(match function {
        1..=4 => Answer::Data(frame[3..frame.len() - 2].to_vec()),
        _ => Answer::Data(frame[2..frame.len() - 2].to_vec()),
    })
}

/// Result of looking for a response in the bytes received so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scan {
    /// A valid frame from the expected unit at `offset`. Bytes before it are noise.
    Found { offset: usize, len: usize, answer: Answer, crc_errors: usize },
    /// A frame may still be arriving.
    NeedMore { crc_errors: usize },
    /// Nothing in these bytes can become the expected answer.
    Nothing { crc_errors: usize },
}

/// Look for the answer of `unit` to `function` anywhere in `buf`, skipping leading
/// garbage, late answers of other units and frames with a bad CRC (counted).
pub fn scan(buf: &[u8], unit: u8, function: u8) -> Scan {
    let mut crc_errors = 0;
    let mut pending = false;
    for off in 0..buf.len() {
        let rest = &buf[off..];
        if rest[0] != unit {
            continue;
        }
        match rest.get(1) {
            None => {
                pending = true;
                continue;
            }
            Some(&fc) if fc != function && fc != function | 0x80 => continue,
            Some(_) => {}
        }
        let Some(len) = response_len(function, rest) else {
            pending = true;
            continue;
        };
        if rest.len() < len {
            pending = true;
            continue;
        }
        match decode_response(&rest[..len], unit, function) {
            Ok(answer) => return Scan::Found { offset: off, len, answer, crc_errors },
            Err(FrameError::Crc { .. }) => crc_errors += 1,
            Err(_) => {}
        }
    }
    if pending { Scan::NeedMore { crc_errors } } else { Scan::Nothing { crc_errors } }
}

/// Registers from the data bytes of a register read (`count` of them, big-endian).
pub fn words(data: &[u8], count: u16) -> Result<Vec<u16>, FrameError> {
    let n = usize::from(count);
    if data.len() != n * 2 {
        return Err(FrameError::Length { expected: n * 2, got: data.len() });
    }
    Ok(data.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect())
}

/// Bits from the data bytes of a bit read (`count` of them, least significant first).
pub fn bits(data: &[u8], count: u16) -> Result<Vec<u16>, FrameError> {
    let n = usize::from(count);
    if data.len() != n.div_ceil(8) {
        return Err(FrameError::Length { expected: n.div_ceil(8), got: data.len() });
    }
    Ok((0..n).map(|i| u16::from((data[i / 8] >> (i % 8)) & 1)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(body: &[u8]) -> Vec<u8> {
        let mut f = body.to_vec();
        f.extend(crc16(body).to_le_bytes());
        f
    }

    #[test]
    fn request_frames_match_the_specification_example() {
        // Modbus over serial line spec: read 1 holding register at 0 from unit 1 -> 84 0A
        let f = Request::Read { function: 3, start: 0, count: 1 }.to_frame(1);
        assert_eq!(f, [0x01, 0x03, 0x00, 0x00, 0x00, 0x01, 0x84, 0x0a]);
        let w = Request::WriteRegisters { address: 1, values: vec![10, 258] }.to_frame(17);
        assert_eq!(&w[..11], &[17, 16, 0, 1, 0, 2, 4, 0, 10, 1, 2]);
        assert_eq!(decode_response(&framed(&[17, 16, 0, 1, 0, 2]), 17, 16), Ok(Answer::Data(vec![0, 1, 0, 2])));
    }

    #[test]
    fn responses_decode_and_every_fault_is_an_error() {
        let ok = framed(&[2, 3, 4, 0x12, 0x34, 0xab, 0xcd]);
        assert_eq!(decode_response(&ok, 2, 3), Ok(Answer::Data(vec![0x12, 0x34, 0xab, 0xcd])));
        assert_eq!(words(&[0x12, 0x34, 0xab, 0xcd], 2), Ok(vec![0x1234, 0xabcd]));
        assert_eq!(bits(&[0b0000_0101], 3), Ok(vec![1, 0, 1]));
        assert!(bits(&[1, 2], 3).is_err());
        assert_eq!(decode_response(&framed(&[2, 0x83, 2]), 2, 3), Ok(Answer::Exception(2)));
        let mut bad = ok.clone();
        bad[3] ^= 1;
        assert!(matches!(decode_response(&bad, 2, 3), Err(FrameError::Crc { .. })));
        assert_eq!(decode_response(&ok, 3, 3), Err(Mismatch::Unit { expected: 3, got: 2 }.into()));
        assert_eq!(decode_response(&ok, 2, 4), Err(Mismatch::Function { expected: 4, got: 3 }.into()));
        assert!(matches!(decode_response(&framed(&[2, 3, 9, 0, 0]), 2, 3), Err(FrameError::Length { .. })));
        assert_eq!(decode_response(&[1, 2], 1, 3), Err(FrameError::Short(2)));
    }

    #[test]
    fn scan_skips_garbage_and_late_answers_of_other_units() {
        let mine = framed(&[2, 3, 2, 0x00, 0x2a]);
        let other = framed(&[5, 3, 2, 0x00, 0x07]);
        let mut corrupt = framed(&[2, 3, 2, 0x00, 0x2b]);
        corrupt[4] ^= 0x40;
        let mut buf = vec![0xff, 0x00, 0x13];
        buf.extend(&other);
        buf.extend(&corrupt);
        let before = buf.len();
        buf.extend(&mine);
        assert_eq!(
            scan(&buf, 2, 3),
            Scan::Found { offset: before, len: mine.len(), answer: Answer::Data(vec![0, 0x2a]), crc_errors: 1 }
        );
        // split at every byte: never found early, always found at the end
        for cut in 0..mine.len() {
            assert!(matches!(scan(&mine[..cut], 2, 3), Scan::NeedMore { .. } | Scan::Nothing { .. }), "cut {cut}");
        }
        assert_eq!(scan(&[0xaa, 0xbb], 2, 3), Scan::Nothing { crc_errors: 0 });
        assert_eq!(scan(&corrupt, 2, 3), Scan::Nothing { crc_errors: 1 });
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x = crate::testkit::Lcg(12345);
        for _ in 0..2000 {
            let bytes = x.bytes((x.0 % 40) as usize, 8);
            let _ = scan(&bytes, 1, 3);
            let _ = decode_response(&bytes, 1, 1);
            x.0 = x.0.wrapping_add(7);
        }
    }
}
