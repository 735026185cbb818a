//! The core task: feeds device events, ticks and terminals' acts to the pure core, and
//! carries out the effects in order — samples to the historian writer, decisions to the
//! audit log, and only then (if the audit committed) writes to the device queues.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mimic_drivers::{DeviceEvent, WriteOutcome, WriteRequest};
use tokio::sync::{mpsc, oneshot, watch};

use super::clock::{ClockWatch, STEP_ALARM_HOLD, Step};
use super::control::{Control, Identity, Note};
use super::{CoreCmd, PUBLISH_EVERY, StoreStatus, snapshot};
use crate::approvals::{self, MEANING_APPROVE, RequestId, Source};

/// Meaning of the signature that unlocks an idle-locked terminal.
pub const MEANING_UNLOCK: &str = "unlocked terminal";
use crate::audit::Action;
use crate::core::{self, Effect, LiveView, Msg, State};
use crate::ipc::{Act, LiveSnapshot};
use crate::users::{AuthError, Command, Users, authorize};

mod advice;

pub struct Channels {
    pub dev_rx: mpsc::Receiver<DeviceEvent>,
    pub cmd_rx: mpsc::Receiver<CoreCmd>,
    pub store: std::sync::mpsc::Sender<Vec<core::Sample>>,
    pub snap_tx: watch::Sender<Arc<LiveSnapshot>>,
    /// Lazy snapshots: build them only while a terminal is subscribed.
    pub lazy_snapshots: bool,
    pub watchers: Arc<super::socket::Watchers>,
    pub store_status: Arc<Mutex<StoreStatus>>,
    pub write_queues: Vec<mpsc::Sender<WriteRequest>>,
    /// The Sparkplug edge node, when the site has `[mqtt]`.
    pub mqtt: Option<crate::north::sparkplug::CoreLink>,
    /// Diagnoses for the models worker, and what it found.
    pub models: std::sync::mpsc::Sender<core::DiagnoseRequest>,
    pub model_news: mpsc::UnboundedReceiver<super::insight::News>,
    /// The advisor's loop states and recommendations; it stops when `_advise_stop` (only held) is dropped with the core task.
    pub advice: mpsc::UnboundedReceiver<super::advise::Advice>,
    pub _advise_stop: std::sync::mpsc::Sender<()>,
}

struct Shell {
    state: State,
    control: Control,
    ch: Channels,
    outcome_tx: mpsc::UnboundedSender<(RequestId, WriteOutcome)>,
    /// Model recommendations received (their numbers).
    recommendations: u64,
    /// The latest wall-clock step and when it was seen (monotonic), while its system
    /// alarm is on.
    clock_alarm: Option<(Step, i64, Instant)>,
    /// The control loops as the advisor last saw them.
    loops: Vec<crate::ipc::LiveLoop>,
}

