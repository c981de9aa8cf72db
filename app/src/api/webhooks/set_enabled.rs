use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::WebhookEndpointView;

/// Stops or resumes deliveries to an endpoint (events keep queueing while it is disabled).
#[server(prefix = "/api/fn", endpoint = "webhooks/set-enabled")]
pub async fn set_webhook_enabled(id: i64, enabled: bool) -> Result<WebhookEndpointView, AppError> {
    use crate::backend::{auth, service::webhooks};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    webhooks::set_enabled(&state, &me, id, enabled).await
}
