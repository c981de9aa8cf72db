use leptos::prelude::*;

use crate::errors::AppError;

/// Deletes an endpoint with its queued events and delivery log.
#[server(prefix = "/api/fn", endpoint = "webhooks/delete")]
pub async fn delete_webhook(id: i64) -> Result<(), AppError> {
    use crate::backend::{auth, service::webhooks};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    webhooks::delete(&state, &me, id).await
}
