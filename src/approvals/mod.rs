//! Approvals: the only road from a wish to a device write. Pure functions.
//!
//! A write request (from an engineer's manual entry, a model's recommendation, a
//! Sparkplug DCMD or a revert) enters as [`Approvals::request`] and waits, pending,
//! until enough authorised people sign it ([`Approvals::sign`]: one signature, or two by
//! two different users for a critical tag). Only then, and only if the checks in
//! [`checks`] still pass against the live plant (engineering limits, maximum step,
//! minimum interval, writable, device healthy, audit log available), does it produce an
//! [`Effect::Write`]. Everything it decides is also returned as [`Effect::Audit`], which
//! the shell must store in the same transaction as the act (fail closed: no audit, no
//! write). The outcome reported by the driver closes the request; a mismatch offers a
//! revert, itself a request like any other.
//!
//! Identity is not decided here: a [`Signer`] has already proven their secret to the
//! shell; the role check is done here, so the views are never the only guard.

pub mod checks;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;
mod watch;

pub use watch::{Expect, Watch};

use std::collections::BTreeMap;

use mimic_drivers::WriteOutcome;
use thiserror::Error;

use crate::audit::{Action, Note};
use crate::config::Site;
use crate::users::{Command, Role, authorize};

pub use checks::{Live, check_write};

pub type RequestId = u64;

/// Where a write request came from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Manual,
    Recommendation { rec: u64 },
    Sparkplug { metric: String },
    Revert { of: RequestId },
}

/// A person the shell has authenticated (their secret checked just now).
#[derive(Clone, Debug, PartialEq)]
pub struct Signer {
    pub user: String,
    pub full_name: String,
    pub role: Role,
}

impl Signer {
    /// The audit entry of something this signer did to `target` (no signature meaning).
    pub fn note(&self, action: AuditAction, target: String, detail: String) -> Note {
        Note {
            user: self.user.clone(),
            full_name: Some(self.full_name.clone()),
            action: action.into(),
            meaning: None,
            target: Some(target),
            detail,
        }
    }
}

