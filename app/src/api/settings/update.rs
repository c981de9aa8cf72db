use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::OrgSettings;

#[server(prefix = "/api/fn", endpoint = "settings/update")]
pub async fn update_settings(
    max_token_lifetime_days: Option<String>,
    default_rate_limit_per_minute: Option<String>,
) -> Result<OrgSettings, AppError> {
    use crate::backend::{auth, service::settings};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    settings::update(
        &state,
        &me,
        max_token_lifetime_days.as_deref().unwrap_or(""),
        default_rate_limit_per_minute.as_deref().unwrap_or(""),
    )
    .await
}
