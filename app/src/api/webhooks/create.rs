use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::WebhookCreated;

/// A new endpoint; the answer carries its signing secret, shown once.
#[server(prefix = "/api/fn", endpoint = "webhooks/create")]
pub async fn create_webhook(
    url: String,
    events: String,
    description: Option<String>,
) -> Result<WebhookCreated, AppError> {
    use crate::backend::{auth, service::webhooks};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    webhooks::create(
        &state,
        &me,
        &url,
        &events,
        description.as_deref().unwrap_or(""),
    )
    .await
}
