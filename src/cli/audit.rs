//! `mimic audit`: verify the audit chain, export entries as JSON lines, export signed
//! checkpoints for removable media. Works on the store file directly, so the daemon must
//! not be running (redb allows one process per file).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use redb::Database;

use crate::audit::{self, AuditError};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole audit chain and its signed checkpoints; exit 1 naming the first bad entry.
    Verify {
        /// Data directory (store.redb, site.pub).
        #[arg(long, default_value = "mimic-data")]
        data: PathBuf,
        /// Checkpoints exported earlier (`mimic audit checkpoint --out`): also detects a cut-off tail.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Print entries as JSON lines (one object per entry, hashes in hex).
    Export {
        /// Start: a duration ago (24h, 7d) or a timestamp (2026-11-26T08:00:00Z).
        #[arg(long, default_value = "24h")]
        since: String,
        #[arg(long, default_value = "mimic-data")]
        data: PathBuf,
    },
    /// Sign a checkpoint of the current head (when DATA/site.key exists and the chain
    /// verifies), then write every signed checkpoint to FILE.
    Checkpoint {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "mimic-data")]
        data: PathBuf,
    },
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify { data, checkpoints } => verify(&data, checkpoints.as_deref()),
        AuditCommand::Export { since, data } => {
            let from = super::history::parse_time(&since, mimic_drivers::now_ms())?;
            let db = open_store(&data)?;
            let out = std::io::BufWriter::new(std::io::stdout().lock());
            audit::export_jsonl(&db, from, out).context("exporting audit entries")?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Checkpoint { out, data } => checkpoint(&data, &out),
    }
}

/// Opens DATA/store.redb without creating it; a store held by a running daemon is
/// reported as such.
fn open_store(data: &Path) -> anyhow::Result<Database> {
    let path = data.join(crate::daemon::STORE_NAME);
    if !path.exists() {
        bail!("no store at {} (use --data DIR)", path.display());
    }
    match Database::open(&path) {
        Ok(db) => Ok(db),
        Err(redb::DatabaseError::DatabaseAlreadyOpen) => bail!(
            "the store {} is in use by another process (is the mimic daemon running?); stop it first",
            path.display()
        ),
        Err(e) => Err(e).with_context(|| format!("opening {}", path.display())),
    }
}

fn public_key(data: &Path) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
    let path = data.join(audit::PUB_NAME);
    audit::load_public(&path).with_context(|| "the site's public key is needed to check checkpoint signatures")
}

fn verify(data: &Path, exported: Option<&Path>) -> anyhow::Result<ExitCode> {
    let db = open_store(data)?;
    let public = match public_key(data) {
        Ok(p) => p,
        // A daemon stopped before its first audit entry (the key is made just before it)
        // leaves a store without one: an empty chain, nothing to check.
        Err(e) if audit::newest(&db, 1).is_ok_and(|n| n.is_empty()) => {
            println!("audit chain OK: 0 entries, 0 checkpoints (no site key yet: {e:#})");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => return Err(e),
    };
    let rep = audit::verify(&db, &public).context("verifying the audit chain")?;
    if let Some(p) = &rep.first_bad {
        println!("audit chain BROKEN at {p}");
        return Ok(ExitCode::FAILURE);
    }
    if let Some(file) = exported {
        let ext = audit::verify_against_export(&db, &public, file)
            .with_context(|| format!("checking against {}", file.display()))?;
        if let Some(p) = &ext.first_bad {
            println!("audit chain BROKEN at {p} (exported checkpoints {})", file.display());
            return Ok(ExitCode::FAILURE);
        }
        println!("audit chain OK: {} entries, {} checkpoints", rep.entries, rep.checkpoints);
        println!("exported checkpoints OK: {} match the store", ext.checkpoints);
    } else {
        println!("audit chain OK: {} entries, {} checkpoints", rep.entries, rep.checkpoints);
    }
    Ok(ExitCode::SUCCESS)
}

fn checkpoint(data: &Path, out: &Path) -> anyhow::Result<ExitCode> {
    let db = open_store(data)?;
    let key_path = data.join(audit::KEY_NAME);
    if key_path.exists() {
        let key = audit::SiteKey::load_or_create(&key_path)?;
        let rep = audit::verify(&db, &key.verifying_key()).context("verifying the audit chain")?;
        if let Some(p) = &rep.first_bad {
            println!("audit chain BROKEN at {p}; no new checkpoint signed");
            return Ok(ExitCode::FAILURE);
        }
        if let Some(cp) = audit::checkpoint_commit(&db, &key, mimic_drivers::now_ms()).map_err(store_err)? {
            eprintln!("signed a checkpoint at entry {}", cp.seq);
        }
    } else {
        eprintln!("no {}: exporting the stored checkpoints without signing a new one", key_path.display());
    }
    let n = audit::export_checkpoints(&db, out).with_context(|| format!("writing {}", out.display()))?;
    println!("{n} checkpoints written to {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn store_err(e: AuditError) -> anyhow::Error {
    anyhow::Error::new(e).context("signing a checkpoint")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Killed between creating the store and its key: an empty chain verifies; a chain
    /// with entries but no public key does not.
    #[test]
    fn a_store_without_key_verifies_only_while_its_chain_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join(crate::daemon::STORE_NAME)).unwrap();
        drop(db);
        assert_eq!(verify(dir.path(), None).unwrap(), ExitCode::SUCCESS);
        let key = audit::SiteKey::load_or_create(&dir.path().join(audit::KEY_NAME)).unwrap();
        let db = Database::open(dir.path().join(crate::daemon::STORE_NAME)).unwrap();
        let t = 1_795_000_000_000;
        audit::append_commit(&db, &key, "mimic", None, audit::Action::ConfigLoad, None, None, "test", t).unwrap();
        drop(db);
        std::fs::remove_file(dir.path().join(audit::PUB_NAME)).unwrap();
        assert!(verify(dir.path(), None).is_err(), "entries but no public key");
    }
}
