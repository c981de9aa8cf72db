use leptos::prelude::*;

use crate::domain::Sensitive;
use crate::errors::AppError;

/// Creates the first Admin with the one-time setup code printed at start-up, and signs them in.
#[server(prefix = "/api/fn", endpoint = "auth/setup")]
pub async fn complete_setup(
    code: String,
    email: String,
    display_name: Option<String>,
    password: Sensitive,
    password_confirm: Sensitive,
) -> Result<(), AppError> {
    use crate::backend::{auth, service::login};
    let state = auth::state()?;
    let user = login::complete_setup(
        &state,
        &code,
        &email,
        display_name.as_deref().unwrap_or(""),
        password,
        password_confirm,
        &auth::request_info(),
    )
    .await?;
    if let Some(session) = auth::session() {
        auth::sign_in(&session, user.id, user.session_epoch).await?;
    }
    leptos_axum::redirect("/");
    Ok(())
}
