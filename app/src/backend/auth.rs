//! Who is calling: a signed-in user (session cookie), an automation token (`Authorization:
//! Bearer`), the local operator (command line), or nobody. Every server function starts with
//! one explicit call here:
//!
//! ```ignore
//! let me = auth::session_user().await?;   // a person with a session; tokens are refused
//! let who = auth::any_caller().await?;    // a session or a token (read-only endpoints)
//! ```
//!
//! and then asks `domain::policy` whether that principal may do the thing.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use tower_sessions::Session;

pub use super::principal::{Principal, RequestInfo, Subject, Via};

use super::db::session_store::AUTH_KEY;
use super::repo;
use super::state::AppState;
use crate::domain::Role;
use crate::errors::AppError;
use crate::model::CurrentUser;

/// What the session cookie's record holds: which user, and their session epoch at sign-in
/// (a password change, deactivation or removal bumps the epoch and so ends the session).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: i64,
    pub epoch: i64,
    /// When the user signed in (Unix seconds): the session's absolute lifetime counts from
    /// here. A record without it predates the limit and counts as expired.
    #[serde(default)]
    pub signed_in_at: i64,
}

/// The client address, put in the request extensions by the server's middleware (from the
/// socket, or from `X-Forwarded-For` when the peer is a trusted proxy).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// The request's id (`X-Request-Id`), put in the request extensions by the server's
/// middleware: generated, or the caller's when it came through a trusted proxy and is short
/// and plain. It is returned in the response, logged with the request and kept in audit records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

pub fn state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| super::error_map::internal("context", &"AppState missing"))
}

fn parts() -> Option<http::request::Parts> {
    leptos::prelude::use_context::<http::request::Parts>()
}

pub fn client_ip(parts: &http::request::Parts) -> Option<IpAddr> {
    parts.extensions.get::<ClientIp>().map(|c| c.0)
}

/// The current request's id, inside a server function or page render.
pub fn request_id() -> Option<String> {
    parts().and_then(|p| p.extensions.get::<RequestId>().map(|r| r.0.clone()))
}

pub fn request_ip() -> Option<String> {
    parts().and_then(|p| client_ip(&p)).map(|ip| ip.to_string())
}

/// The client address and request id of a request, for the audit records it writes.
pub fn request_info_of(parts: &http::request::Parts) -> RequestInfo {
    RequestInfo {
        ip: client_ip(parts).map(|ip| ip.to_string()),
        id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
    }
}

/// The current request's address and id, inside a server function (empty outside one).
pub fn request_info() -> RequestInfo {
    parts().map(|p| request_info_of(&p)).unwrap_or_default()
}

pub fn session() -> Option<Session> {
    parts().and_then(|p| p.extensions.get::<Session>().cloned())
}

