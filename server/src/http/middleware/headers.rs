//! Security headers on every response. Pages set their own nonce-based Content Security
//! Policy (see `app::backend::csp`); everything else gets a policy that allows nothing.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use http::HeaderValue;

use app::backend::state::AppState;

/// A year, the value HSTS preload lists ask for at least.
const HSTS: &str = "max-age=31536000";

pub async fn security_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let is_asset = req.uri().path().starts_with("/pkg/");
    let is_page_get = req.method() == http::Method::GET && !req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    // A page that redirects while rendering (to the login page, say) gets a Location from
    // Leptos, but a real redirect status only when the client asked for text/html. Every page
    // request is a navigation, so make it a redirect for every client.
    if is_page_get
        && res.status() == http::StatusCode::OK
        && res.headers().contains_key(http::header::LOCATION)
    {
        *res.status_mut() = http::StatusCode::FOUND;
        res.headers_mut().remove("serverfnredirect");
    }
    let h = res.headers_mut();
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(CONTENT_SECURITY_POLICY) {
        h.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    // Served over https (the base URL says so): browsers must never fall back to http, where
    // a network attacker could strip the `Secure` session cookie's protection.
    if state.config.secure_cookies {
        h.insert(
            http::header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    // Pages and API answers carry account data (and once, a secret): never cache them.
    if !is_asset {
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
