use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::SetupState;

/// Whether Keyward still needs its first Admin, and whether this setup code is good.
#[server(prefix = "/api/fn", endpoint = "auth/setup-state", input = server_fn::codec::GetUrl)]
pub async fn get_setup_state(code: String) -> Result<SetupState, AppError> {
    use crate::backend::{auth, service::login};
    let state = auth::state()?;
    let needs_setup = login::needs_setup(&state).await?;
    Ok(SetupState {
        needs_setup,
        code_valid: needs_setup && login::setup_code_valid(&state, &code).await?,
    })
}
