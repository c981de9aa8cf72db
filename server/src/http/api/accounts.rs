use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use app::backend::auth::Subject;
use app::backend::service::{accounts, tokens};
use app::backend::state::AppState;

use super::caller::{ApiCaller, ApiError};
use super::types::{ServiceAccountDetail, ServiceAccountPage, TokenMetadata};

#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// Substring of the name or description.
    pub q: Option<String>,
    /// 1-based page number (25 per page).
    pub page: Option<i64>,
}

/// Service accounts, by name, 25 per page.
#[utoipa::path(
    get,
    path = "/api/v1/service-accounts",
    tag = "service accounts",
    params(ListQuery),
    responses((status = 200, body = ServiceAccountPage), (status = 401, body = super::types::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list(
    State(state): State<AppState>,
    ApiCaller(v): ApiCaller,
    Query(query): Query<ListQuery>,
) -> Result<Json<ServiceAccountPage>, ApiError> {
    let page = accounts::list(
        &state,
        &v.principal,
        query.q.as_deref().unwrap_or(""),
        query.page.unwrap_or(1),
    )
    .await?;
    Ok(Json(ServiceAccountPage {
        total: page.total,
        page: page.page,
        per_page: page.per_page,
        items: page.items.into_iter().map(Into::into).collect(),
    }))
}

/// One service account with its tokens' metadata.
#[utoipa::path(
    get,
    path = "/api/v1/service-accounts/{id}",
    tag = "service accounts",
    params(("id" = i64, Path, description = "Service account id")),
    responses((status = 200, body = ServiceAccountDetail), (status = 404, body = super::types::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get(
    State(state): State<AppState>,
    ApiCaller(v): ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<ServiceAccountDetail>, ApiError> {
    let account = accounts::get(&state, &v.principal, id).await?;
    let list = tokens::list(&state, &v.principal, tokens::Owner::ServiceAccount(id)).await?;
    Ok(Json(ServiceAccountDetail {
        account: account.into(),
        tokens: list.into_iter().map(Into::into).collect(),
    }))
}

/// The tokens' metadata of one service account.
#[utoipa::path(
    get,
    path = "/api/v1/service-accounts/{id}/tokens",
    tag = "service accounts",
    params(("id" = i64, Path, description = "Service account id")),
    responses((status = 200, body = Vec<TokenMetadata>), (status = 404, body = super::types::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn tokens(
    State(state): State<AppState>,
    ApiCaller(v): ApiCaller,
    Path(id): Path<i64>,
) -> Result<Json<Vec<TokenMetadata>>, ApiError> {
    let list = tokens::list(&state, &v.principal, tokens::Owner::ServiceAccount(id)).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// The caller's own tokens: a personal token sees its user's personal tokens, a service
/// account token its account's tokens.
#[utoipa::path(
    get,
    path = "/api/v1/tokens/mine",
    tag = "tokens",
    responses((status = 200, body = Vec<TokenMetadata>), (status = 401, body = super::types::ErrorBody)),
    security(("bearer" = []))
)]
pub async fn my_tokens(
    State(state): State<AppState>,
    ApiCaller(v): ApiCaller,
) -> Result<Json<Vec<TokenMetadata>>, ApiError> {
    let owner = match v.principal.subject {
        Subject::ServiceAccount { id, .. } => tokens::Owner::ServiceAccount(id),
        Subject::User { id, .. } => tokens::Owner::User(id),
        Subject::Operator => return Ok(Json(Vec::new())),
    };
    let list = tokens::list(&state, &v.principal, owner).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}