pub async fn run(state: State, control: Control, ch: Channels) {
    let (outcome_tx, mut outcome_rx) = mpsc::unbounded_channel();
    let mut sh = Shell { state, control, ch, outcome_tx, recommendations: 0, clock_alarm: None, loops: Vec::new() };
    sh.loops = super::advise::initial(&sh.state.site);
    let origin = Instant::now();
    let mut clock = ClockWatch::new(mimic_drivers::now_ms(), origin.elapsed());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut publish = tokio::time::interval(PUBLISH_EVERY);
    publish.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut published = u64::MAX;
    let mut store_seen = StoreStatus::default();
    let mut audit_seen = 0usize;
    loop {
        tokio::select! {
            ev = sh.ch.dev_rx.recv() => match ev {
                Some(ev) => {
                    let fx = core::update(&mut sh.state, Msg::Device(ev));
                    // a failed audit is logged and closes control writes; monitoring goes on
                    let _ = sh.carry_out(fx, None);
                }
                None => return,
            },
            _ = tick.tick() => {
                let now = mimic_drivers::now_ms();
                if let Some(step) = clock.observe(now, origin.elapsed()) {
                    sh.clock_stepped(step);
                }
                if sh.clock_alarm.as_ref().is_some_and(|(_, _, seen)| seen.elapsed() >= STEP_ALARM_HOLD) {
                    sh.clock_alarm = None;
                    sh.state.version += 1;
                }
                let mut fx = core::update(&mut sh.state, Msg::Tick { now_ms: now });
                let view = LiveView::of(&sh.state);
                let expired = sh.state.approvals.expire(&sh.state.site, &view.live(sh.control.audit_ok), now);
                fx.extend(expired.into_iter().map(Effect::Approval));
                fx.extend(core::watch_writes(&mut sh.state, sh.control.audit_ok, now));
                // One stat a second on the core's thread; only a changed file is read (and
                // audited) off it: block_in_place hands the worker to a fresh thread each time.
                if sh.control.users_file_moved() {
                    tokio::task::block_in_place(|| sh.control.check_users_file());
                }
                let _ = sh.carry_out(fx, None);
            }
            cmd = sh.ch.cmd_rx.recv() => {
                let Some(cmd) = cmd else { continue };
                let result = match cmd.act {
                    Some(act) => sh.act(&cmd.user, act),
                    None => sh.attached(&cmd.user),
                };
                sh.state.version += 1;
                let _ = cmd.reply.send(result);
            }
            dcmd = next_dcmd(&mut sh.ch.mqtt) => match dcmd {
                Some(d) => sh.dcmd(d),
                None => sh.ch.mqtt = None,
            },
            // a closed channel (the worker stopped) disables this branch, never spins
            Some(news) = sh.ch.model_news.recv() => {
                let ins = &mut sh.state.insights;
                match news {
                    super::insight::News::Rul { asset, rul: Some(r) } => { ins.rul.insert(asset, r); }
                    super::insight::News::Rul { asset, rul: None } => { ins.rul.remove(&asset); }
                    super::insight::News::Diagnosis { asset, diagnosis } => { ins.diagnoses.insert(asset, diagnosis); }
                }
                sh.state.version += 1;
            }
            Some(advice) = sh.ch.advice.recv() => sh.advice(advice),
            out = outcome_rx.recv() => {
                let Some((id, outcome)) = out else { continue };
                let now = mimic_drivers::now_ms();
                let fx = core::write_outcome(&mut sh.state, id, outcome, now);
                let _ = sh.carry_out(fx, None);
            }
            _ = sh.ch.watchers.refresh.notified() => {
                published = u64::MAX;
                publish.reset_immediately();
            }
            _ = publish.tick() => {
                let status = sh.ch.store_status.lock().map(|s| s.clone()).unwrap_or_default();
                let audit_len = sh.control.recent.back().map_or(0, |a| a.seq as usize);
                if sh.ch.lazy_snapshots && !sh.ch.watchers.any() {
                    // Nobody watches: skip, and publish afresh when somebody does.
                    published = u64::MAX;
                    continue;
                }
                if sh.state.version != published || status != store_seen || audit_len != audit_seen {
                    published = sh.state.version;
                    audit_seen = audit_len;
                    let mut snap = snapshot::build(&sh.state, &status, mimic_drivers::now_ms());
                    if let Some((step, since_ms, _)) = &sh.clock_alarm {
                        snapshot::push_system_alarm(&mut snap, snapshot::clock_alarm(step, *since_ms));
                    }
                    snap.audit = sh.control.recent.iter().rev().cloned().collect();
                    snap.life = super::life::rows(&sh.state);
                    snap.loops = sh.loops.clone();
                    sh.ch.snap_tx.send_replace(Arc::new(snap));
                    store_seen = status;
                }
            }
        }
    }
}

async fn next_dcmd(link: &mut Option<crate::north::sparkplug::CoreLink>) -> Option<crate::north::sparkplug::Dcmd> {
    match link {
        Some(l) => l.writes.recv().await,
        None => std::future::pending().await,
    }
}

