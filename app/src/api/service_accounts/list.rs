use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::{Page, ServiceAccountView};

/// Service accounts by name, 25 per page, optionally filtered by `q` (name or description).
#[server(prefix = "/api/fn", endpoint = "service-accounts/list", input = server_fn::codec::GetUrl)]
pub async fn list_service_accounts(
    q: Option<String>,
    page: Option<i64>,
) -> Result<Page<ServiceAccountView>, AppError> {
    use crate::backend::{auth, service::accounts};
    let who = auth::any_caller().await?;
    let state = auth::state()?;
    accounts::list(&state, &who, q.as_deref().unwrap_or(""), page.unwrap_or(1)).await
}
