//! The optional `[opcua_server]` section: mimic as an OPC UA server for the plant's
//! SCADA, MES and historians (see `crate::north::opcua`).
//!
//! Checks: `bind` is `ip:port` with a port above 0; `security` lists known modes (the
//! names the OPC UA devices use: `none`, `basic256sha256-sign`,
//! `basic256sha256-sign-encrypt`), at least one and none twice (default: only
//! `basic256sha256-sign-encrypt`; `none` only when listed); `anonymous` is `"viewer"`
//! when present (absent: anonymous sessions are refused); `max_sessions` in 1..=1000
//! (default 20); `max_monitored_items` (per subscription) in 1..=100000 (default 10000).
//! The server's certificate and trust lists live under the data directory
//! ([`PKI_DIR`], the client's `pki` layout: `own/`, `private/`, `trusted/`, `rejected/`).

use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use mimic_drivers::opcua::Security;
use serde_spanned::Spanned;

use super::raw::RawSite;

/// The server's PKI folder inside the data directory.
pub const PKI_DIR: &str = "opcua-server-pki";

/// A validated `[opcua_server]` section.
#[derive(Clone, Debug, PartialEq)]
pub struct OpcUaServerConfig {
    pub bind: SocketAddr,
    /// The endpoints offered, in file order.
    pub security: Vec<Security>,
    /// Anonymous sessions allowed, as viewers.
    pub anonymous: bool,
    pub max_sessions: usize,
    /// Monitored items per subscription.
    pub max_monitored_items: usize,
    /// Certificate, key and trust lists (`<data_dir>/opcua-server-pki`).
    pub pki: PathBuf,
}

pub(super) fn build(
    raw: &RawSite,
    data_dir: &Path,
    err: &mut dyn FnMut(Range<usize>, String, String),
) -> Option<OpcUaServerConfig> {
    let s = raw.opcua_server.as_ref()?;
    let b = s.bind.get_ref();
    let bind = match b.parse::<SocketAddr>() {
        Ok(a) if a.port() > 0 => a,
        Ok(_) => {
            err(s.bind.span(), "opcua_server.bind".into(), "the port must be above 0".into());
            SocketAddr::from(([127, 0, 0, 1], 4855))
        }
        Err(_) => {
            let msg = format!("`{}` is not ip:port (e.g. \"127.0.0.1:4855\")", b.escape_debug());
            err(s.bind.span(), "opcua_server.bind".into(), msg);
            SocketAddr::from(([127, 0, 0, 1], 4855))
        }
    };
    let mut security = Vec::new();
    match &s.security {
        None => security.push(Security::SignAndEncrypt),
        Some(list) => {
            if list.get_ref().is_empty() {
                err(list.span(), "opcua_server.security".into(), "must list at least one mode".into());
            }
            for (i, name) in list.get_ref().iter().enumerate() {
                let path = format!("opcua_server.security[{i}]");
                match Security::from_name(name.get_ref()) {
                    Some(m) if security.contains(&m) => err(name.span(), path, "listed twice".into()),
                    Some(m) => security.push(m),
                    None => err(
                        name.span(),
                        path,
                        format!("unknown mode `{}`; expected {}", name.get_ref().escape_debug(), Security::NAMES),
                    ),
                }
            }
        }
    }
    let anonymous = match &s.anonymous {
        None => false,
        Some(a) if a.get_ref() == "viewer" => true,
        Some(a) => {
            let msg = "must be \"viewer\" (anonymous clients may only read), or absent to refuse them";
            err(a.span(), "opcua_server.anonymous".into(), msg.into());
            false
        }
    };
    let mut count = |v: &Option<Spanned<i64>>, field: &str, max: i64, default: usize| match v {
        None => default,
        Some(n) if (1..=max).contains(n.get_ref()) => usize::try_from(*n.get_ref()).unwrap_or(default),
        Some(n) => {
            err(n.span(), format!("opcua_server.{field}"), format!("must be between 1 and {max}"));
            default
        }
    };
    let max_sessions = count(&s.max_sessions, "max_sessions", 1000, 20);
    let max_monitored_items = count(&s.max_monitored_items, "max_monitored_items", 100_000, 10_000);
    Some(OpcUaServerConfig {
        bind,
        security,
        anonymous,
        max_sessions,
        max_monitored_items,
        pki: data_dir.join(PKI_DIR),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use mimic_drivers::opcua::Security;

    use crate::config::Site;

    const BASE: &str = "[site]\nname = \"t\"\ndata_dir = \"d\"\n";

    fn errors(section: &str) -> Vec<String> {
        crate::config::testkit::parse_errors("/s/s.toml", &format!("{BASE}{section}"))
    }

    #[test]
    fn a_good_section_loads_with_defaults() {
        let text = format!("{BASE}[opcua_server]\nbind = \"127.0.0.1:4855\"\n");
        let site = Site::parse(Path::new("/s/s.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
        let s = site.opcua_server.expect("section");
        assert_eq!(s.bind.to_string(), "127.0.0.1:4855");
        assert_eq!(s.security, vec![Security::SignAndEncrypt]);
        assert!(!s.anonymous);
        assert_eq!((s.max_sessions, s.max_monitored_items), (20, 10_000));
        assert_eq!(s.pki, Path::new("/s/d/opcua-server-pki"));
        assert!(Site::parse(Path::new("s.toml"), BASE).expect("none").opcua_server.is_none());
        let text = format!(
            "{BASE}[opcua_server]\nbind = \"0.0.0.0:4840\"\nsecurity = [\"none\", \"basic256sha256-sign\"]\n\
             anonymous = \"viewer\"\nmax_sessions = 3\nmax_monitored_items = 50\n"
        );
        let s = Site::parse(Path::new("s.toml"), &text).expect("valid").opcua_server.expect("section");
        assert_eq!(s.security, vec![Security::None, Security::Sign]);
        assert!(s.anonymous);
        assert_eq!((s.max_sessions, s.max_monitored_items), (3, 50));
    }

    #[test]
    fn mistakes_are_reported_with_their_place() {
        let e = errors("[opcua_server]\nbind = \"127.0.0.1:4855\"\nport = 4855\n");
        assert!(e[0].starts_with("/s/s.toml:6:1: opcua_server.port: unknown field `port`"), "{e:?}");
        let e = errors(
            "[opcua_server]\nbind = \"localhost\"\nsecurity = [\"none\", \"aes\", \"none\"]\n\
             anonymous = \"admin\"\nmax_sessions = 0\nmax_monitored_items = 1000000\n",
        );
        let want = [
            "/s/s.toml:5:8: opcua_server.bind: `localhost` is not ip:port",
            "/s/s.toml:6:21: opcua_server.security[1]: unknown mode `aes`; expected none,",
            "/s/s.toml:6:28: opcua_server.security[2]: listed twice",
            "/s/s.toml:7:13: opcua_server.anonymous: must be \"viewer\"",
            "/s/s.toml:8:16: opcua_server.max_sessions: must be between 1 and 1000",
            "/s/s.toml:9:23: opcua_server.max_monitored_items: must be between 1 and 100000",
        ];
        crate::config::testkit::assert_errors_start_with(&e, &want);
        let e = errors("[opcua_server]\nbind = \"127.0.0.1:0\"\nsecurity = []\n");
        assert!(e[0].contains("opcua_server.bind: the port must be above 0"), "{e:?}");
        assert!(e[1].contains("opcua_server.security: must list at least one mode"), "{e:?}");
    }
}
