//! `mimic history`: stored samples of one tag, from the running daemon over its socket
//! when one serves the data directory, else straight from the store file.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::{Context, anyhow, bail};

use crate::historian::{Historian, HistorianOptions};
use crate::ipc::{HistSample, Reply, Request};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
}

/// `1h` / `30m` / `7d` ago, or an RFC 3339 timestamp, as ms since the epoch.
pub fn parse_time(s: &str, now_ms: i64) -> anyhow::Result<i64> {
    Ok(crate::time::parse_ago(s, now_ms)?)
}

pub use crate::time::format_ts;

pub fn run(dir: &Path, tag: &str, since: &str, until: Option<&str>, format: Format) -> anyhow::Result<()> {
    let now = mimic_drivers::now_ms();
    let from = parse_time(since, now)?;
    let to = match until {
        Some(u) => parse_time(u, now)?,
        None => now + 1,
    };
    if from >= to {
        bail!("--since must be before --until");
    }
    let samples = fetch(dir, tag, from, to)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(["ts_ms", "time", "value", "quality"])?;
            for s in &samples {
                let v = s.value.map_or(String::new(), |v| v.to_string());
                w.write_record([s.ts_ms.to_string(), format_ts(s.ts_ms), v, s.quality_text()])?;
            }
            w.flush()?;
        }
        Format::Table => {
            writeln!(out, "{:<24}  {:>16}  quality", "time (UTC)", tag)?;
            for s in &samples {
                let v = s.value.map_or("-".to_string(), |v| format!("{v}"));
                writeln!(out, "{:<24}  {:>16}  {}", format_ts(s.ts_ms), v, s.quality_text())?;
            }
            writeln!(out, "{} samples", samples.len())?;
        }
    }
    out.flush()?;
    Ok(())
}

pub(crate) fn fetch(dir: &Path, tag: &str, from: i64, to: i64) -> anyhow::Result<Vec<HistSample>> {
    let sock = dir.join(crate::ipc::SOCKET_NAME);
    if let Ok(stream) = UnixStream::connect(&sock) {
        return via_daemon(stream, tag, from, to).with_context(|| format!("asking the daemon at {}", sock.display()));
    }
    let path = dir.join(crate::daemon::STORE_NAME);
    if !path.exists() {
        bail!("no store at {} (use --data DIR or --site FILE)", path.display());
    }
    let h =
        Historian::open(&path, HistorianOptions::default()).with_context(|| format!("opening {}", path.display()))?;
    let id = h.lookup(tag)?.ok_or_else(|| anyhow!("no samples of tag `{tag}` in {}", path.display()))?;
    Ok(h.query(id, from, to)?.iter().map(crate::daemon::socket::hist_sample).collect())
}

fn via_daemon(stream: UnixStream, tag: &str, from: i64, to: i64) -> anyhow::Result<Vec<HistSample>> {
    exchange(stream, &Request::History { tag: tag.into(), from_ms: from, to_ms: to }, |reply| match reply {
        Reply::History { samples, .. } => Some(samples),
        _ => None,
    })
}

/// Send one act to the daemon serving `dir` and return its answer.
pub fn act(dir: &Path, act: crate::ipc::Act) -> anyhow::Result<String> {
    let sock = dir.join(crate::ipc::SOCKET_NAME);
    let stream = UnixStream::connect(&sock)
        .with_context(|| format!("no mimic daemon at {} (is it running?)", sock.display()))?;
    exchange(stream, &Request::Act { act }, |reply| match reply {
        Reply::Done { message } => Some(message),
        _ => None,
    })
}

/// One request, then replies until `pick` takes one (an error reply ends it).
pub(crate) fn exchange<T>(stream: UnixStream, req: &Request, pick: impl Fn(Reply) -> Option<T>) -> anyhow::Result<T> {
    let mut w = stream.try_clone()?;
    let mut r = BufReader::new(stream);
    let mut line = serde_json::to_vec(req)?;
    line.push(b'\n');
    w.write_all(&line)?;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            bail!("daemon closed the connection");
        }
        match serde_json::from_str::<Reply>(&line)? {
            Reply::Error { message } => bail!("{message}"),
            reply => {
                if let Some(t) = pick(reply) {
                    return Ok(t);
                }
            }
        }
    }
}
