use std::net::IpAddr;

use axum::extract::{FromRequest, Request, State};
use axum::{Form, Json};

use app::backend::auth::Subject;
use app::backend::state::AppState;
use app::backend::verifier::Purpose;
use app::domain::cidr::allows;
use app::domain::Role;
use app::errors::AppError;

use super::caller::{ApiCaller, ApiError};
use super::types::{IntrospectionRequest, IntrospectionResponse};

/// RFC 7662 token introspection: another service asks whether a token is active and what it
/// may do. The caller's own token needs the introspection permission (Admin role, or the
/// "may introspect" flag on its service account).
#[utoipa::path(
    post,
    path = "/api/v1/introspect",
    tag = "tokens",
    request_body(content = IntrospectionRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "`{active: false}` for anything that is not a usable token; otherwise who it is", body = IntrospectionResponse),
        (status = 401, description = "The caller's own token is not valid", body = super::types::ErrorBody),
        (status = 403, description = "The caller's token lacks the introspection permission", body = super::types::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn introspect(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    request: Request,
) -> Result<Json<IntrospectionResponse>, ApiError> {
    if !(caller.token.role == Role::Admin || caller.token.can_introspect) {
        return Err(AppError::forbidden(
            "This token may not introspect other tokens: it needs the Admin role, or a service account with the introspection permission.",
        )
        .into());
    }
    let body = read_request(request).await?;
    let client_ip = match body
        .client_ip
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(text) => Some(
            text.parse::<IpAddr>()
                .map_err(|_| {
                    AppError::invalid("client_ip", "client_ip must be an IPv4 or IPv6 address.")
                })
                .map_err(ApiError)?,
        ),
        None => None,
    };
    let Ok(checked) = state
        .auth
        .verify(
            &body.token,
            client_ip,
            Some("introspection"),
            Purpose::Introspection,
        )
        .await
    else {
        return Ok(Json(IntrospectionResponse::inactive()));
    };
    let t = &checked.token;
    // An allowlisted token is active only for a caller that says where it was used from.
    if !t.allowed.is_empty() && !client_ip.is_some_and(|ip| allows(&t.allowed, ip)) {
        return Ok(Json(IntrospectionResponse::inactive()));
    }
    let sub = match &t.subject {
        Subject::ServiceAccount { id, .. } => format!("service_account:{id}"),
        Subject::User { id, .. } => format!("user:{id}"),
        Subject::Operator => "operator".into(),
    };
    Ok(Json(IntrospectionResponse {
        active: true,
        sub: Some(sub),
        username: Some(t.owner_name.clone()),
        kind: Some(t.kind.as_str().into()),
        role: Some(t.role.as_str().into()),
        scope: Some(t.role.as_str().into()),
        exp: t.expires_at,
        iat: Some(t.created_at),
        token_id: Some(t.token_id),
        token_name: Some(t.name.clone()),
        token_type: Some("Bearer".into()),
        iss: Some(
            state
                .config
                .base_url
                .as_str()
                .trim_end_matches('/')
                .to_string(),
        ),
    }))
}

/// The RFC says form-encoded; JSON is accepted too.
async fn read_request(request: Request) -> Result<IntrospectionRequest, ApiError> {
    let is_json = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let bad = |e: &dyn std::fmt::Display| {
        ApiError(AppError::bad_request(format!("The introspection request could not be read: {e}. Send token=<token> (form-encoded) or {{\"token\": \"…\"}}.")))
    };
    if is_json {
        Json::<IntrospectionRequest>::from_request(request, &())
            .await
            .map(|Json(b)| b)
            .map_err(|e| bad(&e.body_text()))
    } else {
        Form::<IntrospectionRequest>::from_request(request, &())
            .await
            .map(|Form(b)| b)
            .map_err(|e| bad(&e.body_text()))
    }
}
