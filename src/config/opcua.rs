//! OPC UA devices and tags in the site file.
//!
//! ```toml
//! [[device]]
//! name = "line1-plc"
//! protocol = "opcua"
//! endpoint = "opc.tcp://192.168.1.30:4840/"
//! security = "basic256sha256-sign-encrypt"   # or "none" (default), "basic256sha256-sign"
//! pki = "pki"                                # client cert/key, trusted/ and rejected/
//! user = "mimic"                             # default: anonymous
//! password_file = "secrets/plc.pw"           # or password_env = "PLC_PASSWORD"
//! poll = "1s"                                # also the subscription's publishing interval
//!
//! [[tag]]
//! name = "P101.speed"
//! device = "line1-plc"
//! address = "ns=2;s=Pump.Speed"
//! sampling = "250ms"                         # monitored item sampling (default: poll)
//! deadband = 0.5                             # absolute deadband (also the storage deadband)
//! ```
//!
//! A password is never written in the site file: only where to find it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use mimic_drivers::opcua::{
    Identity, OpcUaConfig, OpcUaPoint, PasswordSource, Security, check_endpoint, check_node_id,
};
use serde_spanned::Spanned;

use super::ctx::Ctx;
use super::raw::RawDevice;
use super::tag::{TagIn, finish};
use super::{Address, Device, Protocol, Tag};

pub(super) fn device(cx: &mut Ctx<'_>, i: usize, d: &RawDevice) -> Device {
    let p = |f: &str| format!("device[{i}].{f}");
    let base: PathBuf = cx.file.parent().map(Path::to_path_buf).unwrap_or_default();
    let poll = d.poll.as_ref().and_then(|v| cx.duration(v, p("poll"))).unwrap_or(Duration::from_secs(1));
    let timeout = d.timeout.as_ref().and_then(|v| cx.duration(v, p("timeout"))).unwrap_or(Duration::from_secs(5));
    cx.refuse(
        &format!("device[{i}]"),
        set_fields!(d; unit, max_gap, max_in_flight),
        "applies only to protocol `modbus-tcp`",
    );
    let endpoint = match &d.endpoint {
        Some(ep) => {
            if let Err(m) = check_endpoint(ep.get_ref()) {
                cx.err(ep.span(), p("endpoint"), m.to_string());
            }
            ep.get_ref().clone()
        }
        None => {
            cx.err(d.name.span(), p("endpoint"), "an opcua device needs `endpoint` (opc.tcp://host:port/path)");
            String::new()
        }
    };
    super::serial::no_serial_fields(cx, i, d);
    let security = match &d.security {
        None => Security::None,
        Some(s) => Security::from_name(s.get_ref()).unwrap_or_else(|| {
            cx.err(s.span(), p("security"), format!("unknown security `{}` (use {})", s.get_ref(), Security::NAMES));
            Security::None
        }),
    };
    let pki = d.pki.as_ref().map_or_else(|| base.join("pki"), |v| base.join(v.get_ref()));
    let password = match (&d.password_file, &d.password_env) {
        (Some(f), Some(e)) => {
            cx.err(e.span(), p("password_env"), "give either `password_file` or `password_env`, not both");
            let _ = f;
            None
        }
        (Some(f), None) => {
            let path = base.join(f.get_ref());
            if !path.is_file() {
                cx.err(f.span(), p("password_file"), format!("no such file: {}", path.display()));
            }
            Some(PasswordSource::File(path))
        }
        (None, Some(e)) => {
            let name = e.get_ref();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                cx.err(e.span(), p("password_env"), format!("`{name}` is not an environment variable name"));
            }
            Some(PasswordSource::Env(name.clone()))
        }
        (None, None) => None,
    };
    let identity = match (&d.user, password) {
        (None, None) => Identity::Anonymous,
        (Some(u), Some(password)) => {
            cx.name(u, p("user"));
            Identity::User { name: u.get_ref().clone(), password }
        }
        (Some(u), None) => {
            cx.err(u.span(), p("user"), "a user needs `password_file` or `password_env` (never a password here)");
            Identity::Anonymous
        }
        (None, Some(_)) => {
            let span = d.password_file.as_ref().or(d.password_env.as_ref()).map_or(0..0, Spanned::span);
            cx.err(span, p("user"), "a password is given but no `user`");
            Identity::Anonymous
        }
    };
    let cfg = OpcUaConfig { endpoint: endpoint.trim().to_string(), security, pki, identity, timeout, publishing: poll };
    Device { name: d.name.get_ref().clone(), protocol: Protocol::OpcUa(cfg), poll }
}

