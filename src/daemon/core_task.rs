//! The core task: turns every input (device events, ticks, terminals' acts with who asks,
//! DCMDs, the advisor's and the models worker's news, write outcomes, clock steps) into a
//! `core::Msg`, calls `core::update`, and carries out the effects in order
//! ([`effects`]) — samples to the historian writer, decisions to the audit log, and only
//! then (if the audit committed) writes to the device queues.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mimic_drivers::{DeviceEvent, WriteOutcome, WriteRequest};
use tokio::sync::{mpsc, watch};

use super::clock::{ClockWatch, STEP_ALARM_HOLD, Step};
use super::control::{Control, Identity};
use super::{CoreCmd, PUBLISH_EVERY, StoreStatus, snapshot};
use crate::approvals::{self, RequestId};

use crate::audit::Action;
use crate::core::{self, Effect, Job, Loaded, Msg, Outcome, Purpose, Refusal, State};
use crate::ipc::{Act, LiveSnapshot};
use crate::users::{AuthError, Users};

mod checkpoint;
mod effects;
mod ua;

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
    /// The OPC UA server, when the site has `[opcua_server]`.
    pub opcua: Option<crate::north::opcua::CoreLink>,
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
    /// What the shell itself adds to the snapshot (the clock alarm, the loops) changed.
    dirty: bool,
    /// The latest wall-clock step and when it was seen (monotonic), while its system
    /// alarm is on.
    clock_alarm: Option<(Step, i64, Instant)>,
    /// The control loops as the advisor last saw them.
    loops: Vec<crate::ipc::LiveLoop>,
}

