//! `mimic probe modbus tcp://host:port --unit N` (or `rtu:///dev/ttyUSB0 --baud … --parity …`):
//! scan a Modbus device's tables, read only, and propose a site-file fragment.
//!
//! The summary (ranges per table, exceptions, timeouts) goes to stderr; the proposal (a
//! `[[device]]` entry and one `[[tag]]` per register or bit found, the value read and
//! any float/text hints as comments) to stdout or `--out FILE`. Every string in the
//! proposal goes through the TOML encoder; comments hold only numbers we format and
//! escaped printable ASCII, so nothing a device answers can break the file or a terminal.
//!
//! Over TCP the probe then sends a burst of reads of one valid address at once, on a
//! connection of its own: a device that answers them all gets `max_in_flight` proposed, one
//! that answers only the first (as many do) keeps one request at a time.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use mimic_drivers::modbus::{ByteOrder, Table};
use mimic_drivers::probe::guess::{Hint, hints};
use mimic_drivers::probe::{
    BURST, ProbeError, ProbeOptions, ProbeReport, RtuReader, TableReport, TcpReader, Why, exception, pipelining, probe,
};
use mimic_drivers::rtu::{LineConfig, LineHandle};
use mimic_drivers::serial::{Parity, SerialSettings};
use mimic_views::sanitize;

#[derive(Debug, clap::Subcommand)]
pub enum ProbeCommand {
    /// Scan a Modbus TCP or RTU device's tables (read only) and propose a site-file fragment.
    Modbus(ModbusProbeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ModbusProbeArgs {
    /// tcp://host:port (or host:port), or rtu://PORT, e.g. rtu:///dev/ttyUSB0.
    pub target: String,
    /// Unit id (TCP 0..=255, RTU 1..=247).
    #[arg(long, default_value_t = 1)]
    pub unit: u8,
    /// Tables to scan, comma-separated: hr, ir, coil (or co), di.
    #[arg(long, value_delimiter = ',', default_value = "hr,ir,coil,di")]
    pub tables: Vec<String>,
    /// First address scanned in each table (0-based protocol address).
    #[arg(long, default_value_t = 0)]
    pub start: u16,
    /// Addresses scanned in each table.
    #[arg(long, default_value_t = 1000)]
    pub count: u32,
    /// Registers per request (1..=125).
    #[arg(long, default_value_t = 16)]
    pub block: u16,
    /// Bits per request (1..=2000).
    #[arg(long, default_value_t = 64)]
    pub bit_block: u16,
    /// Silence between requests, so that a busy PLC is not flooded.
    #[arg(long, default_value = "20ms", value_parser = super::parse_duration_arg)]
    pub pause: Duration,
    /// Per-request timeout.
    #[arg(long, default_value = "1s", value_parser = super::parse_duration_arg)]
    pub timeout: Duration,
    /// Further tries of a request that got no answer.
    #[arg(long, default_value_t = 1)]
    pub retries: u32,
    /// Requests in a row without a usable answer after which the probe stops.
    #[arg(long, default_value_t = 3)]
    pub max_timeouts: u32,
    /// RTU: baud rate (default 19200).
    #[arg(long)]
    pub baud: Option<u32>,
    /// RTU: parity N, E or O (default E).
    #[arg(long)]
    pub parity: Option<String>,
    /// RTU: data bits 7 or 8 (default 8).
    #[arg(long)]
    pub data_bits: Option<u8>,
    /// RTU: stop bits 1 or 2 (default 1).
    #[arg(long)]
    pub stop_bits: Option<u8>,
    /// Name of the device in the proposal.
    #[arg(long, default_value = "probed")]
    pub name: String,
    /// Prefix of the proposed tag names (e.g. `PLC1.` gives `PLC1.hr_00012`).
    #[arg(long, default_value = "")]
    pub tag_prefix: String,
    /// Word/byte order used to spot float32 pairs: ABCD, CDAB, BADC or DCBA.
    #[arg(long, default_value = "ABCD")]
    pub order: String,
    /// Write the proposal to this file instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Propose the tags as a `[[template]]` of this name, stamped onto the device by one
    /// `[[instance]]` (prefix `--tag-prefix`): more devices of the kind are then one
    /// `[[instance]]` each.
    #[arg(long, value_name = "NAME")]
    pub as_template: Option<String>,
}

/// Where the device is.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Tcp { endpoint: String },
    Rtu { serial: SerialSettings },
}

/// Everything the proposal needs to say about the device.
#[derive(Clone, Debug)]
pub struct Proposal<'a> {
    pub command: &'a str,
    pub target: &'a Target,
    pub unit: u8,
    pub timeout: Duration,
    pub device: &'a str,
    pub tag_prefix: &'a str,
    pub order: ByteOrder,
    /// Modbus TCP: how many of a burst of [`BURST`] pipelined reads the device answered.
    pub pipelined: Option<usize>,
    /// Propose a `[[template]]` of this name and an `[[instance]]` of it.
    pub template: Option<&'a str>,
}