pub(super) fn tag(cx: &mut Ctx<'_>, tag: TagIn<'_>) -> Option<Tag> {
    let (i, t) = (tag.i, tag.t);
    let p = |f: &str| format!("tag[{i}].{f}");
    let before = cx.errors.len();
    let node = t.address.get_ref().trim().to_string();
    if let Err(m) = check_node_id(&node) {
        cx.err(t.address.span(), p("address"), m.to_string());
    }
    cx.refuse(
        &format!("tag[{i}]"),
        set_fields!(t; dtype as "type", order, bit, scale, offset),
        "applies only to Modbus tags (an OPC UA node carries its own type)",
    );
    if let Some(w) = &t.writable
        && *w.get_ref()
        && (t.low.is_none() || t.high.is_none())
    {
        cx.err(w.span(), p("writable"), "a writable tag needs engineering limits `low` and `high`");
    }
    let poll = t.poll.as_ref().and_then(|v| super::parse_duration(v.get_ref()).ok()).unwrap_or(tag.device_poll);
    let sampling = t.sampling.as_ref().and_then(|v| cx.duration(v, p("sampling"))).unwrap_or(poll);
    let deadband = t.deadband.as_ref().map_or(0.0, |d| *d.get_ref());
    let point = OpcUaPoint { node, sampling, deadband: if deadband.is_finite() { deadband.max(0.0) } else { 0.0 } };
    // Read-back tolerance: exact by default (the driver allows for a Float's rounding).
    finish(cx, tag, 0.0, Address::OpcUa(Box::new(point)), before)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use mimic_drivers::opcua::{Identity, PasswordSource, Security};

    use crate::config::{Address, Protocol, Site};

    fn parse(extra_device: &str, extra_tag: &str) -> Result<Site, Vec<String>> {
        let text = format!(
            "[site]\nname = \"t\"\n\n[[device]]\nname = \"plc\"\nprotocol = \"opcua\"\n\
             endpoint = \"opc.tcp://10.0.0.5:4840/\"\n{extra_device}\n\n\
             [[tag]]\nname = \"speed\"\ndevice = \"plc\"\naddress = \"ns=2;s=Pump.Speed\"\n{extra_tag}\n"
        );
        Site::parse(Path::new("/sites/t.toml"), &text).map_err(|e| e.0.iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn a_plain_opcua_device_and_tag() {
        let site = parse("poll = \"500ms\"", "sampling = \"100ms\"\ndeadband = 0.5").expect("valid");
        let Protocol::OpcUa(cfg) = &site.devices[0].protocol else { panic!("not opcua") };
        assert_eq!(cfg.security, Security::None);
        assert_eq!(cfg.identity, Identity::Anonymous);
        assert_eq!(cfg.pki, Path::new("/sites/pki"));
        assert_eq!(cfg.publishing.as_millis(), 500);
        let Address::OpcUa(p) = &site.tags[0].address else { panic!("not opcua") };
        assert_eq!((p.node.as_str(), p.sampling.as_millis(), p.deadband), ("ns=2;s=Pump.Speed", 100, 0.5));
        assert_eq!(site.tags[0].write.tolerance, 0.0);
    }

    #[test]
    fn security_and_users() {
        let site = parse(
            "security = \"basic256sha256-sign-encrypt\"\npki = \"certs\"\nuser = \"mimic\"\npassword_env = \"PLC_PW\"",
            "",
        )
        .expect("valid");
        let Protocol::OpcUa(cfg) = &site.devices[0].protocol else { panic!("not opcua") };
        assert_eq!(cfg.security, Security::SignAndEncrypt);
        assert_eq!(cfg.pki, Path::new("/sites/certs"));
        assert_eq!(
            cfg.identity,
            Identity::User { name: "mimic".into(), password: PasswordSource::Env("PLC_PW".into()) }
        );
    }

    #[test]
    fn mistakes_are_named_with_their_place() {
        let errs = parse("security = \"basic128\"", "").unwrap_err();
        assert!(errs[0].contains(":8:12: device[0].security: unknown security `basic128`"), "{errs:?}");
        let errs = parse("user = \"mimic\"", "").unwrap_err();
        assert!(errs[0].contains("device[0].user: a user needs `password_file` or `password_env`"), "{errs:?}");
        let errs = parse("password = \"hunter2\"", "").unwrap_err();
        assert!(errs[0].contains("unknown field `password`"), "a password is never accepted inline: {errs:?}");
        let errs = parse("password_file = \"nope.pw\"\nuser = \"u\"", "").unwrap_err();
        assert!(errs[0].contains("device[0].password_file: no such file: /sites/nope.pw"), "{errs:?}");
        let errs = parse("unit = 3", "type = \"f32\"").unwrap_err();
        assert!(errs.iter().any(|e| e.contains("device[0].unit: applies only to protocol `modbus-tcp`")), "{errs:?}");
        assert!(errs.iter().any(|e| e.contains("tag[0].type: applies only to Modbus tags")), "{errs:?}");
        let errs = parse("", "writable = true").unwrap_err();
        assert!(errs[0].contains("tag[0].writable: a writable tag needs engineering limits"), "{errs:?}");
    }

    #[test]
    fn bad_node_ids_and_endpoints() {
        let text = "[site]\nname = \"t\"\n[[device]]\nname = \"plc\"\nprotocol = \"opcua\"\nendpoint = \"10.0.0.5:4840\"\n\
                    [[tag]]\nname = \"x\"\ndevice = \"plc\"\naddress = \"hr:3\"\n";
        let errs = Site::parse(Path::new("t.toml"), text).unwrap_err().to_string();
        assert!(errs.contains("device[0].endpoint: `10.0.0.5:4840` is not an opc.tcp endpoint"), "{errs}");
        assert!(errs.contains("tag[0].address: `hr:3` is not an OPC UA node id"), "{errs}");
        let text = "[site]\nname = \"t\"\n[[device]]\nname = \"m\"\nprotocol = \"modbus-tcp\"\nendpoint = \"h:502\"\nsecurity = \"none\"\n\
                    [[tag]]\nname = \"x\"\ndevice = \"m\"\naddress = \"hr:3\"\nsampling = \"1s\"\n";
        let errs = Site::parse(Path::new("t.toml"), text).unwrap_err().to_string();
        assert!(errs.contains("device[0].security: applies only to protocol `opcua`"), "{errs}");
        assert!(errs.contains("tag[0].sampling: applies only to tags of an `opcua` device"), "{errs}");
    }
}
