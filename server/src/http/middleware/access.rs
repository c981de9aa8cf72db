//! The access log (one `info` line per request) and the HTTP metrics, from the same facts:
//! method, matched route, status, latency, request id, client IP. Never the query string (it
//! can carry one-time codes) and never a raw unmatched path (it is whatever the client typed).

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use http::Method;

use app::backend::auth::{ClientIp, RequestId};

pub async fn access_log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = route_label(&req);
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let client_ip = req
        .extensions()
        .get::<ClientIp>()
        .map(|c| c.0.to_string())
        .unwrap_or_default();
    let res = next.run(req).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = res.status().as_u16();
    metrics::counter!(
        "keyward_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status.to_string(),
    )
    .increment(1);
    metrics::histogram!(
        "keyward_http_request_duration_seconds",
        "method" => method,
        "route" => route.clone(),
    )
    .record(seconds);
    let ms = (seconds * 1000.0 * 10.0).round() / 10.0;
    if route.starts_with("/healthz") || route.starts_with("/readyz") {
        // Load balancers probe every few seconds: kept out of the info log.
        tracing::debug!(target: "keyward::access", method, route, status, ms, request_id, client_ip, "request");
    } else {
        tracing::info!(target: "keyward::access", method, route, status, ms, request_id, client_ip, "request");
    }
    res
}

/// Standard methods by name, anything else as `other` (labels must stay a small set).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The route template (`/service-accounts/{id}`), so that ids do not become label values.
fn route_label(req: &Request) -> String {
    if let Some(path) = req.extensions().get::<MatchedPath>() {
        return path.as_str().to_string();
    }
    let path = req.uri().path();
    if path.starts_with("/pkg/") {
        "/pkg/{file}".into()
    } else {
        "unmatched".into()
    }
}
