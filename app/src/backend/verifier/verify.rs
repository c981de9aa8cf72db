//! Bearer-token authentication: is this token good, and who is it?
//!
//! Order matters: the shape and checksum are checked first (garbage never reaches the
//! database), then the token is found by its public id (cache, else the store), then the keyed
//! hash is compared in constant time, and only then are revocation, expiry, the owner's
//! state, the IP allowlist and the rate limit looked at. A malformed token and a wrong secret
//! therefore give the same answer (`invalid_token`).

use std::net::IpAddr;
use std::sync::Arc;

use super::cache::{CachedToken, LoadTag};
use super::rate::Quota;
use super::usage::Use;
use super::AuthRuntime;
use crate::backend::crypto::hashes_equal;
use crate::backend::principal::{Principal, RequestInfo, Via};
use crate::domain::cidr::allows;
use crate::domain::token_format;
use crate::errors::AppError;

/// A token that passed every check, with what the API reports about it.
#[derive(Debug, Clone)]
pub struct Verified {
    pub principal: Principal,
    pub token: Arc<CachedToken>,
    /// The token's rate-limit state after this request (requests only, not introspection).
    pub quota: Option<Quota>,
}

/// How a verification counts: a request made with the token (usage and rate limit), or a
/// check of someone else's token through introspection (usage only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Request,
    Introspection,
}

impl AuthRuntime {
    pub async fn authenticate(
        &self,
        presented: &str,
        ip: Option<IpAddr>,
        user_agent: Option<&str>,
    ) -> Result<Principal, AppError> {
        self.verify(presented, ip, user_agent, Purpose::Request)
            .await
            .map(|v| v.principal)
    }

    pub async fn verify(
        &self,
        presented: &str,
        ip: Option<IpAddr>,
        user_agent: Option<&str>,
        purpose: Purpose,
    ) -> Result<Verified, AppError> {
        let result = self.check(presented, ip, user_agent, purpose).await;
        metrics::counter!(
            "keyward_verifications_total",
            "outcome" => outcome(&result),
            "purpose" => match purpose {
                Purpose::Request => "request",
                Purpose::Introspection => "introspection",
            },
        )
        .increment(1);
        result
    }

    async fn check(
        &self,
        presented: &str,
        ip: Option<IpAddr>,
        user_agent: Option<&str>,
        purpose: Purpose,
    ) -> Result<Verified, AppError> {
        let parsed = token_format::parse(presented.trim()).map_err(|_| AppError::InvalidToken)?;
        let now = (self.clock)();
        let (mut token, mut from_cache) = match self.cache.get(parsed.public_id) {
            Some(t) => (t, true),
            None => (
                self.load(parsed.public_id)
                    .await?
                    .ok_or(AppError::InvalidToken)?,
                false,
            ),
        };
        let hash = self.key.keyed_hash(parsed.body.as_bytes());
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
            token = self
                .load(parsed.public_id)
                .await?
                .ok_or(AppError::InvalidToken)?;
            from_cache = false;
            if !secret_ok(&token) {
                return Err(AppError::InvalidToken);
            }
        }
        if from_cache && token.expires_at.is_some_and(|at| at <= now) {
            // Another process may have slid the expiry forward: the database decides.
            token = self
                .load(parsed.public_id)
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
        let mut quota = None;
        if purpose == Purpose::Request {
            let allowed = match ip {
                Some(ip) => allows(&token.allowed, ip),
                None => token.allowed.is_empty(),
            };
            if !allowed {
                return Err(AppError::IpNotAllowed);
            }
            match self
                .limits
                .check(&token.token_id, token.rate_limit_per_minute)
            {
                Ok(q) => quota = Some(q),
                Err(retry_after_secs) => return Err(AppError::RateLimited { retry_after_secs }),
            }
        }
        let label = format!("{} via token {}", token.owner_name, token.display_prefix);
        self.usage.record(Use {
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
                // The request's id is added by whoever has the request (`auth::resolve`).
                request: RequestInfo {
                    ip: ip.map(|i| i.to_string()),
                    id: None,
                },
            },
            token,
            quota,
        })
    }

    /// Reads one token and its owner from the store, and caches it unless something changed
    /// meanwhile.
    async fn load(&self, public_id: &str) -> Result<Option<Arc<CachedToken>>, AppError> {
        // Taken before the token is read: if either moves before the result is cached, a change
        // (a revocation, say) may have committed after our read, and the result serves this
        // request only (the cache-fill race).
        let generation = self.cache.generation();
        let epoch = self.store.epoch().await?;
        let tag = LoadTag { generation, epoch };
        let Some(token) = self.store.load(public_id).await? else {
            return Ok(None);
        };
        let token = Arc::new(token);
        self.cache.insert(public_id, token.clone(), tag);
        Ok(Some(token))
    }
}

/// The metric label of a verification's result (a closed set: never the error's text).
fn outcome(result: &Result<Verified, AppError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(AppError::InvalidToken) => "invalid",
        Err(AppError::TokenExpired) => "expired",
        Err(AppError::TokenRevoked) => "revoked",
        Err(AppError::TokenOwnerDisabled) => "owner_disabled",
        Err(AppError::IpNotAllowed) => "ip_not_allowed",
        Err(AppError::RateLimited { .. }) => "rate_limited",
        Err(_) => "error",
    }
}