/// An electronic signature on a request (21 CFR Part 11 §11.50: who, when, meaning).
#[derive(Clone, Debug, PartialEq)]
pub struct Sig {
    pub user: String,
    pub full_name: String,
    pub ts_ms: i64,
    pub meaning: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Pending,
    /// Handed to the device's write queue.
    Sent {
        at_ms: i64,
    },
    Done {
        outcome: WriteOutcome,
        at_ms: i64,
    },
    Rejected {
        by: String,
        reason: String,
    },
    Refused {
        reason: String,
    },
    Expired {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub id: RequestId,
    pub tag: usize,
    pub value: f64,
    /// The value the tag had when the request was made (for revert and display).
    pub previous: Option<f64>,
    pub source: Source,
    pub requested_by: String,
    pub requested_ms: i64,
    pub signatures: Vec<Sig>,
    pub status: Status,
    /// Inputs the request was based on (tag, value): if any moves by more than
    /// `expire_band` (relative to its engineering span) before approval, it expires.
    pub inputs: Vec<(usize, f64)>,
    pub expire_band: f64,
    /// The predicted effect, checked once the plant has settled after a confirmed
    /// write: at least the written tag holding its new value.
    pub expect: Vec<Expect>,
    /// Watching the effect of the write, and its verdict.
    pub watch: Watch,
    /// The revert request made for this one, if any.
    pub reverted_by: Option<RequestId>,
    /// A model's predicted effect, in words, and its confidence (0..=1; 1 for a person's
    /// manual entry).
    pub effect: String,
    pub confidence: f64,
}

#[derive(Clone, Debug, PartialEq, Error)]
pub enum Refusal {
    #[error("{user} ({role}) may not {what}")]
    NotAuthorised { user: String, role: Role, what: &'static str },
    #[error("unknown tag")]
    UnknownTag,
    #[error("no request {0}")]
    UnknownRequest(RequestId),
    #[error("request {0} is no longer pending")]
    NotPending(RequestId),
    #[error("{0} has already signed this request; a critical change needs a second, different approver")]
    AlreadySigned(String),
    #[error("request {0} offers no revert (its effect was not found off, or it was reverted already)")]
    NotRevertable(RequestId),
    #[error(transparent)]
    Check(#[from] checks::CheckError),
}

/// What the shell must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Send this write to the tag's device queue.
    Write { request: RequestId, tag: usize, value: f64, tolerance: f64 },
    /// A written change did not have its predicted effect (or its read-back did not
    /// match): raise an alarm on the tag; the request offers a revert.
    EffectOff { request: RequestId, tag: usize, text: String },
    /// A written change had its predicted effect: clear the tag's write-effect alarm.
    EffectHeld { request: RequestId, tag: usize },
    /// Record this in the audit log (with the act, in one transaction).
    Audit(Note),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    WriteRequested,
    Approval,
    Rejection,
    WriteOutcome,
    Refused,
    Expired,
    EffectOff,
    EffectHeld,
}

/// An audit entry of mimic's own doing on `target` (an outcome, an expiry, a watch's verdict).
fn system_note(action: AuditAction, target: String, detail: String) -> Note {
    Note::system(action.into(), Some(target), detail)
}

impl From<AuditAction> for Action {
    fn from(a: AuditAction) -> Action {
        match a {
            AuditAction::WriteRequested => Action::WriteRequested,
            AuditAction::Approval => Action::Approval,
            AuditAction::Rejection => Action::Rejection,
            AuditAction::WriteOutcome => Action::WriteOutcome,
            AuditAction::Refused => Action::Other("refused".into()),
            AuditAction::Expired => Action::Other("expired".into()),
            AuditAction::EffectOff => Action::Other("effect off".into()),
            AuditAction::EffectHeld => Action::Other("effect held".into()),
        }
    }
}

pub const MEANING_APPROVE: &str = "approved setpoint change";

#[derive(Clone, Debug, Default)]
pub struct Approvals {
    requests: BTreeMap<RequestId, Request>,
    next_id: RequestId,
    /// Time of the last write sent per tag (min-interval check).
    last_write_ms: BTreeMap<usize, i64>,
}

impl Approvals {
    pub fn new() -> Self {
        Approvals { next_id: 1, ..Default::default() }
    }

    pub fn get(&self, id: RequestId) -> Option<&Request> {
        self.requests.get(&id)
    }

    pub fn all(&self) -> impl Iterator<Item = &Request> {
        self.requests.values()
    }

    /// True while some request waits for signatures (its inputs may move on: see
    /// [`Approvals::expire`]).
    pub fn any_pending(&self) -> bool {
        self.requests.values().any(|r| r.status == Status::Pending)
    }

    /// True while some request's effect is being watched (see [`Approvals::watch`]).
    pub fn any_watching(&self) -> bool {
        self.requests.values().any(|r| matches!(r.watch, watch::Watch::Watching { .. }))
    }

    pub fn last_write_ms(&self, tag: usize) -> Option<i64> {
        self.last_write_ms.get(&tag).copied()
    }

