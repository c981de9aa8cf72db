use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;

use app::backend::auth::{ClientIp, RequestId, RequestInfo};
use app::backend::service::tokens;
use app::backend::state::AppState;
use app::errors::AppError;

use super::caller::ApiError;
use super::types::{LeakReceipt, LeakReport};

pub const MAX_TOKENS_PER_REPORT: usize = 100;
/// Reports per client IP per minute (counted in each process).
pub const REPORTS_PER_MINUTE: i64 = 10;

/// Report leaked tokens (public, no authentication; for secret scanners and anyone who finds
/// one). Valid tokens are revoked for good; the answer is the same whether any were valid.
#[utoipa::path(
    post,
    path = "/api/v1/tokens/report-leak",
    tag = "tokens",
    request_body(content = LeakReport, description = "JSON `{\"tokens\": [...]}`, or plain text with one token per line"),
    responses(
        (status = 202, description = "Received; every real token among them is revoked", body = LeakReceipt),
        (status = 400, description = "Not a list of at most 100 strings", body = super::types::ErrorBody),
        (status = 429, description = "Too many reports from this address (see Retry-After)", body = super::types::ErrorBody),
    )
)]
pub async fn report(
    State(state): State<AppState>,
    ip: Option<axum::Extension<ClientIp>>,
    request_id: Option<axum::Extension<RequestId>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<LeakReceipt>), ApiError> {
    let ip = ip.map(|axum::Extension(ClientIp(ip))| ip);
    // Per address as the sign-in throttle counts them: a whole IPv6 /64 is one reporter, or
    // rotating addresses inside it would give a fresh burst each time.
    let key = ip
        .map(|i| app::domain::throttle::address_key(&i.to_string()))
        .unwrap_or_default();
    if let Err(retry_after_secs) = state.auth.leak_reports.check(&key, REPORTS_PER_MINUTE) {
        return Err(AppError::RateLimited { retry_after_secs }.into());
    }
    let reported = parse(&headers, &body)?;
    let reporter = RequestInfo {
        ip: ip.map(|i| i.to_string()),
        id: request_id.map(|axum::Extension(RequestId(id))| id),
    };
    let revoked = tokens::report_leaked(&state, &reported, &reporter).await?;
    if revoked > 0 {
        tracing::warn!(revoked, "tokens reported as leaked were revoked");
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(LeakReceipt {
            received: reported.len(),
            message: "Thank you. Every valid token among these has been revoked.".into(),
        }),
    ))
}

fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Vec<String>, AppError> {
    let is_json = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let tokens: Vec<String> = if is_json {
        serde_json::from_slice::<LeakReport>(body)
            .map_err(|e| AppError::bad_request(format!("Send {{\"tokens\": [\"…\"]}}: {e}")))?
            .tokens
    } else {
        std::str::from_utf8(body)
            .map_err(|_| AppError::bad_request("Send UTF-8 text, one token per line."))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    if tokens.is_empty() {
        return Err(AppError::bad_request("The report contains no tokens."));
    }
    if tokens.len() > MAX_TOKENS_PER_REPORT {
        return Err(AppError::bad_request(format!(
            "At most {MAX_TOKENS_PER_REPORT} tokens per report; this one has {}.",
            tokens.len()
        )));
    }
    if tokens.iter().any(|t| t.len() > 1000) {
        return Err(AppError::bad_request(
            "A reported token is longer than 1000 characters.",
        ));
    }
    Ok(tokens)
}
