//! Serial devices in the site file: port settings, Modbus RTU units sharing a line.
//!
//! The settings live on each `[[device]]` (`port`, `baud`, `data_bits`, `parity`,
//! `stop_bits`, `frame_gap`); the devices naming one port are the units of one line and
//! must agree on every line setting. Errors name the exact field, as everywhere else.

use std::collections::HashMap;
use std::time::Duration;

use mimic_drivers::rtu::{LineConfig, line::standard_gap};
use mimic_drivers::serial::{Parity, SerialSettings};
use serde_spanned::Spanned;

use super::ctx::Ctx;
use super::raw::RawDevice;
use super::{Device, Protocol, parse_duration};

/// Refuse serial settings on a device that is not on a serial line.
pub(super) fn no_serial_fields(cx: &mut Ctx<'_>, i: usize, d: &RawDevice) {
    let fields = set_fields!(d; port, baud, data_bits, parity, stop_bits, frame_gap, profile);
    cx.refuse(&format!("device[{i}]"), fields, &format!("does not apply to a {} device", d.protocol.get_ref()));
}

/// The port settings of a serial device (`default_baud`, `default_parity` per protocol).
fn settings(cx: &mut Ctx<'_>, i: usize, d: &RawDevice, default_baud: u32, default_parity: Parity) -> SerialSettings {
    let p = |f: &str| format!("device[{i}].{f}");
    if let Some(ep) = &d.endpoint {
        cx.err(ep.span(), p("endpoint"), "a serial device has a `port`, not an `endpoint`");
    }
    let port = match &d.port {
        Some(v) if v.get_ref().trim().is_empty() || v.get_ref().chars().any(char::is_control) => {
            cx.err(v.span(), p("port"), "must be a device path such as \"/dev/ttyUSB0\"");
            String::new()
        }
        Some(v) => v.get_ref().clone(),
        None => {
            cx.err(d.name.span(), p("port"), "a serial device needs `port` (e.g. \"/dev/ttyUSB0\")");
            String::new()
        }
    };
    let baud = match &d.baud {
        None => default_baud,
        Some(b) => match u32::try_from(*b.get_ref()) {
            Ok(v) if (50..=4_000_000).contains(&v) => v,
            _ => {
                cx.err(b.span(), p("baud"), format!("{} is outside 50..=4000000", b.get_ref()));
                default_baud
            }
        },
    };
    let mut small = |v: &Option<Spanned<i64>>, f: &str, allowed: &[i64], default: u8| match v {
        None => default,
        Some(x) if allowed.contains(x.get_ref()) => *x.get_ref() as u8,
        Some(x) => {
            let list: Vec<String> = allowed.iter().map(i64::to_string).collect();
            cx.err(x.span(), p(f), format!("{} is not one of {}", x.get_ref(), list.join(", ")));
            default
        }
    };
    let data_bits = small(&d.data_bits, "data_bits", &[7, 8], 8);
    let stop_bits = small(&d.stop_bits, "stop_bits", &[1, 2], 1);
    let parity = match &d.parity {
        None => default_parity,
        Some(v) => Parity::from_letter(v.get_ref()).unwrap_or_else(|| {
            cx.err(v.span(), p("parity"), format!("`{}` is not N, E or O", v.get_ref()));
            default_parity
        }),
    };
    SerialSettings { port, baud, data_bits, parity, stop_bits }
}

/// A Modbus RTU unit.
pub(super) fn rtu(cx: &mut Ctx<'_>, i: usize, d: &RawDevice, unit: u8, timeout: Duration, max_gap: u16) -> Protocol {
    let p = |f: &str| format!("device[{i}].{f}");
    if let Some(pr) = &d.profile {
        cx.err(pr.span(), p("profile"), "does not apply to a modbus-rtu device");
    }
    if let Some(m) = &d.max_in_flight {
        cx.err(m.span(), p("max_in_flight"), "a serial line carries one request at a time: modbus-tcp only");
    }
    let serial = settings(cx, i, d, 19200, Parity::Even);
    if let Some(u) = &d.unit
        && !(1..=247).contains(u.get_ref())
    {
        cx.err(u.span(), p("unit"), format!("unit id {} is outside 1..=247 on a serial line", u.get_ref()));
    }
    let frame_gap = d.frame_gap.as_ref().and_then(|g| match parse_duration(g.get_ref()) {
        Err(m) => {
            cx.err(g.span(), p("frame_gap"), m.to_string());
            None
        }
        Ok(v) => {
            let min = standard_gap(&serial);
            if v < min {
                cx.err(
                    g.span(),
                    p("frame_gap"),
                    format!("{v:?} is shorter than the standard's {min:?} at {} baud", serial.baud),
                );
                None
            } else {
                Some(v)
            }
        }
    });
    Protocol::ModbusRtu { line: LineConfig { serial, frame_gap }, unit, timeout, max_gap }
}

