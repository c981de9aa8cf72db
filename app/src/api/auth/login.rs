use leptos::prelude::*;

use crate::domain::Sensitive;
use crate::errors::AppError;

/// Signs in with e-mail and password and starts a session. `next` is where to go afterwards
/// (a path on this site; anything else is ignored).
#[server(prefix = "/api/fn", endpoint = "auth/login")]
pub async fn login(
    email: String,
    password: Sensitive,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::backend::{auth, service::login};
    let state = auth::state()?;
    let user = login::login(&state, &email, password, &auth::request_info()).await?;
    let session = auth::session()
        .ok_or_else(|| crate::backend::error_map::internal("login", &"no session layer"))?;
    auth::sign_in(&session, user.id, user.session_epoch).await?;
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

pub use crate::domain::redirect::safe_next;
