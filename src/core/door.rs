//! The front door's rooms: every input but device readings and ticks, decided here —
//! authorisation (role → command) first, then the act. What needs I/O comes back as an
//! effect for the shell: checking a re-entered secret against the users file
//! ([`Effect::Verify`], answered with [`Msg::Signed`]), reading a model file
//! ([`Job::LoadAnomaly`], answered with [`Msg::AnomalyLoaded`]), and the acts whose work
//! is a store transaction ([`Job`]).

use mimic_drivers::WriteOutcome;

use super::{
    Act, Effect, Filing, Identity, Job, LiveView, ModelKind, ModelNews, Msg, Note, Outcome, Purpose, Refusal, State,
};
use crate::approvals::{self, MEANING_APPROVE, RequestId, Source};
use crate::audit::Action;
use crate::users::{Command, Role, authorize};

/// Meaning of the signature that unlocks an idle-locked terminal.
pub const MEANING_UNLOCK: &str = "unlocked terminal";
/// The user name of the advisor's filings.
pub const REQUESTER: &str = "mimic-models";

/// Every message but `Device` and `Tick`.
pub(super) fn handle(state: &mut State, msg: Msg) -> Outcome {
    match msg {
        Msg::Device(_) | Msg::Tick { .. } => Outcome::default(),
        Msg::Act { who, act, now_ms } => {
            state.version += 1;
            match authorise(&who, &act) {
                Ok(()) => act_on(state, who, act, now_ms),
                Err(e) => Outcome::reply(Err(e)),
            }
        }
        Msg::Signed { who, signer, purpose, now_ms } => {
            state.version += 1;
            signed(state, &who, signer, purpose, now_ms)
        }
        Msg::Attached { who } => {
            state.version += 1;
            let detail = format!("terminal attached from OS account {} as {}", who.os_account, who.role);
            let note = who.note(Action::Attach, None, detail);
            Outcome { reply: Some(Ok(format!("{} ({})", who.name(), who.role))), effects: vec![Effect::Audit(note)] }
        }
        Msg::Dcmd { from, tag, metric, value, now_ms } => {
            Outcome::effects(dcmd(state, from, tag, metric, value, now_ms))
        }
        Msg::Recommend { filing, now_ms } => Outcome::effects(advised(state, filing, now_ms)),
        Msg::WriteOutcome { request, outcome, now_ms } => {
            Outcome::effects(super::write_outcome(state, request, outcome, now_ms))
        }
        Msg::NotSent { request, reason, now_ms } => {
            // Fail closed: the audit did not commit, so the write was not sent. Its own
            // entries could not be written either; the request ends Invalid.
            let outcome = WriteOutcome::Invalid { message: format!("not sent: {reason}") };
            let _ = state.approvals.outcome(&state.site, request, outcome, now_ms);
            Outcome::default()
        }
        Msg::ModelNews(news) => {
            let ins = &mut state.insights;
            match news {
                ModelNews::Rul { asset, rul: Some(r) } => {
                    ins.rul.insert(asset, r);
                }
                ModelNews::Rul { asset, rul: None } => {
                    ins.rul.remove(&asset);
                }
                ModelNews::Diagnosis { asset, diagnosis } => {
                    if diagnosis.advice.is_some() {
                        ins.to_propose.push(asset.clone());
                    }
                    ins.diagnoses.insert(asset, diagnosis);
                }
            }
            state.version += 1;
            Outcome::default()
        }
        Msg::ClockStep { expected_ms, now_ms, what } => {
            super::clock_stepped(state, expected_ms, now_ms);
            let note = Note::system(
                Action::ClockStep,
                Some("wall clock".into()),
                format!(
                    "{what}; polling and timers run on the monotonic clock; per tag, stored times never go \
                     backwards (older samples are stored 1 ms after the newest, Uncertain (time adjusted))"
                ),
            );
            Outcome::effects(vec![Effect::Audit(note)])
        }
        Msg::AuditHealth { ok } => {
            state.audit_ok = ok;
            Outcome::default()
        }
        Msg::AnomalyLoaded { who, asset, model, now_ms } => anomaly_loaded(state, &who, &asset, model, now_ms),
        Msg::Maintenance { event, now_ms } => {
            let (asset, what, rebases) = (event.asset.clone(), event.kind.name(), event.kind.rebases());
            let effects = super::life::maintenance(state, event, now_ms);
            let after = if rebases { "; its healthy baseline and remaining life re-base from it" } else { "" };
            Outcome { reply: Some(Ok(format!("{what} recorded on {asset}{after}"))), effects }
        }
        Msg::ModelRecorded { version, then } => {
            let (n, asset) = (version.version, &version.asset);
            let reply = format!("remaining-life model version {n} of {asset} recorded; {then}");
            let life = state.life.assets.entry(version.asset.clone()).or_default();
            life.models.insert(version.kind.clone(), version);
            state.version += 1;
            Outcome::reply(Ok(reply))
        }
    }
}

