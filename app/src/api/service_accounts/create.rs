use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::ServiceAccountView;

#[server(prefix = "/api/fn", endpoint = "service-accounts/create")]
pub async fn create_service_account(
    name: String,
    description: Option<String>,
    role: String,
) -> Result<ServiceAccountView, AppError> {
    use crate::backend::{auth, service::accounts};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    let account = accounts::create(
        &state,
        &me,
        &name,
        description.as_deref().unwrap_or(""),
        &role,
    )
    .await?;
    // Without JavaScript the browser follows this to the new account's page.
    leptos_axum::redirect(&format!("/service-accounts/{}", account.id));
    Ok(account)
}
