use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::TokenSecret;

/// Creates a token for a service account. The answer holds the secret: the only time it is
/// ever shown.
#[server(prefix = "/api/fn", endpoint = "service-accounts/tokens/create")]
pub async fn create_account_token(
    account_id: i64,
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
    tokens::create(
        &state,
        &me,
        tokens::Owner::ServiceAccount(account_id),
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
