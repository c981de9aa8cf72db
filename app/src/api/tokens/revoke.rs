use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::TokenView;

#[server(prefix = "/api/fn", endpoint = "tokens/revoke")]
pub async fn revoke_token(id: i64) -> Result<TokenView, AppError> {
    use crate::backend::{auth, service::tokens};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    tokens::revoke(&state, &me, id).await
}
