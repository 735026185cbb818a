//! Line-based ASCII instruments (weigh scales, flow meters, gas analysers) on a serial port.
//!
//! What an instrument says is described by a [`Profile`] (see [`profile`]): line framing,
//! one pattern with named fields per kind of line, flags that turn a reading Uncertain or
//! Bad, and either poll commands or streaming. A tag reads one named field as a number.
//!
//! The driver owns its port. On connect it starts a reader task that frames the incoming
//! bytes into lines ([`framer`]) and hands them over a channel; a poll then either sends
//! the profile's commands and takes the next line as each answer, or (streaming) takes the
//! lines that arrived since the last poll, waiting up to the timeout for one. A garbled,
//! truncated, over-long or run-together line makes that reading Bad (decode error) and is
//! counted; the next good line recovers. Error texts quote device bytes only escaped.

pub mod framer;
pub mod profile;

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, WriteHalf};
use tokio::sync::mpsc;
use tokio_serial::SerialStream;

pub use framer::{Frame, LineFramer, Terminator};
pub use profile::{FieldError, Flag, FlagQuality, LineError, LineType, Mode, Parsed, PollCommand, Profile, parse_line};

use crate::device::{Driver, DriverError, ReadSummary};
use crate::modbus::apply_scale;
use crate::quality::{Quality, Reading, Reason};
use crate::serial::{SerialSettings, escape_bytes};
use crate::write::WriteOutcome;

/// A tag's place in an instrument's output.
#[derive(Clone, Debug, PartialEq)]
pub struct AsciiPoint {
    /// Index of the line type in the profile.
    pub line: usize,
    /// Named field of that line type.
    pub field: String,
    /// engineering = number * scale + offset
    pub scale: f64,
    pub offset: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AsciiConfig {
    pub serial: SerialSettings,
    pub profile: Arc<Profile>,
    /// How long an answer (poll) or the next line (streaming) may take.
    pub timeout: Duration,
}

pub struct AsciiDriver {
    cfg: AsciiConfig,
    points: Vec<AsciiPoint>,
    writer: Option<WriteHalf<SerialStream>>,
    lines: Option<mpsc::Receiver<Frame>>,
}

impl AsciiDriver {
    pub fn new(cfg: AsciiConfig, points: Vec<AsciiPoint>) -> Self {
        AsciiDriver { cfg, points, writer: None, lines: None }
    }

    fn drop_link(&mut self) {
        self.writer = None;
        self.lines = None;
    }
}

/// The outcome of one line, for the points of one line type.
#[derive(Clone, Debug)]
enum Seen {
    Nothing,
    Good(Parsed),
    Garbled,
}

/// Readings for `points` (indices) of line type `line` from what was seen.
fn readings(
    points: &[AsciiPoint],
    wanted: &[usize],
    line: usize,
    seen: &Seen,
    summary: &mut ReadSummary,
    out: &mut Vec<Reading>,
) {
    let recv = crate::now_ms();
    for &i in wanted.iter().filter(|&&i| points.get(i).is_some_and(|p| p.line == line)) {
        let p = &points[i];
        let r = match seen {
            Seen::Nothing => Reading::bad(i, Reason::Timeout, recv),
            Seen::Garbled => Reading::bad(i, Reason::DecodeError, recv),
            Seen::Good(parsed) => match parsed.field(&p.field).and_then(profile::parse_number) {
                None => {
                    summary.decode_errors += 1;
                    Reading::bad(i, Reason::DecodeError, recv)
                }
                Some(v) => {
                    let value = apply_scale(v, p.scale, p.offset);
                    match parsed.flag {
                        None => Reading::good(i, value, recv),
                        Some(FlagQuality::Uncertain) => {
                            Reading { quality: Quality::Uncertain(Reason::DeviceFlag), ..Reading::good(i, value, recv) }
                        }
                        Some(FlagQuality::Bad) => Reading::bad(i, Reason::DeviceFlag, recv),
                    }
                }
            },
        };
        out.push(r);
    }
}

impl AsciiDriver {
    /// Judge one frame; garbled ones are counted and described in `last`.
    fn judge(&self, frame: &Frame, summary: &mut ReadSummary, last: &mut Option<String>) -> Option<Parsed> {
        let parsed = match frame {
            Frame::Line(bytes) => parse_line(&self.cfg.profile, bytes),
            Frame::TooLong(head) => Err(LineError::TooLong(escape_bytes(head, 32))),
        };
        match parsed {
            Ok(p) => Some(p),
            Err(e) => {
                summary.garbled += 1;
                *last = Some(e.to_string());
                None
            }
        }
    }
}

impl Driver for AsciiDriver {
    /// The points of the group.
    type Plan = Vec<usize>;

    fn endpoint(&self) -> String {
        format!("{} ({})", self.cfg.serial, self.cfg.profile.name)
    }

    fn protocol(&self) -> &'static str {
        "ascii"
    }

    fn plan(&self, points: &[usize]) -> Self::Plan {
        points.to_vec()
    }

    fn is_connected(&self) -> bool {
        self.writer.is_some()
    }

