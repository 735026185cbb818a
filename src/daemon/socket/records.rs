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
        Request::AlarmsActive { at_ms } => journal::active_at(db, at_ms, kpi::LOOKBACK_MS)
            .map(|records| Reply::AlarmHistory(journal::Page { records, next: None }))
            .map_err(|e| text(&e)),
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

/// Each device's down time and data quality over `[from_ms, to_ms)`, one tag at a time:
/// the store is held for one tag's query, not the whole walk, so the writer goes on.
pub fn device_summary(ctx: &Ctx, from_ms: i64, to_ms: i64) -> Reply {
    let days = to_ms.saturating_sub(from_ms) / 86_400_000;
    if from_ms >= to_ms {
        return Reply::Error { message: "device_summary: from_ms must be before to_ms".into() };
    }
    if days > crate::ipc::MAX_DEVICE_SUMMARY_DAYS {
        let most = crate::ipc::MAX_DEVICE_SUMMARY_DAYS;
        return Reply::Error { message: format!("device_summary: a period of {days} days, at most {most}") };
    }
    if ctx.historian.read().is_err() {
        return Reply::Error { message: "store unavailable".into() };
    }
    let summary = crate::historian::devices::summarize(&ctx.site, to_ms, |i| {
        let Some(&id) = ctx.tag_ids.get(i) else { return Ok(Vec::new()) };
        match ctx.historian.read() {
            Ok(h) => h.query(id, from_ms, to_ms),
            Err(_) => Ok(Vec::new()),
        }
    });
    match summary {
        Ok(devices) => Reply::DeviceSummary { devices },
        Err(e) => Reply::Error { message: e.to_string() },
    }
}
