//! Cutting a byte stream into lines: a terminator (CR, LF or CRLF) and a longest line.
//!
//! Pure and incremental: feed whatever the port gave, get the complete lines. A line that
//! grows past the limit without a terminator is reported once as [`Frame::TooLong`] and
//! everything up to the next terminator is dropped, so the next good line recovers.

/// What ends a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Terminator {
    Cr,
    Lf,
    CrLf,
}

impl Terminator {
    pub fn from_name(s: &str) -> Option<Terminator> {
        Some(match s {
            "CR" => Terminator::Cr,
            "LF" => Terminator::Lf,
            "CRLF" => Terminator::CrLf,
            _ => return None,
        })
    }

    pub fn bytes(self) -> &'static [u8] {
        match self {
            Terminator::Cr => b"\r",
            Terminator::Lf => b"\n",
            Terminator::CrLf => b"\r\n",
        }
    }
}

/// One framed unit of input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The bytes of one line, without its terminator.
    Line(Vec<u8>),
    /// A line longer than the limit (its first bytes, for the error message).
    TooLong(Vec<u8>),
}

#[derive(Clone, Debug)]
pub struct LineFramer {
    term: Terminator,
    max_len: usize,
    buf: Vec<u8>,
    /// Dropping an over-long line until its terminator.
    skipping: bool,
}

impl LineFramer {
    pub fn new(term: Terminator, max_len: usize) -> Self {
        LineFramer { term, max_len: max_len.max(1), buf: Vec::new(), skipping: false }
    }

    /// Feed bytes; complete lines are appended to `out`.
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Frame>) {
        let t = self.term.bytes();
        for &b in bytes {
            self.buf.push(b);
            if self.buf.ends_with(t) {
                let end = self.buf.len() - t.len();
                if self.skipping {
                    self.skipping = false;
                } else {
                    out.push(Frame::Line(self.buf[..end].to_vec()));
                }
                self.buf.clear();
                continue;
            }
            // keep a possible partial terminator (the CR of CRLF) beyond the limit
            if self.buf.len() > self.max_len + t.len() - 1 {
                if !self.skipping {
                    out.push(Frame::TooLong(self.buf[..self.max_len.min(32)].to_vec()));
                    self.skipping = true;
                }
                let keep = self.buf.len() - (t.len() - 1);
                self.buf.drain(..keep);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(term: Terminator, max: usize, input: &[u8]) -> Vec<Frame> {
        let mut f = LineFramer::new(term, max);
        let mut out = Vec::new();
        f.push(input, &mut out);
        out
    }

    #[test]
    fn lines_split_on_their_terminator_at_any_chunking() {
        let input = b"ST,GS,+1.00 kg\r\nUS,GS,+2.00 kg\r\n";
        let want = vec![Frame::Line(b"ST,GS,+1.00 kg".to_vec()), Frame::Line(b"US,GS,+2.00 kg".to_vec())];
        assert_eq!(all(Terminator::CrLf, 64, input), want);
        for cut in 0..input.len() {
            let mut f = LineFramer::new(Terminator::CrLf, 64);
            let mut out = Vec::new();
            f.push(&input[..cut], &mut out);
            f.push(&input[cut..], &mut out);
            assert_eq!(out, want, "cut at {cut}");
        }
        assert_eq!(all(Terminator::Cr, 8, b"a\rb\r"), vec![Frame::Line(b"a".to_vec()), Frame::Line(b"b".to_vec())]);
        // a bare LF inside a CRLF line stays in the line (and makes it garbled later)
        assert_eq!(all(Terminator::CrLf, 8, b"a\nb\r\n"), vec![Frame::Line(b"a\nb".to_vec())]);
    }

    #[test]
    fn an_overlong_line_is_reported_once_and_the_next_line_recovers() {
        let out = all(Terminator::Lf, 8, b"0123456789abcdef\nok\n");
        assert_eq!(out, vec![Frame::TooLong(b"01234567".to_vec()), Frame::Line(b"ok".to_vec())]);
        let out = all(Terminator::CrLf, 4, b"abcd\r\nabcde\r\nxy\r\n");
        assert_eq!(
            out,
            vec![Frame::Line(b"abcd".to_vec()), Frame::TooLong(b"abcd".to_vec()), Frame::Line(b"xy".to_vec())]
        );
    }
}
