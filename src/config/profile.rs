//! ASCII instrument profiles (`profiles/instruments/*.toml`): loaded and checked with the
//! site, every problem reported as `profile-file:line:col: field.path: message`.
//!
//! ```toml
//! [instrument]
//! name = "Weigh scale"
//! terminator = "CRLF"          # CR, LF or CRLF
//! max_length = 40              # longest line in bytes
//! mode = "poll"                # or "stream"
//!
//! [[line]]                     # one kind of line; fields are named capture groups
//! name = "weight"
//! pattern = '(?P<stability>ST|US),(?P<mode>GS|NT),(?P<weight>[+-][0-9.]+) ?kg'
//!
//! [[line.flag]]                # field values that make the line's readings Uncertain/Bad
//! field = "stability"
//! values = ["US"]
//! quality = "uncertain"
//!
//! [[poll]]                     # poll mode: what to send, which line answers it
//! send = "SI\r\n"
//! line = "weight"
//! ```

use std::path::{Path, PathBuf};

use mimic_drivers::ascii::{Flag, FlagQuality, LineType, Mode, PollCommand, Profile, Terminator, profile::compile};
use serde::Deserialize;
use serde_spanned::Spanned;

use super::ConfigError;
use super::ctx::Ctx;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    instrument: RawInstrument,
    line: Vec<RawLine>,
    #[serde(default)]
    poll: Vec<RawPoll>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstrument {
    /// Shown on the Devices screen.
    name: Spanned<String>,
    /// `CR`, `LF` or `CRLF`.
    terminator: Spanned<String>,
    /// Longest line in bytes, without terminator (default 128).
    max_length: Option<Spanned<i64>>,
    /// `poll` (send the `[[poll]]` commands) or `stream` (the instrument talks on its own).
    mode: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    /// Name of this kind of line, e.g. `weight`.
    name: Spanned<String>,
    /// Regular expression (Rust `regex` syntax) for the whole line, fields as named
    /// groups `(?P<field>…)`. It is anchored at both ends.
    pattern: Spanned<String>,
    #[serde(default)]
    flag: Vec<RawFlag>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlag {
    /// A named field of the line.
    field: Spanned<String>,
    /// Values of the field (compared after trimming blanks) that raise the flag.
    values: Spanned<Vec<String>>,
    /// `uncertain` or `bad`.
    quality: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoll {
    /// Bytes to send (TOML escapes such as `\r` apply).
    send: Spanned<String>,
    /// The line type that answers it.
    line: Spanned<String>,
}

/// Load the profile at `path`; errors go to `errors` with the profile's own file name.
pub(super) fn load(path: &Path, errors: &mut Vec<ConfigError>) -> Option<Profile> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            errors.push(ConfigError {
                file: path.to_path_buf(),
                line: 0,
                col: 0,
                path: "(file)".into(),
                message: format!("cannot read profile: {e}"),
            });
            return None;
        }
    };
    match parse_text(path, &text) {
        Ok(p) => Some(p),
        Err(mut errs) => {
            errors.append(&mut errs);
            None
        }
    }
}

/// Parse and check the text of a profile (diagnostics name `path`): the loader without
/// the file, for tests and fuzzing with profiles embedded in the binary.
pub fn parse_text(path: &Path, text: &str) -> Result<Profile, Vec<ConfigError>> {
    let mut cx = Ctx { file: PathBuf::from(path), text, errors: Vec::new() };
    let profile = parse(&mut cx);
    match profile {
        Some(p) if cx.errors.is_empty() => Ok(p),
        _ => Err(cx.errors),
    }
}

