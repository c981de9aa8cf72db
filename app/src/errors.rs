//! The one error type every server function and API route returns, and the one place where
//! failures become what the user (or the calling script) sees.
//!
//! Which variant to use:
//! - `Invalid` — the input breaks a rule; name the field so the form can show it there.
//! - `Conflict` — the input is fine but clashes with existing data (a name already taken).
//! - `LimitReached` — a quota (20 live tokens) or a state rule ("revoke it first") says no.
//! - `Unauthenticated` / `SessionRequired` / `Forbidden` — who is calling is not allowed.
//! - `NotFound` — the thing does not exist *or the caller may not know it exists*.
//! - `Throttled` — too many attempts; says when to retry.
//! - `Internal` — a bug or an outage. Its details go to the log once (with a reference the user
//!   can quote); the user only sees the reference.
//!
//! The serialised form (`{"code": "...", "message": "...", "field": ...}`) is part of the
//! automation interface: codes are stable, messages may improve.

use serde::{Deserialize, Serialize};

use crate::domain::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[serde(into = "Wire", from = "Wire")]
pub enum AppError {
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    #[error("{message}")]
    BadRequest { message: String },
    #[error("{message}")]
    Conflict {
        field: Option<String>,
        message: String,
    },
    #[error("{message}")]
    LimitReached { message: String },
    #[error("Sign in (or send Authorization: Bearer <token>) to continue.")]
    Unauthenticated,
    #[error("This action requires a signed-in session; API tokens cannot create, change, reveal, rotate or revoke tokens, accounts or users.")]
    SessionRequired,
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{message}")]
    NotFound { message: String },
    #[error("Too many attempts. Try again in {} minute{}.", minutes(*retry_after_secs), if minutes(*retry_after_secs) == 1 { "" } else { "s" })]
    Throttled { retry_after_secs: i64 },
    #[error("Keyward is busy right now. Try again in a moment.")]
    Unavailable,
    /// The bearer token is malformed, unknown or wrong: the three look the same on purpose.
    #[error("The token is not valid.")]
    InvalidToken,
    #[error("The token has expired.")]
    TokenExpired,
    #[error("The token has been revoked.")]
    TokenRevoked,
    #[error("The token's owner is disabled or deactivated.")]
    TokenOwnerDisabled,
    #[error("The token may not be used from this IP address.")]
    IpNotAllowed,
    #[error("Too many requests with this token. Retry in {retry_after_secs} seconds.")]
    RateLimited { retry_after_secs: i64 },
    #[error("Something went wrong on our side (reference {reference}). Try again; if it keeps happening, give this reference to whoever runs Keyward.")]
    Internal { reference: String },
    #[error("Could not reach Keyward: {message}. Check your connection and try again.")]
    Network { message: String },
}

/// The JSON shape of every error: `{"code", "message", "field"?, "retry_after_secs"?,
/// "reference"?}`. Every error carries its human message, so a script can print it as is.
#[derive(Serialize, Deserialize)]
struct Wire {
    code: String,
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after_secs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
}

impl From<AppError> for Wire {
    fn from(e: AppError) -> Self {
        Wire {
            code: e.code().to_string(),
            message: e.to_string(),
            field: e.field().map(str::to_string),
            retry_after_secs: match &e {
                AppError::Throttled { retry_after_secs }
                | AppError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
                _ => None,
            },
            reference: match &e {
                AppError::Internal { reference } => Some(reference.clone()),
                _ => None,
            },
        }
    }
}

impl From<Wire> for AppError {
    fn from(w: Wire) -> Self {
        let message = w.message;
        let retry = w.retry_after_secs.unwrap_or(60);
        match w.code.as_str() {
            "invalid" => AppError::Invalid {
                field: w.field,
                message,
            },
            "bad_request" => AppError::BadRequest { message },
            "conflict" => AppError::Conflict {
                field: w.field,
                message,
            },
            "limit_reached" => AppError::LimitReached { message },
            "unauthenticated" => AppError::Unauthenticated,
            "session_required" => AppError::SessionRequired,
            "forbidden" => AppError::Forbidden { message },
            "not_found" => AppError::NotFound { message },
            "throttled" => AppError::Throttled {
                retry_after_secs: retry,
            },
            "unavailable" => AppError::Unavailable,
            "invalid_token" => AppError::InvalidToken,
            "expired" => AppError::TokenExpired,
            "revoked" => AppError::TokenRevoked,
            "owner_disabled" => AppError::TokenOwnerDisabled,
            "ip_not_allowed" => AppError::IpNotAllowed,
            "rate_limited" => AppError::RateLimited {
                retry_after_secs: retry,
            },
            "network" => AppError::Network { message },
            _ => AppError::Internal {
                reference: w.reference.unwrap_or(message),
            },
        }
    }
}

