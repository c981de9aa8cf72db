use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::WebhookEndpointView;

/// Every webhook endpoint (Admins only; never a secret).
#[server(prefix = "/api/fn", endpoint = "webhooks/list", input = server_fn::codec::GetUrl)]
pub async fn list_webhooks() -> Result<Vec<WebhookEndpointView>, AppError> {
    use crate::backend::{auth, service::webhooks};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    webhooks::list(&state, &me).await
}
