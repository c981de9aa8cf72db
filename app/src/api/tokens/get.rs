use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::TokenDetail;

/// One token with its usage history, client addresses and (for audit readers) audit trail.
#[server(prefix = "/api/fn", endpoint = "tokens/get", input = server_fn::codec::GetUrl)]
pub async fn get_token(id: i64) -> Result<TokenDetail, AppError> {
    use crate::backend::{auth, service::usage};
    let who = auth::any_caller().await?;
    let state = auth::state()?;
    usage::detail(&state, &who, id).await
}
