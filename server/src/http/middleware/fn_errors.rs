//! Server functions answer every failure with HTTP 500 and the error as JSON. This maps the
//! status to what the `AppError` in the body says (422 for bad input, 403, 404, 409, 429 …) so
//! scripts and the browser see the right status; it is the only place statuses are decided.

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

use app::errors::AppError;

const ERROR_BODY_LIMIT: usize = 64 * 1024;

pub async fn server_fn_errors(req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with(app::api::PREFIX) {
        return next.run(req).await;
    }
    let res = next.run(req).await;
    if !res.headers().contains_key("serverfnerror") {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = to_bytes(body, ERROR_BODY_LIMIT).await.unwrap_or_default();
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        apply(&mut parts, &error);
    }
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, Body::from(bytes))
}

/// Status and headers for an error response.
pub fn apply(parts: &mut http::response::Parts, error: &AppError) {
    parts.status =
        StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let AppError::RateLimited { retry_after_secs } = error {
        if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
            parts.headers.insert(RETRY_AFTER, v);
        }
    }
    if let AppError::Throttled { retry_after_secs } = error {
        if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
            parts.headers.insert(RETRY_AFTER, v);
        }
    }
    // Overloaded (password hashing at capacity, say): worth retrying in a moment.
    if let AppError::Unavailable = error {
        parts
            .headers
            .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if parts.status == StatusCode::UNAUTHORIZED {
        let value = format!("Bearer realm=\"keyward\", error=\"{}\"", error.code());
        if let Ok(v) = HeaderValue::from_str(&value) {
            parts.headers.insert(WWW_AUTHENTICATE, v);
        }
    }
}
