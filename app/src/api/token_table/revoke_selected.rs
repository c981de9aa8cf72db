use leptos::prelude::*;

use crate::errors::AppError;

/// Revokes the selected tokens (checkboxes named `ids[]`).
#[server(prefix = "/api/fn", endpoint = "tokens/revoke-selected")]
pub async fn revoke_selected(ids: Option<Vec<i64>>) -> Result<i64, AppError> {
    use crate::backend::{auth, service::token_table};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    token_table::revoke_selected(&state, &me, ids.unwrap_or_default()).await
}