pub fn run(cmd: ProbeCommand) -> anyhow::Result<()> {
    match cmd {
        ProbeCommand::Modbus(args) => modbus(args),
    }
}

fn parse_tables(names: &[String]) -> anyhow::Result<Vec<Table>> {
    let mut out = Vec::new();
    for n in names {
        let t = match n.trim() {
            "co" => Some(Table::Coil),
            other => Table::from_short(other),
        }
        .ok_or_else(|| anyhow!("unknown table `{}` (use hr, ir, coil, di)", sanitize(n)))?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

fn parse_target(a: &ModbusProbeArgs) -> anyhow::Result<Target> {
    let serial_flag = a.baud.is_some() || a.parity.is_some() || a.data_bits.is_some() || a.stop_bits.is_some();
    if let Some(port) = a.target.strip_prefix("rtu://") {
        if port.is_empty() || port.chars().any(char::is_control) {
            bail!("`{}` names no serial port (write e.g. rtu:///dev/ttyUSB0)", sanitize(&a.target));
        }
        if !(1..=247).contains(&a.unit) {
            bail!("unit id {} is outside 1..=247 on a serial line", a.unit);
        }
        let parity = match &a.parity {
            None => Parity::Even,
            Some(p) => Parity::from_letter(p).ok_or_else(|| anyhow!("--parity `{}` is not N, E or O", sanitize(p)))?,
        };
        let baud = a.baud.unwrap_or(19200);
        if !(50..=4_000_000).contains(&baud) {
            bail!("--baud {baud} is outside 50..=4000000");
        }
        let data_bits = a.data_bits.unwrap_or(8);
        let stop_bits = a.stop_bits.unwrap_or(1);
        if !matches!(data_bits, 7 | 8) || !matches!(stop_bits, 1 | 2) {
            bail!("--data-bits must be 7 or 8 and --stop-bits 1 or 2");
        }
        return Ok(Target::Rtu {
            serial: SerialSettings { port: port.to_string(), baud, data_bits, parity, stop_bits },
        });
    }
    let endpoint = a.target.strip_prefix("tcp://").unwrap_or(&a.target).trim_end_matches('/');
    let ok = endpoint
        .rsplit_once(':')
        .is_some_and(|(h, port)| !h.is_empty() && !h.contains('/') && port.parse::<u16>().is_ok_and(|n| n > 0));
    if !ok || endpoint.chars().any(char::is_control) {
        bail!("`{}` is neither tcp://host:port nor rtu://PORT (e.g. tcp://192.168.1.20:502)", sanitize(&a.target));
    }
    if serial_flag {
        bail!("--baud, --parity, --data-bits and --stop-bits apply only to rtu:// targets");
    }
    Ok(Target::Tcp { endpoint: endpoint.to_string() })
}

fn modbus(a: ModbusProbeArgs) -> anyhow::Result<()> {
    let target = parse_target(&a)?;
    let order = ByteOrder::from_name(&a.order)
        .filter(|_| a.order.len() == 4)
        .ok_or_else(|| anyhow!("--order `{}` is not ABCD, CDAB, BADC or DCBA", sanitize(&a.order)))?;
    if a.name.trim().is_empty() || a.name.chars().any(char::is_control) {
        bail!("--name must be a non-empty name without control characters");
    }
    if a.tag_prefix.chars().any(char::is_control) {
        bail!("--tag-prefix must not contain control characters");
    }
    if let Some(t) = &a.as_template
        && (t.trim().is_empty() || t.chars().any(char::is_control))
    {
        bail!("--as-template must be a non-empty name without control characters");
    }
    let opts = ProbeOptions {
        tables: parse_tables(&a.tables)?,
        start: a.start,
        count: a.count,
        register_block: a.block,
        bit_block: a.bit_block,
        pause: a.pause,
        retries: a.retries,
        max_failures: a.max_timeouts,
        ..ProbeOptions::default()
    };
    opts.check().map_err(|e| anyhow!("{e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("async runtime")?;
    let started = Instant::now();
    let what = describe(&target, a.unit);
    eprintln!(
        "mimic probe: {what}: tables {}, addresses {}..={}, {} registers / {} bits a request, {:?} apart",
        opts.tables.iter().map(|t| t.short()).collect::<Vec<_>>().join(","),
        opts.start,
        u32::from(opts.start) + opts.count - 1,
        opts.register_block,
        opts.bit_block,
        opts.pause
    );
    let result = rt.block_on(async {
        match &target {
            Target::Tcp { endpoint } => {
                let mut reader = TcpReader::new(endpoint, a.unit, a.timeout);
                reader.connect().await.map_err(|e| anyhow!("cannot reach {what}: {e}"))?;
                Ok::<_, anyhow::Error>(probe(&mut reader, &opts).await)
            }
            Target::Rtu { serial } => {
                serial.open().map_err(|e| anyhow!("{}", sanitize(&e.to_string())))?;
                let line = LineHandle::spawn(LineConfig { serial: serial.clone(), frame_gap: None });
                let mut reader = RtuReader::new(line, a.unit, a.timeout);
                Ok(probe(&mut reader, &opts).await)
            }
        }
    })?;
    let report = match result {
        Ok(r) => r,
        Err(ProbeError::NoAnswer(m)) => bail!(
            "{what} does not answer: {}; nothing found (check the address, unit id{})",
            sanitize(&m),
            if matches!(target, Target::Rtu { .. }) { ", baud rate, parity and wiring" } else { "" }
        ),
        Err(e) => bail!("{e}"),
    };
    eprint!("{}", summary(&report, started.elapsed()));
    // Modbus TCP: does the device answer several requests sent at once?
    let first = report.tables.iter().find_map(|t| t.found.first().map(|f| (t.table, f.start)));
    let pipelined = match (&target, first) {
        (Target::Tcp { endpoint }, Some((table, address))) => {
            let n = rt.block_on(pipelining(endpoint, a.unit, a.timeout, table, address));
            eprintln!(
                "pipelining: {n} of a burst of {BURST} reads sent at once answered{}",
                if n == usize::from(BURST) { "" } else { " (keep max_in_flight = 1)" }
            );
            Some(n)
        }
        _ => None,
    };
    let command = probe_command(&a);
    let proposal = Proposal {
        command: &command,
        target: &target,
        unit: a.unit,
        timeout: a.timeout,
        device: &a.name,
        tag_prefix: &a.tag_prefix,
        order,
        pipelined,
        template: a.as_template.as_deref(),
    };
    let text = fragment(&report, &proposal);
    match &a.out {
        Some(path) => {
            std::fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("proposal written to {}", path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}

fn describe(target: &Target, unit: u8) -> String {
    match target {
        Target::Tcp { endpoint } => format!("modbus-tcp {} unit {unit}", sanitize(endpoint)),
        Target::Rtu { serial } => format!("modbus-rtu {} unit {unit}", sanitize(&serial.to_string())),
    }
}

/// The command line as given (sanitised), for the proposal's header.
fn probe_command(a: &ModbusProbeArgs) -> String {
    let args: Vec<String> = std::env::args().skip(1).map(|s| sanitize(&s).replace(['\n', '\r'], " ")).collect();
    if args.is_empty() { format!("probe modbus {} --unit {}", sanitize(&a.target), a.unit) } else { args.join(" ") }
}

fn span(first: u16, last: u16) -> String {
    if first == last { first.to_string() } else { format!("{first}..={last}") }
}

/// The human summary: ranges per table, what was skipped, counters.
pub fn summary(r: &ProbeReport, took: Duration) -> String {
    let mut s = String::new();
    for t in &r.tables {
        let _ = write!(s, "  {:<5}", t.table.short());
        if t.unsupported {
            s.push_str("not supported (illegal function)\n");
            continue;
        }
        if t.found.is_empty() {
            s.push_str("nothing found");
        } else {
            let ranges: Vec<String> = t.ranges().iter().map(|&(a, b)| span(a, b)).collect();
            let _ = write!(s, "{} ({} {})", ranges.join(", "), t.valid_count(), unit_word(t));
        }
        s.push('\n');
        for k in &t.skipped {
            let why = match k.why {
                Why::NoAnswer => "no answer".to_string(),
                Why::Busy => "device busy through every retry".to_string(),
                Why::Exception(c) => format!("exception {c} ({})", exception::name(c)),
            };
            let last = u32::from(k.start) + u32::from(k.count) - 1;
            let _ = writeln!(s, "        unknown {}..={last}: {why}", k.start);
        }
    }
    let _ = writeln!(
        s,
        "{} requests ({} answered), {} timeouts, {} link failures, {} retries, {:.1} s",
        r.requests,
        r.answered,
        r.timeouts,
        r.failures,
        r.retries,
        took.as_secs_f64()
    );
    if !r.exceptions.is_empty() {
        let list: Vec<String> =
            r.exceptions.iter().map(|(c, n)| format!("{c} {} × {n}", exception::name(*c))).collect();
        let _ = writeln!(s, "exceptions: {}", list.join(", "));
    }
    if let Some(why) = &r.stopped {
        let _ = writeln!(s, "stopped early, the device stopped answering: {}", sanitize(why));
    }
    s
}

fn unit_word(t: &TableReport) -> &'static str {
    if t.table.is_bits() { "bits" } else { "registers" }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn order_name(o: ByteOrder) -> &'static str {
    match o {
        ByteOrder::Abcd => "ABCD",
        ByteOrder::Cdab => "CDAB",
        ByteOrder::Badc => "BADC",
        ByteOrder::Dcba => "DCBA",
    }
}

/// The proposed `[[device]]` and `[[tag]]` entries.
pub fn fragment(r: &ProbeReport, p: &Proposal<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Proposed by `mimic {}`.", sanitize(p.command).replace('`', "'"));
    s.push_str(
        "# One tag per register (u16) or bit (bool) found, the value read as a comment, hints\n\
         # for likely f32 pairs and text. Add a [site] table or paste into a site file, then\n\
         # `mimic check` it. Nothing was written to the device.\n\n",
    );
    device_entry(&mut s, p);
    if let Some(name) = p.template {
        let _ = writeln!(
            s,
            "\n[[instance]]\ntemplate = {}\nprefix = {}\ndevice = {}\n\n[[template]]\nname = {}",
            toml_str(name),
            toml_str(p.tag_prefix),
            toml_str(p.device),
            toml_str(name)
        );
    }
    for t in &r.tables {
        table_tags(&mut s, t, p);
    }
    s
}

/// The `[[device]]` entry: how to reach it, its unit, timeout and pipelining.
fn device_entry(s: &mut String, p: &Proposal<'_>) {
    s.push_str("[[device]]\n");
    let _ = writeln!(s, "name = {}", toml_str(p.device));
    match p.target {
        Target::Tcp { endpoint } => {
            let _ = writeln!(s, "protocol = \"modbus-tcp\"\nendpoint = {}", toml_str(endpoint));
        }
        Target::Rtu { serial } => {
            let _ = writeln!(
                s,
                "protocol = \"modbus-rtu\"\nport = {}\nbaud = {}\nparity = \"{}\"",
                toml_str(&serial.port),
                serial.baud,
                serial.parity.letter()
            );
            if serial.data_bits != 8 {
                let _ = writeln!(s, "data_bits = {}", serial.data_bits);
            }
            if serial.stop_bits != 1 {
                let _ = writeln!(s, "stop_bits = {}", serial.stop_bits);
            }
        }
    }
    let _ = writeln!(s, "unit = {}\ntimeout = {}", p.unit, toml_str(&crate::time::format_duration(p.timeout)));
    match p.pipelined {
        Some(n) if n == usize::from(BURST) => {
            let _ = writeln!(s, "max_in_flight = {BURST}   # it answered a burst of {BURST} reads sent at once");
        }
        Some(n) => {
            let _ = writeln!(s, "# max_in_flight: keep 1, it answered {n} of a burst of {BURST} reads sent at once");
        }
        None => {}
    }
}

/// One table's tags: a tag per register or bit found (with the value read), the hints
/// at the addresses they start at.
fn table_tags(s: &mut String, t: &TableReport, p: &Proposal<'_>) {
    let table = t.table.short();
    if t.unsupported {
        let _ = writeln!(s, "\n# {table}: not supported by the device (illegal function)");
        return;
    }
    if t.found.is_empty() {
        let _ = writeln!(s, "\n# {table}: nothing found in the addresses probed");
        return;
    }
    for f in &t.found {
        let _ = writeln!(s, "\n# {table} {} ({} {})", span(f.start, f.last()), f.values.len(), unit_word(t));
        let hs = if t.table.is_bits() { Vec::new() } else { hints(f.start, &f.values, p.order) };
        for (i, v) in f.values.iter().enumerate() {
            let Some(addr) = f.start.checked_add(u16::try_from(i).unwrap_or(u16::MAX)) else { break };
            for h in &hs {
                hint_comment(s, h, table, addr, p.order);
            }
            if p.template.is_some() {
                let _ = writeln!(s, "[[template.tag]]\nname = \"{table}_{addr:05}\"\naddress = \"{table}:{addr}\"");
            } else {
                let _ = writeln!(
                    s,
                    "[[tag]]\nname = {}\ndevice = {}\naddress = \"{table}:{addr}\"",
                    toml_str(&format!("{}{table}_{addr:05}", p.tag_prefix)),
                    toml_str(p.device)
                );
            }
            if t.table.is_bits() {
                let _ = writeln!(s, "# read {}", v & 1);
            } else {
                let _ = writeln!(s, "# read {v} (0x{v:04X})");
            }
        }
    }
}

/// The comment of hint `h` when it starts at `addr`.
fn hint_comment(s: &mut String, h: &Hint, table: &str, addr: u16, order: ByteOrder) {
    match h {
        Hint::F32 { start, value } if *start == addr => {
            let name = order_name(order);
            let set = if order == ByteOrder::Abcd {
                "type = \"f32\"".to_string()
            } else {
                format!("type = \"f32\" and order = \"{name}\"")
            };
            let _ = writeln!(
                s,
                "# {table}:{addr}..={} as f32 ({name}) = {value}: likely a float; for it set {set} \
                 here and delete the next tag",
                addr + 1
            );
        }
        Hint::Text { start, count, text } if *start == addr => {
            let last = u32::from(addr) + u32::from(*count) - 1;
            let _ = writeln!(s, "# {table}:{addr}..={last} reads as text \"{text}\"");
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
