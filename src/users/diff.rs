//! What changed between two versions of the users file, for the audit log (user
//! management is audited: who was added, disabled, given another role or secret).
//! Failed-attempt counters and lock-outs are not changes of management: the daemon
//! audits those when they happen; an unlock is.

use super::{User, Users};

/// Kind of a user-management change (maps to the audit log's actions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    Add,
    Change,
    Disable,
}

/// One change: the user (or `policy`) it concerns and what happened, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserChange {
    pub kind: ChangeKind,
    pub target: String,
    pub detail: String,
}

/// The changes from `before` to `after`, users in file order, policy last. Never
/// mentions a secret or its hash, only that it changed.
pub fn changes(before: &Users, after: &Users) -> Vec<UserChange> {
    let mut out = Vec::new();
    for u in &after.users {
        match before.users.iter().find(|b| b.name == u.name) {
            None => out.push(UserChange {
                kind: ChangeKind::Add,
                target: u.name.clone(),
                detail: format!(
                    "user {} added: {} ({}), OS account {}{}",
                    u.name,
                    u.full_name,
                    u.role,
                    u.os_account,
                    if u.disabled { ", disabled" } else { "" }
                ),
            }),
            Some(b) => out.extend(user_changes(b, u)),
        }
    }
    for b in &before.users {
        if !after.users.iter().any(|u| u.name == b.name) {
            let detail = format!("user {} removed from the users file", b.name);
            out.push(UserChange { kind: ChangeKind::Disable, target: b.name.clone(), detail });
        }
    }
    let mut policy = Vec::new();
    if before.idle_lock != after.idle_lock {
        policy.push(format!(
            "idle lock {} → {}",
            crate::time::format_duration(before.idle_lock),
            crate::time::format_duration(after.idle_lock)
        ));
    }
    if before.max_attempts != after.max_attempts {
        policy.push(format!("lock-out after {} → {} wrong secrets", before.max_attempts, after.max_attempts));
    }
    if !policy.is_empty() {
        out.push(UserChange { kind: ChangeKind::Change, target: "policy".into(), detail: policy.join(", ") });
    }
    out
}

fn user_changes(b: &User, u: &User) -> Vec<UserChange> {
    let change = |kind, detail: String| UserChange { kind, target: u.name.clone(), detail };
    let mut out = Vec::new();
    if !b.disabled && u.disabled {
        out.push(change(ChangeKind::Disable, format!("user {} disabled", u.name)));
    }
    if b.disabled && !u.disabled {
        out.push(change(ChangeKind::Change, format!("user {} enabled", u.name)));
    }
    let mut what = Vec::new();
    if b.role != u.role {
        what.push(format!("role {} → {}", b.role, u.role));
    }
    if b.full_name != u.full_name {
        what.push(format!("full name {:?} → {:?}", b.full_name, u.full_name));
    }
    if b.os_account != u.os_account {
        what.push(format!("OS account {} → {}", b.os_account, u.os_account));
    }
    if b.secret_hash != u.secret_hash {
        what.push("secret changed".into());
    }
    if b.locked && !u.locked {
        what.push("lock-out cleared".into());
    }
    if !what.is_empty() {
        out.push(change(ChangeKind::Change, format!("user {}: {}", u.name, what.join(", "))));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::users::Role;

    #[test]
    fn additions_role_secret_disable_unlock_removal_and_policy_are_changes_counters_are_not() {
        let mut before = Users::new();
        before.add("ann", "Ann A", Role::Operator, Some("ann"), "ann-secret-1").expect("add");
        before.add("bob", "Bob B", Role::Viewer, Some("bob"), "bob-secret-1").expect("add");
        before.add("cy", "Cy C", Role::Viewer, Some("cy"), "cy-secret-11").expect("add");
        let mut after = before.clone();
        assert!(changes(&before, &after).is_empty());
        // counters and a lock-out are not management changes
        let _ = after.sign("ann", "wrong", "m", 0);
        assert!(changes(&before, &after).is_empty(), "{:?}", changes(&before, &after));
        after.add("dee", "Dee D", Role::Engineer, Some("dee"), "dee-secret-1").expect("add");
        after.set_secret("bob", "bob-secret-2").expect("passwd");
        after.disable("cy").expect("disable");
        after.idle_lock = Duration::from_secs(300);
        let c = changes(&before, &after);
        let text: Vec<String> = c.iter().map(|c| format!("{:?} {} {}", c.kind, c.target, c.detail)).collect();
        assert_eq!(
            text,
            [
                "Change bob user bob: secret changed",
                "Disable cy user cy disabled",
                "Add dee user dee added: Dee D (engineer), OS account dee",
                "Change policy idle lock 15m → 5m",
            ],
        );
        assert!(c.iter().all(|c| !c.detail.contains("argon2")), "never a hash");
    }
}
