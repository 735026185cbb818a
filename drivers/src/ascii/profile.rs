//! An instrument profile, compiled: how its lines are framed, what each kind of line
//! looks like (a regular expression with named fields), which field values make a
//! reading Uncertain or Bad, and whether the instrument is polled or streams.
//!
//! [`parse_line`] is the pure heart of the ASCII driver: one line of bytes in, the line
//! type and its fields out, or a [`LineError`] for anything else (non-printable bytes,
//! no pattern matching, a truncated or run-together line). It never panics.

use regex::Regex;
use thiserror::Error;

use super::framer::Terminator;
use crate::serial::escape_bytes;

/// What a flag does to the readings of its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FlagQuality {
    Uncertain,
    Bad,
}

/// "When field `field` is one of `values`, the line's readings are `quality`".
#[derive(Clone, Debug, PartialEq)]
pub struct Flag {
    pub field: String,
    pub values: Vec<String>,
    pub quality: FlagQuality,
}

/// One kind of line the instrument sends.
#[derive(Clone, Debug)]
pub struct LineType {
    pub name: String,
    /// Anchored at both ends.
    pub pattern: Regex,
    pub flags: Vec<Flag>,
}

impl LineType {
    /// Named fields of the pattern.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.pattern.capture_names().flatten()
    }
}

/// A command sent to ask for a line.
#[derive(Clone, Debug, PartialEq)]
pub struct PollCommand {
    pub send: Vec<u8>,
    /// Index of the line type it is answered with.
    pub line: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Mode {
    /// Each poll sends these commands, one answer line each.
    Poll(Vec<PollCommand>),
    /// The instrument sends lines on its own.
    Stream,
}

#[derive(Clone, Debug)]
pub struct Profile {
    pub name: String,
    pub terminator: Terminator,
    pub max_length: usize,
    pub mode: Mode,
    pub lines: Vec<LineType>,
}

impl PartialEq for Profile {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name
            && self.terminator == o.terminator
            && self.max_length == o.max_length
            && self.mode == o.mode
            && self.lines.len() == o.lines.len()
            && self
                .lines
                .iter()
                .zip(&o.lines)
                .all(|(a, b)| a.name == b.name && a.pattern.as_str() == b.pattern.as_str() && a.flags == b.flags)
    }
}

impl Profile {
    /// `(line, field)` of a field named `field` or `line.field`; `Err` says why not.
    pub fn find_field(&self, address: &str) -> Result<(usize, String), FieldError> {
        if let Some((l, f)) = address.split_once('.') {
            let li =
                self.lines.iter().position(|t| t.name == l).ok_or_else(|| FieldError::NoLineType(l.to_string()))?;
            return if self.lines[li].fields().any(|n| n == f) {
                Ok((li, f.to_string()))
            } else {
                Err(FieldError::NotInLine { line: l.to_string(), field: f.to_string() })
            };
        }
        let hits: Vec<usize> =
            (0..self.lines.len()).filter(|&i| self.lines[i].fields().any(|n| n == address)).collect();
        match hits.as_slice() {
            [i] => Ok((*i, address.to_string())),
            [] => {
                let all: Vec<String> =
                    self.lines.iter().flat_map(|t| t.fields().map(move |f| format!("{}.{f}", t.name))).collect();
                Err(FieldError::Unknown { field: address.to_string(), known: all.join(", ") })
            }
            _ => Err(FieldError::Ambiguous(address.to_string())),
        }
    }
}

/// Why a tag's address names no field of the profile.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum FieldError {
    #[error("no line type `{0}`")]
    NoLineType(String),
    #[error("line type `{line}` has no field `{field}`")]
    NotInLine { line: String, field: String },
    #[error("no field `{field}` in the profile (fields: {known})")]
    Unknown { field: String, known: String },
    #[error("field `{0}` is in several line types: write `line.{0}`")]
    Ambiguous(String),
}

/// Why a line could not be used.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum LineError {
    #[error("empty line")]
    Empty,
    #[error("non-printable byte {byte:#04x} at {at} in \"{text}\"")]
    NonPrintable { at: usize, byte: u8, text: String },
    #[error("line matches no pattern: \"{0}\"")]
    NoMatch(String),
    #[error("line longer than the limit: \"{0}\"")]
    TooLong(String),
}

/// One line understood.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    pub line: usize,
    /// `(field, text)` of every named field that took part in the match.
    pub fields: Vec<(String, String)>,
    /// The worst flag that applies, if any.
    pub flag: Option<FlagQuality>,
}

