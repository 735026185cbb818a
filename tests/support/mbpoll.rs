//! `mbpoll`, an independent Modbus master, over TCP (a port on 127.0.0.1) or RTU (a
//! serial device at 19200 8N1), with its output parsed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::peers::require_tool;
use super::process::{Run, run};

/// Where mbpoll talks to: a TCP port on 127.0.0.1 or a serial device.
#[derive(Clone, Copy)]
pub enum Link<'a> {
    Tcp(u16),
    Rtu(&'a Path),
}

impl From<u16> for Link<'_> {
    fn from(port: u16) -> Self {
        Link::Tcp(port)
    }
}

impl<'a> From<&'a Path> for Link<'a> {
    fn from(dev: &'a Path) -> Self {
        Link::Rtu(dev)
    }
}

impl<'a> From<&'a PathBuf> for Link<'a> {
    fn from(dev: &'a PathBuf) -> Self {
        Link::Rtu(dev)
    }
}

/// `mbpoll -a UNIT -1 -q -0 ARGS... TARGET [VALUES...]` (one poll, quiet, 0-based
/// references), bounded by 20 s: `-m tcp -o 2 … 127.0.0.1 -p PORT` or
/// `-m rtu -b 19200 -P none -o 1 … DEVICE`.
pub fn mbpoll<'a>(link: impl Into<Link<'a>>, unit: u8, args: &[&str], values: &[&str]) -> Run {
    let mut cmd = Command::new(require_tool("mbpoll"));
    let unit = unit.to_string();
    match link.into() {
        Link::Tcp(port) => {
            cmd.args(["-m", "tcp", "-a", &unit, "-1", "-q", "-0", "-o", "2"]).args(args);
            cmd.arg("127.0.0.1").args(["-p", &port.to_string()]);
        }
        Link::Rtu(dev) => {
            cmd.args(["-m", "rtu", "-b", "19200", "-P", "none", "-a", &unit, "-1", "-q", "-0", "-o", "1"]).args(args);
            cmd.arg(dev);
        }
    }
    cmd.args(values);
    run(cmd, Duration::from_secs(20))
}

/// [`mbpoll`] that must fail (`what` names the request in the message); its output.
pub fn refused<'a>(link: impl Into<Link<'a>>, unit: u8, args: &[&str], values: &[&str], what: &str) -> Run {
    let r = mbpoll(link, unit, args, values);
    assert!(!r.ok(), "{what} must fail: {r}");
    r
}

/// Parses mbpoll's `[<ref>]: \t<value>` lines into (ref, value text).
pub fn parse(out: &str) -> Vec<(u16, String)> {
    out.lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix('[')?;
            let (r, v) = rest.split_once("]:")?;
            Some((r.trim().parse().ok()?, v.trim().to_string()))
        })
        .collect()
}

/// Reads `count` registers of `table` (`3` input, `4` holding) from `start` as u16.
pub fn read_u16<'a>(link: impl Into<Link<'a>>, unit: u8, table: &str, start: u16, count: u16) -> Vec<u16> {
    let r = mbpoll(link, unit, &["-t", table, "-r", &start.to_string(), "-c", &count.to_string()], &[]);
    assert!(r.ok(), "mbpoll read unit {unit} {table}:{start}+{count} failed: {r}");
    let vals = parse(&r.stdout);
    assert_eq!(vals.len(), usize::from(count), "expected {count} values: {r}");
    vals.iter()
        .enumerate()
        .map(|(i, (reference, v))| {
            assert_eq!(usize::from(*reference), usize::from(start) + i, "unexpected reference order: {r}");
            // a word >= 0x8000 prints as `<unsigned> (<signed>)`
            let first = v.split_whitespace().next().unwrap_or("");
            first.parse::<u16>().unwrap_or_else(|e| panic!("bad u16 {v:?}: {e}\n{r}"))
        })
        .collect()
}
