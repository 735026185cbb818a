//! One task per serial line: it alone owns the port and carries out one transaction at a
//! time for every unit on the line, in arrival order.
//!
//! Devices hold a cloneable [`LineHandle`] and send requests over a channel. The task
//! opens the port on demand (and again after an I/O error), keeps the line silent for at
//! least the inter-frame gap before every request, drops whatever arrived unasked before
//! sending (counted as noise of that transaction), waits for the answer for the wire time
//! of the request plus the unit's own timeout, and hands back the decoded answer with
//! what noise was seen. A unit that does not answer costs exactly its own timeout.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_serial::SerialStream;

use super::frame::{Answer, MAX_FRAME, Request, Scan, scan};
use crate::serial::{SerialSettings, escape_bytes};

/// Settings of one line.
#[derive(Clone, Debug, PartialEq)]
pub struct LineConfig {
    pub serial: SerialSettings,
    /// Silence kept before each request; `None`: the standard's 3.5 characters, or
    /// 1.75 ms above 19200 baud.
    pub frame_gap: Option<Duration>,
}

impl LineConfig {
    /// The silent interval before every request (never shorter than the standard's).
    pub fn gap(&self) -> Duration {
        self.frame_gap.unwrap_or_else(|| standard_gap(&self.serial))
    }
}

/// 3.5 character times, fixed at 1.75 ms above 19200 baud (Modbus over serial line, 2.5.1.1).
pub fn standard_gap(s: &SerialSettings) -> Duration {
    if s.baud > 19200 {
        Duration::from_micros(1750)
    } else {
        let nanos = u64::from(s.char_bits()) * 3_500_000_000 / u64::from(s.baud.max(1));
        Duration::from_nanos(nanos)
    }
}

/// Why a transaction brought no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("serial port: {0}")]
    Port(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("garbled answer: {0}")]
    Garbled(String),
}

/// Noise seen during one transaction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Noise {
    /// Bytes that were not part of the answer (stray input before the request, leading
    /// garbage, late answers of other units).
    pub stray_bytes: usize,
    /// Frames from this unit that failed their CRC.
    pub crc_errors: usize,
}

impl Noise {
    pub fn any(&self) -> bool {
        self.stray_bytes > 0 || self.crc_errors > 0
    }
}

/// What one transaction gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Exchange {
    pub result: Result<Answer, LineError>,
    pub noise: Noise,
}

struct Job {
    unit: u8,
    request: Request,
    timeout: Duration,
    reply: oneshot::Sender<Exchange>,
}

/// A cloneable way to use one line; the task ends when every handle is dropped.
#[derive(Clone, Debug)]
pub struct LineHandle {
    tx: mpsc::Sender<Job>,
}

impl LineHandle {
    /// Start the task owning this line. Must run inside a tokio runtime.
    pub fn spawn(cfg: LineConfig) -> LineHandle {
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(run_line(cfg, rx));
        LineHandle { tx }
    }

    /// One request to `unit` and its answer.
    pub async fn transact(&self, unit: u8, request: Request, timeout: Duration) -> Exchange {
        let (reply, rx) = oneshot::channel();
        let gone = || Exchange { result: Err(LineError::Port("line task stopped".into())), noise: Noise::default() };
        if self.tx.send(Job { unit, request, timeout, reply }).await.is_err() {
            return gone();
        }
        rx.await.unwrap_or_else(|_| gone())
    }
}

async fn run_line(cfg: LineConfig, mut jobs: mpsc::Receiver<Job>) {
    let gap = cfg.gap();
    // Longest silence inside one answer before we decide it has ended (garbage that
    // never becomes a frame): well above USB adapters' latency and 20 characters.
    let idle = cfg.serial.wire_time(20).max(Duration::from_millis(30));
    let mut port: Option<SerialStream> = None;
    let mut quiet_from = Instant::now();
    while let Some(job) = jobs.recv().await {
        if port.is_none() {
            match cfg.serial.open() {
                Ok(p) => {
                    port = Some(p);
                    quiet_from = Instant::now();
                }
                Err(m) => {
                    let _ = job
                        .reply
                        .send(Exchange { result: Err(LineError::Port(m.to_string())), noise: Noise::default() });
                    continue;
                }
            }
        }
        let Some(p) = port.as_mut() else { continue };
        let ex = transact(p, &cfg.serial, gap, idle, quiet_from, &job).await;
        quiet_from = Instant::now();
        if matches!(ex.result, Err(LineError::Port(_))) {
            port = None;
        }
        let _ = job.reply.send(ex);
    }
}

