//! The automation API, `/api/v1`: JSON, versioned, authenticated only by bearer tokens (no
//! cookies, so no cross-site request forgery to defend against). Tokens read; they never
//! manage: every management route answers 403 "requires a signed-in session".
//! The OpenAPI document is generated from these handlers (`openapi.rs`).

pub mod accounts;
pub mod caller;
pub mod docs;
pub mod introspect;
pub mod leak;
pub mod types;
pub mod whoami;

use axum::routing::{any, get, post};
use axum::Router;

use app::backend::state::AppState;
use app::errors::AppError;

use self::caller::{ApiCaller, ApiError};

pub fn routes() -> Router<AppState> {
    let api = Router::new()
        .route("/whoami", get(whoami::whoami))
        .route("/introspect", post(introspect::introspect))
        .route("/service-accounts", get(accounts::list).post(session_only))
        .route(
            "/service-accounts/{id}",
            get(accounts::get)
                .patch(session_only)
                .put(session_only)
                .delete(session_only),
        )
        .route(
            "/service-accounts/{id}/tokens",
            get(accounts::tokens).post(session_only),
        )
        .route("/tokens/mine", get(accounts::my_tokens))
        .route("/tokens/report-leak", post(leak::report))
        .route("/tokens", post(session_only))
        .route("/tokens/{*rest}", any(session_only))
        .route("/users", any(session_only))
        .route("/users/{*rest}", any(session_only))
        .route("/openapi.json", get(docs::openapi_json))
        .route("/docs", get(docs::docs_page))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(caller::rate_limit_headers));
    Router::new().nest("/api/v1", api)
}

/// Managing tokens, accounts or users takes a person with a session: a valid token gets 403,
/// anything else is told how to authenticate first.
#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    tag = "management",
    summary = "Creating, changing or revoking tokens, accounts or users (not possible with a token)",
    description = "Every management route (POST/PATCH/PUT/DELETE on /service-accounts, /tokens, /users) answers 403: management needs a signed-in session in the web console.",
    responses(
        (status = 403, description = "Valid token, but tokens cannot manage", body = types::ErrorBody),
        (status = 401, description = "Missing or invalid token", body = types::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn session_only(_caller: ApiCaller) -> ApiError {
    ApiError(AppError::SessionRequired)
}

async fn not_found() -> ApiError {
    ApiError(AppError::not_found("This API route"))
}