    /// A new write request. Refused at once (and audited) when the requester may not
    /// ask for writes or the value already fails the checks.
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &mut self,
        site: &Site,
        live: &Live<'_>,
        who: &Signer,
        tag: usize,
        value: f64,
        source: Source,
        inputs: Vec<(usize, f64)>,
        now_ms: i64,
    ) -> (Result<RequestId, Refusal>, Vec<Effect>) {
        let Some(t) = site.tags.get(tag) else { return (Err(Refusal::UnknownTag), Vec::new()) };
        let target = t.name.clone();
        let refuse = |r: Refusal| {
            let note = who.note(AuditAction::Refused, target.clone(), format!("write {value} refused: {r}"));
            (Err(r), vec![Effect::Audit(note)])
        };
        let cmd = if matches!(source, Source::Revert { .. }) { Command::Revert } else { Command::RequestWrite };
        if !authorize(who.role, cmd) {
            return refuse(Refusal::NotAuthorised { user: who.user.clone(), role: who.role, what: "request writes" });
        }
        if let Err(e) = check_write(site, live, tag, value, self.last_write_ms(tag), now_ms) {
            return refuse(e.into());
        }
        let id = self.next_id;
        self.next_id += 1;
        let previous = live.values.get(tag).copied().flatten();
        self.requests.insert(
            id,
            Request {
                id,
                tag,
                value,
                previous,
                source: source.clone(),
                requested_by: who.user.clone(),
                requested_ms: now_ms,
                signatures: Vec::new(),
                status: Status::Pending,
                inputs,
                expire_band: 0.05,
                expect: vec![Expect { tag, value, tolerance: t.write.tolerance }],
                watch: Watch::Idle,
                reverted_by: None,
                effect: String::new(),
                confidence: 1.0,
            },
        );
        let detail = format!(
            "request {id}: {} → {value} {} ({source:?})",
            previous.map_or("?".into(), |v| v.to_string()),
            t.units
        );
        let note = who.note(AuditAction::WriteRequested, target, detail);
        (Ok(id), vec![Effect::Audit(note)])
    }

    /// An authenticated signature. Produces the write once enough people signed and the
    /// checks still pass now.
    pub fn sign(
        &mut self,
        site: &Site,
        live: &Live<'_>,
        id: RequestId,
        who: &Signer,
        now_ms: i64,
    ) -> (Result<(), Refusal>, Vec<Effect>) {
        let last = self.requests.get(&id).and_then(|r| self.last_write_ms.get(&r.tag).copied());
        let Some(req) = self.requests.get_mut(&id) else { return (Err(Refusal::UnknownRequest(id)), Vec::new()) };
        let Some(t) = site.tags.get(req.tag) else { return (Err(Refusal::UnknownTag), Vec::new()) };
        if req.status != Status::Pending {
            return (Err(Refusal::NotPending(id)), Vec::new());
        }
        let cmd = if t.write.critical { Command::ApproveCritical } else { Command::Approve };
        let allowed = authorize(who.role, cmd);
        if !allowed {
            let r = Refusal::NotAuthorised { user: who.user.clone(), role: who.role, what: "approve writes" };
            let note =
                who.note(AuditAction::Refused, t.name.clone(), format!("signature on request {id} refused: {r}"));
            return (Err(r), vec![Effect::Audit(note)]);
        }
        if req.signatures.iter().any(|s| s.user == who.user) {
            return (Err(Refusal::AlreadySigned(who.user.clone())), Vec::new());
        }
        req.signatures.push(Sig {
            user: who.user.clone(),
            full_name: who.full_name.clone(),
            ts_ms: now_ms,
            meaning: MEANING_APPROVE.into(),
        });
        let mut effects = vec![Effect::Audit(Note {
            meaning: Some(MEANING_APPROVE.into()),
            ..who.note(
                AuditAction::Approval,
                t.name.clone(),
                format!("request {id}: signature {} of {}", req.signatures.len(), required(t.write.critical)),
            )
        })];
        if req.signatures.len() < required(t.write.critical) {
            return (Ok(()), effects);
        }
        match check_write(site, live, req.tag, req.value, last, now_ms) {
            Ok(()) => {
                req.status = Status::Sent { at_ms: now_ms };
                self.last_write_ms.insert(req.tag, now_ms);
                effects.push(Effect::Write {
                    request: id,
                    tag: req.tag,
                    value: req.value,
                    tolerance: t.write.tolerance,
                });
                (Ok(()), effects)
            }
            Err(e) => {
                req.status = Status::Refused { reason: e.to_string() };
                effects.push(Effect::Audit(who.note(
                    AuditAction::Refused,
                    t.name.clone(),
                    format!("request {id} approved but refused at write time: {e}"),
                )));
                (Err(e.into()), effects)
            }
        }
    }