impl Shell {
    /// The wall clock stepped: durations keep their length, the step is audited and
    /// shown as a system alarm (see [`super::clock`]).
    fn clock_stepped(&mut self, step: Step) {
        let what = step.describe();
        tracing::warn!("{what}; polling goes on (it runs on the monotonic clock)");
        core::clock_stepped(&mut self.state, step.expected_ms, step.now_ms);
        self.clock_alarm = Some((step, step.now_ms, Instant::now()));
        let note = Note {
            user: "mimic".into(),
            full_name: None,
            action: Action::ClockStep,
            meaning: None,
            target: Some("wall clock".into()),
            detail: format!(
                "{what}; polling and timers run on the monotonic clock; per tag, stored times never go \
                 backwards (older samples are stored 1 ms after the newest, Uncertain (time adjusted))"
            ),
        };
        // a failed audit is logged and closes control writes (see `Control::audit`)
        let _ = tokio::task::block_in_place(|| self.control.audit(&[note]));
    }

    /// A Sparkplug DCMD: a write request like a terminal's, never a write.
    fn dcmd(&mut self, d: crate::north::sparkplug::Dcmd) {
        let now = mimic_drivers::now_ms();
        let who = approvals::Signer {
            user: "sparkplug".into(),
            full_name: format!("Sparkplug DCMD from {}", d.from),
            role: crate::users::Role::Operator,
        };
        let view = LiveView::of(&self.state);
        let source = Source::Sparkplug { metric: d.write.metric.clone() };
        let (result, fx) = self.state.approvals.request(
            &self.state.site,
            &view.live(self.control.audit_ok),
            &who,
            d.write.tag,
            d.write.value,
            source,
            Vec::new(),
            now,
        );
        self.state.version += 1;
        let _ = self.carry_out(fx.into_iter().map(Effect::Approval).collect(), None);
        match result {
            Ok(id) => tracing::info!(
                "sparkplug DCMD {:?} = {}: request {id} waits for approval",
                d.write.metric,
                d.write.value
            ),
            Err(e) => tracing::warn!("sparkplug DCMD {:?} = {} refused: {e}", d.write.metric, d.write.value),
        }
    }

    /// Carry out effects: samples to the writer; every decision audited in one
    /// transaction; writes sent only when that audit committed.
    fn carry_out(&mut self, effects: Vec<Effect>, who: Option<&Identity>) -> Result<(), String> {
        let mut notes = Vec::new();
        let mut writes = Vec::new();
        let mut lives = Vec::new();
        for effect in effects {
            match effect {
                Effect::Store(samples) => {
                    if let Some(m) = &self.ch.mqtt
                        && m.samples.try_send(samples.clone()).is_err()
                    {
                        tracing::warn!("sparkplug edge node lags: samples not teed (the store still has them)");
                    }
                    if self.ch.store.send(samples).is_err() {
                        tracing::error!("historian writer stopped");
                    }
                }
                Effect::Alarm(events) => {
                    for e in &events {
                        let mut n = Note::from(e);
                        if let (Some(who), Some(_)) = (who, &e.user) {
                            n.full_name = Some(who.full_name.clone());
                        }
                        notes.push(n);
                    }
                }
                Effect::Approval(approvals::Effect::Audit(n)) => notes.push(n.into()),
                Effect::Approval(approvals::Effect::Write { request, tag, value, tolerance }) => {
                    writes.push((request, tag, value, tolerance));
                }
                Effect::Diagnose(r) => {
                    if self.ch.models.send(r).is_err() {
                        tracing::warn!("the models worker stopped: no diagnosis");
                    }
                }
                // the alarm it raises or clears came as an Effect::Alarm before it
                Effect::Approval(approvals::Effect::EffectOff { .. } | approvals::Effect::EffectHeld { .. }) => {}
                Effect::Life(l) => lives.push(l),
            }
        }
        // A redb commit, off the worker's thread; most calls (every device event) have
        // nothing to audit, and block_in_place would hand the worker to a new thread.
        let audited =
            if notes.is_empty() { Ok(()) } else { tokio::task::block_in_place(|| self.control.audit(&notes)) };
        if !lives.is_empty() {
            let dir = self.control.users_path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
            for l in lives {
                tokio::task::block_in_place(|| super::life::carry_out(&mut self.control, &dir, l));
            }
        }
        if let Err(e) = &audited {
            // Fail closed: nothing reaches a device without its audit entry.
            for (request, ..) in writes {
                let now = mimic_drivers::now_ms();
                let outcome = WriteOutcome::Invalid { message: format!("not sent: {e}") };
                let _ = self.state.approvals.outcome(&self.state.site, request, outcome, now);
            }
            return audited;
        }
        for (request, tag, value, tolerance) in writes {
            self.send_write(request, tag, value, tolerance);
        }
        Ok(())
    }

