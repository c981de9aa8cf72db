use leptos::prelude::*;

use crate::errors::AppError;

/// Revokes every live token matching the view, after the user confirmed `expected` of them.
#[server(prefix = "/api/fn", endpoint = "tokens/revoke-matching")]
pub async fn revoke_matching(query: Option<String>, expected: i64) -> Result<i64, AppError> {
    use crate::backend::{auth, service::token_table};
    use crate::domain::token_query::TokenQuery;
    let me = auth::session_user().await?;
    let state = auth::state()?;
    token_table::revoke_matching(
        &state,
        &me,
        &TokenQuery::from_query_string(query.as_deref().unwrap_or("")),
        expected,
    )
    .await
}
