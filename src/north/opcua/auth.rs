//! Who an OPC UA session is: user names and passwords are checked by the core task
//! against mimic's users file (argon2id; a wrong password counts towards the lock-out
//! like a wrong signature in the terminal; failures, lock-outs and session starts are
//! audited there). The session's user token is the mimic user name; its role is kept
//! here for the access levels. Anonymous sessions exist only with
//! `anonymous = "viewer"`, and are viewers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use opcua::server::address_space::AccessLevel;
use opcua::server::authenticator::{AuthManager, Password, UserToken, user_pass_security_policy_id};
use opcua::server::{ANONYMOUS_USER_TOKEN_ID, ServerEndpoint};
use opcua::types::{Error, NodeId, StatusCode, UAString, UserTokenPolicy, UserTokenType};
use tokio::sync::{mpsc, oneshot};

use super::Request;
use crate::core::Refusal;
use crate::users::Role;

/// Why the core task gave no answer to a request of the server.
#[derive(Debug, thiserror::Error)]
pub enum Asked {
    #[error("the daemon is stopping")]
    Stopping,
    #[error(transparent)]
    Refused(#[from] Refusal),
}

pub struct MimicAuth {
    core: mpsc::Sender<Request>,
    anonymous: bool,
    /// Role of each user with a session (as of their latest login).
    roles: Arc<Mutex<HashMap<String, Role>>>,
}

impl MimicAuth {
    pub fn new(core: mpsc::Sender<Request>, anonymous: bool) -> MimicAuth {
        MimicAuth { core, anonymous, roles: Arc::default() }
    }

    /// The role of a session's user token (anonymous, unknown: viewer).
    pub fn role(&self, token: &UserToken) -> Role {
        if token.is_anonymous() {
            return Role::Viewer;
        }
        self.roles.lock().ok().and_then(|r| r.get(&token.0).copied()).unwrap_or(Role::Viewer)
    }

    /// The mimic user of a session (`None`: anonymous).
    pub fn user(token: &UserToken) -> Option<String> {
        (!token.is_anonymous()).then(|| token.0.clone())
    }

    /// Ask the core task something and wait for the answer.
    pub async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<Result<T, Refusal>>) -> Request) -> Result<T, Asked> {
        let (tx, rx) = oneshot::channel();
        self.core.send(make(tx)).await.map_err(|_| Asked::Stopping)?;
        Ok(rx.await.map_err(|_| Asked::Stopping)??)
    }
}

#[async_trait]
impl AuthManager for MimicAuth {
    async fn authenticate_anonymous_token(&self, _endpoint: &ServerEndpoint) -> Result<(), Error> {
        if self.anonymous {
            Ok(())
        } else {
            Err(Error::new(StatusCode::BadIdentityTokenRejected, "anonymous sessions are not allowed"))
        }
    }

    async fn authenticate_username_identity_token(
        &self,
        _endpoint: &ServerEndpoint,
        username: &str,
        password: &Password,
    ) -> Result<UserToken, Error> {
        let user = username.to_string();
        let secret = crate::core::Secret(password.get().to_string());
        match self.ask(|reply| Request::Login { user: user.clone(), secret, reply }).await {
            Ok(role) => {
                if let Ok(mut r) = self.roles.lock() {
                    r.insert(user.clone(), role);
                }
                Ok(UserToken(user))
            }
            // the reason is audited by the core task; the client learns only "rejected"
            Err(_) => Err(Error::new(StatusCode::BadUserAccessDenied, "user name or password refused")),
        }
    }

    /// Viewers (anonymous included) never see CurrentWrite.
    fn effective_user_access_level(&self, token: &UserToken, level: AccessLevel, _node: &NodeId) -> AccessLevel {
        if self.role(token) < Role::Operator { level - AccessLevel::CURRENT_WRITE } else { level }
    }

    /// Viewers (anonymous included) may call no method: the only one, Acknowledge, needs
    /// an operator (the core checks again when it acknowledges).
    fn is_user_executable(&self, token: &UserToken, _method_id: &NodeId) -> bool {
        self.role(token) >= Role::Operator
    }

    fn user_token_policies(&self, endpoint: &ServerEndpoint) -> Vec<UserTokenPolicy> {
        let mut out = Vec::with_capacity(2);
        if self.anonymous && endpoint.user_token_ids.contains(ANONYMOUS_USER_TOKEN_ID) {
            out.push(UserTokenPolicy {
                policy_id: UAString::from("anonymous"),
                token_type: UserTokenType::Anonymous,
                issued_token_type: UAString::null(),
                issuer_endpoint_url: UAString::null(),
                security_policy_uri: UAString::null(),
            });
        }
        out.push(UserTokenPolicy {
            policy_id: user_pass_security_policy_id(endpoint),
            token_type: UserTokenType::UserName,
            issued_token_type: UAString::null(),
            issuer_endpoint_url: UAString::null(),
            security_policy_uri: UAString::null(),
        });
        out
    }
}