    fn send_write(&mut self, request: RequestId, tag: usize, value: f64, tolerance: f64) {
        let site = &self.state.site;
        let device = site.tags[tag].device;
        let point = self.state.device_points.get(device).and_then(|p| p.iter().position(|&t| t == tag));
        let (Some(queue), Some(point)) = (self.ch.write_queues.get(device).cloned(), point) else {
            let _ = self.outcome_tx.send((request, WriteOutcome::Invalid { message: "no write queue".into() }));
            return;
        };
        let (reply, rx) = oneshot::channel();
        let outcome_tx = self.outcome_tx.clone();
        tokio::spawn(async move {
            let outcome = match queue.send(WriteRequest { point, value, tolerance, reply }).await {
                Err(_) => WriteOutcome::Invalid { message: "device task stopped".into() },
                Ok(()) => rx.await.unwrap_or(WriteOutcome::Unknown {
                    message: "device task dropped the write".into(),
                    read_back: None,
                }),
            };
            let _ = outcome_tx.send((request, outcome));
        });
    }

    fn attached(&mut self, os_account: &str) -> Result<String, String> {
        let who = self.control.identify(os_account);
        let note = Note {
            user: who.name().to_string(),
            full_name: Some(who.full_name.clone()),
            action: Action::Attach,
            meaning: None,
            target: None,
            detail: format!("terminal attached from OS account {os_account} as {}", who.role),
        };
        tokio::task::block_in_place(|| self.control.audit(&[note]))?;
        Ok(format!("{} ({})", who.name(), who.role))
    }

