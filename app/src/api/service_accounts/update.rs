use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::ServiceAccountView;

/// Edits the description and role. `can_introspect` (Admins only) is changed only when
/// `introspect_shown` says the form had the checkbox: an unticked box sends nothing.
#[server(prefix = "/api/fn", endpoint = "service-accounts/update")]
pub async fn update_service_account(
    id: i64,
    description: Option<String>,
    role: String,
    can_introspect: Option<String>,
    introspect_shown: Option<String>,
) -> Result<ServiceAccountView, AppError> {
    use crate::backend::{auth, service::accounts};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    let introspect = introspect_shown.map(|_| can_introspect.is_some_and(|v| v != "false"));
    accounts::update(
        &state,
        &me,
        id,
        description.as_deref().unwrap_or(""),
        &role,
        introspect,
    )
    .await
}
