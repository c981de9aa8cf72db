use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::TokenTablePage;

/// One page of the organisation-wide token table. `query` is the table's URL query string
/// (search, filters, sort, page: see `domain::token_query`).
#[server(prefix = "/api/fn", endpoint = "tokens/table", input = server_fn::codec::GetUrl)]
pub async fn list_org_tokens(query: Option<String>) -> Result<TokenTablePage, AppError> {
    use crate::backend::{auth, service::token_table};
    use crate::domain::token_query::TokenQuery;
    let me = auth::session_user().await?;
    let state = auth::state()?;
    token_table::list(
        &state,
        &me,
        &TokenQuery::from_query_string(query.as_deref().unwrap_or("")),
    )
    .await
}
