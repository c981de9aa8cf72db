//! Every request gets an id: returned as `X-Request-Id`, on every log line of the request (the
//! `request` span) and in the audit records it writes. A caller's own id is kept only when it
//! came through a trusted proxy (which sets it for the whole chain) and is short and plain;
//! anyone else could otherwise forge ids into the logs and the audit trail.

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderName, HeaderValue};
use std::net::SocketAddr;
use tracing::Instrument;

use app::backend::auth::RequestId;
use app::backend::state::AppState;

pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const MAX_LEN: usize = 64;

pub async fn request_id(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let from_proxy =
        peer.is_some_and(|ip| super::client_ip::is_trusted(ip, &state.config.trusted_proxies));
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| from_proxy && is_acceptable(v))
        .map(str::to_owned)
        .unwrap_or_else(generate);
    let value = HeaderValue::from_str(&id).expect("ids are checked or generated as plain ASCII");
    req.headers_mut().insert(&X_REQUEST_ID, value.clone());
    req.extensions_mut().insert(RequestId(id.clone()));
    // No path in the span: an unmatched path is whatever the client typed (a pasted token,
    // say); the access log names the matched route instead. At error level so that the span
    // (and its id) exists whatever the log filter: an info span is off under KEYWARD_LOG=warn,
    // and the warnings and errors are the lines that most need the id.
    let span = tracing::error_span!("request", request_id = %id, method = %req.method());
    let mut res = next.run(req).instrument(span).await;
    res.headers_mut().insert(X_REQUEST_ID, value);
    res
}

/// 1–64 characters from a set that cannot break a log line, a header or a CSV cell.
pub fn is_acceptable(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        && !id.starts_with(['-', '.', ':'])
}

/// 128 random bits, as 32 hex digits.
fn generate() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_short_plain_ids() {
        assert!(is_acceptable("3f2a9c1e-77b0-4d1e-9a43-0c5d8e6f1a2b"));
        assert!(is_acceptable("req_42.a:b"));
        assert!(is_acceptable(&"a".repeat(64)));
        assert!(!is_acceptable(&"a".repeat(65)));
        assert!(!is_acceptable(""));
        assert!(!is_acceptable("a b"));
        assert!(!is_acceptable("a\"b"));
        assert!(!is_acceptable("=cmd|calc"));
        assert!(!is_acceptable("-1+1"));
        assert!(!is_acceptable("ünïcode"));
    }

    #[test]
    fn generated_ids_are_acceptable_and_distinct() {
        let (a, b) = (generate(), generate());
        assert!(is_acceptable(&a) && is_acceptable(&b));
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