    async fn connect(&mut self) -> Result<(), DriverError> {
        self.drop_link();
        let port = self
            .cfg
            .serial
            .open()
            .map_err(|e| DriverError::Connect { endpoint: self.cfg.serial.port.clone(), message: e.to_string() })?;
        let (mut rd, wr) = tokio::io::split(port);
        let (tx, rx) = mpsc::channel(256);
        let mut framer = LineFramer::new(self.cfg.profile.terminator, self.cfg.profile.max_length);
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let mut frames = Vec::new();
            loop {
                match rd.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        framer.push(&buf[..n], &mut frames);
                        for f in frames.drain(..) {
                            // a full queue means nobody is reading: drop, never block the port
                            if let Err(mpsc::error::TrySendError::Closed(_)) = tx.try_send(f) {
                                return;
                            }
                        }
                    }
                }
            }
        });
        self.writer = Some(wr);
        self.lines = Some(rx);
        Ok(())
    }

    async fn read(&mut self, plan: &Self::Plan, out: &mut Vec<Reading>) -> Result<ReadSummary, DriverError> {
        let mut summary = ReadSummary::default();
        let n_lines = self.cfg.profile.lines.len();
        let needed: Vec<bool> =
            (0..n_lines).map(|l| plan.iter().any(|&i| self.points.get(i).is_some_and(|p| p.line == l))).collect();
        let mut seen: Vec<Seen> = vec![Seen::Nothing; n_lines];
        let mut last_problem = None;
        let timeout = self.cfg.timeout;
        let (Some(rx), Some(_)) = (self.lines.as_mut(), self.writer.as_ref()) else {
            let recv = crate::now_ms();
            out.extend(plan.iter().map(|&i| Reading::bad(i, Reason::CommFailure, recv)));
            return Err(DriverError::Link("port not open".into()));
        };
        let mut closed = false;
        let mut frames = Vec::new();
        match self.cfg.profile.mode.clone() {
            Mode::Stream => {
                while let Ok(f) = rx.try_recv() {
                    frames.push(f);
                }
                if frames.is_empty() {
                    match tokio::time::timeout(timeout, rx.recv()).await {
                        Ok(Some(f)) => frames.push(f),
                        Ok(None) => closed = true,
                        Err(_) => {}
                    }
                    while let Ok(f) = rx.try_recv() {
                        frames.push(f);
                    }
                }
                let frames = std::mem::take(&mut frames);
                for f in &frames {
                    match self.judge(f, &mut summary, &mut last_problem) {
                        Some(p) => {
                            let l = p.line;
                            seen[l] = Seen::Good(p);
                        }
                        // which kind of line it was is unknown: every kind's reading is Bad
                        None => seen.iter_mut().for_each(|s| *s = Seen::Garbled),
                    }
                }
            }
            Mode::Poll(commands) => {
                for cmd in commands.iter().filter(|c| needed.get(c.line).copied().unwrap_or(false)) {
                    let Some(rx) = self.lines.as_mut() else { break };
                    // anything waiting is a late answer to an earlier poll: not this one's
                    while rx.try_recv().is_ok() {}
                    let Some(wr) = self.writer.as_mut() else { break };
                    if let Err(e) = wr.write_all(&cmd.send).await {
                        closed = true;
                        last_problem = Some(e.to_string());
                        break;
                    }
                    summary.requests += 1;
                    let Some(rx) = self.lines.as_mut() else { break };
                    let frame = match tokio::time::timeout(timeout, rx.recv()).await {
                        Ok(Some(f)) => f,
                        Ok(None) => {
                            closed = true;
                            break;
                        }
                        Err(_) => {
                            summary.timeouts += 1;
                            continue;
                        }
                    };
                    match self.judge(&frame, &mut summary, &mut last_problem) {
                        Some(p) => {
                            let l = p.line;
                            seen[l] = Seen::Good(p);
                        }
                        None => seen[cmd.line] = Seen::Garbled,
                    }
                }
            }
        }
        if matches!(self.cfg.profile.mode, Mode::Stream) && seen.iter().all(|s| matches!(s, Seen::Nothing)) {
            summary.timeouts += 1;
        }
        if closed {
            self.drop_link();
            let recv = crate::now_ms();
            out.extend(plan.iter().map(|&i| Reading::bad(i, Reason::CommFailure, recv)));
            return Err(DriverError::Link(last_problem.unwrap_or_else(|| "port closed".into())));
        }
        for (l, s) in seen.iter().enumerate() {
            if needed[l] {
                readings(&self.points, plan, l, s, &mut summary, out);
            }
        }
        // points naming a line type the profile does not have (the loader prevents it)
        let recv = crate::now_ms();
        for &i in plan.iter().filter(|&&i| self.points.get(i).is_none_or(|p| p.line >= n_lines)) {
            out.push(Reading::bad(i, Reason::DecodeError, recv));
        }
        if let Some(m) = last_problem {
            tracing::debug!(port = %self.cfg.serial.port, "{m}");
        }
        Ok(summary)
    }

    async fn write(&mut self, _point: usize, _value: f64, _tolerance: f64) -> WriteOutcome {
        WriteOutcome::Invalid { message: "ASCII instruments are read-only in mimic".into() }
    }
}
