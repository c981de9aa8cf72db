//! Request logging. Only the method and the path are recorded: query strings can carry
//! one-time codes (setup and set-password links) and must never reach a log.

use std::time::Duration;

use axum::body::Body;
use http::{Request, Response};
use tracing::Span;

pub fn span(req: &Request<Body>) -> Span {
    tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
}

pub fn on_response(res: &Response<Body>, latency: Duration, _span: &Span) {
    let status = res.status().as_u16();
    let ms = latency.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(status, ms, "response");
    } else {
        tracing::debug!(status, ms, "response");
    }
}
