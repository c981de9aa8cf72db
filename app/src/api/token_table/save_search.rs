use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::SavedSearchView;

/// Saves the current view of the token table under a name, private or shared with the team.
#[server(prefix = "/api/fn", endpoint = "saved-searches/save")]
pub async fn save_search(
    name: String,
    query: Option<String>,
    shared: Option<String>,
) -> Result<SavedSearchView, AppError> {
    use crate::backend::{auth, service::token_table};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    token_table::save(
        &state,
        &me,
        &name,
        query.as_deref().unwrap_or(""),
        shared.is_some_and(|v| v != "false"),
    )
    .await
}
