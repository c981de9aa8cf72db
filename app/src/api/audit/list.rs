use leptos::prelude::*;

use crate::errors::AppError;
use crate::model::{AuditEventView, Page};

/// The audit log, newest first, 50 per page; filters: actor and target (substring), action
/// (exact), from and to (days, `YYYY-MM-DD`, UTC, inclusive; a malformed date is an `invalid`
/// error naming its field).
#[server(prefix = "/api/fn", endpoint = "audit/list", input = server_fn::codec::GetUrl)]
pub async fn list_audit(
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<i64>,
) -> Result<Page<AuditEventView>, AppError> {
    use crate::backend::{auth, service::audit};
    use crate::domain::audit_query::AuditQuery;
    let me = auth::session_user().await?;
    let state = auth::state()?;
    let page = page.unwrap_or(1).to_string();
    let query = AuditQuery::from_pairs([
        ("actor", actor.as_deref().unwrap_or("")),
        ("action", action.as_deref().unwrap_or("")),
        ("target", target.as_deref().unwrap_or("")),
        ("from", from.as_deref().unwrap_or("")),
        ("to", to.as_deref().unwrap_or("")),
        ("page", page.as_str()),
    ]);
    audit::list(&state, &me, &query).await
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