/// May `who` do `act`? The role × command table of [`crate::users::authorize`].
pub fn authorise(who: &Identity, act: &Act) -> Result<(), Refusal> {
    let cmd = match act {
        Act::AckAlarm { .. } | Act::AckAlarms { .. } => Command::AckAlarm,
        Act::ShelveAlarm { .. } | Act::UnshelveAlarm { .. } => Command::ShelveAlarm,
        Act::SetOutOfService { .. } => Command::SetOutOfService,
        Act::RequestWrite { .. } | Act::Recommend { .. } => Command::RequestWrite,
        Act::Approve { .. } => Command::Approve,
        Act::Reject { .. } => Command::Reject,
        Act::Revert { .. } => Command::Revert,
        // the secret is the check: any configured user may unlock their terminal
        // the daemon compares the users file itself: nothing to trust but the file
        Act::Unlock { .. } | Act::UsersChanged {} => return Ok(()),
        // it signs what is already there: any terminal may ask (the socket is the site's)
        Act::Checkpoint {} => return Ok(()),
        Act::ModelTrained { .. } => Command::RetrainModel,
        Act::RecordMaintenance { .. } => Command::RecordMaintenance,
    };
    if authorize(who.role, cmd) {
        Ok(())
    } else {
        Err(Refusal::Role { who: who.name().to_string(), role: who.role, cmd })
    }
}

/// An authorised act.
fn act_on(state: &mut State, who: Identity, act: Act, now: i64) -> Outcome {
    let audit_ok = state.audit_ok;
    match act {
        Act::AckAlarm { .. }
        | Act::AckAlarms { .. }
        | Act::ShelveAlarm { .. }
        | Act::UnshelveAlarm { .. }
        | Act::SetOutOfService { .. } => {
            let (reply, effects) = super::alarm_act(state, who.name(), &act, now);
            Outcome { reply: Some(reply), effects }
        }
        Act::RequestWrite { tag, value } => {
            let Some(ti) = state.site.tag_index(&tag) else {
                return Outcome::reply(Err(Refusal::UnknownTag(tag)));
            };
            let view = LiveView::of(state);
            let (result, fx) = state.approvals.request(
                &state.site,
                &view.live(audit_ok),
                &who.signer(),
                ti,
                value,
                Source::Manual,
                Vec::new(),
                now,
            );
            let reply = result.map(|id| format!("request {id} waits for approval")).map_err(Refusal::from);
            Outcome { reply: Some(reply), effects: approvals_fx(fx) }
        }
        Act::Revert { id } => {
            let view = LiveView::of(state);
            let (result, fx) = state.approvals.revert(&state.site, &view.live(audit_ok), &who.signer(), id, now);
            let reply = result
                .map(|r| format!("revert of request {id} is request {r}; it waits for approval"))
                .map_err(Refusal::from);
            Outcome { reply: Some(reply), effects: approvals_fx(fx) }
        }
        Act::Reject { id, reason } => {
            if reason.trim().is_empty() {
                return Outcome::reply(Err(Refusal::NoReason));
            }
            let (result, fx) = state.approvals.reject(&state.site, id, &who.signer(), &reason, now);
            let reply = result.map(|()| format!("request {id} rejected")).map_err(Refusal::from);
            Outcome { reply: Some(reply), effects: approvals_fx(fx) }
        }
        Act::Recommend { tag, value, kpi, kpi_now, kpi_expect, tolerance, effect, confidence } => {
            let site = &state.site;
            let Some(ti) = site.tag_index(&tag) else {
                return Outcome::reply(Err(Refusal::UnknownTag(tag)));
            };
            let Some(ki) = site.tag_index(&kpi) else {
                return Outcome::reply(Err(Refusal::UnknownKpi(kpi)));
            };
            let f = Filing {
                loop_name: String::new(),
                tag: ti,
                value,
                kpi: ki,
                kpi_now,
                kpi_expect,
                tolerance,
                effect,
                confidence,
                reason: String::new(),
            };
            let (result, effects) = file(state, &who.signer(), f, now);
            let reply = result.map(|id| format!("request {id} waits for approval"));
            Outcome { reply: Some(reply), effects }
        }
        Act::ModelTrained { asset, kind: ModelKind::Rul } => match known_asset(state, &asset) {
            Ok(()) => Outcome::job(Job::RulTrained { who, asset }),
            Err(e) => Outcome::reply(Err(e)),
        },
        Act::ModelTrained { asset, kind: ModelKind::Anomaly } => {
            super::life::trained(state, &asset);
            Outcome::job(Job::LoadAnomaly { who, asset })
        }
        Act::RecordMaintenance { asset, kind, part, note, at_ms } => {
            match maintenance_event(state, &who, &asset, &kind, &part, &note, at_ms, now) {
                Ok(event) => Outcome::job(Job::RecordMaintenance { who, event }),
                Err(e) => Outcome::reply(Err(e)),
            }
        }
        Act::UsersChanged {} => Outcome::job(Job::UsersChanged { os_account: who.os_account }),
        Act::Checkpoint {} => Outcome::job(Job::Checkpoint { by: Some(who.name().to_string()) }),
        Act::Unlock { secret } => {
            Outcome::effects(vec![Effect::Verify { who, secret: secret.into(), purpose: Purpose::Unlock }])
        }
        Act::Approve { id, secret } => {
            Outcome::effects(vec![Effect::Verify { who, secret: secret.into(), purpose: Purpose::Approve(id) }])
        }
    }
}