/// Devices naming one port: all Modbus RTU, agreeing on the line settings, distinct units.
pub(super) fn shared_ports(cx: &mut Ctx<'_>, raw: &[RawDevice], devices: &[Device]) {
    let mut first: HashMap<&str, usize> = HashMap::new();
    let mut units: HashMap<(&str, u8), usize> = HashMap::new();
    let mut owned: HashMap<&str, usize> = HashMap::new();
    for (i, d) in devices.iter().enumerate() {
        let port = match &d.protocol {
            Protocol::ModbusRtu { line, .. } => line.serial.port.as_str(),
            Protocol::Ascii { serial, .. } => serial.port.as_str(),
            Protocol::ModbusTcp { .. } | Protocol::OpcUa(_) => continue,
        };
        if port.is_empty() {
            continue;
        }
        let is_ascii = matches!(d.protocol, Protocol::Ascii { .. });
        match owned.get(port) {
            Some(&o) if is_ascii || matches!(devices[o].protocol, Protocol::Ascii { .. }) => {
                let span = raw[i].port.as_ref().map_or(raw[i].name.span(), Spanned::span);
                let msg = format!(
                    "port is already used by device `{}`; an ASCII instrument needs its own port",
                    devices[o].name
                );
                cx.err(span, format!("device[{i}].port"), msg);
                continue;
            }
            Some(_) => {}
            None => {
                owned.insert(port, i);
            }
        }
        let Protocol::ModbusRtu { line, unit, .. } = &d.protocol else { continue };
        if line.serial.port.is_empty() {
            continue;
        }
        let port = line.serial.port.as_str();
        let span = raw[i].port.as_ref().map_or(raw[i].name.span(), Spanned::span);
        if let Some(&u) = units.get(&(port, *unit)) {
            let span = raw[i].unit.as_ref().map_or(span.clone(), Spanned::span);
            let other = &devices[u].name;
            cx.err(span, format!("device[{i}].unit"), format!("unit {unit} is already device `{other}` on this port"));
        } else {
            units.insert((port, *unit), i);
        }
        let Some(&f) = first.get(port) else {
            first.insert(port, i);
            continue;
        };
        let Protocol::ModbusRtu { line: fl, .. } = &devices[f].protocol else { continue };
        let other = &devices[f].name;
        if fl != line {
            cx.err(
                span,
                format!("device[{i}].port"),
                format!(
                    "line settings differ from device `{other}` on the same port ({} {:?} gap vs {} {:?} gap)",
                    line.serial,
                    line.gap(),
                    fl.serial,
                    fl.gap()
                ),
            );
        }
    }
}

/// An ASCII instrument: its port and its profile (a path relative to the site file).
pub(super) fn ascii(cx: &mut Ctx<'_>, i: usize, d: &RawDevice, timeout: Duration) -> Protocol {
    let p = |f: &str| format!("device[{i}].{f}");
    let serial = settings(cx, i, d, 9600, Parity::None);
    let fields = set_fields!(d; frame_gap, unit, max_gap, max_in_flight);
    cx.refuse(&format!("device[{i}]"), fields, "does not apply to an ascii device");
    let profile = match &d.profile {
        None => {
            cx.err(d.name.span(), p("profile"), "an ascii device needs `profile` (a file in profiles/instruments/)");
            None
        }
        Some(path) => {
            let base = cx.file.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
            let full = base.join(path.get_ref());
            let mut errs = Vec::new();
            let prof = super::profile::load(&full, &mut errs);
            if let Some(first) = errs.first() {
                // say at the device where the broken profile is used, then each problem in it
                let msg = format!("profile {} has {} error(s); first: {first}", full.display(), errs.len());
                cx.err(path.span(), p("profile"), msg);
                cx.errors.extend(errs);
            }
            prof
        }
    };
    let profile = std::sync::Arc::new(profile.unwrap_or_else(|| mimic_drivers::ascii::Profile {
        name: String::new(),
        terminator: mimic_drivers::ascii::Terminator::CrLf,
        max_length: 1,
        mode: mimic_drivers::ascii::Mode::Stream,
        lines: Vec::new(),
    }));
    Protocol::Ascii { serial, profile, timeout }
}

/// The field an instrument tag reads; `None` after reporting why not.
pub(super) fn ascii_address(
    cx: &mut Ctx<'_>,
    i: usize,
    t: &super::raw::RawTag,
    profile: &mimic_drivers::ascii::Profile,
) -> Option<mimic_drivers::ascii::AsciiPoint> {
    let p = |f: &str| format!("tag[{i}].{f}");
    let fields = set_fields!(t; dtype as "type", order, bit);
    cx.refuse(&format!("tag[{i}]"), fields, "does not apply to an ascii instrument's field");
    if profile.lines.is_empty() {
        return None; // the profile itself is broken (reported at the device)
    }
    match profile.find_field(t.address.get_ref()) {
        Ok((line, field)) => Some(mimic_drivers::ascii::AsciiPoint {
            line,
            field,
            scale: t.scale.as_ref().map_or(1.0, |s| *s.get_ref()),
            offset: t.offset.as_ref().map_or(0.0, |s| *s.get_ref()),
        }),
        Err(m) => {
            cx.err(t.address.span(), p("address"), m.to_string());
            None
        }
    }
}
