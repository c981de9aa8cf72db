use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::CurrentUser;

/// The signed-in user, or `None` (not an error) when nobody is signed in.
#[server(prefix = "/api/fn", endpoint = "me", input = server_fn::codec::GetUrl)]
pub async fn get_current_user() -> Result<Option<CurrentUser>, AppError> {
    use crate::backend::{auth, service::team};
    let Some(me) = auth::caller().await? else {
        return Ok(None);
    };
    let Some(id) = me.user_id() else {
        return Ok(None);
    };
    let state = auth::state()?;
    let display_name = team::display_name(&state, id).await?;
    Ok(auth::current_user_of(&me, display_name))
}
