//! Modbus TCP frames as pure functions over bytes: the MBAP header (transaction id,
//! protocol id 0, length, unit id) and the PDUs of the functions mimic uses, for both
//! ends: the client builds requests and checks answers against them, the simulator's
//! server parses requests and builds answers.
//!
//! Nothing here touches a socket or a clock, and nothing allocates except by appending to
//! a caller's buffer, so the same buffers serve every request of a connection. Every
//! malformed input is an error value, never a panic (the fuzz target feeds it arbitrary
//! answers through the driver).

use thiserror::Error;

use super::Table;
use super::plan::{MAX_BITS, MAX_REGISTERS};

/// Bytes of the MBAP header, unit id included.
pub const HEADER: usize = 7;
/// Largest PDU (function code and data).
pub const MAX_PDU: usize = 253;
/// Largest frame: header and PDU.
pub const MAX_ADU: usize = HEADER + MAX_PDU;

/// Largest register count of a write (FC16), and bit count of a coil write (FC15).
pub const MAX_WRITE_REGISTERS: u16 = 123;
pub const MAX_WRITE_BITS: u16 = 1968;

/// Exception codes the simulator answers.
pub const ILLEGAL_FUNCTION: u8 = 1;
pub const ILLEGAL_DATA_ADDRESS: u8 = 2;
pub const ILLEGAL_DATA_VALUE: u8 = 3;
pub const GATEWAY_TARGET_FAILED: u8 = 0x0b;

/// An answer that is not to the request sent: from another unit, or of another function
/// (over TCP and over a serial line alike).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Mismatch {
    #[error("answer from unit {got}, expected {expected}")]
    Unit { expected: u8, got: u8 },
    #[error("function {got:#04x} in answer, expected {expected:#04x}")]
    Function { expected: u8, got: u8 },
}

/// Why an answer (or a request, at the server) cannot be taken.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum MbapError {
    #[error("protocol id {0:#06x} is not Modbus (0)")]
    Protocol(u16),
    #[error("length field {0} outside 2..=254")]
    Length(u16),
    #[error("answer to transaction {got}, expected {expected}")]
    Transaction { expected: u16, got: u16 },
    #[error(transparent)]
    Mismatch(#[from] Mismatch),
    /// The answer's PDU contradicts its own length, or is cut short.
    #[error("answer PDU of {got} bytes, its content says {expected}")]
    Pdu { expected: usize, got: usize },
    /// A well-framed read answer that carries another amount of data than asked for.
    #[error("answer carries {got} data bytes, {expected} were asked for")]
    Count { expected: usize, got: usize },
    #[error("write answer does not echo the request")]
    Echo,
}

/// One request the client sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// FC 1..=4 by table: `count` bits or registers from `start`.
    Read { table: Table, start: u16, count: u16 },
    /// FC 5.
    WriteCoil { address: u16, on: bool },
    /// FC 6.
    WriteRegister { address: u16, value: u16 },
    /// FC 16.
    WriteRegisters { address: u16, values: &'a [u16] },
}

/// Function code of a read of `table`.
pub fn read_function(table: Table) -> u8 {
    match table {
        Table::Coil => 1,
        Table::DiscreteInput => 2,
        Table::HoldingRegister => 3,
        Table::InputRegister => 4,
    }
}

impl Request<'_> {
    pub fn function(&self) -> u8 {
        match self {
            Request::Read { table, .. } => read_function(*table),
            Request::WriteCoil { .. } => 5,
            Request::WriteRegister { .. } => 6,
            Request::WriteRegisters { .. } => 16,
        }
    }
}

/// Starts a frame in `out` (header with the length left open); returns where it starts.
pub fn begin(out: &mut Vec<u8>, tid: u16, unit: u8) -> usize {
    let at = out.len();
    out.extend_from_slice(&tid.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, unit]);
    at
}

/// Closes the frame begun at `at`: writes its length field (unit id and PDU).
pub fn finish(out: &mut [u8], at: usize) {
    let len = u16::try_from(out.len() - at - HEADER + 1).unwrap_or(u16::MAX);
    out[at + 4..at + 6].copy_from_slice(&len.to_be_bytes());
}

