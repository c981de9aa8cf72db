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
    let ip = auth::request_ip().unwrap_or_else(|| "unknown".into());
    let user = login::login(&state, &email, password, &ip).await?;
    let session = auth::session()
        .ok_or_else(|| crate::backend::error_map::internal("login", &"no session layer"))?;
    auth::sign_in(&session, user.id, user.session_epoch).await?;
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// Only local paths: an attacker's link must not bounce a fresh login to another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && !p.starts_with("/login") =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_must_be_a_local_path() {
        assert_eq!(safe_next(Some("/team")), "/team");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil")), "/");
        assert_eq!(safe_next(Some("/login?next=/x")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