fn bearer(parts: &http::request::Parts) -> Option<String> {
    let value = parts
        .headers
        .get(http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// Resolves the caller of the current request from its parts.
pub async fn resolve(
    state: &AppState,
    parts: &http::request::Parts,
) -> Result<Option<Principal>, AppError> {
    let ip = client_ip(parts);
    let request = request_info_of(parts);
    if parts.headers.contains_key(http::header::AUTHORIZATION) {
        let Some(token) = bearer(parts) else {
            return Err(AppError::InvalidToken);
        };
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        return state
            .auth
            .authenticate(&token, ip, user_agent)
            .await
            .map(|p| Some(p.in_request(request)));
    }
    let Some(session) = parts.extensions.get::<Session>() else {
        return Ok(None);
    };
    session_principal(state, session, request).await
}

/// Ends a session that is no longer good. The request goes on as signed out either way; a
/// failure is logged (the error names the store, never the session id) because the record
/// would otherwise linger until it expires.
async fn flush_dead(session: &Session) {
    if let Err(e) = session.flush().await {
        tracing::warn!(error = %e, "could not delete an ended session");
    }
}

/// The signed-in user behind a session, if the session is still good, acting in `request`.
pub async fn session_principal(
    state: &AppState,
    session: &Session,
    request: RequestInfo,
) -> Result<Option<Principal>, AppError> {
    let auth: Option<SessionAuth> = session
        .get(AUTH_KEY)
        .await
        .map_err(|e| super::error_map::internal("session load", &e))?;
    let Some(auth) = auth else {
        return Ok(None);
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let ends_at = auth.signed_in_at + state.config.session_max.whole_seconds();
    if now >= ends_at {
        flush_dead(session).await;
        return Ok(None);
    }
    let mut pooled = state.db.get().await?;
    let user = repo::users::find(&mut pooled.conn(), auth.user_id).await?;
    // Flushing the session deletes it from the session store, which takes a connection of
    // its own from the same pool (PostgreSQL): holding this one meanwhile could deadlock a
    // busy pool.
    drop(pooled);
    let user = match user {
        Some(u)
            if u.removed_at.is_none()
                && u.deactivated_at.is_none()
                && u.session_epoch == auth.epoch =>
        {
            u
        }
        // Deactivated, removed, or signed out everywhere: the session is dead.
        _ => {
            flush_dead(session).await;
            return Ok(None);
        }
    };
    keep_alive(state, session, ends_at).await;
    let role = Role::parse(&user.role).unwrap_or(Role::Viewer);
    Ok(Some(Principal {
        label: user.email.clone(),
        subject: Subject::User {
            id: user.id,
            email: user.email,
        },
        role,
        via: Via::Session,
        request,
    }))
}

/// Sessions expire after the idle timeout. Re-saving on every request would write to the
/// database on every page view; re-saving once less than half the timeout is left keeps the
/// idle semantics with at most one write per half-period. The record never outlives the
/// absolute end (`ends_at`, Unix seconds).
async fn keep_alive(state: &AppState, session: &Session, ends_at: i64) {
    let idle = state.config.session_idle;
    let now = time::OffsetDateTime::now_utc();
    let left = session.expiry_date() - now;
    if left < idle / 2 {
        let end = time::OffsetDateTime::from_unix_timestamp(ends_at).unwrap_or(now);
        let expiry = if now + idle > end {
            tower_sessions::Expiry::AtDateTime(end)
        } else {
            tower_sessions::Expiry::OnInactivity(idle)
        };
        session.set_expiry(Some(expiry));
    }
}

/// The caller of the current server function, whoever it is (None when anonymous).
pub async fn caller() -> Result<Option<Principal>, AppError> {
    let state = state()?;
    let Some(parts) = parts() else {
        return Ok(None);
    };
    resolve(&state, &parts).await
}

/// A signed-in person. Token-authenticated requests get `SessionRequired`.
pub async fn session_user() -> Result<Principal, AppError> {
    let principal = caller().await?.ok_or(AppError::Unauthenticated)?;
    principal.require_session()?;
    Ok(principal)
}

/// A signed-in person or a valid token (read-only endpoints).
pub async fn any_caller() -> Result<Principal, AppError> {
    caller().await?.ok_or(AppError::Unauthenticated)
}

pub fn current_user_of(principal: &Principal, display_name: String) -> Option<CurrentUser> {
    match &principal.subject {
        Subject::User { id, email } => Some(CurrentUser {
            id: *id,
            email: email.clone(),
            display_name,
            role: principal.role,
        }),
        _ => None,
    }
}

/// The session key of a sign-in whose password was right and that waits for its second factor.
/// It is not a signed-in session: nothing but the second-factor step reads it.
pub const PENDING_SECOND_FACTOR_KEY: &str = "second_factor_pending";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingSecondFactor {
    pub user_id: i64,
    /// Their session epoch when the password was checked.
    pub epoch: i64,
    pub at: i64,
}

/// Remembers, on a fresh session id, that `user_id` gave the right password and must now
/// give their second factor.
pub async fn begin_second_factor(
    session: &Session,
    user_id: i64,
    epoch: i64,
) -> Result<(), AppError> {
    session
        .cycle_id()
        .await
        .map_err(|e| super::error_map::internal("session cycle", &e))?;
    session
        .insert(
            PENDING_SECOND_FACTOR_KEY,
            PendingSecondFactor {
                user_id,
                epoch,
                at: time::OffsetDateTime::now_utc().unix_timestamp(),
            },
        )
        .await
        .map_err(|e| super::error_map::internal("session insert", &e))
}

/// The sign-in waiting for its second factor on this session, if it is recent enough.
pub async fn pending_second_factor(session: &Session) -> Option<PendingSecondFactor> {
    let pending: PendingSecondFactor = session
        .get(PENDING_SECOND_FACTOR_KEY)
        .await
        .ok()
        .flatten()?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    (now - pending.at <= crate::domain::second_factor::PENDING_SIGN_IN_SECS).then_some(pending)
}

/// Signs `user_id` in on this session: a fresh session id (no fixation), then the user.
pub async fn sign_in(session: &Session, user_id: i64, epoch: i64) -> Result<(), AppError> {
    session
        .cycle_id()
        .await
        .map_err(|e| super::error_map::internal("session cycle", &e))?;
    // A finished (or abandoned) second-factor step must not linger in a signed-in session.
    let _ = session
        .remove::<PendingSecondFactor>(PENDING_SECOND_FACTOR_KEY)
        .await;
    session
        .insert(
            AUTH_KEY,
            SessionAuth {
                user_id,
                epoch,
                signed_in_at: time::OffsetDateTime::now_utc().unix_timestamp(),
            },
        )
        .await
        .map_err(|e| super::error_map::internal("session insert", &e))?;
    Ok(())
}
