//! mimic as an OPC UA server (async-opcua's server), when the site file has an
//! `[opcua_server]` section: the plant's SCADA, MES and historians browse the site, read
//! and subscribe to live values, read history from the historian, and ask for writes —
//! which wait for approval like any other.
//!
//! - Address space ([`space`]): `Objects/<site>/<area>/<unit>/<asset>/<tag>`, tags without
//!   an asset under `Objects/<site>/<device>`; a tag is `ns=<mimic ns>;s=<tag name>`.
//! - Live values: the core's sample stream (what the historian stores) is teed here and
//!   set on the variables, which notifies subscriptions.
//! - Identity ([`auth`]): user name and password checked by the core task against the
//!   users file (counted towards lock-out, failures and session starts audited);
//!   anonymous sessions only with `anonymous = "viewer"`.
//! - History ([`history`]): raw, processed and at-time reads over the historian.
//! - Writes ([`nodes`]): a Write to a writable tag becomes a write request sent to the
//!   core with the session's user, answered GoodCompletesAsynchronously; the device is
//!   written only after approval, and the Value changes when the read-back arrives.
//! - Alarms ([`events`]): each alarm state change is an event on its asset and the
//!   Server object; the site folder's Acknowledge method acknowledges through the core.

pub mod auth;
pub mod events;
pub mod history;
pub mod manager;
pub mod nodes;
pub mod space;
pub mod tags;

use std::sync::{Arc, RwLock};

use opcua::server::ServerBuilder;
use opcua::types::MessageSecurityMode;
use tokio::sync::{mpsc, oneshot};

use crate::alarms::AlarmEvent;
use crate::config::{OpcUaServerConfig, Site};
use crate::core::{Act, Refusal, Sample};
use crate::historian::{Historian, TagId};
use crate::users::Role;
use mimic_drivers::opcua::Security;

/// The namespace of the site's nodes.
pub fn namespace_uri(site: &Site) -> String {
    format!("urn:mimic:{}", site.name.replace(char::is_whitespace, "-"))
}

/// What the server asks of the core task.
pub enum Request {
    /// An ActivateSession with a user name: check the secret against the users file
    /// (a failure counts towards the lock-out; failures and the session start are
    /// audited). Answers the user's role.
    Login { user: String, secret: crate::core::Secret, reply: oneshot::Sender<Result<Role, Refusal>> },
    /// An act of a session's user (`None`: an anonymous viewer); the core authorises it.
    Act { user: Option<String>, act: Act, reply: oneshot::Sender<Result<String, Refusal>> },
    /// A write the server refused itself (viewer, outside the limits, not writable),
    /// for the audit log.
    Refused { user: Option<String>, tag: String, value: f64, why: String, reply: oneshot::Sender<Result<(), Refusal>> },
}

/// The core task's end of the link.
pub struct CoreLink {
    /// The stored samples, teed (never blocks the core: a full queue drops and logs).
    pub samples: mpsc::Sender<Vec<Sample>>,
    /// Alarm state changes, teed likewise.
    pub alarms: mpsc::Sender<Vec<AlarmEvent>>,
    pub requests: mpsc::Receiver<Request>,
}

/// Everything the server task needs.
pub struct Ctx {
    pub cfg: OpcUaServerConfig,
    pub site: Arc<Site>,
    pub historian: Arc<RwLock<Historian>>,
    pub tag_ids: Arc<Vec<TagId>>,
    pub samples: mpsc::Receiver<Vec<Sample>>,
    pub alarms: mpsc::Receiver<Vec<AlarmEvent>>,
    pub requests: mpsc::Sender<Request>,
}

/// The two ends, when the site has an `[opcua_server]` section.
pub fn link(
    site: &Arc<Site>,
    historian: &Arc<RwLock<Historian>>,
    tag_ids: &Arc<Vec<TagId>>,
) -> Option<(CoreLink, Ctx)> {
    let cfg = site.opcua_server.clone()?;
    let (samples_tx, samples) = mpsc::channel(65_536);
    let (alarms_tx, alarms) = mpsc::channel(4_096);
    let (requests, requests_rx) = mpsc::channel(256);
    let ctx = Ctx {
        cfg,
        site: site.clone(),
        historian: historian.clone(),
        tag_ids: tag_ids.clone(),
        samples,
        alarms,
        requests,
    };
    Some((CoreLink { samples: samples_tx, alarms: alarms_tx, requests: requests_rx }, ctx))
}

