use axum::Json;

use app::backend::auth::Subject;

use super::caller::{ApiCaller, ApiError};
use super::types::{Owner, TokenInfo, WhoAmI};

pub fn owner_of(subject: &Subject, name: &str) -> Owner {
    match subject {
        Subject::ServiceAccount { id, .. } => Owner {
            kind: "service_account".into(),
            id: *id,
            name: name.into(),
        },
        Subject::User { id, .. } => Owner {
            kind: "user".into(),
            id: *id,
            name: name.into(),
        },
        Subject::Operator => Owner {
            kind: "operator".into(),
            id: 0,
            name: name.into(),
        },
    }
}

/// The calling token: its owner, kind, role, name and expiry.
#[utoipa::path(
    get,
    path = "/api/v1/whoami",
    tag = "tokens",
    responses(
        (status = 200, description = "The calling token and who it acts as", body = WhoAmI),
        (status = 401, description = "Missing, malformed, unknown, expired or revoked token, or a disabled owner", body = super::types::ErrorBody),
        (status = 403, description = "Used from an address outside the token's allowlist", body = super::types::ErrorBody),
        (status = 429, description = "The token's rate limit is exhausted (see Retry-After)", body = super::types::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn whoami(ApiCaller(v): ApiCaller) -> Result<Json<WhoAmI>, ApiError> {
    let t = &v.token;
    Ok(Json(WhoAmI {
        token: TokenInfo {
            id: t.token_id,
            name: t.name.clone(),
            prefix: t.display_prefix.clone(),
            kind: t.kind.as_str().into(),
            created_at: t.created_at,
            expires_at: t.expires_at,
            sliding_days: t.sliding_days,
        },
        owner: owner_of(&t.subject, &t.owner_name),
        role: t.role.as_str().into(),
    }))
}
