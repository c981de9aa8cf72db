use leptos::prelude::*;

use crate::errors::AppError;

/// Sends a failed event again now (same `webhook-id`).
#[server(prefix = "/api/fn", endpoint = "webhooks/redeliver")]
pub async fn redeliver_webhook(outbox_id: i64) -> Result<(), AppError> {
    use crate::backend::{auth, service::webhooks};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    webhooks::redeliver(&state, &me, outbox_id).await
}
