use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::TokenView;

#[server(prefix = "/api/fn", endpoint = "service-accounts/tokens/list", input = server_fn::codec::GetUrl)]
pub async fn list_account_tokens(account_id: i64) -> Result<Vec<TokenView>, AppError> {
    use crate::backend::{auth, service::tokens};
    let who = auth::any_caller().await?;
    let state = auth::state()?;
    tokens::list(&state, &who, tokens::Owner::ServiceAccount(account_id)).await
}
