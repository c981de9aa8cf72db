use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::UserView;

#[server(prefix = "/api/fn", endpoint = "team/list", input = server_fn::codec::GetUrl)]
pub async fn list_team() -> Result<Vec<UserView>, AppError> {
    use crate::backend::{auth, service::team};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    team::list(&state, &me).await
}