pub async fn run(state: State, control: Control, ch: Channels) {
    let (outcome_tx, mut outcome_rx) = mpsc::unbounded_channel();
    let mut sh = Shell { state, control, ch, outcome_tx, dirty: false, clock_alarm: None, loops: Vec::new() };
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
                // a failed audit is logged and closes control writes; monitoring goes on
                Some(ev) => { let _ = sh.feed(Msg::Device(ev), None); }
                None => return,
            },
            _ = tick.tick() => {
                let now = mimic_drivers::now_ms();
                if let Some(step) = clock.observe(now, origin.elapsed()) {
                    sh.clock_stepped(step);
                }
                if sh.clock_alarm.as_ref().is_some_and(|(_, _, seen)| seen.elapsed() >= STEP_ALARM_HOLD) {
                    sh.clock_alarm = None;
                    sh.dirty = true;
                }
                let _ = sh.feed(Msg::Tick { now_ms: now }, None);
                // One stat a second on the core's thread; only a changed file is read (and
                // audited) off it: block_in_place hands the worker to a fresh thread each time.
                if sh.control.users_file_moved() {
                    tokio::task::block_in_place(|| sh.control.check_users_file());
                }
            }
            cmd = sh.ch.cmd_rx.recv() => {
                let Some(cmd) = cmd else { continue };
                let result = sh.command(&cmd.user, cmd.act);
                let _ = cmd.reply.send(result);
            }
            dcmd = next_dcmd(&mut sh.ch.mqtt) => match dcmd {
                Some(d) => sh.dcmd(d),
                None => sh.ch.mqtt = None,
            },
            request = next_ua(&mut sh.ch.opcua) => match request {
                Some(r) => sh.ua_request(r),
                None => sh.ch.opcua = None,
            },
            // a closed channel (the worker stopped) disables this branch, never spins
            Some(news) = sh.ch.model_news.recv() => { let _ = sh.feed(Msg::ModelNews(news), None); }
            Some(advice) = sh.ch.advice.recv() => sh.advice(advice),
            out = outcome_rx.recv() => {
                let Some((request, outcome)) = out else { continue };
                let now_ms = mimic_drivers::now_ms();
                let _ = sh.feed(Msg::WriteOutcome { request, outcome, now_ms }, None);
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
                if sh.state.version != published || status != store_seen || audit_len != audit_seen || sh.dirty {
                    published = sh.state.version;
                    sh.dirty = false;
                    audit_seen = audit_len;
                    // the whole tag table only for subscribers (and in-process readers);
                    // terminals with a view read the socket's table, refreshed here
                    let with_tags = !sh.ch.lazy_snapshots || sh.ch.watchers.subscribers();
                    sh.ch.watchers.refresh_views(&sh.state);
                    let mut snap = snapshot::build_with(&sh.state, &status, mimic_drivers::now_ms(), with_tags);
                    if let Some((step, since_ms, _)) = &sh.clock_alarm {
                        snapshot::push_system_alarm(&mut snap, snapshot::clock_alarm(step, *since_ms));
                    }
                    if let Some((since_ms, e)) = &sh.control.checkpoint_copy {
                        snapshot::push_system_alarm(&mut snap, checkpoint::copy_alarm(*since_ms, e));
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

async fn next_ua(link: &mut Option<crate::north::opcua::CoreLink>) -> Option<crate::north::opcua::Request> {
    match link {
        Some(l) => l.requests.recv().await,
        None => std::future::pending().await,
    }
}

impl Shell {
    /// Hand one message to the core and carry out what it decides. The reply comes after
    /// the effects: an act whose audit did not commit answers with that failure.
    fn feed(&mut self, msg: Msg, who: Option<&Identity>) -> Result<String, Refusal> {
        if self.state.audit_ok != self.control.audit_ok {
            core::update(&mut self.state, Msg::AuditHealth { ok: self.control.audit_ok });
        }
        let Outcome { reply, effects } = core::update(&mut self.state, msg);
        let mut rest = Vec::with_capacity(effects.len());
        let mut then = None;
        for e in effects {
            match e {
                Effect::Job(_) | Effect::Verify { .. } => then = Some(e),
                e => rest.push(e),
            }
        }
        self.carry_out(rest, who).map_err(Refusal::shell)?;
        match then {
            Some(Effect::Job(job)) => self.job(job),
            Some(Effect::Verify { who, secret, purpose }) => self.verify(who, secret, purpose),
            _ => reply.unwrap_or_else(|| Ok(String::new())),
        }
    }

    /// A terminal's request: who asks (the socket's peer credentials, through the users
    /// file), and the act, or attaching when there is none.
    fn command(&mut self, os_account: &str, act: Option<Act>) -> Result<String, Refusal> {
        let who = self.control.identify(os_account);
        let msg = match act {
            Some(act) => Msg::Act { who: who.clone(), act, now_ms: mimic_drivers::now_ms() },
            None => Msg::Attached { who: who.clone() },
        };
        self.feed(msg, Some(&who))
    }

    /// Check a re-entered secret (I/O on the users file) and give the core the signature.
    fn verify(&mut self, who: Identity, secret: core::Secret, purpose: Purpose) -> Result<String, Refusal> {
        let now_ms = mimic_drivers::now_ms();
        let (meaning, target) = core::meaning(&purpose);
        let sig = self.check_secret(&who, secret.0, meaning, &target, now_ms)?;
        let signer = approvals::Signer { user: sig.user, full_name: sig.full_name, role: who.role };
        self.feed(Msg::Signed { who: who.clone(), signer, purpose, now_ms }, Some(&who))
    }

    /// An authorised act's work in the store or a file.
    fn job(&mut self, job: Job) -> Result<String, Refusal> {
        let now = mimic_drivers::now_ms();
        let dir = self.control.users_path.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
        match job {
            Job::UsersChanged { os_account } => {
                let n =
                    tokio::task::block_in_place(|| self.control.users_changed(&os_account)).map_err(Refusal::shell)?;
                Ok(format!("{n} user-management change(s) audited"))
            }
            Job::RulTrained { who, asset } => {
                let version = super::life::store_rul_version(&mut self.control, &who, &dir, &asset, now)
                    .map_err(Refusal::shell)?;
                let then = format!("the daemon loads it within {} s", super::insight::RUL_EVERY.as_secs());
                self.feed(Msg::ModelRecorded { version, then }, Some(&who))
            }
            Job::RecordMaintenance { who, event } => {
                let event = super::life::store_event(&mut self.control, &who, &event).map_err(Refusal::shell)?;
                self.feed(Msg::Maintenance { event, now_ms: now }, Some(&who))
            }
            Job::LoadAnomaly { who, asset } => {
                use crate::models::anomaly::asset::{AssetModel, model_path};
                let path = model_path(&dir, &asset);
                let model = if path.exists() {
                    Loaded::Read(AssetModel::load(&path).map(Box::new))
                } else {
                    Loaded::Missing { dir: dir.display().to_string() }
                };
                self.feed(Msg::AnomalyLoaded { who: who.clone(), asset, model, now_ms: now }, Some(&who))
            }
            Job::Checkpoint { by } => self.checkpoint(by),
        }
    }

    /// The wall clock stepped: durations keep their length, the step is audited and
    /// shown as a system alarm (see [`super::clock`]).
    fn clock_stepped(&mut self, step: Step) {
        let what = step.describe();
        tracing::warn!("{what}; polling goes on (it runs on the monotonic clock)");
        self.clock_alarm = Some((step, step.now_ms, Instant::now()));
        // a failed audit is logged and closes control writes (see `Control::audit`)
        let _ = self.feed(Msg::ClockStep { expected_ms: step.expected_ms, now_ms: step.now_ms, what }, None);
    }

    /// A Sparkplug DCMD: a write request like a terminal's, never a write.
    fn dcmd(&mut self, d: crate::north::sparkplug::Dcmd) {
        let w = d.write;
        let msg =
            Msg::Dcmd { from: d.from, tag: w.tag, metric: w.metric, value: w.value, now_ms: mimic_drivers::now_ms() };
        let _ = self.feed(msg, None);
    }

    /// News from the advisor: a loop's state for the snapshot, or a recommendation for the
    /// core to file.
    fn advice(&mut self, advice: super::advise::Advice) {
        match advice {
            super::advise::Advice::Loop(i, live) => {
                if self.loops.len() <= i {
                    self.loops.resize_with(i + 1, Default::default);
                }
                if self.loops[i] != live {
                    self.loops[i] = live;
                    self.dirty = true;
                }
            }
            super::advise::Advice::Recommend(filing) => {
                let _ = self.feed(Msg::Recommend { filing, now_ms: mimic_drivers::now_ms() }, None);
            }
        }
    }

    /// Check a user's re-entered secret (a signature with this meaning). Wrong secrets
    /// and lock-outs are audited; the secret is dropped here and never logged.
    fn check_secret(
        &mut self,
        who: &Identity,
        secret: String,
        meaning: &str,
        target: &str,
        now: i64,
    ) -> Result<crate::users::Signature, Refusal> {
        let Some(name) = who.user.clone() else {
            return Err(Refusal::NotAUser(who.os_account.clone()));
        };
        let path = self.control.users_path.clone();
        let signed =
            tokio::task::block_in_place(|| Users::modify(&path, false, |u| Ok(u.sign(&name, &secret, meaning, now))));
        drop(secret);
        match signed {
            Err(e) => Err(Refusal::UsersFile(e)),
            Ok(Err(e)) => {
                let action = match e {
                    AuthError::LockedOut { .. } => Some(Action::Lockout),
                    AuthError::WrongSecret { .. } => Some(Action::LoginFailed),
                    _ => None,
                };
                if let Some(action) = action {
                    // `who` is the user `name` (checked above)
                    let note = who.note(action, Some(target.to_string()), e.to_string());
                    let _ = tokio::task::block_in_place(|| self.control.audit(&[note]));
                }
                Err(Refusal::Auth(e))
            }
            Ok(Ok(sig)) => Ok(sig),
        }
    }
}
