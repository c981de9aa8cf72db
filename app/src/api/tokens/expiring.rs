use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::ExpiringToken;

/// The caller's own personal tokens that expire within the warning period (the notice shown
/// after signing in).
#[server(prefix = "/api/fn", endpoint = "me/tokens/expiring", input = server_fn::codec::GetUrl)]
pub async fn list_my_expiring_tokens() -> Result<Vec<ExpiringToken>, AppError> {
    use crate::backend::{auth, service::usage};
    let who = auth::any_caller().await?;
    let state = auth::state()?;
    usage::expiring_soon(&state, &who).await
}
