//! The core's front door: every input as a [`Msg`], every answer as an [`Outcome`] (a
//! reply for whoever asked, and [`Effect`]s for the shell to carry out).

use mimic_drivers::{DeviceEvent, WriteOutcome};

use super::{Act, Effect, Identity, LiveDiagnosis, LiveRul, Refusal};
use crate::approvals::{RequestId, Signer};
use crate::models::anomaly::asset::{AssetModel, AssetModelError};

/// One input to the core. The shell converts what it receives (a device task's readings,
/// a terminal's request, a DCMD, the advisor's and the models worker's news, the outcome
/// of a write, a step of the wall clock) into one of these and calls [`super::update`].
pub enum Msg {
    /// One poll's readings and statistics from a device task.
    Device(DeviceEvent),
    /// Time passes (sent about once a second by the shell): staleness, alarm timers,
    /// expiry of approvals, the watch of written changes.
    Tick { now_ms: i64 },
    /// A user's act with who asks, identified by the shell (a terminal's OS account
    /// mapped through the users file); the core authorises it.
    Act { who: Identity, act: Act, now_ms: i64 },
    /// The shell checked the re-entered secret of an act (see [`Effect::Verify`]).
    Signed { who: Identity, signer: Signer, purpose: Purpose, now_ms: i64 },
    /// A terminal attached.
    Attached { who: Identity },
    /// A Sparkplug DCMD metric: a write request, never a write.
    Dcmd { from: String, tag: usize, metric: String, value: f64, now_ms: i64 },
    /// A model's recommendation from the advisor of the `[[loop]]`s.
    Recommend { filing: Filing, now_ms: i64 },
    /// A device's answer to a sent write.
    WriteOutcome { request: RequestId, outcome: WriteOutcome, now_ms: i64 },
    /// A write the shell did not send because its audit did not commit (fail closed).
    NotSent { request: RequestId, reason: String, now_ms: i64 },
    /// What the models worker found.
    ModelNews(ModelNews),
    /// The wall clock read `now_ms` where it should have read `expected_ms`.
    ClockStep { expected_ms: i64, now_ms: i64, what: String },
    /// The audit log's health: false after a commit failed (control writes are refused),
    /// true after one succeeded.
    AuditHealth { ok: bool },
    /// A maintenance event was stored with its audit entry.
    Maintenance { event: crate::lifecycle::Event, now_ms: i64 },
    /// A remaining-life model's version was stored in the asset's life with its audit
    /// entry; `then` says when the models worker picks the model up.
    ModelRecorded { version: crate::lifecycle::ModelVersion, then: String },
    /// The anomaly model file of an asset, read after `mimic train` saved it.
    AnomalyLoaded { who: Identity, asset: String, model: Loaded, now_ms: i64 },
}

/// What the core answers: the reply to whoever asked (none for the plant's own inputs)
/// and the effects, in order. A refusal stays typed up to the face that shows it.
#[derive(Debug, Default)]
pub struct Outcome {
    pub reply: Option<Result<String, Refusal>>,
    pub effects: Vec<Effect>,
}

impl Outcome {
    pub fn effects(effects: Vec<Effect>) -> Outcome {
        Outcome { reply: None, effects }
    }

    pub fn reply(reply: Result<String, Refusal>) -> Outcome {
        Outcome { reply: Some(reply), effects: Vec::new() }
    }

    pub fn job(job: Job) -> Outcome {
        Outcome::effects(vec![Effect::Job(job)])
    }
}

/// The effects, read as a list.
impl std::ops::Deref for Outcome {
    type Target = Vec<Effect>;
    fn deref(&self) -> &Vec<Effect> {
        &self.effects
    }
}

impl IntoIterator for Outcome {
    type Item = Effect;
    type IntoIter = std::vec::IntoIter<Effect>;
    fn into_iter(self) -> Self::IntoIter {
        self.effects.into_iter()
    }
}

/// What a checked secret signs.
#[derive(Clone, Debug, PartialEq)]
pub enum Purpose {
    Unlock,
    Approve(RequestId),
}

/// A re-entered secret on its way to the shell's check; never printed.
#[derive(Clone, PartialEq)]
pub struct Secret(pub String);

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret(s)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Work of an authorised act that is a store transaction or a file, done by the shell,
/// which replies with its result.
#[derive(Clone, Debug, PartialEq)]
pub enum Job {
    /// Audit the users file's changes, attributed to this account.
    UsersChanged { os_account: String },
    /// Store a maintenance event with its audit entry, then hand the stored event to the
    /// core ([`Msg::Maintenance`]).
    RecordMaintenance { who: Identity, event: crate::lifecycle::Event },
    /// Read the asset's remaining-life model file and record its version (with its audit
    /// entry), then hand the stored version to the core ([`Msg::ModelRecorded`]).
    RulTrained { who: Identity, asset: String },
    /// Read the asset's anomaly model file and answer with [`Msg::AnomalyLoaded`].
    LoadAnomaly { who: Identity, asset: String },
    /// Sign a checkpoint of the audit chain's head and copy the signed checkpoints to the
    /// site's `checkpoint_dir`, if any: asked by a user, or on the site's schedule (`by`
    /// none).
    Checkpoint { by: Option<String> },
}

/// An anomaly model file as the shell read it.
pub enum Loaded {
    /// No model file of the asset in this directory.
    Missing {
        dir: String,
    },
    Read(Result<Box<AssetModel>, AssetModelError>),
}

/// What the models worker found about an asset.
#[derive(Debug)]
pub enum ModelNews {
    Rul { asset: String, rul: Option<LiveRul> },
    Diagnosis { asset: String, diagnosis: LiveDiagnosis },
}

/// A recommendation of the advisor (or of `mimic recommend --request`) to file.
#[derive(Clone, Debug, PartialEq)]
pub struct Filing {
    pub loop_name: String,
    /// Tag indexes of the setpoint and the KPI.
    pub tag: usize,
    pub value: f64,
    pub kpi: usize,
    pub kpi_now: f64,
    pub kpi_expect: f64,
    pub tolerance: f64,
    pub effect: String,
    pub confidence: f64,
    pub reason: String,
}
