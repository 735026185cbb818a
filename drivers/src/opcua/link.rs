//! Opening one OPC UA session: the client and its PKI folder, endpoint selection,
//! certificate trust, identity, and the task that drives the session.
//!
//! The library's reconnect logic is off (`session_retry_limit(0)`, reconnects
//! disabled): a [`Link`] is one session for as long as its connection lives, and
//! [`Link::is_alive`] turns false for good when it drops. The caller opens a new one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use opcua::client::{Client, ClientBuilder, IdentityToken, Session, SessionPollResult, SubscriptionActivity};
use opcua::crypto::{CertificateStore, SecurityPolicy};
use opcua::types::{EndpointDescription, MessageSecurityMode, StatusCode, UserTokenType};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{Identity, OpcUaConfig, Security};
use crate::device::DriverError;

/// Start of the name of the PKI folder of a client without security (in the temporary
/// directory): it holds no certificate, by design. The library still looks for one at each
/// secure channel and logs that it is missing; `mimic`'s log filter knows this name.
pub const NO_SECURITY_PKI: &str = "mimic-opcua-nosec-";

/// The client (application certificate, trust store) for one configuration.
pub fn make_client(cfg: &OpcUaConfig) -> Result<Client, DriverError> {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "localhost".into());
    if cfg.security != Security::None {
        std::fs::create_dir_all(&cfg.pki).map_err(|e| connect_err(cfg, format!("pki {}: {e}", cfg.pki.display())))?;
    }
    // Without security no certificate is used; keep the library's trusted/ and rejected/
    // folders out of the operator's PKI folder (or the current directory).
    let pki = if cfg.security == Security::None {
        std::env::temp_dir().join(format!("{NO_SECURITY_PKI}{}", std::process::id()))
    } else {
        cfg.pki.clone()
    };
    ClientBuilder::new()
        .application_name("mimic")
        .application_uri(format!("urn:mimic:{host}"))
        .product_uri("urn:mimic")
        .pki_dir(pki)
        // The client's own certificate and key are created in the PKI folder when absent.
        .create_sample_keypair(cfg.security != Security::None)
        .trust_server_certs(false)
        .verify_server_certs(true)
        .session_retry_limit(0)
        .request_timeout(cfg.timeout)
        .keep_alive_interval(Duration::from_secs(5))
        .max_failed_keep_alive_count(2)
        .session_timeout(60_000)
        .client()
        .map_err(|errs| connect_err(cfg, format!("client configuration: {}", errs.join("; "))))
}

fn connect_err(cfg: &OpcUaConfig, message: String) -> DriverError {
    DriverError::Connect { endpoint: cfg.endpoint.clone(), message }
}

/// One live session and the task that drives it.
pub struct Link {
    pub session: Arc<Session>,
    alive: Arc<AtomicBool>,
    /// Wall-clock ms of the last successful publish response (or of the connect).
    last_publish: Arc<AtomicI64>,
    task: JoinHandle<()>,
}

impl Link {
    /// Connect, create and activate a session. Fails with a message an operator can act on
    /// (untrusted certificate, refused user, no such security on the server, …).
    pub async fn open(client: &Client, cfg: &OpcUaConfig) -> Result<Link, DriverError> {
        match tokio::time::timeout(cfg.timeout * 3, Self::open_inner(client, cfg)).await {
            Err(_) => Err(connect_err(cfg, format!("no session within {:?}", cfg.timeout * 3))),
            Ok(r) => r,
        }
    }

