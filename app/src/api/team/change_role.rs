use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::UserView;

#[server(prefix = "/api/fn", endpoint = "team/change-role")]
pub async fn change_member_role(id: i64, role: String) -> Result<UserView, AppError> {
    use crate::backend::{auth, service::team};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    team::change_role(&state, &me, id, &role).await
}
