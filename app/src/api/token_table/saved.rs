use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::SavedSearchView;

/// The caller's saved searches and the ones shared with the team.
#[server(prefix = "/api/fn", endpoint = "saved-searches/list", input = server_fn::codec::GetUrl)]
pub async fn list_saved_searches() -> Result<Vec<SavedSearchView>, AppError> {
    use crate::backend::{auth, service::token_table};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    token_table::saved_list(&state, &me).await
}
