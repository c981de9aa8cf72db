use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::WebhookDeliveryView;

/// The newest 100 delivery attempts of an endpoint.
#[server(prefix = "/api/fn", endpoint = "webhooks/deliveries", input = server_fn::codec::GetUrl)]
pub async fn list_webhook_deliveries(id: i64) -> Result<Vec<WebhookDeliveryView>, AppError> {
    use crate::backend::{auth, service::webhooks};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    webhooks::deliveries(&state, &me, id).await
}
