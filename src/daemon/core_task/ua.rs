//! The OPC UA server's requests: logins checked against the users file (as a signature
//! meaning "OPC UA session": wrong passwords count towards the lock-out and are audited,
//! like the session start), acts by a session's user through the core, and the writes
//! the server refused itself, audited.

use super::{Identity, Msg, Shell, core};
use crate::audit::Action;
use crate::core::Refusal;
use crate::north::opcua::Request;
use crate::users::{Role, Users};

/// Meaning of the signature an OPC UA login makes.
const MEANING_LOGIN: &str = "OPC UA session";

impl Shell {
    pub(super) fn ua_request(&mut self, request: Request) {
        match request {
            Request::Login { user, secret, reply } => {
                let _ = reply.send(self.ua_login(&user, secret));
            }
            Request::Act { user, act, reply } => {
                let who = self.ua_identity(user.as_deref());
                let msg = Msg::Act { who: who.clone(), act, now_ms: mimic_drivers::now_ms() };
                let _ = reply.send(self.feed(msg, Some(&who)));
            }
            Request::Refused { user, tag, value, why, reply } => {
                let who = self.ua_identity(user.as_deref());
                let note = who.note(
                    Action::Other("refused".into()),
                    Some(tag),
                    format!("OPC UA write {value} refused: {why}"),
                );
                let audited = tokio::task::block_in_place(|| self.control.audit(&[note]));
                let _ = reply.send(audited.map_err(Refusal::shell));
            }
        }
    }

    /// Who an OPC UA session's user is (anonymous, unknown or inactive: a viewer).
    fn ua_identity(&self, user: Option<&str>) -> Identity {
        let name = user.unwrap_or("anonymous");
        let users = Users::load_or_new(&self.control.users_path).unwrap_or_default();
        match user.and_then(|u| users.get(u)).filter(|u| u.active()) {
            Some(u) => Identity {
                os_account: format!("opcua:{}", u.name),
                user: Some(u.name.clone()),
                full_name: u.full_name.clone(),
                role: u.role,
            },
            None => Identity {
                os_account: format!("opcua:{name}"),
                user: None,
                full_name: format!("OPC UA client {name}"),
                role: Role::Viewer,
            },
        }
    }

    /// Check a login; audit the session start or the failure.
    fn ua_login(&mut self, user: &str, secret: core::Secret) -> Result<Role, Refusal> {
        let now = mimic_drivers::now_ms();
        let who = self.ua_identity(Some(user));
        let known = who.user.is_some();
        let result = if known {
            self.check_secret(&who, secret.0, MEANING_LOGIN, "opcua", now).map(|_| who.role)
        } else {
            Err(Refusal::NoActiveUser(user.escape_debug().to_string()))
        };
        let (action, detail) = match &result {
            Ok(role) => (Action::Attach, format!("OPC UA session as {role}")),
            // wrong secrets and lock-outs are audited by check_secret
            Err(_) if known => return result,
            Err(e) => (Action::LoginFailed, format!("OPC UA login refused: {e}")),
        };
        let note = core::Note {
            user: user.chars().filter(|c| !crate::text::is_unsafe(*c)).take(64).collect(),
            full_name: known.then(|| who.full_name.clone()),
            action,
            meaning: None,
            target: Some("opcua".into()),
            detail,
        };
        if let Err(e) = tokio::task::block_in_place(|| self.control.audit(&[note])) {
            tracing::warn!("OPC UA login not audited: {e}");
        }
        result
    }
}
