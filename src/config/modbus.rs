//! Modbus tags in the site file (on `modbus-tcp` and `modbus-rtu` devices, and the
//! stand-in register of an ASCII instrument's field): table and address, data type,
//! byte order, bit, scale and what may be written; then the check that no two tags of a
//! device claim the same registers.

use mimic_drivers::modbus::{ByteOrder, DataType, ModbusPoint, Table};
use serde_spanned::Spanned;

use super::ctx::Ctx;
use super::raw::RawTag;
use super::tag::TagIn;
use super::{Address, Tag};

/// One Modbus tag; `ascii` is the instrument profile when the device is an ASCII one
/// (its tags name a field and are read-only).
pub(super) fn tag(cx: &mut Ctx<'_>, tag: TagIn<'_>, ascii: Option<&mimic_drivers::ascii::Profile>) -> Option<Tag> {
    let (i, t) = (tag.i, tag.t);
    let p = |f: &str| format!("tag[{i}].{f}");
    let before = cx.errors.len();
    if let Some(v) = &t.sampling {
        cx.err(v.span(), p("sampling"), "applies only to tags of an `opcua` device");
    }

    // An instrument's tag names a field; the Modbus checks below then see a stand-in
    // read-only register and skip what depends on the table.
    let ascii_point = ascii.map(|prof| super::serial::ascii_address(cx, i, t, prof));
    let (table, address, table_known) = table_address(cx, i, t, ascii.is_some());
    let dtype = dtype(cx, i, t, table);
    let point = ModbusPoint {
        table,
        address,
        dtype,
        order: order(cx, i, t.order.as_ref(), dtype),
        bit: bit(cx, i, t, dtype, table, table_known),
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
    writable(cx, i, t, dtype, table_known.then_some(table), ascii.is_some());
    let raw_step = if dtype == DataType::Bool { 0.0 } else { point.scale.abs() / 2.0 };
    let address = match ascii_point {
        Some(Some(ap)) => Address::Ascii(Box::new(ap)),
        _ => Address::Modbus(point),
    };
    super::tag::finish(cx, tag, raw_step, address, before)
}

/// `hr:100` as (table, address, whether the table is known). When the table is unknown,
/// checks that depend on it are skipped rather than run against a stand-in table (which
/// would report errors the file does not have).
fn table_address(cx: &mut Ctx<'_>, i: usize, t: &RawTag, ascii: bool) -> (Table, u16, bool) {
    let addr = t.address.get_ref();
    let parsed = if ascii {
        Some((Table::InputRegister, 0))
    } else {
        addr.split_once(':').and_then(|(tb, a)| Some((Table::from_short(tb.trim())?, a.trim().parse::<u32>().ok()?)))
    };
    match parsed {
        Some((tb, a)) if a <= 65535 => (tb, a as u16, !ascii),
        Some((tb, a)) => {
            cx.err(t.address.span(), format!("tag[{i}].address"), format!("address {a} is outside 0..=65535"));
            (tb, 0, true)
        }
        None => {
            cx.err(
                t.address.span(),
                format!("tag[{i}].address"),
                format!("`{addr}` is not table:address (tables: hr, ir, coil, di; e.g. \"hr:100\")"),
            );
            (Table::HoldingRegister, 0, false)
        }
    }
}

fn dtype(cx: &mut Ctx<'_>, i: usize, t: &RawTag, table: Table) -> DataType {
    let Some(s) = &t.dtype else {
        return if table.is_bits() { DataType::Bool } else { DataType::U16 };
    };
    match DataType::from_name(s.get_ref()) {
        None => {
            cx.err(
                s.span(),
                format!("tag[{i}].type"),
                format!("unknown type `{}` (u16, i16, u32, i32, f32, f64, bool)", s.get_ref()),
            );
            DataType::U16
        }
        Some(dtype) => {
            if table.is_bits() && dtype != DataType::Bool {
                cx.err(
                    s.span(),
                    format!("tag[{i}].type"),
                    format!("{} holds single bits: type must be bool", table.short()),
                );
            }
            dtype
        }
    }
}

/// The byte order, which must suit the type's width (AB/BA for 16 bits, ABCD... for 32/64).
fn order(cx: &mut Ctx<'_>, i: usize, order: Option<&Spanned<String>>, dtype: DataType) -> ByteOrder {
    let Some(s) = order else { return ByteOrder::Abcd };
    let sixteen = dtype.registers() == 1;
    let ok = match s.get_ref().as_str() {
        "AB" | "BA" => sixteen,
        _ => !sixteen || s.get_ref() == "ABCD",
    };
    let allowed = if sixteen { "AB, BA" } else { "ABCD, CDAB, BADC, DCBA" };
    match ByteOrder::from_name(s.get_ref()) {
        Some(o) if ok => o,
        Some(_) => {
            cx.err(
                s.span(),
                format!("tag[{i}].order"),
                format!("order `{}` does not apply to {} (use {allowed})", s.get_ref(), dtype.name()),
            );
            ByteOrder::Abcd
        }
        None => {
            cx.err(
                s.span(),
                format!("tag[{i}].order"),
                format!("unknown order `{}` (for {} use {allowed})", s.get_ref(), dtype.name()),
            );
            ByteOrder::Abcd
        }
    }
}

/// The bit of a bool kept in a register (hr/ir); none for other types and bit tables.
fn bit(cx: &mut Ctx<'_>, i: usize, t: &RawTag, dtype: DataType, table: Table, table_known: bool) -> Option<u8> {
    let p = format!("tag[{i}].bit");
    match &t.bit {
        None => {
            if dtype == DataType::Bool && table_known && !table.is_bits() {
                cx.err(t.address.span(), p, "a bool in a register needs `bit` (0..=15)");
            }
            None
        }
        Some(b) if dtype != DataType::Bool || table.is_bits() => {
            cx.err(b.span(), p, "`bit` applies only to type bool in a register (hr/ir)");
            None
        }
        Some(b) if !(0..=15).contains(b.get_ref()) => {
            cx.err(b.span(), p, format!("bit {} is outside 0..=15", b.get_ref()));
            None
        }
        Some(b) => Some(*b.get_ref() as u8),
    }
}

/// A writable tag lives in a writable table (hr, coil) and, unless a bool, has limits;
/// an ASCII instrument is never written.
fn writable(cx: &mut Ctx<'_>, i: usize, t: &RawTag, dtype: DataType, table: Option<Table>, ascii: bool) {
    let Some(w) = t.writable.as_ref().filter(|w| *w.get_ref()) else { return };
    let p = format!("tag[{i}].writable");
    if let Some(table) = table {
        if !table.writable() {
            cx.err(w.span(), p.clone(), format!("{} is read-only; only hr and coil can be written", table.short()));
        } else if (t.low.is_none() || t.high.is_none()) && dtype != DataType::Bool {
            cx.err(w.span(), p.clone(), "a writable tag needs engineering limits `low` and `high`");
        }
    }
    if ascii {
        cx.err(w.span(), p, "an ASCII instrument is read-only");
    }
}

/// The registers one tag reads: device, table, first and last address, bit (for a bool
/// in a register) and the tag's index in the file.
#[derive(Clone, Copy)]
pub(super) struct Span {
    pub device: usize,
    pub table: Table,
    pub first: u16,
    pub last: u16,
    pub bit: Option<u8>,
    pub tag: usize,
}

impl Span {
    /// The span of a built Modbus tag on device `device` (index `tag` in the file).
    pub(super) fn of(built: &Tag, device: usize, tag: usize) -> Option<Span> {
        let Address::Modbus(p) = &built.address else { return None };
        let last = p.last_address()?;
        let bit = if p.table.is_bits() { None } else { p.bit };
        Some(Span { device, table: p.table, first: p.address, last, bit, tag })
    }
}

/// Overlapping register spans within one device and table (several bits of one
/// register are fine; a bit and a whole-register value in the same register are not).
pub(super) fn overlaps(cx: &mut Ctx<'_>, tags: &[RawTag], mut spans: Vec<Span>) {
    spans.sort_by_key(|s| (s.device, s.table, s.first, s.tag));
    // reach[v]: the furthest last address of spans[..=v] in v's device and table, so that
    // the scan back from a span stops at the first span nothing before which reaches it
    // (linear in the number of tags, not quadratic in the tags of a device).
    let mut reach: Vec<u16> = Vec::with_capacity(spans.len());
    for (v, s) in spans.iter().enumerate() {
        let same = v > 0 && spans[v - 1].device == s.device && spans[v - 1].table == s.table;
        reach.push(if same { reach[v - 1].max(s.last) } else { s.last });
    }
    for w in 0..spans.len() {
        for v in (0..w).rev() {
            let (a, b) = (spans[v], spans[w]);
            if a.device != b.device || a.table != b.table || reach[v] < b.first {
                break;
            }
            if a.last < b.first {
                continue;
            }
            let (place, path) = (tags[b.tag].address.span(), format!("tag[{}].address", b.tag));
            let other = tags[a.tag].name.get_ref();
            if a.bit.is_some() && b.bit.is_some() && a.first == b.first && a.last == b.last {
                if a.bit == b.bit {
                    let (bit, table) = (b.bit.unwrap_or(0), b.table.short());
                    cx.err(place, path, format!("bit {bit} of {table}:{} is already tag `{other}`", b.first));
                }
                continue;
            }
            cx.err(
                place,
                path,
                format!(
                    "{}:{}..={} overlaps tag `{other}` ({}:{}..={})",
                    b.table.short(),
                    b.first,
                    b.last,
                    a.table.short(),
                    a.first,
                    a.last
                ),
            );
            break;
        }
    }
}
