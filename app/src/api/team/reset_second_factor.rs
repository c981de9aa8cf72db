use leptos::prelude::*;

use crate::errors::AppError;

/// Removes a member's authenticator app and recovery codes (Admins only, audited), for a
/// lost phone. They sign in with their password until they set up a new app.
#[server(prefix = "/api/fn", endpoint = "team/reset-second-factor")]
pub async fn reset_second_factor(id: i64) -> Result<(), AppError> {
    use crate::backend::{auth, service::second_factor};
    let me = auth::session_user().await?;
    second_factor::reset_for(&auth::state()?, &me, id).await
}
