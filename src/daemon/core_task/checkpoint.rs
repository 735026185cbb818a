//! Signing audit checkpoints while the twin runs ([`Job::Checkpoint`](crate::core::Job)):
//! the chain is verified first (a checkpoint never blesses a broken chain), then its head
//! is signed, and every signed checkpoint is copied to the site's `checkpoint_dir` when it
//! has one. A failed copy is a system alarm until a copy succeeds.

use std::path::Path;

use super::Shell;
use crate::audit;
use crate::core::Refusal;
use crate::ipc::LiveAlarm;

/// The file the signed checkpoints are copied to, in `checkpoint_dir`.
pub const COPY_NAME: &str = "mimic-checkpoints.jsonl";
/// Id of the "checkpoints cannot be copied" system alarm.
pub const COPY_ALARM_ID: u64 = u64::MAX - 2;

impl Shell {
    /// Sign a checkpoint now (`by` a user, or on the schedule) and copy them all.
    pub(super) fn checkpoint(&mut self, by: Option<String>) -> Result<String, Refusal> {
        let now = mimic_drivers::now_ms();
        let dir = self.state.site.checkpoint_dir.clone();
        let (signed, copied) = tokio::task::block_in_place(|| {
            let h = self.control.historian.read().map_err(|_| NotSigned::Poisoned)?;
            let db = h.database();
            let rep = audit::verify(db, &self.control.key.verifying_key())?;
            if let Some(p) = rep.first_bad {
                return Err(NotSigned::Broken(p));
            }
            let cp = audit::checkpoint_commit(db, &self.control.key, now)?;
            let copied = dir.as_deref().map(|d| copy(db, d).map_err(|e| e.to_string()));
            Ok((cp, copied))
        })
        .inspect_err(|e| tracing::error!("audit checkpoint: {e}"))
        .map_err(Refusal::shell)?;
        let mut reply = match &signed {
            Some(cp) => format!("signed a checkpoint at entry {}", cp.seq),
            None => "the audit chain is empty: nothing to sign".to_string(),
        };
        if by.is_none() {
            tracing::info!("scheduled audit {reply}");
        }
        match copied {
            Some(Ok(path)) => {
                if self.control.checkpoint_copy.take().is_some() {
                    self.dirty = true;
                    tracing::warn!("audit checkpoints copied to {} again", path);
                }
                reply.push_str(&format!("; copied to {path}"));
            }
            Some(Err(e)) => {
                if self.control.checkpoint_copy.is_none() {
                    tracing::warn!("audit checkpoints cannot be copied: {e}");
                }
                self.control.checkpoint_copy.get_or_insert((now, String::new())).1 = e.clone();
                self.dirty = true;
                reply.push_str(&format!("; NOT copied: {e}"));
            }
            None => {}
        }
        Ok(reply)
    }
}

/// Why no checkpoint was signed.
#[derive(Debug, thiserror::Error)]
enum NotSigned {
    #[error("store lock poisoned")]
    Poisoned,
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
    #[error("audit chain BROKEN at {0}; no checkpoint signed")]
    Broken(audit::Problem),
}

/// The signed checkpoints could not be copied to this file (the cause is not a `source`:
/// its text is in this message already).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {why}")]
struct NotCopied {
    path: String,
    why: audit::AuditError,
}

/// Writes every signed checkpoint to `dir`/[`COPY_NAME`]; its path, or why not.
fn copy(db: &redb::Database, dir: &Path) -> Result<String, NotCopied> {
    let path = dir.join(COPY_NAME);
    let write = || {
        std::fs::create_dir_all(dir)?;
        audit::write_export(&path, &audit::stored_checkpoints(db)?)
    };
    match write() {
        Ok(_) => Ok(path.display().to_string()),
        Err(why) => Err(NotCopied { path: path.display().to_string(), why }),
    }
}

/// The system alarm shown while checkpoints cannot be copied (`since_ms`, the error).
pub fn copy_alarm(since_ms: i64, error: &str) -> LiveAlarm {
    let message = format!("audit checkpoints cannot be copied to the checkpoint directory ({error}); signing goes on");
    crate::daemon::snapshot::system_alarm(COPY_ALARM_ID, crate::ipc::LivePriority::Medium, message, Some(since_ms))
}
