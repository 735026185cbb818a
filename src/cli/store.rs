//! Where a command finds the site's records: `--data DIR` or `--site FILE` (its
//! `data_dir`), and then the running daemon's socket there, or else the store file.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use redb::Database;

use crate::ipc::{Reply, Request};

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
