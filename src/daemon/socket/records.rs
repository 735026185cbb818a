//! Answers about the records the daemon keeps — the alarm journal's pages and figures,
//! the audit chain's verification, entries, hashes and checkpoints — read from the store
//! the daemon holds open, in read transactions: the writer goes on meanwhile.

use super::Ctx;
use crate::alarms::{journal, kpi, search};
use crate::audit;
use crate::ipc::{MAX_AUDIT_SEQS, Reply, Request};

/// Most audit entries one page may hold.
const MAX_ENTRIES: u32 = 5000;

pub fn reply(ctx: &Ctx, req: Request) -> Reply {
    let Ok(h) = ctx.historian.read() else {
        return Reply::Error { message: "store unavailable".into() };
    };
    let db = h.database();
    let text = |e: &dyn std::fmt::Display| e.to_string();
    let answer = match req {
        Request::AlarmHistory { query } => search::check_query(&query)
            .map_err(|e| text(&e))
            .and_then(|()| journal::page(db, &query).map(Reply::AlarmHistory).map_err(|e| text(&e))),
        Request::AlarmReport { from_ms, to_ms } => {
            search::check_period(from_ms, to_ms).map_err(|e| text(&e)).and_then(|()| {
                kpi::of_store(db, from_ms, to_ms, &ctx.site.flood)
                    .map(|r| Reply::AlarmReport(Box::new(r)))
                    .map_err(|e| text(&e))
            })
        }
        Request::AuditVerify {} => {
            let dir = ctx.users_path.parent().unwrap_or(std::path::Path::new("."));
            audit::load_public(&dir.join(audit::PUB_NAME))
                .map_err(|e| text(&e))
                .and_then(|public| audit::verify(db, &public).map_err(|e| text(&e)))
                .map(|rep| Reply::AuditVerified {
                    entries: rep.entries,
                    checkpoints: rep.checkpoints,
                    first_bad: rep.first_bad.map(|p| p.to_string()),
                })
        }
        Request::AuditEntries { since_ms, after, limit } => {
            audit::entries_page(db, since_ms, after, limit.clamp(1, MAX_ENTRIES) as usize)
                .map(|(entries, next)| Reply::AuditEntries {
                    entries: entries.iter().map(audit::entry_json).collect(),
                    next,
                })
                .map_err(|e| text(&e))
        }
        Request::AuditHashes { seqs } if seqs.len() > MAX_AUDIT_SEQS => {
            Err(format!("audit_hashes: {} entries asked, at most {MAX_AUDIT_SEQS}", seqs.len()))
        }
        Request::AuditHashes { seqs } => audit::entry_hashes(db, &seqs)
            .map(|(last, hashes)| Reply::AuditHashes {
                last,
                hashes: hashes.iter().map(|h| h.as_ref().map(|h| audit::to_hex(h))).collect(),
            })
            .map_err(|e| text(&e)),
        Request::AuditCheckpoints {} => audit::stored_checkpoints(db)
            .map(|cps| Reply::AuditCheckpoints {
                checkpoints: cps.iter().map(audit::ExportedCheckpoint::from).collect(),
            })
            .map_err(|e| text(&e)),
        _ => Err("unexpected".to_string()),
    };
    answer.unwrap_or_else(|message| Reply::Error { message })
}