/// Wait until `at`: coarse sleep, then yield until the instant has passed, so that the
/// gap is never shorter than asked and not much longer (timers tick in milliseconds).
async fn wait_until(at: Instant) {
    let coarse = at.checked_sub(Duration::from_millis(2));
    if let Some(c) = coarse
        && c > Instant::now()
    {
        tokio::time::sleep_until(c).await;
    }
    while Instant::now() < at {
        tokio::task::yield_now().await;
    }
}

async fn transact(
    port: &mut SerialStream,
    serial: &SerialSettings,
    gap: Duration,
    idle: Duration,
    quiet_from: Instant,
    job: &Job,
) -> Exchange {
    let mut noise = Noise::default();
    let mut buf = [0u8; 512];
    // Whatever is waiting now was not asked for: count it and drop it.
    loop {
        match port.try_read(&mut buf) {
            Ok(0) => break,
            Ok(n) => noise.stray_bytes += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Exchange { result: Err(LineError::Port(e.to_string())), noise },
        }
    }
    wait_until(quiet_from + gap).await;

    let frame = job.request.to_frame(job.unit);
    if let Err(e) = port.write_all(&frame).await {
        return Exchange { result: Err(LineError::Port(e.to_string())), noise };
    }
    let sent = Instant::now() + serial.wire_time(frame.len());
    let deadline = sent + job.timeout;
    let function = job.request.function();
    let mut got: Vec<u8> = Vec::with_capacity(64);
    let mut last_byte: Option<Instant> = None;
    loop {
        let until = last_byte.map_or(deadline, |t| deadline.min(t + idle));
        match tokio::time::timeout_at(until, port.read(&mut buf)).await {
            Ok(Ok(0)) => return Exchange { result: Err(LineError::Port("port closed".into())), noise },
            Ok(Ok(n)) => {
                got.extend_from_slice(&buf[..n]);
                last_byte = Some(Instant::now());
                match scan(&got, job.unit, function) {
                    Scan::Found { offset, len, answer, crc_errors } => {
                        noise.crc_errors += crc_errors;
                        noise.stray_bytes += offset + (got.len() - offset - len);
                        return Exchange { result: Ok(answer), noise };
                    }
                    Scan::Nothing { .. } | Scan::NeedMore { .. } if got.len() > 4 * MAX_FRAME => {
                        return garbled(got, noise, job.unit, function);
                    }
                    _ => {}
                }
            }
            Ok(Err(e)) => return Exchange { result: Err(LineError::Port(e.to_string())), noise },
            Err(_) if got.is_empty() => {
                return Exchange { result: Err(LineError::Timeout(job.timeout)), noise };
            }
            Err(_) => return garbled(got, noise, job.unit, function),
        }
    }
}

fn garbled(got: Vec<u8>, mut noise: Noise, unit: u8, function: u8) -> Exchange {
    let crc = match scan(&got, unit, function) {
        Scan::Found { crc_errors, .. } | Scan::NeedMore { crc_errors } | Scan::Nothing { crc_errors } => crc_errors,
    };
    noise.crc_errors += crc;
    if crc == 0 {
        noise.stray_bytes += got.len();
    }
    let what = if crc > 0 { "CRC error" } else { "no frame" };
    let msg = format!("{what} in {} bytes: {}", got.len(), escape_bytes(&got, 24));
    Exchange { result: Err(LineError::Garbled(msg)), noise }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serial::Parity;

    #[test]
    fn standard_gaps() {
        let s = SerialSettings { port: "x".into(), baud: 19200, data_bits: 8, parity: Parity::Even, stop_bits: 1 };
        // 3.5 × 11 bits at 19200 = 2.005 ms
        assert_eq!(standard_gap(&s).as_micros(), 2005);
        let fast = SerialSettings { baud: 115_200, ..s.clone() };
        assert_eq!(standard_gap(&fast), Duration::from_micros(1750));
        let slow = SerialSettings { baud: 9600, parity: Parity::None, ..s };
        assert_eq!(standard_gap(&slow).as_micros(), 3645);
    }
}