fn known_asset(state: &State, asset: &str) -> Result<(), Refusal> {
    if state.site.assets.iter().all(|a| a.name != asset) {
        return Err(Refusal::NoAsset(asset.to_string()));
    }
    Ok(())
}

/// A maintenance event from a terminal or `mimic maintenance add`: of an asset of the
/// site, not in the future, its text cleaned.
#[allow(clippy::too_many_arguments)]
fn maintenance_event(
    state: &State,
    who: &Identity,
    asset: &str,
    kind: &str,
    part: &str,
    note: &str,
    at_ms: Option<i64>,
    now_ms: i64,
) -> Result<crate::lifecycle::Event, Refusal> {
    known_asset(state, asset)?;
    let ts_ms = at_ms.unwrap_or(now_ms);
    if ts_ms > now_ms + 60_000 {
        return Err(Refusal::InTheFuture);
    }
    Ok(crate::lifecycle::maintenance_event(asset, kind, part, note, who.name(), ts_ms)?)
}

/// The shell checked the secret of an act that needs one: `signer` is who signed.
fn signed(state: &mut State, who: &Identity, signer: approvals::Signer, purpose: Purpose, now: i64) -> Outcome {
    match purpose {
        Purpose::Unlock => {
            let note = Note {
                user: signer.user.clone(),
                full_name: Some(signer.full_name.clone()),
                action: Action::Attach,
                meaning: Some(MEANING_UNLOCK.into()),
                target: Some("terminal".into()),
                detail: format!("idle-locked terminal unlocked from OS account {}", who.os_account),
            };
            Outcome { reply: Some(Ok("unlocked".into())), effects: vec![Effect::Audit(note)] }
        }
        Purpose::Approve(id) => {
            let view = LiveView::of(state);
            let (result, fx) = state.approvals.sign(&state.site, &view.live(state.audit_ok), id, &signer, now);
            let sent = fx.iter().any(|e| matches!(e, approvals::Effect::Write { .. }));
            let reply = result.map_err(Refusal::from).map(|_| {
                if sent {
                    format!("request {id} signed and sent to the device")
                } else {
                    format!("request {id} signed; it needs a second, different approver")
                }
            });
            Outcome { reply: Some(reply), effects: approvals_fx(fx) }
        }
    }
}

/// The meaning a purpose's signature carries, and what it signs.
pub fn meaning(purpose: &Purpose) -> (&'static str, String) {
    match purpose {
        Purpose::Unlock => (MEANING_UNLOCK, "terminal".into()),
        Purpose::Approve(id) => (MEANING_APPROVE, format!("request {id}")),
    }
}

fn approvals_fx(fx: Vec<approvals::Effect>) -> Vec<Effect> {
    fx.into_iter().map(Effect::Approval).collect()
}

/// A Sparkplug DCMD: a write request like a terminal's, never a write.
fn dcmd(state: &mut State, from: String, tag: usize, metric: String, value: f64, now: i64) -> Vec<Effect> {
    let who = approvals::Signer {
        user: "sparkplug".into(),
        full_name: format!("Sparkplug DCMD from {from}"),
        role: Role::Operator,
    };
    let view = LiveView::of(state);
    let source = Source::Sparkplug { metric: metric.clone() };
    let (result, fx) =
        state.approvals.request(&state.site, &view.live(state.audit_ok), &who, tag, value, source, Vec::new(), now);
    state.version += 1;
    match result {
        Ok(id) => tracing::info!("sparkplug DCMD {metric:?} = {value}: request {id} waits for approval"),
        Err(e) => tracing::warn!("sparkplug DCMD {metric:?} = {value} refused: {e}"),
    }
    approvals_fx(fx)
}

