use leptos::prelude::*;

use crate::errors::AppError;

#[server(prefix = "/api/fn", endpoint = "tokens/delete")]
pub async fn delete_token(id: i64) -> Result<(), AppError> {
    use crate::backend::{auth, service::tokens};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    tokens::delete(&state, &me, id).await
}
