//! Who acts: a leaf module (it depends on nothing in the backend), so that the verifier, the
//! audit log and the services can all name a principal without depending on each other.

use crate::domain::Role;
use crate::errors::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Session,
    Token {
        token_id: i64,
    },
    /// `keyward …` on the server's own command line.
    CommandLine,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User { id: i64, email: String },
    ServiceAccount { id: i64, name: String },
    Operator,
}

/// Which request something happens in, as the audit log records it: the client's address and
/// the request's id (`X-Request-Id`, also on the request's log lines). Empty on the command
/// line and in background work.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    pub ip: Option<String>,
    pub id: Option<String>,
}

/// An authenticated caller and the role it acts with right now.
#[derive(Debug, Clone)]
pub struct Principal {
    pub subject: Subject,
    pub role: Role,
    pub via: Via,
    /// The request it acts in (every audit record it writes carries it).
    pub request: RequestInfo,
    /// For the audit log: "ada@example.com", "ci_bot via token kwsa_AbCd1234", "local operator".
    pub label: String,
}

impl Principal {
    pub fn operator() -> Self {
        Principal {
            subject: Subject::Operator,
            role: Role::Admin,
            via: Via::CommandLine,
            request: RequestInfo::default(),
            label: "local operator".into(),
        }
    }

    /// The same principal, acting in `request` (the verifier knows the token, not the request).
    pub fn in_request(self, request: RequestInfo) -> Self {
        Principal { request, ..self }
    }

    pub fn user_id(&self) -> Option<i64> {
        match self.subject {
            Subject::User { id, .. } => Some(id),
            _ => None,
        }
    }

    /// Tokens can never manage tokens, accounts or users.
    pub fn require_session(&self) -> Result<(), AppError> {
        match self.via {
            Via::Token { .. } => Err(AppError::SessionRequired),
            Via::Session | Via::CommandLine => Ok(()),
        }
    }

    /// Fails with a 403 carrying `message` unless `allowed`.
    pub fn require(&self, allowed: bool, message: &str) -> Result<(), AppError> {
        if allowed {
            Ok(())
        } else {
            Err(AppError::forbidden(message))
        }
    }

    pub fn actor_kind(&self) -> &'static str {
        match self.via {
            Via::Session => "user",
            Via::Token { .. } => "token",
            Via::CommandLine => "operator",
        }
    }

    pub fn actor_id(&self) -> Option<i64> {
        match (&self.subject, self.via) {
            (_, Via::Token { token_id }) => Some(token_id),
            (Subject::User { id, .. }, _) => Some(*id),
            _ => None,
        }
    }
}