/// The advisor's recommendation: filed unless a request on its setpoint is pending or an
/// asset of the loop is abnormal ([`super::remedies::hold`]).
fn advised(state: &mut State, f: Filing, now: i64) -> Vec<Effect> {
    if let Some(why) = super::remedies::hold(state, &f, now) {
        tracing::info!("loop {}: recommendation held: {why}", f.loop_name);
        return Vec::new();
    }
    let pending = state.approvals.all().any(|r| r.tag == f.tag && r.status == approvals::Status::Pending);
    if pending {
        tracing::info!("loop {}: a request on its setpoint is pending; recommendation dropped", f.loop_name);
        return Vec::new();
    }
    let signer = approvals::Signer {
        user: REQUESTER.into(),
        full_name: format!("mimic models, loop {}", f.loop_name),
        role: Role::Operator,
    };
    let name = f.loop_name.clone();
    let (result, fx) = file(state, &signer, f, now);
    match result {
        Ok(id) => tracing::info!("loop {name}: recommendation filed as request {id}, waiting for approval"),
        Err(e) => tracing::warn!("loop {name}: recommendation not filed: {e}"),
    }
    fx
}

/// A model's recommendation becomes a write request (source Recommendation, with its
/// predicted effect), audited, waiting for approval like any other. While an asset of
/// the loop has an active model alarm the effect opens with a caution naming it (and
/// the diagnosed cause) and the confidence is halved.
fn file(
    state: &mut State,
    signer: &approvals::Signer,
    f: Filing,
    now: i64,
) -> (Result<RequestId, Refusal>, Vec<Effect>) {
    if !(f.kpi_expect.is_finite() && f.tolerance.is_finite() && f.tolerance > 0.0) {
        return (Err(Refusal::BadPrediction), Vec::new());
    }
    let site = state.site.clone();
    state.recommendations += 1;
    let rec = state.recommendations;
    let view = LiveView::of(state);
    let current = view.values.get(f.tag).copied().flatten();
    let mut inputs = vec![(f.kpi, f.kpi_now)];
    inputs.extend(current.map(|v| (f.tag, v)));
    let live = view.live(state.audit_ok);
    let source = Source::Recommendation { rec };
    let (result, fx) = state.approvals.request(&site, &live, signer, f.tag, f.value, source, inputs, now);
    if let Ok(id) = &result {
        let expect = vec![approvals::Expect { tag: f.kpi, value: f.kpi_expect, tolerance: f.tolerance }];
        // a fault on the loop's asset makes the prediction less sure: say so first
        let (effect, confidence) = match super::caution(state, &[f.tag, f.kpi], now) {
            Some(c) => (format!("caution: {c}; {}", f.effect), f.confidence * 0.5),
            None => (f.effect.clone(), f.confidence),
        };
        state.approvals.predict(*id, expect, &effect, confidence);
    }
    state.version += 1;
    (result.map_err(Refusal::from), approvals_fx(fx))
}

/// The shell read the anomaly model file of `asset` after `mimic train` saved it: bind it
/// to the live tags, and record the retraining with the new version in the asset's life.
fn anomaly_loaded(state: &mut State, who: &Identity, asset: &str, model: super::Loaded, now: i64) -> Outcome {
    let model = match model {
        super::Loaded::Missing { dir } => {
            return Outcome::reply(Err(Refusal::NoAnomalyModel { asset: asset.to_string(), dir }));
        }
        super::Loaded::Read(m) => m,
    };
    // the new version, with its figures, for the asset's life
    let (version, bound) = match model {
        Ok(m) => {
            let version = crate::models::anomaly::asset::trained_version(who.name(), &m, now);
            (Some(version), super::LiveAnomaly::bind(state, *m).map_err(Refusal::from))
        }
        Err(e) => (None, Err(Refusal::from(e))),
    };
    let loaded = bound.map(|live| {
        tracing::info!("anomaly model of {asset} loaded ({} signals)", live.tags.len());
        state.anomaly.retain(|m| m.asset != asset);
        state.anomaly.push(live);
    });
    let detail = match &loaded {
        Ok(()) => "anomaly model retrained and loaded".to_string(),
        Err(e) => format!("anomaly model retrained but not loaded: {e}"),
    };
    let note = who.note(Action::ModelRetrain, Some(asset.to_string()), detail);
    state.version += 1;
    let reply = loaded.map(|()| format!("the daemon now scores {asset} with the new model"));
    Outcome { reply: Some(reply), effects: vec![Effect::Record { note, version }] }
}
