use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::InviteLink;

/// A fresh one-time set-password link for a member; earlier links stop working.
#[server(prefix = "/api/fn", endpoint = "team/reset-link")]
pub async fn reset_member_link(id: i64) -> Result<InviteLink, AppError> {
    use crate::backend::{auth, service::team};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    team::reset_link(&state, &me, id).await
}
