use leptos::prelude::*;

use crate::errors::AppError;

/// Ends the session (server side: the record is deleted, not just the cookie).
#[server(prefix = "/api/fn", endpoint = "auth/logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::backend::{auth, service::login};
    let state = auth::state()?;
    if let Some(session) = auth::session() {
        if let Some(me) = auth::session_principal(&state, &session, auth::request_info()).await? {
            login::record_logout(&state, &me).await?;
        }
        session
            .flush()
            .await
            .map_err(|e| crate::backend::error_map::internal("logout", &e))?;
    }
    leptos_axum::redirect("/login");
    Ok(())
}
