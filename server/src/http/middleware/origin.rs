//! Cross-site request forgery defence: a state-changing request from a browser must come from
//! our own pages. Browsers say where a request comes from (`Sec-Fetch-Site`, or `Origin`);
//! requests from elsewhere are refused before they reach a handler. Requests carrying an
//! `Authorization` header are not cookie-authenticated (and a cross-site page cannot add that
//! header without a CORS preflight Keyward never grants), and the token API under `/api/v1`
//! uses no cookies at all.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{header, Method, StatusCode};

use app::backend::state::AppState;
use app::errors::AppError;

pub async fn same_origin_only(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe_method = matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if safe_method
        || req.uri().path().starts_with("/api/v1/")
        || req.headers().contains_key(header::AUTHORIZATION)
    {
        return next.run(req).await;
    }
    if let Some(site) = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
    {
        if site == "same-origin" || site == "none" {
            return next.run(req).await;
        }
        return refuse();
    }
    if let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok());
        if origin_allowed(origin, &state.config.origin(), host) {
            return next.run(req).await;
        }
        return refuse();
    }
    // Neither header: not a browser (every current browser sends one of them on a
    // cross-site POST), so there is no ambient cookie to abuse.
    next.run(req).await
}

/// Same origin as the configured base URL, or the same authority as the request's Host.
pub fn origin_allowed(origin: &str, base_origin: &str, host: Option<&str>) -> bool {
    if origin == base_origin {
        return true;
    }
    let Ok(parsed) = url::Url::parse(origin) else {
        return false;
    };
    let Some(origin_host) = parsed.host_str() else {
        return false;
    };
    let authority = match parsed.port() {
        Some(port) => format!("{origin_host}:{port}"),
        None => origin_host.to_string(),
    };
    host.is_some_and(|h| h.eq_ignore_ascii_case(&authority))
}

fn refuse() -> Response {
    (
        StatusCode::FORBIDDEN,
        Json(AppError::forbidden(
            "Cross-site request refused: this form or call did not come from Keyward's own pages.",
        )),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn origins_must_match_the_site() {
        assert!(origin_allowed(
            "https://keys.example.com",
            "https://keys.example.com",
            None
        ));
        assert!(origin_allowed(
            "http://127.0.0.1:3000",
            "http://localhost:3000",
            Some("127.0.0.1:3000")
        ));
        assert!(!origin_allowed(
            "https://evil.example",
            "https://keys.example.com",
            Some("keys.example.com")
        ));
        assert!(!origin_allowed(
            "null",
            "https://keys.example.com",
            Some("keys.example.com")
        ));
        assert!(!origin_allowed(
            "http://127.0.0.1:3001",
            "http://127.0.0.1:3000",
            Some("127.0.0.1:3000")
        ));
    }
}
