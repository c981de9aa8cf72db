use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::{OrgSettings, StalePreview};

/// What the stale-token policy would do with `days` if saved now (Admins). A GET, so the page's
/// preview is a link that survives reload and works without JavaScript.
#[server(prefix = "/api/fn", endpoint = "settings/stale-preview", input = server_fn::codec::GetUrl)]
pub async fn preview_stale_policy(days: String) -> Result<StalePreview, AppError> {
    use crate::backend::{auth, service::stale_policy};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    stale_policy::preview(&state, &me, &days).await
}

/// Turns the stale-token policy on with `days`, or off when `days` is empty (Admins).
#[server(prefix = "/api/fn", endpoint = "settings/stale-policy")]
pub async fn set_stale_policy(days: Option<String>) -> Result<OrgSettings, AppError> {
    use crate::backend::{auth, service::stale_policy};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    stale_policy::set(&state, &me, days.as_deref().unwrap_or("")).await
}
