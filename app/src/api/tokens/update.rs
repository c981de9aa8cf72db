use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::TokenView;

/// Renames a token and edits its description; `allowed_cidrs` and `rate_limit_per_minute`
/// change only when sent (an empty rate limit means the organisation default).
#[server(prefix = "/api/fn", endpoint = "tokens/update")]
pub async fn update_token(
    id: i64,
    name: String,
    description: Option<String>,
    allowed_cidrs: Option<String>,
    rate_limit_per_minute: Option<String>,
) -> Result<TokenView, AppError> {
    use crate::backend::{auth, service::tokens};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    tokens::update(
        &state,
        &me,
        id,
        tokens::TokenEdit {
            name: &name,
            description: description.as_deref().unwrap_or(""),
            allowed_cidrs: allowed_cidrs.as_deref(),
            rate_limit_per_minute: rate_limit_per_minute.as_deref(),
        },
    )
    .await
}
