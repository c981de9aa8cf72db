use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::OrgSettings;

/// Organisation settings; everyone signed in may read them (the token form needs the maximum
/// lifetime), only Admins change them.
#[server(prefix = "/api/fn", endpoint = "settings/get", input = server_fn::codec::GetUrl)]
pub async fn get_settings() -> Result<OrgSettings, AppError> {
    use crate::backend::{auth, service::settings};
    let _ = auth::any_caller().await?;
    let state = auth::state()?;
    settings::get(&state).await
}
