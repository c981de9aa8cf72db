use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::InviteLink;

/// Adds a team member and returns their one-time set-password link (shown once).
#[server(prefix = "/api/fn", endpoint = "team/invite")]
pub async fn invite_member(
    email: String,
    display_name: Option<String>,
    role: String,
) -> Result<InviteLink, AppError> {
    use crate::backend::{auth, service::team};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    team::invite(
        &state,
        &me,
        &email,
        display_name.as_deref().unwrap_or(""),
        &role,
    )
    .await
}
