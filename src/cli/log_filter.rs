//! What the OPC UA library logs about a client without security that is not a problem.
//!
//! A device at `security = "none"` gets a client without an application certificate, on
//! purpose: no key is made and nothing is written into the operator's PKI folder (see
//! `mimic_drivers::opcua::link::make_client`). async-opcua 0.19 nevertheless logs, at every
//! start and every secure channel, ERRORs that the certificate and key are missing ("crypto
//! won't work") and a WARN that its own endpoint list is empty (mimic connects by URL and
//! never fills it). A healthy site must log no ERROR or WARN, so exactly these events are
//! dropped: by target, level and text, the certificate ones only when they name the
//! no-security PKI folder. A secure device's missing certificate names its own folder and
//! is still logged.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Drops the OPC UA library's complaints about the certificate a client without security
/// does not have (see the module's overview).
pub struct QuietNoSecurity;

#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

/// Whether an event of the OPC UA library (`target`, `level`, `message`) is one of those
/// about the missing certificate of a client without security.
pub fn expected_without_security(target: &str, level: Level, message: &str) -> bool {
    let nosec = message.contains(mimic_drivers::opcua::link::NO_SECURITY_PKI);
    match (target, level) {
        ("opcua_client::config", Level::WARN) => message == "Endpoint config contains no endpoints",
        ("opcua_client::session::client", Level::ERROR) => {
            message.starts_with("Client is missing its application instance certificate")
        }
        ("opcua_crypto::certificate_store" | "opcua_core::comms::secure_channel", Level::ERROR) => nosec,
        _ => false,
    }
}

impl<S: Subscriber> Layer<S> for QuietNoSecurity {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        let m = event.metadata();
        if !m.target().starts_with("opcua_") || *m.level() > Level::WARN {
            return true;
        }
        let mut msg = Message::default();
        event.record(&mut msg);
        !expected_without_security(m.target(), *m.level(), &msg.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_no_security_clients_certificate_complaints_are_dropped() {
        let nosec = format!(
            "Failed to read own certificate: Cannot read cert from path \"/tmp/{}42/own/cert.der\"",
            mimic_drivers::opcua::link::NO_SECURITY_PKI
        );
        assert!(expected_without_security("opcua_core::comms::secure_channel", Level::ERROR, &nosec));
        assert!(expected_without_security("opcua_crypto::certificate_store", Level::ERROR, &nosec));
        let secure = "Failed to read own certificate: Cannot read cert from path \"/etc/mimic/pki/own/cert.der\"";
        assert!(!expected_without_security("opcua_core::comms::secure_channel", Level::ERROR, secure));
        assert!(!expected_without_security("opcua_core::comms::secure_channel", Level::ERROR, "Decryption failed"));
        assert!(expected_without_security(
            "opcua_client::session::client",
            Level::ERROR,
            "Client is missing its application instance certificate and/or its private key. Encrypted endpoints will not function correctly."
        ));
        assert!(expected_without_security(
            "opcua_client::config",
            Level::WARN,
            "Endpoint config contains no endpoints"
        ));
        assert!(!expected_without_security("opcua_client::config", Level::WARN, "Something else"));
        assert!(!expected_without_security("mimic::daemon", Level::ERROR, &nosec));
    }
}
