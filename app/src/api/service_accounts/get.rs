use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::ServiceAccountView;

#[server(prefix = "/api/fn", endpoint = "service-accounts/get", input = server_fn::codec::GetUrl)]
pub async fn get_service_account(id: i64) -> Result<ServiceAccountView, AppError> {
    use crate::backend::{auth, service::accounts};
    let who = auth::any_caller().await?;
    let state = auth::state()?;
    accounts::get(&state, &who, id).await
}
