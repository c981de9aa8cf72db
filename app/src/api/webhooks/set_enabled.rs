use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::WebhookEndpointView;

/// Stops or resumes deliveries to an endpoint. While it is disabled, new events are not
/// queued for it; events queued before wait and are sent once it is enabled again.
#[server(prefix = "/api/fn", endpoint = "webhooks/set-enabled")]
pub async fn set_webhook_enabled(id: i64, enabled: bool) -> Result<WebhookEndpointView, AppError> {
    use crate::backend::{auth, service::webhooks};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    webhooks::set_enabled(&state, &me, id, enabled).await
}