/// Appends the frame of `req` for `unit` with transaction id `tid` to `out`.
pub fn encode_request(out: &mut Vec<u8>, tid: u16, unit: u8, req: &Request<'_>) {
    let at = begin(out, tid, unit);
    out.push(req.function());
    match *req {
        Request::Read { start, count, .. } => {
            out.extend_from_slice(&start.to_be_bytes());
            out.extend_from_slice(&count.to_be_bytes());
        }
        Request::WriteCoil { address, on } => {
            out.extend_from_slice(&address.to_be_bytes());
            out.extend_from_slice(if on { &[0xff, 0x00] } else { &[0x00, 0x00] });
        }
        Request::WriteRegister { address, value } => {
            out.extend_from_slice(&address.to_be_bytes());
            out.extend_from_slice(&value.to_be_bytes());
        }
        Request::WriteRegisters { address, values } => {
            // the caller keeps to MAX_WRITE_REGISTERS; a longer list is cut there
            let values = &values[..values.len().min(usize::from(MAX_WRITE_REGISTERS))];
            out.extend_from_slice(&address.to_be_bytes());
            out.extend_from_slice(&(values.len() as u16).to_be_bytes());
            out.push((values.len() * 2) as u8);
            for v in values {
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
    }
    finish(out, at);
}

/// Length of the frame at the start of `buf` once its header is in (`Ok(None)`: fewer
/// than [`HEADER`] bytes so far). A header that cannot start a Modbus frame is an error:
/// the stream is out of step and the connection must go.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, MbapError> {
    let Some(h) = buf.first_chunk::<HEADER>() else { return Ok(None) };
    let protocol = u16::from_be_bytes([h[2], h[3]]);
    if protocol != 0 {
        return Err(MbapError::Protocol(protocol));
    }
    let len = u16::from_be_bytes([h[4], h[5]]);
    if !(2..=MAX_PDU as u16 + 1).contains(&len) {
        return Err(MbapError::Length(len));
    }
    Ok(Some(HEADER - 1 + usize::from(len)))
}

/// Transaction id, unit id and PDU of a whole frame (as delimited by [`frame_len`]).
pub fn split(frame: &[u8]) -> (u16, u8, &[u8]) {
    match frame.first_chunk::<HEADER>() {
        Some(h) => (u16::from_be_bytes([h[0], h[1]]), h[6], &frame[HEADER..]),
        None => (0, 0, &[]),
    }
}

/// What a well-formed answer says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A read's values are in the caller's buffer (one `u16` per register, or 0/1 per bit).
    Values,
    /// A write was acknowledged with the echo of its request.
    Written,
    /// The device refused with this exception code.
    Exception(u8),
}

/// Checks the whole answer `frame` against `req` (sent as `tid` to `unit`). The values of
/// a read replace the contents of `values`.
pub fn decode_response(
    frame: &[u8],
    tid: u16,
    unit: u8,
    req: &Request<'_>,
    values: &mut Vec<u16>,
) -> Result<Answer, MbapError> {
    let (got_tid, got_unit, pdu) = split(frame);
    if got_tid != tid {
        return Err(MbapError::Transaction { expected: tid, got: got_tid });
    }
    if got_unit != unit {
        return Err(Mismatch::Unit { expected: unit, got: got_unit }.into());
    }
    let function = req.function();
    let Some((&fc, data)) = pdu.split_first() else { return Err(MbapError::Pdu { expected: 1, got: 0 }) };
    if fc == function | 0x80 {
        return match data {
            [code] => Ok(Answer::Exception(*code)),
            _ => Err(MbapError::Pdu { expected: 2, got: pdu.len() }),
        };
    }
    if fc != function {
        return Err(Mismatch::Function { expected: function, got: fc }.into());
    }
    match *req {
        Request::Read { table, count, .. } => {
            let Some((&n, bytes)) = data.split_first() else { return Err(MbapError::Pdu { expected: 2, got: 1 }) };
            if bytes.len() != usize::from(n) {
                return Err(MbapError::Pdu { expected: 2 + usize::from(n), got: pdu.len() });
            }
            let count = usize::from(count);
            let expected = if table.is_bits() { count.div_ceil(8) } else { count * 2 };
            if bytes.len() != expected {
                return Err(MbapError::Count { expected, got: bytes.len() });
            }
            values.clear();
            if table.is_bits() {
                values.extend((0..count).map(|i| u16::from((bytes[i / 8] >> (i % 8)) & 1)));
            } else {
                values.extend(bytes.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])));
            }
            Ok(Answer::Values)
        }
        Request::WriteCoil { address, on } => {
            let word: u16 = if on { 0xff00 } else { 0 };
            echo(data, address, word)
        }
        Request::WriteRegister { address, value } => echo(data, address, value),
        Request::WriteRegisters { address, values: v } => {
            let n = v.len().min(usize::from(MAX_WRITE_REGISTERS)) as u16;
            echo(data, address, n)
        }
    }
}

