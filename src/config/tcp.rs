//! Modbus TCP devices in the site file: the endpoint (`host:port`) and how many reads a
//! poll may pipeline on the connection (`max_in_flight`). Errors name the exact field, as
//! everywhere else.

use std::time::Duration;

use super::Protocol;
use super::ctx::Ctx;
use super::raw::RawDevice;

/// Largest `max_in_flight` accepted.
pub const MAX_IN_FLIGHT: u8 = 16;

pub(super) fn modbus_tcp(
    cx: &mut Ctx<'_>,
    i: usize,
    d: &RawDevice,
    unit: u8,
    timeout: Duration,
    max_gap: u16,
) -> Protocol {
    let p = |f: &str| format!("device[{i}].{f}");
    super::serial::no_serial_fields(cx, i, d);
    let endpoint = match &d.endpoint {
        Some(ep) => {
            let text = ep.get_ref();
            let port_ok = text
                .rsplit_once(':')
                .is_some_and(|(h, port)| !h.is_empty() && port.parse::<u16>().is_ok_and(|n| n > 0));
            if !port_ok {
                cx.err(ep.span(), p("endpoint"), format!("`{text}` is not host:port (e.g. \"192.168.1.20:502\")"));
            }
            text.clone()
        }
        None => {
            cx.err(d.name.span(), p("endpoint"), "a modbus-tcp device needs `endpoint` (host:port)");
            String::new()
        }
    };
    let max_in_flight = match &d.max_in_flight {
        None => 1,
        Some(m) => match u8::try_from(*m.get_ref()) {
            Ok(v) if (1..=MAX_IN_FLIGHT).contains(&v) => v,
            _ => {
                cx.err(m.span(), p("max_in_flight"), format!("{} is outside 1..={MAX_IN_FLIGHT}", m.get_ref()));
                1
            }
        },
    };
    Protocol::ModbusTcp { endpoint, unit, timeout, max_gap, max_in_flight }
}