impl Parsed {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Match one line (without terminator) against the profile's line types, in order.
pub fn parse_line(profile: &Profile, bytes: &[u8]) -> Result<Parsed, LineError> {
    if bytes.is_empty() {
        return Err(LineError::Empty);
    }
    if let Some(at) = bytes.iter().position(|&b| !(0x20..=0x7e).contains(&b) && b != b'\t') {
        return Err(LineError::NonPrintable { at, byte: bytes[at], text: escape_bytes(bytes, 64) });
    }
    // printable ASCII is valid UTF-8
    let text = std::str::from_utf8(bytes).map_err(|_| LineError::NoMatch(escape_bytes(bytes, 64)))?;
    for (li, t) in profile.lines.iter().enumerate() {
        let Some(caps) = t.pattern.captures(text) else { continue };
        let fields: Vec<(String, String)> = t
            .pattern
            .capture_names()
            .flatten()
            .filter_map(|n| caps.name(n).map(|m| (n.to_string(), m.as_str().to_string())))
            .collect();
        let flag = t
            .flags
            .iter()
            .filter(|f| fields.iter().any(|(n, v)| *n == f.field && f.values.iter().any(|x| x == v.trim())))
            .map(|f| f.quality)
            .max();
        return Ok(Parsed { line: li, fields, flag });
    }
    Err(LineError::NoMatch(escape_bytes(bytes, 64)))
}

/// A field's text as a number: surrounding blanks and a leading `+` are allowed.
pub fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t).trim_start();
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Compile a pattern anchored at both ends (so that a run-together or truncated line
/// never matches by accident).
pub fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&format!("^(?:{pattern})$"))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn scale() -> Profile {
        Profile {
            name: "scale".into(),
            terminator: Terminator::CrLf,
            max_length: 32,
            mode: Mode::Stream,
            lines: vec![LineType {
                name: "weight".into(),
                pattern: compile(r"(?P<stability>ST|US|OL),(?P<mode>GS|NT),(?P<weight>[+-][0-9. ]+)\s*(?P<unit>kg|g)")
                    .unwrap(),
                flags: vec![
                    Flag { field: "stability".into(), values: vec!["US".into()], quality: FlagQuality::Uncertain },
                    Flag { field: "stability".into(), values: vec!["OL".into()], quality: FlagQuality::Bad },
                ],
            }],
        }
    }

    #[test]
    fn good_lines_give_fields_and_flags() {
        let p = scale();
        let ok = parse_line(&p, b"ST,GS,+0012.34 kg").unwrap();
        assert_eq!(ok.field("weight").and_then(parse_number), Some(12.34));
        assert_eq!(ok.flag, None);
        assert_eq!(parse_line(&p, b"US,NT,-0001.50 kg").unwrap().flag, Some(FlagQuality::Uncertain));
        assert_eq!(parse_line(&p, b"OL,GS,+9999.99 kg").unwrap().flag, Some(FlagQuality::Bad));
        assert_eq!(p.find_field("weight"), Ok((0, "weight".into())));
        assert_eq!(p.find_field("weight.unit"), Ok((0, "unit".into())));
        assert!(p.find_field("mass").unwrap_err().to_string().contains("weight.weight"));
    }

    #[test]
    fn damaged_lines_are_errors_with_escaped_text() {
        let p = scale();
        assert!(matches!(parse_line(&p, b"ST,GS,+00"), Err(LineError::NoMatch(_))), "truncated");
        assert!(matches!(parse_line(&p, b"ST,GS,+0012.34 kgST,GS,+0012.35 kg"), Err(LineError::NoMatch(_))));
        let e = parse_line(&p, b"ST,GS,+0012\x1b[2J.34 kg").unwrap_err();
        assert!(matches!(e, LineError::NonPrintable { at: 11, byte: 0x1b, .. }));
        assert!(e.to_string().chars().all(|c| !c.is_control()), "{e}");
        assert_eq!(parse_line(&p, b""), Err(LineError::Empty));
        assert!(matches!(parse_line(&p, &[0xc3, 0xa9]), Err(LineError::NonPrintable { .. })));
        assert_eq!(parse_number(" +12.5 "), Some(12.5));
        assert_eq!(parse_number("+ 7"), Some(7.0));
        assert_eq!(parse_number("1.2.3"), None);
        assert_eq!(parse_number("inf"), None);
    }
}
