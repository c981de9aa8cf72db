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

/// An authenticated caller and the role it acts with right now.
#[derive(Debug, Clone)]
pub struct Principal {
    pub subject: Subject,
    pub role: Role,
    pub via: Via,
    pub ip: Option<String>,
    /// For the audit log: "ada@example.com", "ci_bot via token kwsa_AbCd1234", "local operator".
    pub label: String,
}

impl Principal {
    pub fn operator() -> Self {
        Principal {
            subject: Subject::Operator,
            role: Role::Admin,
            via: Via::CommandLine,
            ip: None,
            label: "local operator".into(),
        }
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
