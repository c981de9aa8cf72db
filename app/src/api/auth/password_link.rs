use leptos::prelude::*;

use crate::errors::AppError;

/// Whose set-password link this is: their e-mail address, or `None` when the link is dead.
#[server(prefix = "/api/fn", endpoint = "auth/password-link", input = server_fn::codec::GetUrl)]
pub async fn password_link(code: String) -> Result<Option<String>, AppError> {
    use crate::backend::{auth, service::login};
    let state = auth::state()?;
    Ok(login::password_link_user(&state, &code)
        .await?
        .map(|u| u.email))
}
