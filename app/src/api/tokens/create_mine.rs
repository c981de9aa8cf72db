use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::TokenSecret;

/// Creates a personal token for the signed-in user; the answer holds the secret, once.
#[server(prefix = "/api/fn", endpoint = "me/tokens/create")]
pub async fn create_my_token(
    name: String,
    description: Option<String>,
    expires_in: Option<String>,
    expires_on: Option<String>,
    sliding: Option<String>,
    allowed_cidrs: Option<String>,
    rate_limit_per_minute: Option<String>,
) -> Result<TokenSecret, AppError> {
    use crate::backend::{auth, service::tokens};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    let id = me.user_id().ok_or(AppError::Unauthenticated)?;
    tokens::create(
        &state,
        &me,
        tokens::Owner::User(id),
        tokens::NewTokenInput {
            name: &name,
            description: description.as_deref().unwrap_or(""),
            expiry: tokens::ExpiryInput::Form {
                expires_in: expires_in.as_deref().unwrap_or(""),
                expires_on: expires_on.as_deref().unwrap_or(""),
            },
            sliding: sliding.is_some_and(|v| v != "false"),
            allowed_cidrs: allowed_cidrs.as_deref().unwrap_or(""),
            rate_limit_per_minute: rate_limit_per_minute.as_deref().unwrap_or(""),
        },
    )
    .await
}