    pub fn reject(
        &mut self,
        site: &Site,
        id: RequestId,
        who: &Signer,
        reason: &str,
        _now_ms: i64,
    ) -> (Result<(), Refusal>, Vec<Effect>) {
        let Some(req) = self.requests.get_mut(&id) else { return (Err(Refusal::UnknownRequest(id)), Vec::new()) };
        if req.status != Status::Pending {
            return (Err(Refusal::NotPending(id)), Vec::new());
        }
        if !authorize(who.role, Command::Reject) {
            return (
                Err(Refusal::NotAuthorised { user: who.user.clone(), role: who.role, what: "reject requests" }),
                Vec::new(),
            );
        }
        req.status = Status::Rejected { by: who.user.clone(), reason: reason.into() };
        let target = site.tags.get(req.tag).map_or_else(String::new, |t| t.name.clone());
        let note = Note {
            meaning: Some("rejected setpoint change".into()),
            ..who.note(AuditAction::Rejection, target, format!("request {id} rejected: {reason}"))
        };
        (Ok(()), vec![Effect::Audit(note)])
    }

    /// The driver's report on a sent write.
    pub fn outcome(&mut self, site: &Site, id: RequestId, outcome: WriteOutcome, now_ms: i64) -> Vec<Effect> {
        let Some(req) = self.requests.get_mut(&id) else { return Vec::new() };
        if !matches!(req.status, Status::Sent { .. }) {
            return Vec::new();
        }
        let target = site.tags.get(req.tag).map_or_else(String::new, |t| t.name.clone());
        let detail = format!("request {id}: wrote {} → {outcome}", req.value);
        let settle_ms = site.tags.get(req.tag).map_or(0, |t| i64::try_from(t.write.settle.as_millis()).unwrap_or(0));
        let mut effects = vec![Effect::Audit(system_note(AuditAction::WriteOutcome, target.clone(), detail))];
        match &outcome {
            WriteOutcome::Confirmed { .. } => req.watch = Watch::Watching { until_ms: now_ms + settle_ms },
            WriteOutcome::Mismatch { .. } | WriteOutcome::Unknown { .. } | WriteOutcome::Timeout { .. } => {
                let text = format!("{target}: write of {} not confirmed: {outcome}", req.value);
                req.watch = Watch::Off { reason: outcome.to_string(), at_ms: now_ms };
                effects.extend(watch::off_effects(req, &target, text));
            }
            WriteOutcome::Rejected { .. } | WriteOutcome::RejectedStatus { .. } | WriteOutcome::Invalid { .. } => {}
        }
        req.status = Status::Done { outcome, at_ms: now_ms };
        effects
    }

    /// Expire pending requests whose inputs have moved on.
    pub fn expire(&mut self, site: &Site, live: &Live<'_>, _now_ms: i64) -> Vec<Effect> {
        let mut effects = Vec::new();
        for req in self.requests.values_mut().filter(|r| r.status == Status::Pending) {
            let moved = req.inputs.iter().find(|&&(tag, was)| {
                let now = live.values.get(tag).copied().flatten();
                let span = site.tags.get(tag).and_then(|t| Some(t.high? - t.low?)).filter(|s| *s > 0.0).unwrap_or(1.0);
                now.is_some_and(|v| ((v - was) / span).abs() > req.expire_band)
            });
            if let Some(&(tag, was)) = moved {
                let name = site.tags.get(tag).map_or("?", |t| t.name.as_str());
                let reason = format!("the plant moved on: {name} was {was} when proposed");
                req.status = Status::Expired { reason: reason.clone() };
                effects.push(Effect::Audit(system_note(
                    AuditAction::Expired,
                    site.tags.get(req.tag).map_or_else(String::new, |t| t.name.clone()),
                    format!("request {}: {reason}", req.id),
                )));
            }
        }
        effects
    }
}

/// Signatures a change needs.
pub fn required(critical: bool) -> usize {
    if critical { 2 } else { 1 }
}
