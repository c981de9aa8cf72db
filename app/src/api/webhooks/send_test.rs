use leptos::prelude::*;

use crate::errors::AppError;

/// Queues a `webhook.test` event for the endpoint.
#[server(prefix = "/api/fn", endpoint = "webhooks/send-test")]
pub async fn send_webhook_test(id: i64) -> Result<(), AppError> {
    use crate::backend::{auth, service::webhooks};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    webhooks::send_test(&state, &me, id).await
}
