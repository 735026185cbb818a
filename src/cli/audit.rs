//! `mimic audit`: verify the audit chain, export entries as JSON lines, export signed
//! checkpoints for removable media. With the daemon running it asks the daemon (which
//! reads its own store in read transactions, and signs checkpoints itself); stopped, it
//! opens the store file. Both ways print the same.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::Subcommand;
use redb::Database;

use super::store::{self, StoreArgs};
use crate::audit::{self, AuditError};
use crate::ipc::{Act, MAX_AUDIT_SEQS, Reply, Request};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the whole audit chain and its signed checkpoints; exit 1 naming the first bad entry.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
        /// Checkpoints exported earlier (`mimic audit checkpoint --out`): also detects a cut-off tail.
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Print entries as JSON lines (one object per entry, hashes in hex).
    Export {
        /// Start: a duration ago (24h, 7d) or a timestamp (2026-11-26T08:00:00Z).
        #[arg(long, default_value = "24h")]
        since: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Sign a checkpoint of the current head (when the site key is there and the chain
    /// verifies), then write every signed checkpoint to FILE.
    Checkpoint {
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn run(cmd: AuditCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AuditCommand::Verify { store, checkpoints } => {
            let dir = store.dir()?;
            match store::daemon(&dir) {
                Some(s) => verify_running(&s, &dir, checkpoints.as_deref()),
                None => verify(&dir, checkpoints.as_deref()),
            }
        }
        AuditCommand::Export { since, store } => {
            let from = super::history::parse_time(&since, mimic_drivers::now_ms())?;
            let dir = store.dir()?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            store::Records::open(&dir)?.audit_pages(from, |entries| {
                for e in entries {
                    serde_json::to_writer(&mut out, e)?;
                    out.write_all(b"\n")?;
                }
                Ok(())
            })?;
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Checkpoint { out, store } => {
            let dir = store.dir()?;
            match store::daemon(&dir) {
                Some(s) => checkpoint_running(&s, &out),
                None => checkpoint(&dir, &out),
            }
        }
    }
}

/// Opens DATA/store.redb without creating it.
fn open_store(data: &Path) -> anyhow::Result<Database> {
    store::open(data)
}

/// `audit verify` through the daemon; exported checkpoints are read here and checked
/// against the hashes the daemon reads from its store.
fn verify_running(s: &UnixStream, data: &Path, exported: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (entries, checkpoints, first_bad) = store::ask(s, &Request::AuditVerify {}, |r| match r {
        Reply::AuditVerified { entries, checkpoints, first_bad } => Some((entries, checkpoints, first_bad)),
        _ => None,
    })?;
    if let Some(p) = first_bad {
        println!("audit chain BROKEN at {p}");
        return Ok(ExitCode::FAILURE);
    }
    if let Some(file) = exported {
        let cps = audit::read_exported(file).with_context(|| format!("checking against {}", file.display()))?;
        let public = public_key(data)?;
        let mut last = 0;
        let mut hashes = Vec::with_capacity(cps.len());
        for chunk in cps.chunks(MAX_AUDIT_SEQS) {
            let seqs = chunk.iter().map(|c| c.seq).collect();
            let (l, h) = store::ask(s, &Request::AuditHashes { seqs }, |r| match r {
                Reply::AuditHashes { last, hashes } => Some((last, hashes)),
                _ => None,
            })?;
            last = l;
            hashes.extend(h.into_iter().map(|h| h.and_then(|h| audit::from_hex::<32>(&h))));
        }
        let ext = audit::check_export(&cps, &public, last, &hashes);
        if let Some(p) = &ext.first_bad {
            println!("audit chain BROKEN at {p} (exported checkpoints {})", file.display());
            return Ok(ExitCode::FAILURE);
        }
        println!("audit chain OK: {entries} entries, {checkpoints} checkpoints");
        println!("exported checkpoints OK: {} match the store", ext.checkpoints);
    } else {
        println!("audit chain OK: {entries} entries, {checkpoints} checkpoints");
    }
    Ok(ExitCode::SUCCESS)
}

/// `audit checkpoint` through the daemon: it verifies and signs; the file is written here.
fn checkpoint_running(s: &UnixStream, out: &Path) -> anyhow::Result<ExitCode> {
    let said = store::ask(s, &Request::Act { act: Act::Checkpoint {} }, |r| match r {
        Reply::Done { message } => Some(message),
        _ => None,
    });
    match said {
        Ok(m) => eprintln!("{m}"),
        Err(e) if e.root_cause().to_string().contains("BROKEN") => {
            println!("{}", e.root_cause());
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e),
    }
    let cps = store::ask(s, &Request::AuditCheckpoints {}, |r| match r {
        Reply::AuditCheckpoints { checkpoints } => Some(checkpoints),
        _ => None,
    })?;
    let cps = cps
        .iter()
        .map(|c| c.checkpoint().map_err(|e| anyhow!("checkpoint {} from the daemon: {e}", c.seq)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let n = audit::write_export(out, &cps).with_context(|| format!("writing {}", out.display()))?;
    println!("{n} checkpoints written to {}", out.display());
    Ok(ExitCode::SUCCESS)
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
        audit::append_commit(&db, &key, &audit::Note::by("mimic", audit::Action::ConfigLoad, None, "test"), t).unwrap();
        drop(db);
        std::fs::remove_file(dir.path().join(audit::PUB_NAME)).unwrap();
        assert!(verify(dir.path(), None).is_err(), "entries but no public key");
    }
}