fn echo(data: &[u8], a: u16, b: u16) -> Result<Answer, MbapError> {
    match data {
        [a0, a1, b0, b1] if u16::from_be_bytes([*a0, *a1]) == a && u16::from_be_bytes([*b0, *b1]) == b => {
            Ok(Answer::Written)
        }
        [_, _, _, _] => Err(MbapError::Echo),
        _ => Err(MbapError::Pdu { expected: 5, got: data.len() + 1 }),
    }
}

/// A request as the server sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerRequest<'a> {
    /// FC 1..=4; `count` is within the protocol's limits.
    Read { table: Table, start: u16, count: u16 },
    /// FC 5.
    WriteCoil { address: u16, on: bool },
    /// FC 6.
    WriteRegister { address: u16, value: u16 },
    /// FC 16: `data` holds `count` big-endian registers.
    WriteRegisters { address: u16, count: u16, data: &'a [u8] },
    /// FC 15: `data` holds `count` bits, least significant first.
    WriteCoils { address: u16, count: u16, data: &'a [u8] },
}

impl ServerRequest<'_> {
    /// Register `k` of an FC16 request.
    pub fn register(data: &[u8], k: usize) -> u16 {
        match data.get(2 * k..2 * k + 2) {
            Some(c) => u16::from_be_bytes([c[0], c[1]]),
            None => 0,
        }
    }

    /// Bit `k` of an FC15 request.
    pub fn bit(data: &[u8], k: usize) -> bool {
        data.get(k / 8).is_some_and(|b| (b >> (k % 8)) & 1 != 0)
    }
}

/// Parses a request PDU. `Err` is the exception code to answer with: 1 for a function
/// this server does not offer, 3 for a quantity or a layout the protocol forbids.
pub fn parse_request(pdu: &[u8]) -> Result<ServerRequest<'_>, u8> {
    let Some((&fc, data)) = pdu.split_first() else { return Err(ILLEGAL_FUNCTION) };
    let word = |i: usize| data.get(i..i + 2).map(|c| u16::from_be_bytes([c[0], c[1]]));
    let fixed = |n: usize| if data.len() == n { Ok(()) } else { Err(ILLEGAL_DATA_VALUE) };
    match fc {
        1..=4 => {
            fixed(4)?;
            let (start, count) = (word(0).unwrap_or(0), word(2).unwrap_or(0));
            let table = match fc {
                1 => Table::Coil,
                2 => Table::DiscreteInput,
                3 => Table::HoldingRegister,
                _ => Table::InputRegister,
            };
            let max = if table.is_bits() { MAX_BITS } else { MAX_REGISTERS };
            if count == 0 || count > max {
                return Err(ILLEGAL_DATA_VALUE);
            }
            Ok(ServerRequest::Read { table, start, count })
        }
        5 => {
            fixed(4)?;
            let on = match word(2) {
                Some(0xff00) => true,
                Some(0x0000) => false,
                _ => return Err(ILLEGAL_DATA_VALUE),
            };
            Ok(ServerRequest::WriteCoil { address: word(0).unwrap_or(0), on })
        }
        6 => {
            fixed(4)?;
            Ok(ServerRequest::WriteRegister { address: word(0).unwrap_or(0), value: word(2).unwrap_or(0) })
        }
        15 | 16 => {
            let (Some(address), Some(count), Some(&n)) = (word(0), word(2), data.get(4)) else {
                return Err(ILLEGAL_DATA_VALUE);
            };
            let bytes = &data[5..];
            let (max, need) = if fc == 15 {
                (MAX_WRITE_BITS, usize::from(count).div_ceil(8))
            } else {
                (MAX_WRITE_REGISTERS, usize::from(count) * 2)
            };
            if count == 0 || count > max || usize::from(n) != need || bytes.len() != need {
                return Err(ILLEGAL_DATA_VALUE);
            }
            Ok(if fc == 15 {
                ServerRequest::WriteCoils { address, count, data: bytes }
            } else {
                ServerRequest::WriteRegisters { address, count, data: bytes }
            })
        }
        _ => Err(ILLEGAL_FUNCTION),
    }
}

