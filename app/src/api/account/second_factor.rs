use leptos::prelude::*;

use crate::domain::Sensitive;
use crate::errors::AppError;
use crate::model::{RecoveryCodes, SecondFactorOverview};

/// The caller's authenticator app and recovery codes (an unfinished setup includes its
/// secret: only its owner can ask).
#[server(prefix = "/api/fn", endpoint = "account/second-factor", input = server_fn::codec::GetUrl)]
pub async fn get_second_factor_overview() -> Result<SecondFactorOverview, AppError> {
    use crate::backend::{auth, service::second_factor};
    let me = auth::session_user().await?;
    second_factor::overview(&auth::state()?, &me).await
}

/// Starts setting up an authenticator app: a new secret, shown on the account page.
#[server(prefix = "/api/fn", endpoint = "account/totp-begin")]
pub async fn begin_totp() -> Result<(), AppError> {
    use crate::backend::{auth, service::second_factor};
    let me = auth::session_user().await?;
    second_factor::begin_totp(&auth::state()?, &me).await
}

/// Abandons an unfinished setup.
#[server(prefix = "/api/fn", endpoint = "account/totp-cancel")]
pub async fn cancel_totp() -> Result<(), AppError> {
    use crate::backend::{auth, service::second_factor};
    let me = auth::session_user().await?;
    second_factor::cancel_totp(&auth::state()?, &me).await
}

/// Finishes the setup with the app's first code; answers with the recovery codes (once).
#[server(prefix = "/api/fn", endpoint = "account/totp-confirm")]
pub async fn confirm_totp(code: Sensitive) -> Result<RecoveryCodes, AppError> {
    use crate::backend::{auth, service::second_factor};
    let me = auth::session_user().await?;
    second_factor::confirm_totp(&auth::state()?, &me, code.expose()).await
}

/// Turns the authenticator app off (after the password).
#[server(prefix = "/api/fn", endpoint = "account/totp-disable")]
pub async fn disable_totp(password: Sensitive) -> Result<(), AppError> {
    use crate::backend::{auth, service::second_factor};
    let me = auth::session_user().await?;
    second_factor::disable_totp(&auth::state()?, &me, password).await
}

/// Ten new recovery codes (after the password); the old ones stop working.
#[server(prefix = "/api/fn", endpoint = "account/recovery-codes")]
pub async fn new_recovery_codes(password: Sensitive) -> Result<RecoveryCodes, AppError> {
    use crate::backend::{auth, service::second_factor};
    let me = auth::session_user().await?;
    second_factor::regenerate_recovery_codes(&auth::state()?, &me, password).await
}
