//! From raw site text to a validated [`Site`], collecting every problem with its place.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mimic_drivers::modbus::{ByteOrder, DataType, ModbusPoint, Table};
use serde_spanned::Spanned;

use super::raw::{RawDevice, RawSite, RawTag};
use super::{Address, Asset, ConfigError, ConfigErrors, Device, Protocol, Site, Tag, parse_duration};

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

    pub(super) fn duration(&mut self, v: &Spanned<String>, path: String) -> Option<Duration> {
        match parse_duration(v.get_ref()) {
            Ok(d) if d.is_zero() => {
                self.err(v.span(), path, "must be greater than zero");
                None
            }
            Ok(d) => Some(d),
            Err(m) => {
                self.err(v.span(), path, m);
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
}

pub(super) fn parse(file: &Path, text: &str) -> Result<Site, ConfigErrors> {
    let mut cx = Ctx { file: file.to_path_buf(), text, errors: Vec::new() };
    let raw: RawSite = match toml::Deserializer::parse(text) {
        Err(e) => {
            cx.err(e.span().unwrap_or(0..0), "(syntax)", e.message().trim().to_string());
            return Err(ConfigErrors(cx.errors));
        }
        Ok(de) => match serde_path_to_error::deserialize(de) {
            Ok(raw) => raw,
            Err(e) => {
                let path = field_path(e.path());
                let inner = e.into_inner();
                cx.err(inner.span().unwrap_or(0..0), path, inner.message().trim().to_string());
                return Err(ConfigErrors(cx.errors));
            }
        },
    };
    let site = build(&mut cx, raw);
    if cx.errors.is_empty() {
        Ok(site)
    } else {
        cx.errors.sort_by_key(|e| (e.line, e.col));
        Err(ConfigErrors(cx.errors))
    }
}

/// `tag[0].low` from a serde path, without the private segments of `Spanned` values
/// (`tag[0].low.$__serde_spanned_private_value`); `(top)` for the document itself.
pub(super) fn field_path(p: &serde_path_to_error::Path) -> String {
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

fn unique<'a, T>(
    cx: &mut Ctx<'_>,
    kind: &str,
    items: &'a [T],
    name: impl Fn(&'a T) -> &'a Spanned<String>,
) -> HashMap<&'a str, usize> {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, it) in items.iter().enumerate() {
        let n = name(it);
        cx.name(n, format!("{kind}[{i}].name"));
        if let Some(&first) = seen.get(n.get_ref().as_str()) {
            let (line, _) = cx.line_col(name(&items[first]).span().start);
            cx.err(
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

fn build(cx: &mut Ctx<'_>, raw: RawSite) -> Site {
    cx.name(&raw.site.name, "site.name".into());
    let base = cx.file.parent().map(Path::to_path_buf).unwrap_or_default();
    let data_dir = raw.site.data_dir.as_ref().map_or_else(|| base.join("mimic-data"), |d| base.join(d.get_ref()));
    let retention = raw.site.retention.as_ref().and_then(|r| cx.duration(r, "site.retention".into()));
    let rebase_settle = raw.site.rebase_settle.as_ref().and_then(|r| cx.duration(r, "site.rebase_settle".into()));
    let rebase_window = raw.site.rebase_window.as_ref().and_then(|r| cx.duration(r, "site.rebase_window".into()));

    let asset_ix = unique(cx, "asset", &raw.asset, |a| &a.name);
    let device_ix = unique(cx, "device", &raw.device, |d| &d.name);
    let _ = unique(cx, "tag", &raw.tag, |t| &t.name);

    let assets = raw
        .asset
        .iter()
        .enumerate()
        .map(|(i, a)| {
            cx.name(&a.area, format!("asset[{i}].area"));
            cx.name(&a.unit, format!("asset[{i}].unit"));
            Asset {
                area: a.area.get_ref().clone(),
                unit: a.unit.get_ref().clone(),
                name: a.name.get_ref().clone(),
                description: a.description.clone(),
                commissioned_ms: a.commissioned.as_ref().and_then(|c| cx.date(c, format!("asset[{i}].commissioned"))),
            }
        })
        .collect();

    let devices: Vec<Device> = raw.device.iter().enumerate().map(|(i, d)| device(cx, i, d)).collect();
    super::serial::shared_ports(cx, &raw.device, &devices);

    let mut tags = Vec::with_capacity(raw.tag.len());
    let mut spans: Vec<(usize, Table, u16, u16, Option<u8>, usize)> = Vec::new(); // device, table, first, last, bit, tag
    for (i, t) in raw.tag.iter().enumerate() {
        let dev = device_ix.get(t.device.get_ref().as_str()).copied();
        if dev.is_none() {
            let known: Vec<&str> = raw.device.iter().map(|d| d.name.get_ref().as_str()).collect();
            cx.err(
                t.device.span(),
                format!("tag[{i}].device"),
                format!("unknown device `{}` (known: {})", t.device.get_ref(), list(&known)),
            );
        }
        let asset = t.asset.as_ref().and_then(|a| {
            let found = asset_ix.get(a.get_ref().as_str()).copied();
            if found.is_none() {
                let known: Vec<&str> = raw.asset.iter().map(|a| a.name.get_ref().as_str()).collect();
                cx.err(
                    a.span(),
                    format!("tag[{i}].asset"),
                    format!("unknown asset `{}` (known: {})", a.get_ref(), list(&known)),
                );
            }
            found
        });
        let device_poll = dev.and_then(|d| devices.get(d)).map_or(Duration::from_secs(1), |d| d.poll);
        let ascii = dev.and_then(|d| devices.get(d)).and_then(|d| match &d.protocol {
            Protocol::Ascii { profile, .. } => Some(profile.clone()),
            _ => None,
        });
        let opcua = dev.and_then(|d| devices.get(d)).is_some_and(|d| matches!(d.protocol, Protocol::OpcUa(_)));
        let built = if opcua {
            super::opcua::tag(cx, i, t, (dev.unwrap_or(usize::MAX), asset), device_poll)
        } else {
            tag(cx, i, t, dev.unwrap_or(usize::MAX), asset, device_poll, ascii.as_deref())
        };
        if let Some(tag) = built {
            if let Address::Modbus(p) = &tag.address
                && let (Some(d), Some(last)) = (dev, p.last_address())
            {
                let bit = if p.table.is_bits() { None } else { p.bit };
                spans.push((d, p.table, p.address, last, bit, i));
            }
            tags.push(tag);
        }
    }

    // Overlapping register spans within one device and table (several bits of one
    // register are fine; a bit and a whole-register value in the same register are not).
    spans.sort_by_key(|s| (s.0, s.1, s.2, s.5));
    for w in 0..spans.len() {
        for v in (0..w).rev() {
            let (a, b) = (spans[v], spans[w]);
            if a.0 != b.0 || a.1 != b.1 {
                break;
            }
            if a.3 < b.2 {
                continue;
            }
            if a.4.is_some() && b.4.is_some() && a.2 == b.2 && a.3 == b.3 {
                if a.4 == b.4 {
                    let t = &raw.tag[b.5];
                    cx.err(
                        t.address.span(),
                        format!("tag[{}].address", b.5),
                        format!(
                            "bit {} of {}:{} is already tag `{}`",
                            b.4.unwrap_or(0),
                            b.1.short(),
                            b.2,
                            raw.tag[a.5].name.get_ref()
                        ),
                    );
                }
                continue;
            }
            let t = &raw.tag[b.5];
            cx.err(
                t.address.span(),
                format!("tag[{}].address", b.5),
                format!(
                    "{}:{}..={} overlaps tag `{}` ({}:{}..={})",
                    b.1.short(),
                    b.2,
                    b.3,
                    raw.tag[a.5].name.get_ref(),
                    a.1.short(),
                    a.2,
                    a.3
                ),
            );
            break;
        }
    }

    let alarms = super::alarms::build(&raw, &mut |span, path, message| cx.err(span, path, message));

    let mqtt = super::mqtt::build(&raw, &mut |span, path, message| cx.err(span, path, message));
    let names: Vec<&str> = raw.tag.iter().map(|t| t.name.get_ref().as_str()).collect();
    let loops = super::loops::build(&raw.loops, &tags, &names, &mut |span, path, message| cx.err(span, path, message));

    Site {
        path: cx.file.clone(),
        name: raw.site.name.into_inner(),
        data_dir,
        retention,
        rebase_settle: rebase_settle.unwrap_or(Duration::from_secs(15 * 60)),
        rebase_window: rebase_window.unwrap_or(Duration::from_secs(30 * 60)),
        assets,
        devices,
        tags,
        alarms,
        mqtt,
        loops,
    }
}

fn list(names: &[&str]) -> String {
    if names.is_empty() { "none".into() } else { names.join(", ") }
}

fn device(cx: &mut Ctx<'_>, i: usize, d: &RawDevice) -> Device {
    let p = |f: &str| format!("device[{i}].{f}");
    if d.protocol.get_ref() == "opcua" {
        return super::opcua::device(cx, i, d);
    }
    for (f, span) in super::opcua::device_only_fields(d) {
        cx.err(span, p(f), "applies only to protocol `opcua`");
    }
    let poll = d.poll.as_ref().and_then(|v| cx.duration(v, p("poll"))).unwrap_or(Duration::from_secs(1));
    let timeout = d.timeout.as_ref().and_then(|v| cx.duration(v, p("timeout"))).unwrap_or(Duration::from_secs(1));
    let unit = match &d.unit {
        None => 1,
        Some(u) => u8::try_from(*u.get_ref()).unwrap_or_else(|_| {
            cx.err(u.span(), p("unit"), format!("unit id {} is outside 0..=255", u.get_ref()));
            1
        }),
    };
    let max_gap = match &d.max_gap {
        None => 4,
        Some(g) => match u16::try_from(*g.get_ref()) {
            Ok(v) if v <= 120 => v,
            _ => {
                cx.err(g.span(), p("max_gap"), format!("{} is outside 0..=120", g.get_ref()));
                4
            }
        },
    };
    let protocol = match d.protocol.get_ref().as_str() {
        "modbus-tcp" => super::tcp::modbus_tcp(cx, i, d, unit, timeout, max_gap),
        "modbus-rtu" => super::serial::rtu(cx, i, d, unit, timeout, max_gap),
        "ascii" => super::serial::ascii(cx, i, d, timeout),
        other => {
            cx.err(
                d.protocol.span(),
                p("protocol"),
                format!("unknown protocol `{other}` (supported: modbus-tcp, modbus-rtu, ascii, opcua)"),
            );
            Protocol::ModbusTcp { endpoint: String::new(), unit, timeout, max_gap, max_in_flight: 1 }
        }
    };
    Device { name: d.name.get_ref().clone(), protocol, poll }
}

fn tag(
    cx: &mut Ctx<'_>,
    i: usize,
    t: &RawTag,
    device: usize,
    asset: Option<usize>,
    device_poll: Duration,
    ascii: Option<&mimic_drivers::ascii::Profile>,
) -> Option<Tag> {
    let p = |f: &str| format!("tag[{i}].{f}");
    let before = cx.errors.len();
    if let Some(v) = &t.sampling {
        cx.err(v.span(), p("sampling"), "applies only to tags of an `opcua` device");
    }

    // An instrument's tag names a field; the Modbus checks below then see a stand-in
    // read-only register and skip what depends on the table.
    let ascii_point = ascii.map(|prof| super::serial::ascii_address(cx, i, t, prof));
    let addr = t.address.get_ref();
    let parsed = if ascii.is_some() {
        Some((Table::InputRegister, 0))
    } else {
        addr.split_once(':').and_then(|(tb, a)| Some((Table::from_short(tb.trim())?, a.trim().parse::<u32>().ok()?)))
    };
    // When the table is unknown, checks that depend on it are skipped rather than run
    // against a stand-in table (which would report errors the file does not have).
    let (table, address, table_known) = match parsed {
        Some((tb, a)) if a <= 65535 => (tb, a as u16, ascii.is_none()),
        Some((tb, a)) => {
            cx.err(t.address.span(), p("address"), format!("address {a} is outside 0..=65535"));
            (tb, 0, true)
        }
        None => {
            cx.err(
                t.address.span(),
                p("address"),
                format!("`{addr}` is not table:address (tables: hr, ir, coil, di; e.g. \"hr:100\")"),
            );
            (Table::HoldingRegister, 0, false)
        }
    };

    let dtype = match &t.dtype {
        None if table.is_bits() => DataType::Bool,
        None => DataType::U16,
        Some(s) => DataType::from_name(s.get_ref()).unwrap_or_else(|| {
            cx.err(s.span(), p("type"), format!("unknown type `{}` (u16, i16, u32, i32, f32, f64, bool)", s.get_ref()));
            DataType::U16
        }),
    };
    let dtype_known = t.dtype.as_ref().is_none_or(|s| DataType::from_name(s.get_ref()).is_some());
    if let Some(s) = &t.dtype
        && dtype_known
        && table.is_bits()
        && dtype != DataType::Bool
    {
        cx.err(s.span(), p("type"), format!("{} holds single bits: type must be bool", table.short()));
    }

    let order = match &t.order {
        None => ByteOrder::Abcd,
        Some(s) => {
            let o = ByteOrder::from_name(s.get_ref());
            let sixteen = dtype.registers() == 1;
            let ok = match s.get_ref().as_str() {
                "AB" | "BA" => sixteen,
                _ => !sixteen || s.get_ref() == "ABCD",
            };
            let allowed = if sixteen { "AB, BA" } else { "ABCD, CDAB, BADC, DCBA" };
            match o {
                Some(o) if ok => o,
                Some(_) => {
                    cx.err(
                        s.span(),
                        p("order"),
                        format!("order `{}` does not apply to {} (use {allowed})", s.get_ref(), dtype.name()),
                    );
                    ByteOrder::Abcd
                }
                None => {
                    cx.err(
                        s.span(),
                        p("order"),
                        format!("unknown order `{}` (for {} use {allowed})", s.get_ref(), dtype.name()),
                    );
                    ByteOrder::Abcd
                }
            }
        }
    };

    let bit = match &t.bit {
        None => {
            if dtype == DataType::Bool && table_known && !table.is_bits() {
                cx.err(t.address.span(), p("bit"), "a bool in a register needs `bit` (0..=15)");
            }
            None
        }
        Some(b) => {
            if dtype != DataType::Bool || table.is_bits() {
                cx.err(b.span(), p("bit"), "`bit` applies only to type bool in a register (hr/ir)");
                None
            } else if !(0..=15).contains(b.get_ref()) {
                cx.err(b.span(), p("bit"), format!("bit {} is outside 0..=15", b.get_ref()));
                None
            } else {
                Some(*b.get_ref() as u8)
            }
        }
    };

    let point = ModbusPoint {
        table,
        address,
        dtype,
        order,
        bit,
        scale: t.scale.as_ref().map_or(1.0, |s| *s.get_ref()),
        offset: t.offset.as_ref().map_or(0.0, |s| *s.get_ref()),
    };
    if point.last_address().is_none() {
        cx.err(
            t.address.span(),
            p("address"),
            format!(
                "{} at {}:{} needs {} registers and runs past address 65535",
                dtype.name(),
                table.short(),
                address,
                point.width()
            ),
        );
    }
    if let Some(s) = &t.scale
        && (*s.get_ref() == 0.0 || !s.get_ref().is_finite())
    {
        cx.err(s.span(), p("scale"), "must be a finite, non-zero number");
    }
    if let Some(o) = &t.offset
        && !o.get_ref().is_finite()
    {
        cx.err(o.span(), p("offset"), "must be a finite number");
    }

    let writable = t.writable.as_ref().is_some_and(|w| *w.get_ref());
    if let Some(w) = &t.writable
        && writable
        && table_known
    {
        if !table.writable() {
            cx.err(w.span(), p("writable"), format!("{} is read-only; only hr and coil can be written", table.short()));
        } else if (t.low.is_none() || t.high.is_none()) && dtype != DataType::Bool {
            cx.err(w.span(), p("writable"), "a writable tag needs engineering limits `low` and `high`");
        }
    }
    if ascii.is_some()
        && let Some(w) = &t.writable
        && *w.get_ref()
    {
        cx.err(w.span(), p("writable"), "an ASCII instrument is read-only");
    }
    let raw_step = if dtype == DataType::Bool { 0.0 } else { point.scale.abs() / 2.0 };
    let address = match ascii_point {
        Some(Some(ap)) => Address::Ascii(ap),
        _ => Address::Modbus(point),
    };
    finish(cx, i, t, (device, asset), device_poll, raw_step, address, before)
}

/// The checks and fields every tag has, whatever its protocol; `before` is the error
/// count when the tag's checks began (the tag is built only if none were added).
#[allow(clippy::too_many_arguments)]
pub(super) fn finish(
    cx: &mut Ctx<'_>,
    i: usize,
    t: &RawTag,
    (device, asset): (usize, Option<usize>),
    device_poll: Duration,
    raw_step: f64,
    address: Address,
    before: usize,
) -> Option<Tag> {
    let p = |f: &str| format!("tag[{i}].{f}");
    let poll = t.poll.as_ref().and_then(|v| cx.duration(v, p("poll"))).unwrap_or(device_poll);
    let stale_after = t.stale_after.as_ref().and_then(|v| cx.duration(v, p("stale_after"))).unwrap_or(poll * 3);
    let min_interval = match &t.min_interval {
        None => Duration::ZERO,
        Some(v) => parse_duration(v.get_ref()).unwrap_or_else(|m| {
            cx.err(v.span(), p("min_interval"), m);
            Duration::ZERO
        }),
    };
    let settle = t.settle.as_ref().and_then(|v| cx.duration(v, p("settle"))).unwrap_or(Duration::from_secs(60));
    let positive = |cx: &mut Ctx<'_>, v: &Option<Spanned<f64>>, f: &str| match v {
        Some(x) if !(x.get_ref().is_finite() && *x.get_ref() > 0.0) => {
            cx.err(x.span(), p(f), "must be a finite number > 0");
            None
        }
        Some(x) => Some(*x.get_ref()),
        None => None,
    };
    let max_step = positive(cx, &t.max_step, "max_step");
    let tolerance = match &t.tolerance {
        Some(x) if !(x.get_ref().is_finite() && *x.get_ref() >= 0.0) => {
            cx.err(x.span(), p("tolerance"), "must be a finite number ≥ 0");
            raw_step
        }
        Some(x) => *x.get_ref(),
        None => raw_step,
    };
    if !t.writable.as_ref().is_some_and(|w| *w.get_ref()) {
        for (f, set) in [
            ("max_step", t.max_step.as_ref().map(Spanned::span)),
            ("min_interval", t.min_interval.as_ref().map(Spanned::span)),
            ("tolerance", t.tolerance.as_ref().map(Spanned::span)),
        ] {
            if let Some(span) = set {
                cx.err(span, p(f), "applies only to a writable tag");
            }
        }
    }
    let deadband = match &t.deadband {
        None => 0.0,
        Some(d) if *d.get_ref() >= 0.0 && d.get_ref().is_finite() => *d.get_ref(),
        Some(d) => {
            cx.err(d.span(), p("deadband"), "must be a finite number ≥ 0");
            0.0
        }
    };
    for (f, v) in [("low", &t.low), ("high", &t.high)] {
        if let Some(v) = v
            && !v.get_ref().is_finite()
        {
            cx.err(v.span(), p(f), "must be a finite number");
        }
    }
    if let (Some(lo), Some(hi)) = (&t.low, &t.high)
        && lo.get_ref() > hi.get_ref()
    {
        cx.err(lo.span(), p("low"), format!("low ({}) is above high ({})", lo.get_ref(), hi.get_ref()));
    }
    let writable = t.writable.as_ref().is_some_and(|w| *w.get_ref());
    let decimals = match &t.decimals {
        None => 2,
        Some(d) => u8::try_from(*d.get_ref()).ok().filter(|&n| n <= 9).unwrap_or_else(|| {
            cx.err(d.span(), p("decimals"), format!("{} is outside 0..=9", d.get_ref()));
            2
        }),
    };
    if t.units.chars().any(char::is_control) {
        cx.err(t.name.span(), p("units"), "must not contain control characters");
    }

    (cx.errors.len() == before).then(|| Tag {
        name: t.name.get_ref().clone(),
        device,
        asset,
        address,
        units: t.units.clone(),
        description: t.description.clone(),
        poll,
        deadband,
        low: t.low.as_ref().map(|v| *v.get_ref()),
        high: t.high.as_ref().map(|v| *v.get_ref()),
        writable,
        decimals,
        stale_after,
        write: super::WriteRules { max_step, min_interval, critical: t.critical, tolerance, settle },
    })
}
