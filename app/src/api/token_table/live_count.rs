use leptos::prelude::*;

use crate::errors::AppError;

/// How many live tokens "revoke everything matching" would revoke for this view.
#[server(prefix = "/api/fn", endpoint = "tokens/table/live-count", input = server_fn::codec::GetUrl)]
pub async fn count_live_matching(query: Option<String>) -> Result<i64, AppError> {
    use crate::backend::{auth, service::token_table};
    use crate::domain::token_query::TokenQuery;
    let me = auth::session_user().await?;
    let state = auth::state()?;
    token_table::live_matching(
        &state,
        &me,
        &TokenQuery::from_query_string(query.as_deref().unwrap_or("")),
    )
    .await
}
