use leptos::prelude::*;

use crate::errors::AppError;

/// Removes a member for good; their personal tokens are revoked.
#[server(prefix = "/api/fn", endpoint = "team/remove")]
pub async fn remove_member(id: i64) -> Result<(), AppError> {
    use crate::backend::{auth, service::team};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    team::remove(&state, &me, id).await
}