/// Appends an exception answer to `function` to `out`.
pub fn encode_exception(out: &mut Vec<u8>, tid: u16, unit: u8, function: u8, code: u8) {
    let at = begin(out, tid, unit);
    out.extend_from_slice(&[function | 0x80, code]);
    finish(out, at);
}

/// Appends a register read's answer (`words`) to `out`.
pub fn encode_registers(out: &mut Vec<u8>, tid: u16, unit: u8, function: u8, words: &[u16]) {
    let at = begin(out, tid, unit);
    out.push(function);
    out.push((words.len() * 2).min(250) as u8);
    for w in words.iter().take(125) {
        out.extend_from_slice(&w.to_be_bytes());
    }
    finish(out, at);
}

/// Appends a bit read's answer (`bits`, least significant first) to `out`.
pub fn encode_bits(out: &mut Vec<u8>, tid: u16, unit: u8, function: u8, bits: &[bool]) {
    let bits = &bits[..bits.len().min(usize::from(MAX_BITS))];
    let at = begin(out, tid, unit);
    out.push(function);
    out.push(bits.len().div_ceil(8) as u8);
    for chunk in bits.chunks(8) {
        out.push(chunk.iter().enumerate().fold(0u8, |b, (i, &on)| b | (u8::from(on) << i)));
    }
    finish(out, at);
}

