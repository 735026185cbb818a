//! Who acts and what is written down: the actor's identity as the shell found it (the
//! OS account of a terminal, mapped to a mimic user through the users file), and the
//! audit entries the core's decisions ask for.

use crate::alarms::{AlarmEvent, Change};
use crate::approvals::Signer;
use crate::audit::{Action, Note};
use crate::users::Role;

impl From<&AlarmEvent> for Note {
    fn from(e: &AlarmEvent) -> Self {
        let action = match e.action {
            Change::Acknowledged => Action::AlarmAck,
            Change::Shelved | Change::ShelveExpired => Action::AlarmShelve,
            Change::Unshelved => Action::AlarmUnshelve,
            Change::OutOfService | Change::InService => Action::AlarmOutOfService,
            Change::Raised | Change::Returned => Action::Other("alarm".into()),
            Change::FloodHeld | Change::FloodReleased => Action::Other("alarm flood".into()),
        };
        let value = e.value.map_or(String::new(), |v| format!(" value {v}"));
        Note {
            user: e.user.clone().unwrap_or_else(|| "mimic".into()),
            full_name: None,
            action,
            meaning: None,
            target: Some(format!("alarm {} {} {}", e.alarm, e.place.tag.as_deref().unwrap_or("-"), e.kind)),
            detail: format!("{}: {} → {} ({}){value} {}", e.action, e.from, e.to, e.priority, e.note),
        }
    }
}

/// The person behind a terminal.
#[derive(Clone, Debug, PartialEq)]
pub struct Identity {
    pub os_account: String,
    /// The mimic user, when the account is configured and active.
    pub user: Option<String>,
    pub full_name: String,
    pub role: Role,
}

impl Identity {
    pub fn name(&self) -> &str {
        self.user.as_deref().unwrap_or(&self.os_account)
    }

    /// The audit entry of something this user did (signatures have their own, with a
    /// meaning).
    pub fn note(&self, action: Action, target: Option<String>, detail: String) -> Note {
        Note {
            user: self.name().to_string(),
            full_name: Some(self.full_name.clone()),
            action,
            meaning: None,
            target,
            detail,
        }
    }

    pub fn signer(&self) -> Signer {
        Signer { user: self.name().to_string(), full_name: self.full_name.clone(), role: self.role }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alarms::{AlarmId, AlarmKind, AlarmState, Place, Priority};

    #[test]
    fn an_alarm_events_audit_entry_reads_as_words_not_debug_text() {
        let e = AlarmEvent {
            ts_ms: 1000,
            alarm: AlarmId(7),
            place: Place { tag: Some("PT101".into()), ..Place::default() },
            kind: AlarmKind::Hi,
            priority: Priority::High,
            action: Change::Raised,
            from: AlarmState::Normal,
            to: AlarmState::UnackActive,
            value: Some(9.5),
            user: None,
            note: "pressure high".into(),
        };
        let note = Note::from(&e);
        let want = format!("raised: {} → {} ({}) value 9.5 pressure high", e.from, e.to, e.priority);
        assert_eq!(note.detail, want);
        assert!(!note.detail.contains("Raised") && !note.detail.contains("High"), "{}", note.detail);
    }
}
