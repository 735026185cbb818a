//! Guesses at what found registers hold, shown as hints next to the proposed tags: a
//! pair that decodes to a plausible 32-bit float in the device's word order, a run of
//! registers that reads as text. Hints only; the proposal keeps one u16 per register.

use crate::modbus::{ByteOrder, DataType, decode};
use crate::serial::escape_bytes;

/// Smallest and largest magnitude taken for a plausible process value.
const FLOAT_MIN: f64 = 1e-3;
const FLOAT_MAX: f64 = 1e7;
/// Shortest run of registers reported as text.
const TEXT_MIN: usize = 4;

/// A hint about registers from `start` on.
#[derive(Clone, Debug, PartialEq)]
pub enum Hint {
    /// `start` and `start + 1` decode to this float in the given order.
    F32 { start: u16, value: f32 },
    /// `count` registers from `start` read as this text (escaped, printable ASCII only).
    Text { start: u16, count: u16, text: String },
}

/// Hints for the register values `values` read from `start` on (one valid range).
/// Text runs win over floats; float pairs never overlap.
pub fn hints(start: u16, values: &[u16], order: ByteOrder) -> Vec<Hint> {
    let mut out = Vec::new();
    let texts = text_runs(values);
    let in_text = |i: usize| texts.iter().any(|&(s, n)| (s..s + n).contains(&i));
    let mut i = 0;
    while i + 1 < values.len() {
        if in_text(i) || in_text(i + 1) {
            i += 1;
            continue;
        }
        match plausible_f32(&values[i..i + 2], order) {
            Some(value) => {
                out.push(Hint::F32 { start: at(start, i), value });
                i += 2;
            }
            None => i += 1,
        }
    }
    for (s, n) in texts {
        let bytes: Vec<u8> = values[s..s + n].iter().flat_map(|w| w.to_be_bytes()).filter(|&b| b != 0).collect();
        let count = u16::try_from(n).unwrap_or(u16::MAX);
        out.push(Hint::Text { start: at(start, s), count, text: escape_bytes(&bytes, 64) });
    }
    out.sort_by_key(|h| match h {
        Hint::F32 { start, .. } | Hint::Text { start, .. } => *start,
    });
    out
}

fn at(start: u16, i: usize) -> u16 {
    start.saturating_add(u16::try_from(i).unwrap_or(u16::MAX))
}

/// The float two registers hold in `order`, if it looks like a process value: finite,
/// not zero, between 1e-3 and 1e7 in magnitude. (Two small integers decode to a
/// denormal or tiny float and are never taken.)
pub fn plausible_f32(pair: &[u16], order: ByteOrder) -> Option<f32> {
    let v = decode(pair, DataType::F32, order, None).ok()?;
    (v.is_finite() && (FLOAT_MIN..=FLOAT_MAX).contains(&v.abs())).then_some(v as f32)
}

/// Runs (index, length) of at least [`TEXT_MIN`] registers whose bytes are printable
/// ASCII (a NUL may end the text), with at least one letter and [`TEXT_MIN`] characters.
fn text_runs(values: &[u16]) -> Vec<(usize, usize)> {
    let printable = |b: u8| (0x20..=0x7e).contains(&b);
    let mut runs = Vec::new();
    let mut i = 0;
    while i < values.len() {
        let mut j = i;
        let mut padded = false;
        while j < values.len() {
            let [hi, lo] = values[j].to_be_bytes();
            let ok = if padded {
                hi == 0 && lo == 0
            } else {
                (printable(hi) && (printable(lo) || lo == 0)) || (hi == 0 && lo == 0 && j > i)
            };
            if !ok {
                break;
            }
            if lo == 0 || hi == 0 {
                padded = true;
            }
            j += 1;
        }
        // trailing all-NUL registers are padding, not part of the text
        while j > i && values[j - 1] == 0 {
            j -= 1;
        }
        let bytes = || values[i..j].iter().flat_map(|w| w.to_be_bytes());
        let letters = bytes().any(|b| b.is_ascii_alphabetic());
        if j - i >= TEXT_MIN && letters && bytes().filter(|&b| b != 0).count() >= TEXT_MIN {
            runs.push((i, j - i));
            i = j;
        } else {
            i += 1;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modbus::encode;

    #[test]
    fn float_pairs_in_the_devices_order() {
        let mut regs = vec![1, 2, 800];
        regs.extend(encode(12.5, DataType::F32, ByteOrder::Cdab).unwrap());
        regs.push(7);
        let h = hints(100, &regs, ByteOrder::Cdab);
        assert_eq!(h, [Hint::F32 { start: 103, value: 12.5 }]);
        // small integers are not floats, in any order
        assert!(plausible_f32(&[1, 2], ByteOrder::Abcd).is_none());
        assert!(plausible_f32(&[0, 0], ByteOrder::Abcd).is_none());
        assert!(plausible_f32(&[0x7fc0, 0], ByteOrder::Abcd).is_none(), "NaN");
    }

    #[test]
    fn text_runs_are_escaped_and_win_over_floats() {
        // "PUMP-7AB\x1b[2J": the control byte ends the run
        let regs = [0x5055, 0x4d50, 0x2d37, 0x4142, 0x1b5b, 0x324a];
        let h = hints(0, &regs, ByteOrder::Abcd);
        assert_eq!(h, [Hint::Text { start: 0, count: 4, text: "PUMP-7AB".into() }]);
        // one letter and padding is no text (the pair is 8.0 as a float)
        assert_eq!(hints(0, &[0x4100, 0, 0, 0], ByteOrder::Abcd), [Hint::F32 { start: 0, value: 8.0 }]);
        let regs = [0x4143, 0x4d45, 0x2050, 0x554d, 0x5000, 0x0000, 0x0007];
        let h = hints(10, &regs, ByteOrder::Abcd);
        assert_eq!(h, [Hint::Text { start: 10, count: 5, text: "ACME PUMP".into() }]);
        // backslashes are escaped, so the text cannot fake an escape sequence
        let regs = [0x5c78, 0x3162, 0x5c5c, 0x4142];
        match &hints(0, &regs, ByteOrder::Abcd)[..] {
            [Hint::Text { text, .. }] => assert_eq!(text, "\\\\x1b\\\\\\\\AB"),
            other => panic!("{other:?}"),
        }
    }
}
