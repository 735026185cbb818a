//! After the write: watching its effect, and the one-key revert.
//!
//! A confirmed write starts a watch of the tag's settling time (`settle` in the site
//! file). When it ends, each predicted effect ([`Expect`]: at least "the written tag
//! still holds its value", plus a model's predicted steady state when the request came
//! from one) is compared with the live plant. Outside tolerance, or a write whose
//! read-back did not match, is an [`Effect::EffectOff`] — the shell raises an alarm on
//! the tag — and the request offers a revert to its previous value: a new request of
//! source [`Source::Revert`], approved and audited like any other write.

use super::{Approvals, AuditAction, Effect, Live, Refusal, Request, RequestId, Signer, Source, Status, system_note};
use crate::config::Site;

/// One predicted effect: `tag` should read `value` ± `tolerance` once settled.
#[derive(Clone, Debug, PartialEq)]
pub struct Expect {
    pub tag: usize,
    pub value: f64,
    pub tolerance: f64,
}

/// Where the watch of a request's effect stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Watch {
    /// Not written (yet), or nothing to watch.
    Idle,
    /// Confirmed; the plant is settling until then.
    Watching { until_ms: i64 },
    /// The plant settled as predicted.
    Held { at_ms: i64 },
    /// Read-back or effect outside tolerance: an alarm is raised, a revert offered.
    Off { reason: String, at_ms: i64 },
}

/// The effects of finding a request's effect off: the alarm and its audit entry.
pub(super) fn off_effects(req: &Request, target: &str, text: String) -> Vec<Effect> {
    vec![
        Effect::Audit(system_note(
            AuditAction::EffectOff,
            target.to_string(),
            format!("request {}: {text}; revert to {} offered", req.id, fmt_prev(req.previous)),
        )),
        Effect::EffectOff { request: req.id, tag: req.tag, text },
    ]
}

fn fmt_prev(v: Option<f64>) -> String {
    v.map_or_else(|| "(unknown)".into(), |v| v.to_string())
}

impl Approvals {
    /// Add a model's prediction to a request: the effects checked after settling (the
    /// written tag holding its value stays among them), in words, and its confidence.
    pub fn predict(&mut self, id: RequestId, expect: Vec<Expect>, effect: &str, confidence: f64) {
        if let Some(r) = self.requests.get_mut(&id) {
            r.expect.extend(expect);
            r.effect = effect.to_string();
            r.confidence = if confidence.is_finite() { confidence.clamp(0.0, 1.0) } else { 0.0 };
        }
    }

    /// Judge the watches whose settling time is over. Called on every tick.
    pub fn watch(&mut self, site: &Site, live: &Live<'_>, now_ms: i64) -> Vec<Effect> {
        let mut effects = Vec::new();
        for req in self.requests.values_mut() {
            let Watch::Watching { until_ms } = req.watch else { continue };
            if now_ms < until_ms {
                continue;
            }
            let target = site.tags.get(req.tag).map_or_else(String::new, |t| t.name.clone());
            let off: Vec<String> = req
                .expect
                .iter()
                .filter_map(|e| {
                    let name = site.tags.get(e.tag).map_or("?", |t| t.name.as_str());
                    let good = live.good.get(e.tag).copied().unwrap_or(false);
                    match live.values.get(e.tag).copied().flatten() {
                        Some(v) if good && (v - e.value).abs() <= e.tolerance => None,
                        Some(v) if good => Some(format!("{name} is {v}, predicted {} ± {}", e.value, e.tolerance)),
                        _ => Some(format!("{name} has no good value to check against {}", e.value)),
                    }
                })
                .collect();
            if off.is_empty() {
                req.watch = Watch::Held { at_ms: now_ms };
                effects.push(Effect::Audit(system_note(
                    AuditAction::EffectHeld,
                    target,
                    format!("request {}: the plant settled as predicted", req.id),
                )));
                effects.push(Effect::EffectHeld { request: req.id, tag: req.tag });
            } else {
                let reason = off.join("; ");
                let text = format!("{target}: effect of writing {} off after settling: {reason}", req.value);
                req.watch = Watch::Off { reason, at_ms: now_ms };
                effects.extend(off_effects(req, &target, text));
            }
        }
        effects
    }

    /// Whether `id` offers a revert now: written, effect off, previous value known,
    /// not reverted yet.
    pub fn revertable(&self, id: RequestId) -> bool {
        self.requests.get(&id).is_some_and(|r| {
            matches!(r.status, Status::Done { .. })
                && matches!(r.watch, Watch::Off { .. })
                && r.previous.is_some()
                && r.reverted_by.is_none()
        })
    }

    /// The one-key revert: a new request to write `of`'s previous value back. It needs
    /// approval like any write (and passes the same checks).
    pub fn revert(
        &mut self,
        site: &Site,
        live: &Live<'_>,
        who: &Signer,
        of: RequestId,
        now_ms: i64,
    ) -> (Result<RequestId, Refusal>, Vec<Effect>) {
        let Some(orig) = self.requests.get(&of) else { return (Err(Refusal::UnknownRequest(of)), Vec::new()) };
        if !self.revertable(of) {
            return (Err(Refusal::NotRevertable(of)), Vec::new());
        }
        let (tag, Some(previous)) = (orig.tag, orig.previous) else {
            return (Err(Refusal::NotRevertable(of)), Vec::new());
        };
        let (result, effects) = self.request(site, live, who, tag, previous, Source::Revert { of }, Vec::new(), now_ms);
        if let (Ok(id), Some(orig)) = (&result, self.requests.get_mut(&of)) {
            orig.reverted_by = Some(*id);
        }
        (result, effects)
    }
}
