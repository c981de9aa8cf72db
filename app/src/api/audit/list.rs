use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::{AuditEventView, Page};

/// The audit log, newest first, 50 per page; filters: actor and target (substring), action
/// (exact).
#[server(prefix = "/api/fn", endpoint = "audit/list", input = server_fn::codec::GetUrl)]
pub async fn list_audit(
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    page: Option<i64>,
) -> Result<Page<AuditEventView>, AppError> {
    use crate::backend::repo::audit::AuditFilter;
    use crate::backend::{auth, service::audit};
    let me = auth::session_user().await?;
    let state = auth::state()?;
    let clean = |s: Option<String>| {
        s.map(|v| crate::domain::names::search_text(&v))
            .filter(|v| !v.is_empty())
    };
    let filter = AuditFilter {
        actor: clean(actor),
        action: clean(action),
        target: clean(target),
    };
    audit::list(&state, &me, filter, page.unwrap_or(1)).await
}

/// The action names the filter offers.
#[server(prefix = "/api/fn", endpoint = "audit/actions", input = server_fn::codec::GetUrl)]
pub async fn audit_actions() -> Result<Vec<String>, AppError> {
    use crate::backend::auth;
    let _ = auth::session_user().await?;
    Ok(crate::backend::service::audit::action::ALL
        .iter()
        .map(|s| s.to_string())
        .collect())
}
