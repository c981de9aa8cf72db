//! Who calls the API: the bearer token, verified (cache, allowlist, rate limit, usage), and
//! the one error response shape.

use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequestParts, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::request::Parts;
use http::HeaderValue;

use app::backend::auth::{client_ip, request_info_of};
use app::backend::state::AppState;
use app::backend::verifier::rate::Quota;
use app::backend::verifier::{Purpose, Verified};
use app::errors::AppError;

/// An API error: the status and headers `AppError` calls for, and its JSON.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (mut parts, body) = Json(&self.0).into_response().into_parts();
        crate::http::middleware::fn_errors::apply(&mut parts, &self.0);
        if self.0 == AppError::Unauthenticated {
            parts.headers.insert(
                http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"keyward\""),
            );
        }
        Response::from_parts(parts, body)
    }
}

/// A request authenticated by `Authorization: Bearer <token>`.
pub struct ApiCaller(pub Verified);

/// Where the extractor leaves the caller's rate-limit state for `rate_limit_headers`, which
/// put it in the request and reads it back once the handler answered.
#[derive(Clone, Default)]
struct QuotaSlot(Arc<OnceLock<Quota>>);

/// Successful API responses tell the caller its budget (`RateLimit-Limit`,
/// `RateLimit-Remaining`, `RateLimit-Reset`: the IETF httpapi draft's header names).
pub async fn rate_limit_headers(mut req: Request, next: Next) -> Response {
    let slot = QuotaSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut res = next.run(req).await;
    if let Some(q) = slot.0.get().filter(|_| res.status().is_success()) {
        let headers = res.headers_mut();
        for (name, value) in [
            ("ratelimit-limit", q.limit),
            ("ratelimit-remaining", q.remaining),
            ("ratelimit-reset", q.reset_secs),
        ] {
            headers.insert(name, HeaderValue::from(value));
        }
    }
    res
}

pub fn bearer_token(parts: &Parts) -> Result<&str, AppError> {
    let value = parts
        .headers
        .get(http::header::AUTHORIZATION)
        .ok_or(AppError::Unauthenticated)?
        .to_str()
        .map_err(|_| AppError::InvalidToken)?;
    let (scheme, token) = value.split_once(' ').ok_or(AppError::InvalidToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AppError::InvalidToken);
    }
    Ok(token.trim())
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts)?;
        let user_agent = parts
            .headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let mut verified = state
            .auth
            .verify(token, client_ip(parts), user_agent, Purpose::Request)
            .await?;
        verified.principal.request = request_info_of(parts);
        if let (Some(slot), Some(q)) = (parts.extensions.get::<QuotaSlot>(), verified.quota) {
            let _ = slot.0.set(q);
        }
        Ok(ApiCaller(verified))
    }
}
