//! The ASCII instrument framer on arbitrary bytes, fed in arbitrary pieces: it must never
//! panic, never emit a line longer than its limit or containing its terminator, and give
//! the same lines however the bytes were split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimic_drivers::ascii::{Frame, LineFramer, Terminator};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let term = [Terminator::from_name("CR"), Terminator::from_name("LF"), Terminator::from_name("CRLF")]
        [usize::from(sel % 3)]
    .expect("known terminator");
    let max = 1 + usize::from(sel >> 2);
    let mut whole = Vec::new();
    LineFramer::new(term, max).push(rest, &mut whole);
    let mut pieces = Vec::new();
    let mut f = LineFramer::new(term, max);
    for chunk in rest.chunks(1 + usize::from(sel % 7)) {
        f.push(chunk, &mut pieces);
    }
    assert_eq!(whole, pieces, "framing depends on how the bytes arrived");
    for fr in &whole {
        if let Frame::Line(l) = fr {
            assert!(l.len() <= max, "line of {} bytes over the limit {max}", l.len());
            assert!(!l.windows(term.bytes().len()).any(|w| w == term.bytes()), "terminator inside a line");
        }
    }
});
