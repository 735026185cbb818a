//! Audit entries for what the command line changes beside the daemon (users, models):
//! with a daemon running, it holds the store, so it is told (an act over its socket,
//! attributed by the socket's peer credentials, and the daemon checks for itself what
//! changed); otherwise the entries go straight into the store's audit log, attributed to
//! the OS account running the command.

use std::path::Path;

use anyhow::Context;

use crate::audit::{Action, Note};
use crate::historian::{Historian, HistorianOptions};
use crate::ipc::Act;

/// One entry to record: action, target, detail.
pub type Entry = (Action, String, String);

/// Record `entries`, or tell the running daemon with `tell`. Returns what was done.
pub fn record(data: &Path, entries: &[Entry], tell: Act) -> anyhow::Result<String> {
    if entries.is_empty() {
        return Ok("nothing to audit".into());
    }
    let store = data.join(crate::daemon::STORE_NAME);
    let h = match Historian::open(&store, HistorianOptions::default()) {
        Ok(h) => h,
        Err(e) if data.join(crate::ipc::SOCKET_NAME).exists() => {
            tracing::debug!("store not opened ({e}); telling the daemon");
            return super::history::act(data, tell).context("the running daemon could not be told to audit this");
        }
        Err(e) => return Err(e).with_context(|| format!("opening the store {} to audit this", store.display())),
    };
    let key = crate::audit::SiteKey::load_or_create(&data.join(crate::audit::KEY_NAME))
        .map_err(|e| anyhow::anyhow!("site key: {e}"))?;
    let me = crate::account::me();
    let now = mimic_drivers::now_ms();
    for (action, target, detail) in entries {
        let note = Note::by(&me, action.clone(), Some(target), detail);
        crate::audit::append_commit(h.database(), &key, &note, now).context("audit log")?;
    }
    Ok(format!("{} entr{} recorded in the audit log", entries.len(), if entries.len() == 1 { "y" } else { "ies" }))
}

/// Record a model just trained and saved under `data`: with a daemon serving `data`, tell it
/// (`tell`; it loads the model, audits and stores the version itself, attributed by the
/// socket's peer credentials); otherwise write the audit entry (`detail`) and `version` to the
/// store in ONE transaction, attributed to the mimic user of the OS account running the
/// command (else the account). Returns what was done.
pub fn record_version(
    data: &Path,
    version: &crate::lifecycle::ModelVersion,
    detail: &str,
    tell: Act,
) -> anyhow::Result<String> {
    let sock = data.join(crate::ipc::SOCKET_NAME);
    if std::os::unix::net::UnixStream::connect(&sock).is_ok() {
        return super::history::act(data, tell).context("the running daemon could not be told of the new model");
    }
    let store = data.join(crate::daemon::STORE_NAME);
    let h = Historian::open(&store, HistorianOptions::default())
        .with_context(|| format!("opening the store {} to record the model", store.display()))?;
    let key = crate::audit::SiteKey::load_or_create(&data.join(crate::audit::KEY_NAME))
        .map_err(|e| anyhow::anyhow!("site key: {e}"))?;
    let me = crate::account::me();
    let users = crate::users::Users::load_or_new(&crate::users::users_path(data)).unwrap_or_default();
    let by = users.by_os_account(&me).filter(|u| u.active()).map_or(me, |u| u.name.clone());
    let now = mimic_drivers::now_ms();
    let version = crate::lifecycle::ModelVersion { by: by.clone(), ..version.clone() };
    let txn = h.database().begin_write()?;
    let target = version.asset.as_str();
    crate::audit::append(&txn, &key, &Note::by(&by, Action::ModelRetrain, Some(target), detail), now)
        .context("audit log")?;
    let stored = crate::lifecycle::record_model(&txn, &version)?;
    txn.commit()?;
    Ok(format!(
        "{} model version {} of {} recorded with its figures (audited)",
        stored.kind,
        stored.version,
        target.escape_debug()
    ))
}
