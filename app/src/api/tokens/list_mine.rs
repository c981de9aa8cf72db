use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::TokenView;

/// The caller's own personal tokens (for a token caller: the tokens of the user it belongs to).
#[server(prefix = "/api/fn", endpoint = "me/tokens/list", input = server_fn::codec::GetUrl)]
pub async fn list_my_tokens() -> Result<Vec<TokenView>, AppError> {
    use crate::backend::{auth, service::tokens};
    let who = auth::any_caller().await?;
    let state = auth::state()?;
    let Some(id) = who.user_id() else {
        return Ok(Vec::new());
    };
    tokens::list(&state, &who, tokens::Owner::User(id)).await
}
