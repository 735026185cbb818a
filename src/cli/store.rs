//! Where a command finds the site's records: `--data DIR` or `--site FILE` (its
//! `data_dir`), and then the running daemon's socket there, or else the store file
//! ([`Records`], which reads the alarm journal and the audit trail either way).

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use redb::Database;

use crate::alarms::journal::{self, Page, Query, Record};
use crate::ipc::{Reply, Request};

/// Audit entries asked for at a time.
const AUDIT_PAGE: u32 = 2000;

/// `--data DIR | --site FILE`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct StoreArgs {
    /// Data directory (default: the site file's data_dir, else ./mimic-data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Site file whose data_dir to use.
    #[arg(long, conflicts_with = "data")]
    pub site: Option<PathBuf>,
}

impl StoreArgs {
    pub fn dir(&self) -> anyhow::Result<PathBuf> {
        Ok(self.site_and_dir()?.1)
    }

    /// The site (when `--site` names one, loaded once) and the data directory.
    pub fn site_and_dir(&self) -> anyhow::Result<(Option<crate::config::Site>, PathBuf)> {
        site_and_dir(self.data.as_deref(), self.site.as_deref())
    }
}

/// The site file `site` loaded (when given) and the data directory: `data`, else the
/// site's data_dir, else ./mimic-data.
pub fn site_and_dir(
    data: Option<&Path>,
    site: Option<&Path>,
) -> anyhow::Result<(Option<crate::config::Site>, PathBuf)> {
    let site = site.map(super::load_site).transpose()?;
    let dir = match (data, &site) {
        (Some(d), _) => d.to_path_buf(),
        (None, Some(s)) => s.data_dir.clone(),
        (None, None) => PathBuf::from("mimic-data"),
    };
    Ok((site, dir))
}

/// The daemon serving `dir`, when one runs.
pub fn daemon(dir: &Path) -> Option<UnixStream> {
    UnixStream::connect(dir.join(crate::ipc::SOCKET_NAME)).ok()
}

/// One request to the daemon on `stream`, the answer `pick` takes.
pub fn ask<T>(stream: &UnixStream, req: &Request, pick: impl Fn(Reply) -> Option<T>) -> anyhow::Result<T> {
    super::history::exchange(stream.try_clone()?, req, pick).context("asking the daemon")
}

/// Opens DIR/store.redb without creating it; a store held by a running daemon is
/// reported as such.
pub fn open(dir: &Path) -> anyhow::Result<Database> {
    let path = dir.join(crate::daemon::STORE_NAME);
    if !path.exists() {
        bail!("no store at {} (use --data DIR or --site FILE)", path.display());
    }
    match Database::open(&path) {
        Ok(db) => Ok(db),
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => bail!(
            "the store {} is in use by another process, but no daemon answers on {}",
            path.display(),
            dir.join(crate::ipc::SOCKET_NAME).display()
        ),
        Err(e) => Err(e).with_context(|| format!("opening {}", path.display())),
    }
}

/// Where a command reads the records: the daemon serving the store (which reads them in
/// its own read transactions), or, none running, the store file.
pub enum Records {
    Daemon(UnixStream),
    File(Database),
}

impl Records {
    /// The daemon serving `dir` when one runs, else the store file there ([`open`]).
    pub fn open(dir: &Path) -> anyhow::Result<Records> {
        Ok(match daemon(dir) {
            Some(s) => Records::Daemon(s),
            None => Records::File(open(dir)?),
        })
    }

    /// The daemon's stream; none when reading the file, which is closed here (so that
    /// the store may be opened again).
    pub fn into_daemon(self) -> Option<UnixStream> {
        match self {
            Records::Daemon(s) => Some(s),
            Records::File(_) => None,
        }
    }

    /// Every page of the alarm journal `q` selects (from `q.after` on), each handed to
    /// `take` in turn.
    pub fn alarm_pages(&self, mut q: Query, mut take: impl FnMut(&Page) -> anyhow::Result<()>) -> anyhow::Result<()> {
        loop {
            let page = match self {
                Records::Daemon(s) => ask(s, &Request::AlarmHistory { query: q.clone() }, |r| match r {
                    Reply::AlarmHistory(p) => Some(p),
                    _ => None,
                })?,
                Records::File(db) => journal::page(db, &q).context("reading the alarm journal")?,
            };
            take(&page)?;
            match page.next {
                Some(n) => q.after = Some(n),
                None => return Ok(()),
            }
        }
    }

    /// The alarms active at `at_ms` by the journal ([`journal::active_at`]).
    pub fn alarms_active(&self, at_ms: i64) -> anyhow::Result<Vec<Record>> {
        match self {
            Records::Daemon(s) => ask(s, &Request::AlarmsActive { at_ms }, |r| match r {
                Reply::AlarmHistory(p) => Some(p.records),
                _ => None,
            }),
            Records::File(db) => {
                journal::active_at(db, at_ms, crate::alarms::kpi::LOOKBACK_MS).context("reading the alarm journal")
            }
        }
    }

    /// Every audit entry from `since_ms` on, oldest first, as JSON
    /// ([`crate::audit::entry_json`]), a page at a time handed to `take`.
    pub fn audit_pages(
        &self,
        since_ms: i64,
        mut take: impl FnMut(&[serde_json::Value]) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut after = 0;
        loop {
            let (entries, next) = match self {
                Records::Daemon(s) => {
                    let req = Request::AuditEntries { since_ms, after, limit: AUDIT_PAGE };
                    ask(s, &req, |r| match r {
                        Reply::AuditEntries { entries, next } => Some((entries, next)),
                        _ => None,
                    })?
                }
                Records::File(db) => {
                    let (entries, next) = crate::audit::entries_page(db, since_ms, after, AUDIT_PAGE as usize)
                        .context("reading the audit trail")?;
                    (entries.iter().map(crate::audit::entry_json).collect(), next)
                }
            };
            take(&entries)?;
            match next {
                Some(n) => after = n,
                None => return Ok(()),
            }
        }
    }
}
