use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::UserView;

/// Deactivates (sessions and personal tokens stop at once) or reactivates a member.
#[server(prefix = "/api/fn", endpoint = "team/set-active")]
pub async fn set_member_active(id: i64, active: bool) -> Result<UserView, AppError> {
    use crate::backend::{auth, service::team};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    team::set_active(&state, &me, id, active).await
}