fn minutes(secs: i64) -> i64 {
    ((secs.max(1) + 59) / 60).max(1)
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        AppError::Conflict {
            field: Some(field.to_string()),
            message: message.into(),
        }
    }

    pub fn limit(message: impl Into<String>) -> Self {
        AppError::LimitReached {
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        AppError::Forbidden {
            message: message.into(),
        }
    }

    /// `what` is the subject, e.g. "The service account".
    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound {
            message: format!(
                "{} was not found. It may have been deleted, or you may not have access to it.",
                what.into()
            ),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        AppError::BadRequest {
            message: message.into(),
        }
    }

    /// The stable machine-readable code (the JSON `code`).
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid { .. } => "invalid",
            AppError::BadRequest { .. } => "bad_request",
            AppError::Conflict { .. } => "conflict",
            AppError::LimitReached { .. } => "limit_reached",
            AppError::Unauthenticated => "unauthenticated",
            AppError::SessionRequired => "session_required",
            AppError::Forbidden { .. } => "forbidden",
            AppError::NotFound { .. } => "not_found",
            AppError::Throttled { .. } => "throttled",
            AppError::Unavailable => "unavailable",
            AppError::InvalidToken => "invalid_token",
            AppError::TokenExpired => "expired",
            AppError::TokenRevoked => "revoked",
            AppError::TokenOwnerDisabled => "owner_disabled",
            AppError::IpNotAllowed => "ip_not_allowed",
            AppError::RateLimited { .. } => "rate_limited",
            AppError::Internal { .. } => "internal",
            AppError::Network { .. } => "network",
        }
    }

    /// The form field at fault, if any: forms show the message beside it.
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Invalid { field, .. } | AppError::Conflict { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status for this error; the server applies it to every response carrying one.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid { .. } => 422,
            AppError::BadRequest { .. } => 400,
            AppError::Conflict { .. } | AppError::LimitReached { .. } => 409,
            AppError::Unauthenticated
            | AppError::InvalidToken
            | AppError::TokenExpired
            | AppError::TokenRevoked
            | AppError::TokenOwnerDisabled => 401,
            AppError::IpNotAllowed => 403,
            AppError::RateLimited { .. } => 429,
            AppError::SessionRequired | AppError::Forbidden { .. } => 403,
            AppError::NotFound { .. } => 404,
            AppError::Throttled { .. } => 429,
            AppError::Unavailable => 503,
            AppError::Internal { .. } | AppError::Network { .. } => 500,
        }
    }
}

impl From<FieldError> for AppError {
    fn from(e: FieldError) -> Self {
        AppError::Invalid {
            field: Some(e.field.to_string()),
            message: e.message,
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            // The arguments could not be read: wrong types, missing fields, broken encoding.
            E::Args(m) | E::Deserialization(m) | E::UnsupportedRequestMethod(m) => {
                AppError::BadRequest {
                    message: format!("The request could not be understood: {}", first_line(&m)),
                }
            }
            E::Request(m) | E::Response(m) => AppError::Network {
                message: first_line(&m),
            },
            E::Registration(_) | E::MissingArg(_) => AppError::BadRequest {
                message: "The request is missing required data.".into(),
            },
            E::Serialization(m) | E::ServerError(m) | E::MiddlewareError(m) => AppError::Internal {
                reference: first_line(&m),
            },
        }
    }
}

fn first_line(m: &str) -> String {
    let line = m.lines().next().unwrap_or_default();
    line.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_with_a_stable_code() {
        let e = AppError::invalid("name", "Enter a name.");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["code"], "invalid");
        assert_eq!(json["field"], "name");
        assert_eq!(json["message"], "Enter a name.");
        assert_eq!(e.code(), "invalid");
        assert_eq!(serde_json::from_value::<AppError>(json).unwrap(), e);
        let t = AppError::Throttled {
            retry_after_secs: 61,
        };
        assert_eq!(t.to_string(), "Too many attempts. Try again in 2 minutes.");
        assert_eq!(
            AppError::Throttled {
                retry_after_secs: 5
            }
            .to_string(),
            "Too many attempts. Try again in 1 minute."
        );
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(
            json["message"],
            "Too many attempts. Try again in 2 minutes."
        );
        assert_eq!(serde_json::from_value::<AppError>(json).unwrap(), t);
        for e in [
            AppError::not_found("The token"),
            AppError::Internal {
                reference: "abc".into(),
            },
            AppError::TokenRevoked,
        ] {
            let back: AppError = serde_json::from_value(serde_json::to_value(&e).unwrap()).unwrap();
            assert_eq!(back, e);
        }
    }

    #[test]
    fn token_errors_use_the_documented_codes() {
        for (e, code) in [
            (AppError::InvalidToken, "invalid_token"),
            (AppError::TokenExpired, "expired"),
            (AppError::TokenRevoked, "revoked"),
            (AppError::IpNotAllowed, "ip_not_allowed"),
            (
                AppError::RateLimited {
                    retry_after_secs: 3,
                },
                "rate_limited",
            ),
        ] {
            assert_eq!(serde_json::to_value(&e).unwrap()["code"], code);
            assert_eq!(e.code(), code);
        }
    }

    #[test]
    fn statuses_are_never_500_for_bad_input() {
        assert_eq!(AppError::invalid("x", "y").status(), 422);
        assert_eq!(AppError::bad_request("y").status(), 400);
        assert_eq!(AppError::SessionRequired.status(), 403);
        assert_eq!(
            AppError::Throttled {
                retry_after_secs: 1
            }
            .status(),
            429
        );
        let args = leptos::server_fn::error::ServerFnErrorErr::Args("missing field `name`".into());
        let e =
            <AppError as leptos::server_fn::error::FromServerFnError>::from_server_fn_error(args);
        assert_eq!(e.status(), 400);
    }
}
