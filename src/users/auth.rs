//! Who may do what: the role × command table, per-tag approval rules and the
//! electronic signature record. Everything here is a pure decision over values; the
//! secret check that produces a [`Signature`] lives in [`super::Users::sign`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A user's role. Ordered: every role may do what the roles below it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Engineer,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Operator, Role::Engineer, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Engineer => "engineer",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is none of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`; expected viewer, operator, engineer or admin")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// Everything a user can ask mimic to do that needs a permission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    ViewValues,
    ViewHistory,
    AckAlarm,
    ShelveAlarm,
    SetOutOfService,
    /// Manual setpoint entry: proposes a write, which still needs approval.
    RequestWrite,
    /// Sign the approval of a pending write to an ordinary (non-critical) tag.
    Approve,
    /// Sign one of the two approvals a write to a critical tag needs.
    ApproveCritical,
    Reject,
    Revert,
    RecordMaintenance,
    RetrainModel,
    ManageUsers,
    ReloadConfig,
}

impl Command {
    pub const ALL: [Command; 14] = [
        Command::ViewValues,
        Command::ViewHistory,
        Command::AckAlarm,
        Command::ShelveAlarm,
        Command::SetOutOfService,
        Command::RequestWrite,
        Command::Approve,
        Command::ApproveCritical,
        Command::Reject,
        Command::Revert,
        Command::RecordMaintenance,
        Command::RetrainModel,
        Command::ManageUsers,
        Command::ReloadConfig,
    ];

    /// What the command does, in the words a refusal uses ("may not …").
    pub fn describe(self) -> &'static str {
        use Command::*;
        match self {
            ViewValues => "view live values",
            ViewHistory => "view history",
            AckAlarm => "acknowledge alarms",
            ShelveAlarm => "shelve alarms",
            SetOutOfService => "take alarms out of service",
            RequestWrite => "request a setpoint change",
            Approve => "approve a write",
            ApproveCritical => "approve a write to a critical tag",
            Reject => "reject a write",
            Revert => "revert a write",
            RecordMaintenance => "record maintenance",
            RetrainModel => "retrain a model",
            ManageUsers => "manage users",
            ReloadConfig => "reload the configuration",
        }
    }

    /// The lowest role allowed to run the command; every role above it may too.
    pub fn min_role(self) -> Role {
        use Command::*;
        match self {
            ViewValues | ViewHistory => Role::Viewer,
            AckAlarm | ShelveAlarm | RequestWrite | Approve | Reject | Revert => Role::Operator,
            SetOutOfService | ApproveCritical | RecordMaintenance | RetrainModel => Role::Engineer,
            ManageUsers | ReloadConfig => Role::Admin,
        }
    }
}

/// May a user of `role` run `cmd`? The whole permission table, as one pure function.
pub fn authorize(role: Role, cmd: Command) -> bool {
    role >= cmd.min_role()
}

/// Who may sign an approval of one tag or asset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Approver {
    /// Users of this role or above.
    Role(Role),
    /// This mimic user by name.
    User(String),
}

/// The approval rule of one tag or asset.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRule {
    /// `None`: anyone whose role allows approving. `Some(list)`: only users matching an
    /// entry (an empty list means nobody may approve).
    pub approvers: Option<Vec<Approver>>,
    /// A critical tag needs two signatures by two different users, each allowed
    /// [`Command::ApproveCritical`].
    pub critical: bool,
}

impl ApprovalRule {
    /// Signatures needed before the write may go to the PLC.
    pub fn required_signatures(&self) -> usize {
        if self.critical { 2 } else { 1 }
    }

    /// Do `signed` (checked one by one with [`may_approve`]) complete the approval?
    /// Counts distinct users only.
    pub fn is_satisfied(&self, signed: &[Signature]) -> bool {
        let mut names: Vec<&str> = signed.iter().map(|s| s.user.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.len() >= self.required_signatures()
    }
}

/// An electronic signature (21 CFR Part 11 §11.50): who (user name and full name),
/// when, and what it means ("approve P101.speed 1450 → 1500 rpm").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub user: String,
    pub full_name: String,
    pub ts_ms: i64,
    pub meaning: String,
}

/// Why a signature or an approval was refused. Carries what the caller needs to audit
/// (`LoginFailed` on [`AuthError::WrongSecret`], `Lockout` on [`AuthError::LockedOut`])
/// and never the secret or its hash.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no user `{0}`")]
    UnknownUser(String),
    #[error("user `{0}` is disabled")]
    Disabled(String),
    #[error("user `{0}` is locked after too many wrong secrets; an admin must unlock it")]
    Locked(String),
    #[error("wrong secret; {attempts_left} attempt(s) left before the account locks")]
    WrongSecret { user: String, attempts_left: u32 },
    #[error("wrong secret; user `{user}` is now locked after {attempts} failed attempts")]
    LockedOut { user: String, attempts: u32 },
    #[error("a signature needs a meaning")]
    NoMeaning,
    #[error("role {role} may not {}", .command.describe())]
    NotPermitted { role: Role, command: Command },
    #[error("user `{0}` is not an approver of this tag")]
    NotAnApprover(String),
    #[error("user `{0}` has already signed this approval; a second signature must come from another user")]
    AlreadySigned(String),
    #[error("the approval already has all the signatures it needs")]
    AlreadyApproved,
    #[error("the stored secret hash of user `{0}` is unusable; set a new secret")]
    BadHash(String),
}

/// May `user` add a signature to an approval under `rule` that already carries
/// `already_signed`? `Ok(())` means yes; the signature itself still needs the secret.
pub fn may_approve(user: &super::User, rule: &ApprovalRule, already_signed: &[Signature]) -> Result<(), AuthError> {
    if user.disabled {
        return Err(AuthError::Disabled(user.name.clone()));
    }
    if user.locked {
        return Err(AuthError::Locked(user.name.clone()));
    }
    let command = if rule.critical { Command::ApproveCritical } else { Command::Approve };
    if !authorize(user.role, command) {
        return Err(AuthError::NotPermitted { role: user.role, command });
    }
    if let Some(list) = &rule.approvers {
        let listed = list.iter().any(|a| match a {
            Approver::Role(r) => user.role >= *r,
            Approver::User(n) => *n == user.name,
        });
        if !listed {
            return Err(AuthError::NotAnApprover(user.name.clone()));
        }
    }
    if already_signed.iter().any(|s| s.user == user.name) {
        return Err(AuthError::AlreadySigned(user.name.clone()));
    }
    if rule.is_satisfied(already_signed) {
        return Err(AuthError::AlreadyApproved);
    }
    Ok(())
}