    fn act(&mut self, os_account: &str, act: Act) -> Result<String, String> {
        let who = self.control.identify(os_account);
        let now = mimic_drivers::now_ms();
        let need = |cmd: Command| {
            if authorize(who.role, cmd) {
                Ok(())
            } else {
                Err(format!("{} ({}) may not do that: {cmd:?} needs a higher role", who.name(), who.role))
            }
        };
        match act {
            Act::AckAlarm { .. } | Act::AckAlarms { .. } => need(Command::AckAlarm)?,
            Act::ShelveAlarm { .. } | Act::UnshelveAlarm { .. } => need(Command::ShelveAlarm)?,
            Act::SetOutOfService { .. } => need(Command::SetOutOfService)?,
            Act::RequestWrite { .. } => need(Command::RequestWrite)?,
            Act::Approve { .. } => need(Command::Approve)?,
            Act::Reject { .. } => need(Command::Reject)?,
            Act::Revert { .. } => need(Command::Revert)?,
            // the secret is the check: any configured user may unlock their terminal
            Act::Unlock { .. } => {}
            // the daemon compares the file itself: nothing to trust but the file
            Act::UsersChanged {} => {}
            Act::ModelTrained { .. } => need(Command::RetrainModel)?,
            Act::Recommend { .. } => need(Command::RequestWrite)?,
            Act::RecordMaintenance { .. } => need(Command::RecordMaintenance)?,
        }
        match act {
            Act::AckAlarm { .. }
            | Act::AckAlarms { .. }
            | Act::ShelveAlarm { .. }
            | Act::UnshelveAlarm { .. }
            | Act::SetOutOfService { .. } => {
                let (result, fx) = core::alarm_act(&mut self.state, who.name(), &act, now);
                self.carry_out(fx, Some(&who))?;
                result
            }
            Act::RequestWrite { tag, value } => {
                let ti = self.state.site.tag_index(&tag).ok_or_else(|| format!("unknown tag `{tag}`"))?;
                let view = LiveView::of(&self.state);
                let (result, fx) = self.state.approvals.request(
                    &self.state.site,
                    &view.live(self.control.audit_ok),
                    &who.signer(),
                    ti,
                    value,
                    Source::Manual,
                    Vec::new(),
                    now,
                );
                self.carry_out(fx.into_iter().map(Effect::Approval).collect(), Some(&who))?;
                result.map(|id| format!("request {id} waits for approval")).map_err(|e| e.to_string())
            }
            Act::Revert { id } => {
                let view = LiveView::of(&self.state);
                let (result, fx) = self.state.approvals.revert(
                    &self.state.site,
                    &view.live(self.control.audit_ok),
                    &who.signer(),
                    id,
                    now,
                );
                self.carry_out(fx.into_iter().map(Effect::Approval).collect(), Some(&who))?;
                result
                    .map(|r| format!("revert of request {id} is request {r}; it waits for approval"))
                    .map_err(|e| e.to_string())
            }
            Act::Reject { id, reason } => {
                if reason.trim().is_empty() {
                    return Err("a reason is required".into());
                }
                let (result, fx) = self.state.approvals.reject(&self.state.site, id, &who.signer(), &reason, now);
                self.carry_out(fx.into_iter().map(Effect::Approval).collect(), Some(&who))?;
                result.map(|()| format!("request {id} rejected")).map_err(|e| e.to_string())
            }
            Act::Recommend { tag, value, kpi, kpi_now, kpi_expect, tolerance, effect, confidence } => {
                let site = &self.state.site;
                let ti = site.tag_index(&tag).ok_or_else(|| format!("unknown tag `{}`", tag.escape_debug()))?;
                let ki = site.tag_index(&kpi).ok_or_else(|| format!("unknown KPI tag `{}`", kpi.escape_debug()))?;
                let f = super::advise::Filing {
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
                let signer = who.signer();
                self.file(&signer, Some(&who), f).map(|id| format!("request {id} waits for approval"))
            }
            Act::ModelTrained { asset, kind: crate::ipc::ModelKind::Rul } => {
                let dir = self.control.users_path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
                super::life::rul_trained(&mut self.control, &mut self.state, &who, &dir, &asset, now)
            }
            Act::ModelTrained { asset, .. } => {
                let dir = self.control.users_path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
                core::life::trained(&mut self.state, &asset);
                let loaded = match super::load_anomaly_model(&mut self.state, &dir, &asset) {
                    None => {
                        return Err(format!(
                            "no anomaly model of asset `{}` in {}",
                            asset.escape_debug(),
                            dir.display()
                        ));
                    }
                    Some(r) => r,
                };
                let detail = match &loaded {
                    Ok(()) => "anomaly model retrained and loaded".to_string(),
                    Err(e) => format!("anomaly model retrained but not loaded: {e}"),
                };
                let note = Note {
                    user: who.name().to_string(),
                    full_name: Some(who.full_name.clone()),
                    action: Action::ModelRetrain,
                    meaning: None,
                    target: Some(asset.clone()),
                    detail,
                };
                // the new version, with its figures, in the asset's life
                let path = crate::models::anomaly::asset::model_path(&dir, &asset);
                let trained = crate::models::anomaly::asset::AssetModel::load(&path).ok();
                let version = trained.map(|m| crate::models::anomaly::asset::trained_version(who.name(), &m, now));
                tokio::task::block_in_place(|| {
                    self.control.audit_with(&[note], |txn| match &version {
                        Some(v) => crate::lifecycle::record_model(txn, v).map(|_| ()).map_err(|e| e.to_string()),
                        None => Ok(()),
                    })
                })?;
                self.state.version += 1;
                loaded.map(|()| format!("the daemon now scores {asset} with the new model"))
            }
            Act::RecordMaintenance { asset, kind, part, note, at_ms } => {
                let (msg, fx) = super::life::record(
                    &mut self.control,
                    &mut self.state,
                    &who,
                    &asset,
                    &kind,
                    &part,
                    &note,
                    at_ms,
                    now,
                )?;
                self.carry_out(fx, Some(&who))?;
                Ok(msg)
            }
            Act::UsersChanged {} => {
                let n = tokio::task::block_in_place(|| self.control.users_changed(os_account))?;
                Ok(format!("{n} user-management change(s) audited"))
            }
            Act::Unlock { secret } => {
                let sig = self.check_secret(&who, os_account, secret, MEANING_UNLOCK, "terminal", now)?;
                let note = Note {
                    user: sig.user.clone(),
                    full_name: Some(sig.full_name.clone()),
                    action: Action::Attach,
                    meaning: Some(MEANING_UNLOCK.into()),
                    target: Some("terminal".into()),
                    detail: format!("idle-locked terminal unlocked from OS account {os_account}"),
                };
                tokio::task::block_in_place(|| self.control.audit(&[note]))?;
                Ok("unlocked".into())
            }
            Act::Approve { id, secret } => {
                let sig =
                    self.check_secret(&who, os_account, secret, MEANING_APPROVE, &format!("request {id}"), now)?;
                let signer = approvals::Signer { user: sig.user, full_name: sig.full_name, role: who.role };
                let view = LiveView::of(&self.state);
                let (result, fx) =
                    self.state.approvals.sign(&self.state.site, &view.live(self.control.audit_ok), id, &signer, now);
                let sent = fx.iter().any(|e| matches!(e, approvals::Effect::Write { .. }));
                self.carry_out(fx.into_iter().map(Effect::Approval).collect(), Some(&who))?;
                result.map_err(|e| e.to_string())?;
                Ok(if sent {
                    format!("request {id} signed and sent to the device")
                } else {
                    format!("request {id} signed; it needs a second, different approver")
                })
            }
        }
    }

    /// Check a user's re-entered secret (a signature with this meaning). Wrong secrets
    /// and lock-outs are audited; the secret is dropped here and never logged.
    fn check_secret(
        &mut self,
        who: &Identity,
        os_account: &str,
        secret: String,
        meaning: &str,
        target: &str,
        now: i64,
    ) -> Result<crate::users::Signature, String> {
        let Some(name) = who.user.clone() else {
            return Err(format!("account {os_account} is not a configured mimic user"));
        };
        let path = self.control.users_path.clone();
        let signed =
            tokio::task::block_in_place(|| Users::modify(&path, false, |u| Ok(u.sign(&name, &secret, meaning, now))));
        drop(secret);
        match signed {
            Err(e) => Err(format!("users file: {e}")),
            Ok(Err(e)) => {
                let action = match e {
                    AuthError::LockedOut { .. } => Some(Action::Lockout),
                    AuthError::WrongSecret { .. } => Some(Action::LoginFailed),
                    _ => None,
                };
                if let Some(action) = action {
                    let note = Note {
                        user: name.clone(),
                        full_name: Some(who.full_name.clone()),
                        action,
                        meaning: None,
                        target: Some(target.to_string()),
                        detail: e.to_string(),
                    };
                    let _ = tokio::task::block_in_place(|| self.control.audit(&[note]));
                }
                Err(e.to_string())
            }
            Ok(Ok(sig)) => Ok(sig),
        }
    }
}
