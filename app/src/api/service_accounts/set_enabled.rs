use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::ServiceAccountView;

/// Disables (its tokens stop working at once) or enables a service account.
#[server(prefix = "/api/fn", endpoint = "service-accounts/set-enabled")]
pub async fn set_service_account_enabled(
    id: i64,
    enabled: bool,
) -> Result<ServiceAccountView, AppError> {
    use crate::backend::{auth, service::accounts};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    accounts::set_enabled(&state, &me, id, enabled).await
}