/// Appends a write's answer (`address` and the echoed value or count) to `out`.
pub fn encode_echo(out: &mut Vec<u8>, tid: u16, unit: u8, function: u8, address: u16, value: u16) {
    let at = begin(out, tid, unit);
    out.push(function);
    out.extend_from_slice(&address.to_be_bytes());
    out.extend_from_slice(&value.to_be_bytes());
    finish(out, at);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_request_matches_the_specification_layout() {
        let mut out = Vec::new();
        encode_request(&mut out, 0x1234, 7, &Request::Read { table: Table::InputRegister, start: 8, count: 10 });
        assert_eq!(out, [0x12, 0x34, 0, 0, 0, 6, 7, 4, 0, 8, 0, 10]);
        assert_eq!(frame_len(&out), Ok(Some(12)));
        assert_eq!(frame_len(&out[..6]), Ok(None));
        out.clear();
        encode_request(&mut out, 1, 1, &Request::WriteRegisters { address: 2, values: &[10, 258] });
        assert_eq!(out, [0, 1, 0, 0, 0, 11, 1, 16, 0, 2, 0, 2, 4, 0, 10, 1, 2]);
        out.clear();
        encode_request(&mut out, 2, 1, &Request::WriteCoil { address: 3, on: true });
        assert_eq!(&out[7..], [5, 0, 3, 0xff, 0]);
    }

    #[test]
    fn answers_are_checked_against_their_request() {
        let req = Request::Read { table: Table::HoldingRegister, start: 0, count: 2 };
        let mut v = Vec::new();
        let mut ans = Vec::new();
        encode_registers(&mut ans, 9, 1, 3, &[0x1234, 0xabcd]);
        assert_eq!(decode_response(&ans, 9, 1, &req, &mut v), Ok(Answer::Values));
        assert_eq!(v, [0x1234, 0xabcd]);
        assert_eq!(decode_response(&ans, 8, 1, &req, &mut v), Err(MbapError::Transaction { expected: 8, got: 9 }));
        assert_eq!(decode_response(&ans, 9, 2, &req, &mut v), Err(Mismatch::Unit { expected: 2, got: 1 }.into()));
        let other = Request::Read { table: Table::InputRegister, start: 0, count: 2 };
        assert_eq!(decode_response(&ans, 9, 1, &other, &mut v), Err(Mismatch::Function { expected: 4, got: 3 }.into()));
        let three = Request::Read { table: Table::HoldingRegister, start: 0, count: 3 };
        assert_eq!(decode_response(&ans, 9, 1, &three, &mut v), Err(MbapError::Count { expected: 6, got: 4 }));
        // a byte count that contradicts the frame
        let mut bad = ans.clone();
        bad[8] = 6;
        assert_eq!(decode_response(&bad, 9, 1, &req, &mut v), Err(MbapError::Pdu { expected: 8, got: 6 }));
        ans.clear();
        encode_exception(&mut ans, 9, 1, 3, 2);
        assert_eq!(decode_response(&ans, 9, 1, &req, &mut v), Ok(Answer::Exception(2)));
        ans.clear();
        encode_bits(&mut ans, 4, 1, 1, &[true, false, true]);
        let bits = Request::Read { table: Table::Coil, start: 0, count: 3 };
        assert_eq!(decode_response(&ans, 4, 1, &bits, &mut v), Ok(Answer::Values));
        assert_eq!(v, [1, 0, 1]);
        ans.clear();
        encode_echo(&mut ans, 5, 1, 6, 2, 700);
        let w = Request::WriteRegister { address: 2, value: 700 };
        assert_eq!(decode_response(&ans, 5, 1, &w, &mut v), Ok(Answer::Written));
        let w = Request::WriteRegister { address: 2, value: 701 };
        assert_eq!(decode_response(&ans, 5, 1, &w, &mut v), Err(MbapError::Echo));
    }

    #[test]
    fn bad_headers_are_refused() {
        assert_eq!(frame_len(&[0, 1, 0xde, 0xad, 0, 6, 1]), Err(MbapError::Protocol(0xdead)));
        assert_eq!(frame_len(&[0, 1, 0, 0, 0xff, 0xff, 1]), Err(MbapError::Length(0xffff)));
        assert_eq!(frame_len(&[0, 1, 0, 0, 0, 1, 1]), Err(MbapError::Length(1)));
        assert_eq!(frame_len(&[0, 1, 0, 0, 0, 254, 1]), Ok(Some(260)));
    }

    #[test]
    fn the_server_parses_what_the_client_sends() {
        let mut out = Vec::new();
        encode_request(&mut out, 1, 1, &Request::WriteRegisters { address: 2, values: &[10, 258] });
        let (_, _, pdu) = split(&out);
        let ServerRequest::WriteRegisters { address: 2, count: 2, data } = parse_request(pdu).unwrap() else {
            panic!("not FC16: {:?}", parse_request(pdu));
        };
        assert_eq!((ServerRequest::register(data, 0), ServerRequest::register(data, 1)), (10, 258));
        assert_eq!(
            parse_request(&[4, 0, 32, 0, 10]),
            Ok(ServerRequest::Read { table: Table::InputRegister, start: 32, count: 10 })
        );
        assert_eq!(parse_request(&[3, 0, 0, 0, 126]), Err(ILLEGAL_DATA_VALUE));
        assert_eq!(parse_request(&[3, 0, 0, 0, 0]), Err(ILLEGAL_DATA_VALUE));
        assert_eq!(parse_request(&[5, 0, 0, 0x12, 0x34]), Err(ILLEGAL_DATA_VALUE));
        assert_eq!(
            parse_request(&[15, 0, 0, 0, 3, 1, 0b101]).map(|r| matches!(r, ServerRequest::WriteCoils { .. })),
            Ok(true)
        );
        assert_eq!(parse_request(&[16, 0, 0, 0, 2, 4, 0, 1]), Err(ILLEGAL_DATA_VALUE));
        assert_eq!(parse_request(&[43, 14, 1, 0]), Err(ILLEGAL_FUNCTION));
        assert_eq!(parse_request(&[]), Err(ILLEGAL_FUNCTION));
        assert!(ServerRequest::bit(&[0b100], 2) && !ServerRequest::bit(&[0b100], 1));
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut x = crate::testkit::Lcg(99);
        let mut v = Vec::new();
        let reqs = [
            Request::Read { table: Table::Coil, start: 0, count: 9 },
            Request::Read { table: Table::HoldingRegister, start: 0, count: 3 },
            Request::WriteRegisters { address: 0, values: &[1, 2] },
            Request::WriteCoil { address: 0, on: true },
        ];
        for _ in 0..5000 {
            let bytes = x.bytes((x.0 % 24) as usize, 20);
            let _ = frame_len(&bytes);
            let _ = parse_request(&bytes);
            for r in &reqs {
                let _ = decode_response(&bytes, 0, 0, r, &mut v);
            }
            x.0 = x.0.wrapping_add(3);
        }
    }
}
