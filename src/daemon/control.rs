//! The shell's side of control: who is asking, the audit log, and carrying out the
//! approval core's effects in the only safe order.
//!
//! Identity comes from the socket's peer credentials (the OS account), mapped to a
//! mimic user through the users file; an account that is not configured is a viewer.
//! Every decision the core returns is audited *before* anything reaches a device: the
//! entries of one act commit in one redb transaction, and if that fails, audit is
//! marked unavailable and the write is not sent (fail closed) while monitoring goes on.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crate::audit::{self, Action, SiteKey};
use crate::historian::Historian;
use crate::ipc::LiveAudit;
use crate::users::{ChangeKind, Role, Users};

/// How long a change of the users file noticed on a tick waits for `mimic user` to
/// report it (with its author) before it is audited as an outside edit.
const USERS_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Audit entries kept in memory for the terminals' Audit screen.
pub const RECENT_AUDIT: usize = 200;

pub use crate::core::{Identity, Note};

/// What failed while writing to the store: the lock, the transaction, an audit entry,
/// the act written with it, or the commit.
#[derive(Debug, thiserror::Error)]
pub enum StoreWrite {
    #[error("store lock poisoned")]
    Poisoned,
    #[error(transparent)]
    Transaction(#[from] redb::TransactionError),
    #[error(transparent)]
    Commit(#[from] redb::CommitError),
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
    #[error(transparent)]
    Lifecycle(#[from] crate::lifecycle::LifecycleError),
    #[error(transparent)]
    Journal(#[from] crate::alarms::journal::JournalError),
}

/// The audit log could not be written, so the act is refused (fail closed). The cause
/// is not a `source`: its text is in this message already.
#[derive(Debug, thiserror::Error)]
#[error("audit log cannot be written ({0}): refused")]
pub struct AuditRefused(StoreWrite);

/// A change of the users file that could not be audited.
#[derive(Debug, thiserror::Error)]
pub enum UsersChangeError {
    /// The file's error is not a `source`: its text is in this message already.
    #[error("users file: {0}")]
    File(crate::users::UsersError),
    #[error(transparent)]
    Audit(#[from] AuditRefused),
}

pub struct Control {
    pub historian: Arc<RwLock<Historian>>,
    pub key: Arc<SiteKey>,
    pub users_path: PathBuf,
    pub recent: VecDeque<LiveAudit>,
    /// False after an audit write failed: control writes are refused until one succeeds.
    pub audit_ok: bool,
    /// Since when, and why, signed checkpoints cannot be copied to `checkpoint_dir`.
    pub checkpoint_copy: Option<(i64, String)>,
    /// The users file as last audited, and its modification stamp.
    users_seen: Users,
    users_stamp: Option<(std::time::SystemTime, u64)>,
    /// When a change of the file was first noticed on a tick (not yet audited).
    users_noticed: Option<std::time::Instant>,
}

impl Control {
    pub fn new(historian: Arc<RwLock<Historian>>, key: Arc<SiteKey>, users_path: PathBuf) -> Control {
        let recent = match historian.read() {
            Ok(h) => audit::newest(h.database(), RECENT_AUDIT)
                .map(|entries| entries.iter().map(live).collect())
                .unwrap_or_default(),
            Err(_) => VecDeque::new(),
        };
        let users_stamp = stamp(&users_path);
        let users_seen = Users::load_or_new(&users_path).unwrap_or_default();
        Control {
            historian,
            key,
            users_path,
            recent,
            audit_ok: true,
            checkpoint_copy: None,
            users_seen,
            users_stamp,
            users_noticed: None,
        }
    }

    /// Audit what changed in the users file since it was last seen, attributed to
    /// `actor` (the OS account that said it changed it, or a note that it was edited
    /// behind mimic's back). Returns how many changes were recorded.
    pub fn users_changed(&mut self, actor: &str) -> Result<usize, UsersChangeError> {
        self.users_stamp = stamp(&self.users_path);
        self.users_noticed = None;
        let now = Users::load_or_new(&self.users_path).map_err(UsersChangeError::File)?;
        let notes: Vec<Note> = crate::users::changes(&self.users_seen, &now)
            .into_iter()
            .map(|c| Note {
                user: actor.to_string(),
                full_name: None,
                action: match c.kind {
                    ChangeKind::Add => Action::UserAdd,
                    ChangeKind::Change => Action::UserChange,
                    ChangeKind::Disable => Action::UserDisable,
                },
                meaning: None,
                target: Some(c.target),
                detail: c.detail,
            })
            .collect();
        self.audit(&notes)?;
        self.users_seen = now;
        Ok(notes.len())
    }

    /// Audit changes of a users file edited without telling the daemon (checked on
    /// the core's tick; cheap when nothing changed). A change is given a few seconds
    /// for `mimic user` to report it with the name of who made it.
    /// True when the users file's stamp differs from the last one seen (one `stat`).
    pub fn users_file_moved(&self) -> bool {
        stamp(&self.users_path) != self.users_stamp
    }

    pub fn check_users_file(&mut self) {
        if stamp(&self.users_path) == self.users_stamp {
            return;
        }
        let noticed = *self.users_noticed.get_or_insert_with(std::time::Instant::now);
        if noticed.elapsed() >= USERS_GRACE
            && let Err(e) = self.users_changed("(users file edited outside mimic)")
        {
            tracing::warn!("users file change not audited: {e}");
        }
    }

    /// Who an OS account is, from the users file (re-read each time: it is small, and
    /// `mimic user` may have changed it).
    pub fn identify(&self, os_account: &str) -> Identity {
        let users = Users::load_or_new(&self.users_path).unwrap_or_else(|e| {
            tracing::warn!("users file unreadable, everyone is a viewer: {e}");
            Users::new()
        });
        match users.by_os_account(os_account).filter(|u| u.active()) {
            Some(u) => Identity {
                os_account: os_account.into(),
                user: Some(u.name.clone()),
                full_name: u.full_name.clone(),
                role: u.role,
            },
            None => Identity {
                os_account: os_account.into(),
                user: None,
                full_name: format!("unconfigured account {os_account}"),
                role: Role::Viewer,
            },
        }
    }

    /// Append `notes` in one transaction. Blocking (a redb commit).
    pub fn audit(&mut self, notes: &[Note]) -> Result<(), AuditRefused> {
        if notes.is_empty() {
            return Ok(());
        }
        self.audit_with(notes, |_| Ok(()))
    }

    /// Append `notes` and let `also` write the act itself in the SAME transaction: both
    /// commit, or neither. Returns what `also` wrote. Blocking (a redb commit).
    pub fn audit_with<T>(
        &mut self,
        notes: &[Note],
        also: impl FnOnce(&redb::WriteTransaction) -> Result<T, StoreWrite>,
    ) -> Result<T, AuditRefused> {
        let now = mimic_drivers::now_ms();
        let result = (|| {
            let h = self.historian.read().map_err(|_| StoreWrite::Poisoned)?;
            let txn = h.database().begin_write()?;
            let written = also(&txn)?;
            let mut entries = Vec::with_capacity(notes.len());
            for n in notes {
                let e = audit::append(&txn, &self.key, n, now)?;
                entries.push(e);
            }
            txn.commit()?;
            Ok::<_, StoreWrite>((written, entries))
        })();
        match result {
            Ok((written, entries)) => {
                self.audit_ok = true;
                for e in &entries {
                    if self.recent.len() == RECENT_AUDIT {
                        self.recent.pop_front();
                    }
                    self.recent.push_back(live(e));
                }
                Ok(written)
            }
            Err(e) => {
                tracing::error!("audit write failed, control writes refused: {e}");
                self.audit_ok = false;
                Err(AuditRefused(e))
            }
        }
    }
}

/// Modification time and length of a file, if it exists.
fn stamp(path: &std::path::Path) -> Option<(std::time::SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

fn live(e: &audit::Entry) -> LiveAudit {
    LiveAudit {
        seq: e.seq,
        ts_ms: e.ts_ms,
        user: match &e.note.full_name {
            Some(f) => format!("{} ({f})", e.note.user),
            None => e.note.user.clone(),
        },
        action: e.note.action.name().to_string(),
        target: e.note.target.clone().unwrap_or_default(),
        meaning: e.note.meaning.clone().unwrap_or_default(),
        detail: e.note.detail.clone(),
    }
}
