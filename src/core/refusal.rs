//! Why an act was not done, as one typed error from the front door to the faces: the
//! core's own refusals, the domain's errors as they are (alarms, approvals, asset life,
//! users, model files), and the shell's failures doing an act's part. Text is made only
//! at the edge, where it goes to a user, a log or a socket: a face that needs to tell
//! refusals apart (the OPC UA server's status codes) matches on the variants.

use super::models::UnknownSignal;
use crate::alarms::AlarmError;
use crate::approvals;
use crate::lifecycle::LifecycleError;
use crate::models::anomaly::asset::AssetModelError;
use crate::users::{AuthError, Command, Role, UsersError};

/// Why an act was refused or failed (the reply's text is its `Display`).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("{who} ({role}) may not {}: that needs the {} role", .cmd.describe(), .cmd.min_role())]
    Role { who: String, role: Role, cmd: Command },
    #[error("unknown tag `{}`", .0.escape_debug())]
    UnknownTag(String),
    #[error("unknown KPI tag `{}`", .0.escape_debug())]
    UnknownKpi(String),
    #[error("no asset `{}` in the site", .0.escape_debug())]
    NoAsset(String),
    #[error("a maintenance event cannot be recorded in the future")]
    InTheFuture,
    #[error("the prediction must be finite with a positive tolerance")]
    BadPrediction,
    #[error("a reason is required")]
    NoReason,
    #[error("not an alarm act")]
    NotAnAlarmAct,
    #[error("no anomaly model of asset `{}` in {dir}", .asset.escape_debug())]
    NoAnomalyModel { asset: String, dir: String },
    #[error(transparent)]
    Alarm(#[from] AlarmError),
    #[error(transparent)]
    Request(#[from] approvals::Refusal),
    #[error(transparent)]
    Event(#[from] LifecycleError),
    #[error(transparent)]
    AnomalyFile(#[from] AssetModelError),
    #[error(transparent)]
    Signal(#[from] UnknownSignal),
    /// A re-entered secret (a signature, an OPC UA login) checked against the users file.
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("account {0} is not a configured mimic user")]
    NotAUser(String),
    /// An OPC UA login's user name (escaped by whoever makes it).
    #[error("no active mimic user `{0}`")]
    NoActiveUser(String),
    /// The file's error is not a `source`: its text is in this message already.
    #[error("users file: {0}")]
    UsersFile(UsersError),
    /// The shell could not do its part of the act (the audit log, the store, a model or
    /// the users file). Boxed: the shell's error types are a layer above the core, and no
    /// face tells them apart.
    #[error(transparent)]
    Shell(Box<dyn std::error::Error + Send + Sync>),
}

impl Refusal {
    /// The shell's failure `e`, as a refusal.
    pub fn shell(e: impl std::error::Error + Send + Sync + 'static) -> Refusal {
        Refusal::Shell(Box::new(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::AlarmId;
    use crate::approvals::checks::CheckError;

    /// The message and every source under it, as an error chain prints them.
    fn chain(e: &dyn std::error::Error) -> Vec<String> {
        let mut out = vec![e.to_string()];
        let mut next = e.source();
        while let Some(s) = next {
            out.push(s.to_string());
            next = s.source();
        }
        out
    }

    #[test]
    fn a_refusal_reads_as_the_terminal_was_always_told_once() {
        let role = Refusal::Role { who: "vic".into(), role: Role::Viewer, cmd: Command::RequestWrite };
        for (r, text) in [
            (role, "vic (viewer) may not request a setpoint change: that needs the operator role"),
            (Refusal::UnknownTag("speed_sp".into()), "unknown tag `speed_sp`"),
            (Refusal::UnknownKpi("a\nb".into()), "unknown KPI tag `a\\nb`"),
            (Refusal::NoReason, "a reason is required"),
            (Refusal::from(AlarmError::AlreadyAcknowledged(AlarmId(3))), "alarm A3 is already acknowledged"),
            (Refusal::from(approvals::Refusal::NotPending(7)), "request 7 is no longer pending"),
            (
                Refusal::from(approvals::Refusal::from(CheckError::AuditUnavailable)),
                "the audit log cannot be written: control writes are refused",
            ),
            (Refusal::shell(std::io::Error::other("disk full")), "disk full"),
        ] {
            assert_eq!(chain(&r), [text], "{r:?}");
        }
    }
}
