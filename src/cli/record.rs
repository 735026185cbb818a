//! Audit entries for what the command line changes beside the daemon (users, models):
//! with a daemon running, it holds the store, so it is told (an act over its socket,
//! attributed by the socket's peer credentials, and the daemon checks for itself what
//! changed); otherwise the entries go straight into the store's audit log, attributed to
//! the OS account running the command.

use std::path::Path;

use anyhow::Context;

use crate::audit::Action;
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
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let me = crate::ipc::user_name(uid).unwrap_or_else(|| format!("uid {uid}"));
    let now = mimic_drivers::now_ms();
    for (action, target, detail) in entries {
        crate::audit::append_commit(h.database(), &key, &me, None, action.clone(), None, Some(target), detail, now)
            .context("audit log")?;
    }
    Ok(format!("{} entr{} recorded in the audit log", entries.len(), if entries.len() == 1 { "y" } else { "ies" }))
}
