//! Bearer-token authentication: is this token good, and who is it?
//!
//! Order matters: the shape and checksum are checked first (garbage never reaches the
//! database), then the token is found by its public id (cache, else database), then the keyed
//! hash is compared in constant time, and only then are revocation, expiry, the owner's
//! state, the IP allowlist and the rate limit looked at. A malformed token and a wrong secret
//! therefore give the same answer (`invalid_token`).

use std::net::IpAddr;
use std::sync::Arc;

use super::now;
use crate::backend::auth::{Principal, Subject, Via};
use crate::backend::crypto::hashes_equal;
use crate::backend::repo::tokens as repo;
use crate::backend::state::AppState;
use crate::backend::verifier::cache::{CachedToken, LoadTag};
use crate::backend::verifier::usage::Use;
use crate::domain::cidr::{allows, parse_allowlist};
use crate::domain::token_format::{self, TokenKind};
use crate::domain::Role;
use crate::errors::AppError;
use crate::model::RevokeReason;

/// A token that passed every check, with what the API reports about it.
#[derive(Debug, Clone)]
pub struct Verified {
    pub principal: Principal,
    pub token: Arc<CachedToken>,
}

/// How a verification counts: a request made with the token (usage and rate limit), or a
/// check of someone else's token through introspection (usage only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Request,
    Introspection,
}

pub async fn authenticate(
    state: &AppState,
    presented: &str,
    ip: Option<IpAddr>,
    user_agent: Option<&str>,
) -> Result<Principal, AppError> {
    verify(state, presented, ip, user_agent, Purpose::Request)
        .await
        .map(|v| v.principal)
}

pub async fn verify(
    state: &AppState,
    presented: &str,
    ip: Option<IpAddr>,
    user_agent: Option<&str>,
    purpose: Purpose,
) -> Result<Verified, AppError> {
    let parsed = token_format::parse(presented.trim()).map_err(|_| AppError::InvalidToken)?;
    let now = now();
    let (mut token, mut from_cache) = match state.auth.cache.get(parsed.public_id) {
        Some(t) => (t, true),
        None => (
            load(state, parsed.public_id)
                .await?
                .ok_or(AppError::InvalidToken)?,
            false,
        ),
    };
    let hash = state.key.keyed_hash(parsed.body.as_bytes());
    let secret_ok = |t: &CachedToken| {
        hashes_equal(&hash, &t.secret_hash)
            || t.previous
                .as_ref()
                .is_some_and(|(h, until)| *until > now && hashes_equal(&hash, h))
    };
    if !secret_ok(&token) {
        if !from_cache {
            return Err(AppError::InvalidToken);
        }
        // A rotation in another process may not have reached this cache yet.
        token = load(state, parsed.public_id)
            .await?
            .ok_or(AppError::InvalidToken)?;
        from_cache = false;
        if !secret_ok(&token) {
            return Err(AppError::InvalidToken);
        }
    }
    if from_cache && token.expires_at.is_some_and(|at| at <= now) {
        // Another process may have slid the expiry forward: the database decides.
        token = load(state, parsed.public_id)
            .await?
            .ok_or(AppError::InvalidToken)?;
    }
    if token.owner_gone || token.revoked.is_some() {
        return Err(AppError::TokenRevoked);
    }
    if token.expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::TokenExpired);
    }
    if token.owner_disabled {
        return Err(AppError::TokenOwnerDisabled);
    }
    if purpose == Purpose::Request {
        let allowed = match ip {
            Some(ip) => allows(&token.allowed, ip),
            None => token.allowed.is_empty(),
        };
        if !allowed {
            return Err(AppError::IpNotAllowed);
        }
        if let Err(retry_after_secs) =
            state
                .auth
                .limits
                .check(&token.token_id, token.rate_limit_per_minute, now)
        {
            return Err(AppError::RateLimited { retry_after_secs });
        }
    }
    let label = format!("{} via token {}", token.owner_name, token.display_prefix);
    state.auth.usage.record(Use {
        token_id: token.token_id,
        at: now,
        ip: ip.map(|i| i.to_string()),
        user_agent,
        actor: &label,
        display_prefix: &token.display_prefix,
    });
    Ok(Verified {
        principal: Principal {
            label,
            subject: token.subject.clone(),
            role: token.role,
            via: Via::Token {
                token_id: token.token_id,
            },
            ip: ip.map(|i| i.to_string()),
        },
        token,
    })
}

/// Reads one token and its owner from the database into the cache.
async fn load(state: &AppState, public_id: &str) -> Result<Option<Arc<CachedToken>>, AppError> {
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    // Taken before the token is read: if either moves before the result is cached, a change
    // (a revocation, say) may have committed after our read, and the result is used for
    // this request only.
    let generation = state.auth.cache.generation();
    let epoch = crate::backend::repo::epoch::get(&mut conn).await?;
    let tag = LoadTag { generation, epoch };
    let Some((row, sa, user)) = repo::find_with_owner_by_public_id(&mut conn, public_id).await?
    else {
        return Ok(None);
    };
    let settings = super::settings::load(&mut conn).await?;
    let (subject, owner_name, role, disabled, gone, can_introspect) = match (&sa, &user) {
        (Some((name, role, disabled, deleted, introspect)), _) => (
            Subject::ServiceAccount {
                id: row.service_account_id.unwrap_or_default(),
                name: name.clone(),
            },
            name.clone(),
            role.clone(),
            disabled.is_some(),
            deleted.is_some(),
            *introspect,
        ),
        (None, Some((email, _, role, deactivated, removed))) => (
            Subject::User {
                id: row.user_id.unwrap_or_default(),
                email: email.clone(),
            },
            email.clone(),
            role.clone(),
            deactivated.is_some(),
            removed.is_some(),
            false,
        ),
        (None, None) => return Ok(None),
    };
    let token = Arc::new(CachedToken {
        token_id: row.id,
        kind: TokenKind::parse(&row.kind).unwrap_or(TokenKind::Personal),
        name: row.name,
        display_prefix: row.display_prefix,
        secret_hash: row.secret_hash,
        previous: row.previous_secret_hash.zip(row.previous_secret_expires_at),
        created_at: row.created_at,
        expires_at: row.expires_at,
        sliding_days: row.sliding_days.map(i64::from),
        revoked: row
            .revoke_reason
            .as_deref()
            .and_then(RevokeReason::parse)
            .or(row.revoked_at.map(|_| RevokeReason::Manual)),
        subject,
        owner_name,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        owner_disabled: disabled,
        owner_gone: gone,
        can_introspect,
        // Stored allowlists were normalised by the same parser; should one ever fail to parse,
        // fail closed: an allowlist nothing matches.
        allowed: parse_allowlist(&row.allowed_cidrs).unwrap_or_else(|e| {
            tracing::error!(token_id = row.id, error = %e, "unreadable IP allowlist; refusing every address");
            vec![ipnet::IpNet::V4(ipnet::Ipv4Net::new(std::net::Ipv4Addr::BROADCAST, 32).expect("valid prefix"))]
        }),
        rate_limit_per_minute: row
            .rate_limit_per_minute
            .map(i64::from)
            .unwrap_or(settings.default_rate_limit_per_minute),
    });
    state.auth.load_hold.pause_here().await;
    state.auth.cache.insert(public_id, token.clone(), tag);
    Ok(Some(token))
}