    async fn open_inner(client: &Client, cfg: &OpcUaConfig) -> Result<Link, DriverError> {
        if cfg.security != Security::None {
            adopt_trusted_certs(&cfg.pki);
        }
        let endpoints = client
            .get_server_endpoints_from_url(cfg.endpoint.as_str())
            .await
            .map_err(|e| connect_err(cfg, format!("GetEndpoints failed: {}", super::value::status_text(e.status()))))?;
        let mut endpoint = pick_endpoint(&endpoints, cfg.security).ok_or_else(|| {
            let offered: Vec<String> = endpoints.iter().map(describe_endpoint).collect();
            connect_err(
                cfg,
                format!(
                    "the server offers no {} endpoint (it offers: {})",
                    cfg.security.name(),
                    if offered.is_empty() { "none".into() } else { offered.join(", ") }
                ),
            )
        })?;
        // Connect to the address we were given, whatever host name the server advertises.
        endpoint.endpoint_url = cfg.endpoint.as_str().into();
        let identity = match &cfg.identity {
            Identity::Anonymous => IdentityToken::Anonymous,
            Identity::User { name, password } => {
                let offered =
                    endpoint.user_identity_tokens.iter().flatten().any(|t| t.token_type == UserTokenType::UserName);
                if !offered {
                    return Err(connect_err(cfg, "the server's endpoint does not accept user names".into()));
                }
                let pw = password.read().map_err(|e| connect_err(cfg, e.to_string()))?;
                IdentityToken::new_user_name(name.clone(), pw)
            }
        };
        let (session, event_loop) = client
            .session_builder()
            .connect_to_endpoint_directly(endpoint)
            .and_then(|b| b.user_identity_token(identity).build(client.certificate_store().clone()))
            .map_err(|e| connect_err(cfg, format!("session: {}", super::value::status_text(e.status()))))?;
        session.disable_reconnects();

        let alive = Arc::new(AtomicBool::new(false));
        let last_publish = Arc::new(AtomicI64::new(crate::now_ms()));
        let (first_tx, first_rx) = oneshot::channel::<Result<(), StatusCode>>();
        let flag = alive.clone();
        let published = last_publish.clone();
        let task = tokio::spawn(async move {
            let stream = event_loop.enter();
            futures_util::pin_mut!(stream);
            let mut first = Some(first_tx);
            while let Some(ev) = stream.next().await {
                match ev {
                    Ok(SessionPollResult::Reconnected(_)) => {
                        flag.store(true, Ordering::SeqCst);
                        if let Some(tx) = first.take() {
                            let _ = tx.send(Ok(()));
                        }
                    }
                    Ok(SessionPollResult::Subscription(SubscriptionActivity::Publish)) => {
                        published.store(crate::now_ms(), Ordering::SeqCst);
                    }
                    Ok(SessionPollResult::ConnectionLost(code)) => {
                        tracing::warn!("OPC UA connection lost: {}", super::value::status_text(code));
                        break;
                    }
                    Ok(SessionPollResult::ReconnectFailed(code)) | Err(code) => {
                        if let Some(tx) = first.take() {
                            let _ = tx.send(Err(code));
                        }
                        break;
                    }
                    Ok(_) => {}
                }
            }
            flag.store(false, Ordering::SeqCst);
        });
        let link = Link { session, alive, last_publish, task };
        match first_rx.await {
            Ok(Ok(())) => Ok(link),
            Ok(Err(code)) => Err(connect_err(cfg, explain(code, cfg))),
            Err(_) => Err(connect_err(cfg, "the session ended before it was established".into())),
        }
    }

    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst) && !self.task.is_finished()
    }

    /// Milliseconds since the last successful publish response (or since the connect).
    pub fn since_publish_ms(&self) -> i64 {
        crate::now_ms() - self.last_publish.load(Ordering::SeqCst)
    }

    /// Close the session politely (bounded by `timeout`), then stop its task.
    pub async fn close(self, timeout: Duration) {
        if self.is_alive() {
            let _ = tokio::time::timeout(timeout, self.session.disconnect()).await;
        }
        self.task.abort();
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn pick_endpoint(endpoints: &[EndpointDescription], security: Security) -> Option<EndpointDescription> {
    let (policy, mode) = match security {
        Security::None => (SecurityPolicy::None, MessageSecurityMode::None),
        Security::Sign => (SecurityPolicy::Basic256Sha256, MessageSecurityMode::Sign),
        Security::SignAndEncrypt => (SecurityPolicy::Basic256Sha256, MessageSecurityMode::SignAndEncrypt),
    };
    endpoints
        .iter()
        .find(|e| e.security_mode == mode && SecurityPolicy::from_uri(e.security_policy_uri.as_ref()) == policy)
        .cloned()
}

fn describe_endpoint(e: &EndpointDescription) -> String {
    let policy = e.security_policy_uri.as_ref().rsplit('#').next().unwrap_or("?").to_string();
    format!("{policy}/{:?}", e.security_mode)
}

/// A failed connect, in words an operator can act on.
fn explain(code: StatusCode, cfg: &OpcUaConfig) -> String {
    let base = code.bits() & 0xFFFF_0000;
    let text = super::value::status_text(code);
    if base == StatusCode::BadCertificateUntrusted.bits() || base == StatusCode::BadSecurityChecksFailed.bits() {
        let rejected = cfg.pki.join("rejected");
        let newest = newest_file(&rejected).map_or_else(String::new, |f| format!(" as {}", f.display()));
        format!(
            "the server's certificate is not trusted ({text}); it was saved{newest} in {}; \
             after checking it, move it to {} to trust this server",
            rejected.display(),
            cfg.pki.join("trusted").display()
        )
    } else if base == StatusCode::BadUserAccessDenied.bits()
        || base == StatusCode::BadIdentityTokenRejected.bits()
        || base == StatusCode::BadIdentityTokenInvalid.bits()
        || base == StatusCode::BadUserSignatureInvalid.bits()
    {
        match &cfg.identity {
            Identity::User { name, .. } => format!("the server refused user `{name}` ({text})"),
            Identity::Anonymous => format!("the server refused an anonymous session ({text}); configure `user`"),
        }
    } else if text.starts_with("BadCertificate") || text.starts_with("BadSecurity") {
        format!("certificate problem: {text}")
    } else {
        format!("cannot establish a session: {text}")
    }
}

fn newest_file(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max_by_key(|(t, _)| *t)
        .map(|(_, p)| p)
}

/// The library trusts a server certificate only under its canonical file name
/// (`CN [thumbprint].der`) in `trusted/`; an operator may drop one in under any name
/// (`plc.der`, `plc.pem`). Copy such files to their canonical names.
fn adopt_trusted_certs(pki: &Path) {
    let trusted = pki.join("trusted");
    let Ok(entries) = std::fs::read_dir(&trusted) else { return };
    for e in entries.flatten() {
        let path = e.path();
        let ext = path.extension().and_then(|x| x.to_str()).unwrap_or("");
        if !matches!(ext, "der" | "pem" | "crt") {
            continue;
        }
        let Ok(cert) = CertificateStore::read_cert(&path) else { continue };
        let canonical = trusted.join(CertificateStore::cert_file_name(&cert));
        if canonical != path && !canonical.exists() {
            match cert.to_der() {
                Ok(der) => {
                    if let Err(err) = std::fs::write(&canonical, der) {
                        tracing::warn!("cannot copy {} to {}: {err}", path.display(), canonical.display());
                    }
                }
                Err(err) => tracing::warn!("cannot encode {}: {err}", path.display()),
            }
        }
    }
}
