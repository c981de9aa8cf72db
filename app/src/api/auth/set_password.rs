use leptos::prelude::*;

use crate::domain::Sensitive;
use crate::errors::AppError;

/// Sets a password through a one-time link and signs the person in.
#[server(prefix = "/api/fn", endpoint = "auth/set-password")]
pub async fn set_password(
    code: String,
    password: Sensitive,
    password_confirm: Sensitive,
) -> Result<(), AppError> {
    use crate::backend::{auth, service::login};
    let state = auth::state()?;
    let request = auth::request_info();
    let user =
        login::set_password_with_link(&state, &code, password, password_confirm, &request).await?;
    if let Some(session) = auth::session() {
        let epoch = user.session_epoch;
        auth::sign_in(&session, user.id, epoch).await?;
    }
    leptos_axum::redirect("/");
    Ok(())
}
