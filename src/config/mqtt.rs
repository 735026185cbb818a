//! The optional `[mqtt]` section: mimic as a Sparkplug B edge node (see `crate::north::sparkplug`).
//!
//! Checks: `broker` is `host:port`; the Sparkplug ids (group, edge node, primary host,
//! and every device name, which becomes a device id) are non-empty and free of the
//! MQTT wildcard and level characters `+ # /`; `keepalive` is whole seconds in
//! 1..=65535; `username` and `password` come together.

use std::ops::Range;
use std::time::Duration;

use serde_spanned::Spanned;

use super::parse_duration;
use super::raw::RawSite;

/// A validated `[mqtt]` section.
#[derive(Clone, PartialEq)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    pub group_id: String,
    pub edge_node_id: String,
    pub primary_host_id: Option<String>,
    pub client_id: String,
    pub keepalive: Duration,
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for MqttConfig {
    /// Never prints the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("group_id", &self.group_id)
            .field("edge_node_id", &self.edge_node_id)
            .field("primary_host_id", &self.primary_host_id)
            .field("client_id", &self.client_id)
            .field("keepalive", &self.keepalive)
            .field("username", &self.credentials.as_ref().map(|c| &c.0))
            .finish()
    }
}

/// Is `s` usable as one Sparkplug id (one MQTT topic level)?
pub fn id_problem(s: &str) -> Option<&'static str> {
    if s.is_empty() {
        Some("must not be empty")
    } else if s.chars().any(|c| matches!(c, '+' | '#' | '/')) {
        Some("must not contain `+`, `#` or `/` (it is one MQTT topic level)")
    } else if s.chars().any(char::is_control) {
        Some("must not contain control characters")
    } else {
        None
    }
}

pub(super) fn build(raw: &RawSite, err: &mut dyn FnMut(Range<usize>, String, String)) -> Option<MqttConfig> {
    let m = raw.mqtt.as_ref()?;
    let mut id = |v: &Spanned<String>, path: &str| {
        if let Some(problem) = id_problem(v.get_ref()) {
            err(v.span(), format!("mqtt.{path}"), problem.into());
        }
        v.get_ref().clone()
    };
    let group_id = id(&m.group_id, "group_id");
    let edge_node_id = id(&m.edge_node_id, "edge_node_id");
    let primary_host_id = m.primary_host_id.as_ref().map(|p| id(p, "primary_host_id"));
    for (i, d) in raw.device.iter().enumerate() {
        if let Some(problem) = id_problem(d.name.get_ref()) {
            err(d.name.span(), format!("device[{i}].name"), format!("is a Sparkplug device id, so it {problem}"));
        }
    }
    let b = m.broker.get_ref();
    let (host, port) = match b.rsplit_once(':').map(|(h, p)| (h, p.parse::<u16>())) {
        Some((h, Ok(p))) if !h.is_empty() && p > 0 => (h.to_string(), p),
        _ => {
            err(m.broker.span(), "mqtt.broker".into(), format!("`{b}` is not host:port (e.g. \"127.0.0.1:1883\")"));
            (String::new(), 0)
        }
    };
    let client_id = match &m.client_id {
        Some(c) => {
            if c.get_ref().is_empty() || c.get_ref().chars().any(char::is_control) {
                err(c.span(), "mqtt.client_id".into(), "must be non-empty text without control characters".into());
            }
            c.get_ref().clone()
        }
        None => format!("mimic-{group_id}-{edge_node_id}"),
    };
    let keepalive = match &m.keepalive {
        None => Duration::from_secs(30),
        Some(k) => match parse_duration(k.get_ref()) {
            Ok(d) if d.subsec_nanos() == 0 && (1..=65535).contains(&d.as_secs()) => d,
            Ok(_) => {
                err(k.span(), "mqtt.keepalive".into(), "must be whole seconds between 1s and 65535s".into());
                Duration::from_secs(30)
            }
            Err(e) => {
                err(k.span(), "mqtt.keepalive".into(), e.to_string());
                Duration::from_secs(30)
            }
        },
    };
    let credentials = match (&m.username, &m.password) {
        (Some(u), Some(p)) => Some((u.get_ref().clone(), p.get_ref().clone())),
        (None, None) => None,
        (Some(v), None) | (None, Some(v)) => {
            err(v.span(), "mqtt".into(), "`username` and `password` go together".into());
            None
        }
    };
    Some(MqttConfig { host, port, group_id, edge_node_id, primary_host_id, client_id, keepalive, credentials })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Site;
    use crate::config::testkit::{self, PLC};

    /// The errors of the test site ([`PLC`]) with `mqtt` after it, as the file `s.toml`.
    fn errors(mqtt: &str) -> Vec<String> {
        testkit::parse_errors("s.toml", &testkit::text(mqtt))
    }

    #[test]
    fn a_good_section_loads_with_defaults() {
        let m = testkit::site("[mqtt]\nbroker = \"10.0.0.5:1883\"\ngroup_id = \"g\"\nedge_node_id = \"n\"\n")
            .mqtt
            .expect("mqtt");
        assert_eq!((m.host.as_str(), m.port), ("10.0.0.5", 1883));
        assert_eq!(m.client_id, "mimic-g-n");
        assert_eq!(m.keepalive.as_secs(), 30);
        assert_eq!(m.primary_host_id, None);
        assert!(testkit::site("").mqtt.is_none());
    }

    #[test]
    fn mistakes_are_reported_with_their_place() {
        let e = errors("[mqtt]\nbroker = \"h:1\"\ngroup_id = \"g\"\nedge_node_id = \"n\"\nkeep_alive = \"5s\"\n");
        assert!(e[0].starts_with("s.toml:11:1: mqtt.keep_alive: unknown field `keep_alive`"), "{e:?}");
        let e = errors(
            "[mqtt]\nbroker = \"nohost\"\ngroup_id = \"a/b\"\nedge_node_id = \"\"\nkeepalive = \"1500ms\"\n\
             username = \"u\"\nprimary_host_id = \"x+\"\n",
        );
        let want = [
            "s.toml:8:10: mqtt.broker: `nohost` is not host:port",
            "s.toml:9:12: mqtt.group_id: must not contain `+`, `#` or `/`",
            "s.toml:10:16: mqtt.edge_node_id: must not be empty",
            "s.toml:11:13: mqtt.keepalive: must be whole seconds",
            "s.toml:12:12: mqtt: `username` and `password` go together",
            "s.toml:13:19: mqtt.primary_host_id: must not contain",
        ];
        testkit::assert_errors_start_with(&e, &want);
    }

    #[test]
    fn device_names_must_be_sparkplug_ids() {
        let text = PLC.replace("name = \"plc\"", "name = \"plc/1\"");
        let text = format!("{text}[mqtt]\nbroker = \"h:1\"\ngroup_id = \"g\"\nedge_node_id = \"n\"\n");
        let e = Site::parse(Path::new("s.toml"), &text).expect_err("a / in a device id");
        assert!(e.to_string().contains("device[0].name: is a Sparkplug device id"), "{e}");
    }
}
