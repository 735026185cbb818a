//! What every check in the site (and instrument profile) files shares: the text being
//! read, the problems found so far, and the helpers that turn a span into `line:col`
//! and read the common field kinds (durations, dates, names). Every validator takes a
//! [`Ctx`]; this module depends on none of them.

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_spanned::Spanned;

use super::{ConfigError, parse_duration};

/// The fields of a raw item that are set, as `(name in the site file, span)`:
/// `set_fields!(d; unit, max_gap)`, or `dtype as "type"` where the Rust name differs.
macro_rules! set_fields {
    ($item:expr; $($field:ident $(as $name:literal)?),+ $(,)?) => {{
        let all: Vec<(&'static str, Option<std::ops::Range<usize>>)> = vec![$(
            (set_fields!(@name $field $($name)?), $item.$field.as_ref().map(serde_spanned::Spanned::span))
        ),+];
        all.into_iter().filter_map(|(f, s)| Some((f, s?))).collect::<Vec<_>>()
    }};
    (@name $field:ident $name:literal) => { $name };
    (@name $field:ident) => { stringify!($field) };
}

pub(super) struct Ctx<'a> {
    pub(super) file: PathBuf,
    pub(super) text: &'a str,
    pub(super) errors: Vec<ConfigError>,
}

impl Ctx<'_> {
    pub(super) fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let col = self.text.get(line_start..offset).map_or(1, |s| s.chars().count() + 1);
        (line, col)
    }

    pub(super) fn err(&mut self, span: Range<usize>, path: impl Into<String>, message: impl Into<String>) {
        let (line, col) = self.line_col(span.start);
        self.errors.push(ConfigError {
            file: self.file.clone(),
            line,
            col,
            path: path.into(),
            message: message.into(),
        });
    }

    /// Refuse each field that is set where it does not belong (`{item}.{field}: {message}`),
    /// e.g. `set_fields!(d; port, baud)` of a device that is not on a serial line.
    pub(super) fn refuse(&mut self, item: &str, fields: Vec<(&'static str, Range<usize>)>, message: &str) {
        for (f, span) in fields {
            self.err(span, format!("{item}.{f}"), message);
        }
    }

    /// The text as a `T`, or `None` with the syntax or shape error recorded at its place.
    pub(super) fn deserialize<T: DeserializeOwned>(&mut self) -> Option<T> {
        match toml::Deserializer::parse(self.text) {
            Err(e) => {
                self.err(e.span().unwrap_or(0..0), "(syntax)", e.message().trim().to_string());
                None
            }
            Ok(de) => match serde_path_to_error::deserialize(de) {
                Ok(raw) => Some(raw),
                Err(e) => {
                    let path = field_path(e.path());
                    let inner = e.into_inner();
                    self.err(inner.span().unwrap_or(0..0), path, inner.message().trim().to_string());
                    None
                }
            },
        }
    }

    pub(super) fn duration(&mut self, v: &Spanned<String>, path: String) -> Option<Duration> {
        match parse_duration(v.get_ref()) {
            Ok(d) if d.is_zero() => {
                self.err(v.span(), path, "must be greater than zero");
                None
            }
            Ok(d) => Some(d),
            Err(m) => {
                self.err(v.span(), path, m.to_string());
                None
            }
        }
    }

    /// A calendar date (`2019-04-01`, bare or quoted) as ms at midnight UTC of that day.
    pub(super) fn date(&mut self, v: &Spanned<toml::Value>, path: String) -> Option<i64> {
        let parsed = match v.get_ref() {
            toml::Value::Datetime(d) if d.time.is_none() && d.offset.is_none() => match d.date {
                Some(d) => {
                    jiff::civil::Date::new(i16::try_from(d.year).unwrap_or(i16::MAX), d.month as i8, d.day as i8)
                        .map_err(|e| e.to_string())
                }
                None => Err("no date".to_string()),
            },
            toml::Value::Datetime(_) => Err("a date without a time of day is expected".to_string()),
            toml::Value::String(s) => s.trim().parse::<jiff::civil::Date>().map_err(|e| e.to_string()),
            other => Err(format!("a TOML {} is not a date", other.type_str())),
        };
        let ms = parsed.and_then(|d| {
            d.to_zoned(jiff::tz::TimeZone::UTC).map(|z| z.timestamp().as_millisecond()).map_err(|e| e.to_string())
        });
        match ms {
            Ok(ms) => Some(ms),
            Err(e) => {
                self.err(v.span(), path, format!("must be a date like 2019-04-01 ({e})"));
                None
            }
        }
    }

    pub(super) fn name(&mut self, v: &Spanned<String>, path: String) {
        let s = v.get_ref();
        if s.trim().is_empty() {
            self.err(v.span(), path, "must not be empty");
        } else if s.chars().any(char::is_control) {
            self.err(v.span(), path, "must not contain control characters");
        }
    }

    /// Checks each item's name and that no two share one; the index of each name.
    pub(super) fn unique<'a, T>(
        &mut self,
        kind: &str,
        items: &'a [T],
        name: impl Fn(&'a T) -> &'a Spanned<String>,
    ) -> HashMap<&'a str, usize> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, it) in items.iter().enumerate() {
            let n = name(it);
            self.name(n, format!("{kind}[{i}].name"));
            if let Some(&first) = seen.get(n.get_ref().as_str()) {
                let (line, _) = self.line_col(name(&items[first]).span().start);
                self.err(
                    n.span(),
                    format!("{kind}[{i}].name"),
                    format!("duplicate {kind} name `{}` (first defined on line {line})", n.get_ref()),
                );
            } else {
                seen.insert(n.get_ref().as_str(), i);
            }
        }
        seen
    }
}

/// `tag[0].low` from a serde path, without the private segments of `Spanned` values
/// (`tag[0].low.$__serde_spanned_private_value`); `(top)` for the document itself.
fn field_path(p: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in p.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } if key.starts_with("$__serde_spanned_private") => {}
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => out.push_str(if out.is_empty() { "?" } else { ".?" }),
        }
    }
    if out.is_empty() { "(top)".into() } else { out }
}

/// Names for an error message: `a, b, c`, or `none`.
pub(super) fn list(names: &[&str]) -> String {
    if names.is_empty() { "none".into() } else { names.join(", ") }
}
