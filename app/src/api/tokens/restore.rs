use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::TokenView;

#[server(prefix = "/api/fn", endpoint = "tokens/restore")]
pub async fn restore_token(id: i64) -> Result<TokenView, AppError> {
    use crate::backend::{auth, service::tokens};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    tokens::restore(&state, &me, id).await
}
