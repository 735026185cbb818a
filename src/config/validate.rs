//! From raw site text to a validated [`Site`], collecting every problem with its place.
//!
//! This is the site's outline: the `[site]` section, assets, devices and tags, then the
//! sections that refer to them (alarms, MQTT, loops). Each protocol checks its own
//! devices and tags ([`super::tcp`], [`super::serial`], [`super::opcua`],
//! [`super::modbus`]); what all checks share is in [`super::ctx`].

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::ctx::{Ctx, list};
use super::modbus::Span;
use super::raw::{RawDevice, RawSite, RawTag};
use super::{Asset, ConfigErrors, Device, Protocol, Site, Tag, TagIndex};

pub(super) fn parse(file: &Path, text: &str) -> Result<Site, ConfigErrors> {
    let mut cx = Ctx { file: file.to_path_buf(), text, errors: Vec::new() };
    let Some(mut raw) = cx.deserialize::<RawSite>() else {
        return Err(ConfigErrors(cx.errors));
    };
    let origins = super::template::expand(&mut cx, &mut raw);
    let site = build(&mut cx, raw);
    origins.remap(&mut cx.errors);
    if cx.errors.is_empty() {
        Ok(site)
    } else {
        cx.errors.sort_by_key(|e| (e.line, e.col));
        Err(ConfigErrors(cx.errors))
    }
}

fn build(cx: &mut Ctx<'_>, raw: RawSite) -> Site {
    cx.name(&raw.site.name, "site.name".into());
    let base = cx.file.parent().map(Path::to_path_buf).unwrap_or_default();
    let data_dir = raw.site.data_dir.as_ref().map_or_else(|| base.join("mimic-data"), |d| base.join(d.get_ref()));
    let retention = raw.site.retention.as_ref().and_then(|r| cx.duration(r, "site.retention".into()));
    let rebase_settle = raw.site.rebase_settle.as_ref().and_then(|r| cx.duration(r, "site.rebase_settle".into()));
    let rebase_window = raw.site.rebase_window.as_ref().and_then(|r| cx.duration(r, "site.rebase_window".into()));
    let checkpoint_every = match raw.site.checkpoint_every.as_ref() {
        Some(r) => cx.duration(r, "site.checkpoint_every".into()).filter(|d| !d.is_zero()),
        None => Some(Duration::from_secs(3600)),
    };
    let checkpoint_dir = raw.site.checkpoint_dir.as_ref().map(|d| base.join(d.get_ref()));

    let asset_ix = cx.unique("asset", &raw.asset, |a| &a.name);
    let device_ix = cx.unique("device", &raw.device, |d| &d.name);
    let _ = cx.unique("tag", &raw.tag, |t| &t.name);

    let assets = assets(cx, &raw);
    let devices: Vec<Device> = raw.device.iter().enumerate().map(|(i, d)| device(cx, i, d)).collect();
    super::serial::shared_ports(cx, &raw.device, &devices);
    let tags = tags(cx, &raw, &devices, (&device_ix, &asset_ix));

    let flood = super::flood::build(raw.site.flood.as_ref(), &mut |span, path, message| cx.err(span, path, message));
    let alarms = super::alarms::build(&raw, &mut |span, path, message| cx.err(span, path, message));
    let mqtt = super::mqtt::build(&raw, &mut |span, path, message| cx.err(span, path, message));
    let opcua_server =
        super::opcua_server::build(&raw, &data_dir, &mut |span, path, message| cx.err(span, path, message));
    let names: Vec<&str> = raw.tag.iter().map(|t| t.name.get_ref().as_str()).collect();
    let loops = super::loops::build(&raw.loops, &tags, &names, &mut |span, path, message| cx.err(span, path, message));

    Site {
        tag_ix: TagIndex::new(&tags),
        path: cx.file.clone(),
        name: raw.site.name.into_inner(),
        data_dir,
        retention,
        rebase_settle: rebase_settle.unwrap_or(Duration::from_secs(15 * 60)),
        rebase_window: rebase_window.unwrap_or(Duration::from_secs(30 * 60)),
        checkpoint_every,
        checkpoint_dir,
        flood,
        assets,
        devices,
        tags,
        alarms,
        mqtt,
        opcua_server,
        loops,
    }
}

fn assets(cx: &mut Ctx<'_>, raw: &RawSite) -> Vec<Asset> {
    raw.asset
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
        .collect()
}

fn device(cx: &mut Ctx<'_>, i: usize, d: &RawDevice) -> Device {
    let p = |f: &str| format!("device[{i}].{f}");
    if d.protocol.get_ref() == "opcua" {
        return super::opcua::device(cx, i, d);
    }
    let opcua_only = set_fields!(d; security, pki, user, password_file, password_env);
    cx.refuse(&format!("device[{i}]"), opcua_only, "applies only to protocol `opcua`");
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

/// Every tag, checked by its device's protocol; then the register spans they claim.
fn tags(
    cx: &mut Ctx<'_>,
    raw: &RawSite,
    devices: &[Device],
    (device_ix, asset_ix): (&HashMap<&str, usize>, &HashMap<&str, usize>),
) -> Vec<Tag> {
    let mut tags = Vec::with_capacity(raw.tag.len());
    let mut spans: Vec<Span> = Vec::new();
    let mut shared = super::tag::Shared::default();
    for (i, t) in raw.tag.iter().enumerate() {
        let (dev, asset) = refs(cx, raw, i, t, (device_ix, asset_ix));
        let device = dev.and_then(|d| devices.get(d));
        let device_poll = device.map_or(Duration::from_secs(1), |d| d.poll);
        let tag_in =
            super::tag::TagIn { i, t, device: dev.unwrap_or(usize::MAX), asset, device_poll, shared: &mut shared };
        let built = match device.map(|d| &d.protocol) {
            Some(Protocol::OpcUa(_)) => super::opcua::tag(cx, tag_in),
            Some(Protocol::Ascii { profile, .. }) => super::modbus::tag(cx, tag_in, Some(&**profile)),
            _ => super::modbus::tag(cx, tag_in, None),
        };
        if let Some(tag) = built {
            spans.extend(dev.and_then(|d| Span::of(&tag, d, i)));
            tags.push(tag);
        }
    }
    super::modbus::overlaps(cx, &raw.tag, spans);
    tags
}

/// The tag's device and asset by name, each reported when unknown.
fn refs(
    cx: &mut Ctx<'_>,
    raw: &RawSite,
    i: usize,
    t: &RawTag,
    (device_ix, asset_ix): (&HashMap<&str, usize>, &HashMap<&str, usize>),
) -> (Option<usize>, Option<usize>) {
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
    (dev, asset)
}
