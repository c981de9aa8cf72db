use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::PendingSignIn;

/// The sign-in on this browser that waits for its second factor, if any (for the page's
/// greeting; None sends the visitor back to the password form).
#[server(prefix = "/api/fn", endpoint = "auth/pending-sign-in", input = server_fn::codec::GetUrl)]
pub async fn get_pending_sign_in() -> Result<Option<PendingSignIn>, AppError> {
    use crate::backend::{auth, repo::users};
    let state = auth::state()?;
    let Some(session) = auth::session() else {
        return Ok(None);
    };
    let Some(pending) = auth::pending_second_factor(&session).await else {
        return Ok(None);
    };
    let mut pooled = state.db.get().await?;
    Ok(users::find(&mut pooled.conn(), pending.user_id)
        .await?
        .map(|u| PendingSignIn { email: u.email }))
}

/// The second step of signing in: a code from the authenticator app or a recovery code.
#[server(prefix = "/api/fn", endpoint = "auth/second-factor")]
pub async fn verify_second_factor(
    code: crate::domain::Sensitive,
    next: Option<String>,
) -> Result<(), AppError> {
    use crate::backend::{auth, service::login};
    let state = auth::state()?;
    let session = auth::session()
        .ok_or_else(|| crate::backend::error_map::internal("login", &"no session layer"))?;
    let Some(pending) = auth::pending_second_factor(&session).await else {
        return Err(AppError::Invalid {
            field: None,
            message: "This sign-in has expired. Sign in again with your password.".into(),
        });
    };
    let user = login::second_factor(
        &state,
        pending.user_id,
        pending.epoch,
        code.expose(),
        &auth::request_info(),
    )
    .await?;
    auth::sign_in(&session, user.id, user.session_epoch).await?;
    leptos_axum::redirect(&super::safe_next(next.as_deref()));
    Ok(())
}
