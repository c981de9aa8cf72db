use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::TokenSecret;

/// A new secret for the token; the old one keeps working for `grace` (none, 1h, 24h).
#[server(prefix = "/api/fn", endpoint = "tokens/rotate")]
pub async fn rotate_token(id: i64, grace: Option<String>) -> Result<TokenSecret, AppError> {
    use crate::backend::{auth, service::tokens};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    tokens::rotate(&state, &me, id, grace.as_deref().unwrap_or("none")).await
}
