use leptos::prelude::*;

use crate::domain::Sensitive;
use crate::errors::AppError;

/// Signs in with e-mail and password and starts a session. `next` is where to go afterwards
/// (a path on this site; anything else is ignored). For a person with a second factor the
/// session only remembers the right password, and the browser goes on to
/// `/login/second-factor` to give the code.
#[server(prefix = "/api/fn", endpoint = "auth/login")]
pub async fn login(
    email: String,
    password: Sensitive,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::backend::{auth, service::login};
    let state = auth::state()?;
    let signed = login::login(&state, &email, password, &auth::request_info()).await?;
    let session = auth::session()
        .ok_or_else(|| crate::backend::error_map::internal("login", &"no session layer"))?;
    let next = safe_next(next.as_deref());
    match signed {
        login::SignIn::Complete(user) => {
            auth::sign_in(&session, user.id, user.session_epoch).await?;
            leptos_axum::redirect(&next);
        }
        login::SignIn::NeedsSecondFactor(user) => {
            auth::begin_second_factor(&session, user.id, user.session_epoch).await?;
            let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
            leptos_axum::redirect(&format!("/login/second-factor?next={next}"));
        }
    }
    Ok(())
}

pub use crate::domain::redirect::safe_next;
