//! OPC UA client driver (async-opcua), one session per device, and address-space browsing.
//!
//! Subscriptions are the normal path: every point is a monitored item (its own sampling
//! interval and, for numbers, an absolute deadband) and the subscription callback keeps
//! what arrives; the device task's periodic `read` hands those values on, each with the
//! server's source timestamp and its status mapped to a quality ([`value::status_quality`]).
//! A point whose monitored item could not be created, or that has no value yet, is read
//! with a plain Read service call instead.
//!
//! The library's own reconnect logic is switched off: when the connection drops (a
//! server restart, a network cut) the driver says so, the device task reconnects with
//! its back-off, and `connect` builds a new session and a new subscription with all the
//! monitored items. Values that arrived before the drop are still delivered.
//!
//! Security: None, or Basic256Sha256 with Sign or SignAndEncrypt, using the client's own
//! certificate from a PKI folder (created on first use) and trusting only server
//! certificates found in its `trusted/` folder; an unknown server certificate is saved
//! in `rejected/` and the connection refused with a message saying how to trust it.
//! Identities: anonymous or user name + password (the password comes from a file or an
//! environment variable, never from the site file).
//!
//! - [`value`]: variants, status codes, timestamps (pure).
//! - [`link`]: the client, the PKI folder, opening one session.
//! - [`driver`]: the [`Driver`](crate::Driver) implementation.
//! - [`browse`]: walking the address space for `mimic browse`.

pub mod browse;
pub mod driver;
pub mod link;
pub mod value;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

pub use driver::OpcUa;

/// Message security of the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// No signing, no encryption.
    None,
    /// Basic256Sha256, messages signed.
    Sign,
    /// Basic256Sha256, messages signed and encrypted.
    SignAndEncrypt,
}

impl Security {
    /// The names used in the site file and on the command line.
    pub const NAMES: &'static str = "none, basic256sha256-sign, basic256sha256-sign-encrypt";

    pub fn from_name(s: &str) -> Option<Security> {
        Some(match s {
            "none" => Security::None,
            "basic256sha256-sign" => Security::Sign,
            "basic256sha256-sign-encrypt" => Security::SignAndEncrypt,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Security::None => "none",
            Security::Sign => "basic256sha256-sign",
            Security::SignAndEncrypt => "basic256sha256-sign-encrypt",
        }
    }
}

/// Where a password comes from. Never the site file itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    /// A file holding the password (one trailing newline is ignored).
    File(PathBuf),
    /// An environment variable of the mimic process.
    Env(String),
}

impl PasswordSource {
    /// Read the password now. The error never contains the password.
    pub fn read(&self) -> Result<String, PasswordError> {
        match self {
            PasswordSource::File(p) => {
                let mut s =
                    std::fs::read_to_string(p).map_err(|source| PasswordError::File { path: p.clone(), source })?;
                if s.ends_with('\n') {
                    s.pop();
                    if s.ends_with('\r') {
                        s.pop();
                    }
                }
                Ok(s)
            }
            PasswordSource::Env(v) => std::env::var(v).map_err(|_| PasswordError::Env(v.clone())),
        }
    }
}

/// A password that cannot be read; never contains the password.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("cannot read password file {path}: {source}", path = path.display())]
    File { path: PathBuf, source: std::io::Error },
    #[error("environment variable {0} (the password) is not set")]
    Env(String),
}

/// Who the session runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    Anonymous,
    User { name: String, password: PasswordSource },
}

/// One OPC UA server connection.
#[derive(Clone, Debug, PartialEq)]
pub struct OpcUaConfig {
    /// `opc.tcp://host:port/path`
    pub endpoint: String,
    pub security: Security,
    /// Folder holding `own/cert.der`, `private/private.pem`, `trusted/`, `rejected/`.
    pub pki: PathBuf,
    pub identity: Identity,
    /// Per-request (and connect) timeout.
    pub timeout: Duration,
    /// Publishing interval of the subscription.
    pub publishing: Duration,
}

/// One value on the server, as a tag sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct OpcUaPoint {
    /// Node id text, e.g. `ns=2;s=Pump.Speed` or `ns=2;i=1001`.
    pub node: String,
    /// Sampling interval of the monitored item.
    pub sampling: Duration,
    /// Absolute deadband of the monitored item (0: every change).
    pub deadband: f64,
}

/// Check node id text (`ns=2;s=Pump.Speed`, `i=2258`, `ns=1;g=…`, `ns=1;b=…`).
pub fn check_node_id(s: &str) -> Result<(), TextError> {
    opcua::types::NodeId::from_str(s.trim()).map(|_| ()).map_err(|_| TextError::NodeId(s.to_string()))
}

/// OPC UA text (a node id, an endpoint) that does not read as one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("`{0}` is not an OPC UA node id (e.g. \"ns=2;s=Pump.Speed\" or \"ns=2;i=1001\")")]
    NodeId(String),
    #[error("`{0}` is not an opc.tcp endpoint (e.g. \"opc.tcp://192.168.1.30:4840/\")")]
    Endpoint(String),
}

/// Check endpoint text: `opc.tcp://host:port/…`.
pub fn check_endpoint(s: &str) -> Result<(), TextError> {
    let bad = || TextError::Endpoint(s.to_string());
    let rest = s.strip_prefix("opc.tcp://").ok_or_else(bad)?;
    let authority = rest.split('/').next().unwrap_or("");
    let host_ok = if let Some((h, port)) = authority.rsplit_once(':') {
        !h.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
    } else {
        !authority.is_empty()
    };
    if host_ok && !s.chars().any(char::is_control) { Ok(()) } else { Err(bad()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_and_endpoints() {
        assert!(check_node_id("ns=2;s=Pump.Speed").is_ok());
        assert!(check_node_id("ns=2;i=1001").is_ok());
        assert!(check_node_id("i=2258").is_ok());
        assert!(check_node_id("Pump.Speed").is_err());
        assert!(check_node_id("ns=x;i=1").is_err());
        assert!(check_endpoint("opc.tcp://127.0.0.1:4840/").is_ok());
        assert!(check_endpoint("opc.tcp://plc:4840/path/x").is_ok());
        assert!(check_endpoint("opc.tcp://plc").is_ok());
        assert!(check_endpoint("tcp://plc:4840").is_err());
        assert!(check_endpoint("opc.tcp://:4840").is_err());
        assert!(check_endpoint("opc.tcp://plc:0/").is_err());
    }

    #[test]
    fn password_file_drops_one_newline() {
        let dir = std::env::temp_dir().join(format!("mimic-opcua-pw-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let p = dir.join("pw");
        std::fs::write(&p, "s3cret\n").unwrap_or_default();
        assert_eq!(PasswordSource::File(p.clone()).read().ok().as_deref(), Some("s3cret"));
        let missing = PasswordSource::File(dir.join("none")).read().unwrap_err().to_string();
        assert!(missing.contains("cannot read password file"), "{missing}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