fn parse(cx: &mut Ctx<'_>) -> Option<Profile> {
    let raw: RawProfile = cx.deserialize()?;
    let ins = &raw.instrument;
    let terminator = Terminator::from_name(ins.terminator.get_ref()).unwrap_or_else(|| {
        cx.err(
            ins.terminator.span(),
            "instrument.terminator",
            format!("`{}` is not CR, LF or CRLF", ins.terminator.get_ref()),
        );
        Terminator::CrLf
    });
    let max_length = match &ins.max_length {
        None => 128,
        Some(m) => match usize::try_from(*m.get_ref()) {
            Ok(v) if (1..=4096).contains(&v) => v,
            _ => {
                cx.err(m.span(), "instrument.max_length", format!("{} is outside 1..=4096", m.get_ref()));
                128
            }
        },
    };
    if raw.line.is_empty() {
        cx.err(ins.name.span(), "line", "a profile needs at least one [[line]]");
    }
    let mut lines = Vec::new();
    for (i, l) in raw.line.iter().enumerate() {
        if raw.line[..i].iter().any(|o| o.name.get_ref() == l.name.get_ref()) {
            cx.err(l.name.span(), format!("line[{i}].name"), format!("duplicate line name `{}`", l.name.get_ref()));
        }
        let pattern = match compile(l.pattern.get_ref()) {
            Ok(r) => r,
            Err(m) => {
                // the regex crate's message spans several lines: keep it on one
                let m = m.to_string();
                let m: String = m.lines().map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ");
                cx.err(l.pattern.span(), format!("line[{i}].pattern"), format!("not a valid pattern: {m}"));
                continue;
            }
        };
        if pattern.capture_names().flatten().next().is_none() {
            cx.err(l.pattern.span(), format!("line[{i}].pattern"), "has no named field `(?P<name>…)`");
        }
        let mut flags = Vec::new();
        for (k, f) in l.flag.iter().enumerate() {
            let p = |x: &str| format!("line[{i}].flag[{k}].{x}");
            if !pattern.capture_names().flatten().any(|n| n == f.field.get_ref()) {
                cx.err(f.field.span(), p("field"), format!("the pattern has no field `{}`", f.field.get_ref()));
            }
            let quality = match f.quality.get_ref().as_str() {
                "uncertain" => FlagQuality::Uncertain,
                "bad" => FlagQuality::Bad,
                other => {
                    cx.err(f.quality.span(), p("quality"), format!("`{other}` is not uncertain or bad"));
                    FlagQuality::Bad
                }
            };
            if f.values.get_ref().is_empty() {
                cx.err(f.values.span(), p("values"), "must list at least one value");
            }
            flags.push(Flag { field: f.field.get_ref().clone(), values: f.values.get_ref().clone(), quality });
        }
        lines.push(LineType { name: l.name.get_ref().clone(), pattern, flags });
    }
    let mode = match ins.mode.get_ref().as_str() {
        "stream" => {
            if let Some(p) = raw.poll.first() {
                cx.err(p.send.span(), "poll[0]", "a streaming instrument is not polled (mode = \"stream\")");
            }
            Mode::Stream
        }
        "poll" => {
            if raw.poll.is_empty() {
                cx.err(ins.mode.span(), "poll", "mode = \"poll\" needs at least one [[poll]] command");
            }
            let mut cmds = Vec::new();
            for (k, p) in raw.poll.iter().enumerate() {
                if p.send.get_ref().is_empty() || !p.send.get_ref().is_ascii() {
                    cx.err(p.send.span(), format!("poll[{k}].send"), "must be non-empty ASCII");
                }
                match raw.line.iter().position(|l| l.name.get_ref() == p.line.get_ref()) {
                    Some(li) => cmds.push(PollCommand { send: p.send.get_ref().as_bytes().to_vec(), line: li }),
                    None => cx.err(
                        p.line.span(),
                        format!("poll[{k}].line"),
                        format!("no [[line]] named `{}`", p.line.get_ref()),
                    ),
                }
            }
            Mode::Poll(cmds)
        }
        other => {
            cx.err(ins.mode.span(), "instrument.mode", format!("`{other}` is not poll or stream"));
            Mode::Stream
        }
    };
    Some(Profile { name: ins.name.get_ref().clone(), terminator, max_length, mode, lines })
}
