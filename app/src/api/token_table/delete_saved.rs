use leptos::prelude::*;

use crate::errors::AppError;

#[server(prefix = "/api/fn", endpoint = "saved-searches/delete")]
pub async fn delete_saved_search(id: i64) -> Result<(), AppError> {
    use crate::backend::{auth, service::token_table};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    token_table::delete_saved(&state, &me, id).await
}
