use leptos::prelude::*;

use crate::errors::AppError;

/// Deletes a service account; `confirm_name` must repeat its name. Its tokens are revoked.
#[server(prefix = "/api/fn", endpoint = "service-accounts/delete")]
pub async fn delete_service_account(id: i64, confirm_name: String) -> Result<(), AppError> {
    use crate::backend::{auth, service::accounts};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    accounts::delete(&state, &me, id, &confirm_name).await?;
    leptos_axum::redirect("/service-accounts");
    Ok(())
}