/// The PKI folder with its `trusted/` and `rejected/` folders (made on first use).
fn make_pki(cfg: &OpcUaServerConfig) -> std::io::Result<()> {
    for sub in ["trusted", "rejected", "own", "private"] {
        std::fs::create_dir_all(cfg.pki.join(sub))?;
    }
    Ok(())
}

fn endpoint_id(s: Security) -> &'static str {
    s.name()
}

fn builder(cx: &Ctx, auth: Arc<auth::MimicAuth>, nodes: nodes::Builder) -> ServerBuilder {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "localhost".into());
    let cfg = &cx.cfg;
    let mut b = ServerBuilder::new()
        .application_name(format!("mimic {}", cx.site.name))
        .application_uri(format!("urn:mimic:{host}:server"))
        .product_uri("urn:mimic")
        .pki_dir(cfg.pki.clone())
        .create_sample_keypair(true)
        .certificate_path("own/cert.der")
        .private_key_path("private/private.pem")
        .trust_client_certs(false)
        .host(cfg.bind.ip().to_string())
        .port(cfg.bind.port())
        .max_sessions(cfg.max_sessions)
        .with_authenticator(auth)
        .with_node_manager(nodes)
        .discovery_urls(vec!["/".to_owned()]);
    for &s in &cfg.security {
        let (policy, mode) = match s {
            Security::None => (opcua::crypto::SecurityPolicy::None, MessageSecurityMode::None),
            Security::Sign => (opcua::crypto::SecurityPolicy::Basic256Sha256, MessageSecurityMode::Sign),
            Security::SignAndEncrypt => {
                (opcua::crypto::SecurityPolicy::Basic256Sha256, MessageSecurityMode::SignAndEncrypt)
            }
        };
        let tokens: Vec<&str> = if cfg.anonymous { vec![opcua::server::ANONYMOUS_USER_TOKEN_ID] } else { Vec::new() };
        b = b.add_endpoint(endpoint_id(s), ("/", policy, mode, &tokens as &[&str]));
    }
    if let Some(first) = cfg.security.first() {
        b = b.default_endpoint(endpoint_id(*first));
    }
    let limits = b.limits_mut();
    limits.subscriptions.max_monitored_items_per_sub = cfg.max_monitored_items;
    limits.max_history_continuation_points = 100;
    b
}

/// Run the server until the daemon stops. A server that cannot start is logged (the
/// rest of the daemon goes on).
pub async fn run(mut cx: Ctx) {
    if let Err(e) = make_pki(&cx.cfg) {
        tracing::error!("OPC UA server not started: pki folder {}: {e}", cx.cfg.pki.display());
        return;
    }
    let auth = Arc::new(auth::MimicAuth::new(cx.requests.clone(), cx.cfg.anonymous));
    let nodes = nodes::Builder::new(&cx, auth.clone());
    let (server, handle) = match builder(&cx, auth, nodes).build() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("OPC UA server not started: {e}");
            return;
        }
    };
    let Some(manager) = handle.node_managers().get_of_type::<nodes::MimicNodes>() else {
        tracing::error!("OPC UA server not started: its node manager is missing");
        return;
    };
    let subscriptions = handle.subscriptions().clone();
    let bind = cx.cfg.bind;
    let serve = tokio::spawn(async move {
        if let Err(e) = server.run().await {
            tracing::error!("OPC UA server on {bind} stopped: {e}");
        }
    });
    tracing::info!("OPC UA server on opc.tcp://{bind}/");
    let _stop = Cancel(handle);
    loop {
        tokio::select! {
            batch = cx.samples.recv() => match batch {
                Some(batch) => manager.update(&subscriptions, &batch),
                None => break,
            },
            Some(events) = cx.alarms.recv() => events::publish(manager.ns(), &subscriptions, &cx.site, &events),
        }
    }
    serve.abort();
}

/// Cancels the server when the task ends (the daemon stopping aborts it).
struct Cancel(opcua::server::ServerHandle);

impl Drop for Cancel {
    fn drop(&mut self) {
        self.0.cancel();
    }
}
