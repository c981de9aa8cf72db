//! The audit log: every change, who made it, from where. Records are written inside the
//! transaction of the change they describe, so there is never a change without its record.

use serde_json::Value;

use super::now;
use crate::backend::db::Conn;
use crate::backend::principal::Principal;
use crate::backend::repo::audit::{self as repo, AuditFilter, NewAuditEvent};
use crate::backend::state::AppState;
use crate::domain::policy;
use crate::errors::AppError;
use crate::model::{AuditEventView, Page};

/// Actions, stable strings used in filters and by automation reading the log.
pub use crate::backend::audit_action as action;

pub struct Target<'a> {
    pub kind: &'a str,
    pub id: Option<i64>,
    pub label: &'a str,
}

pub async fn record(
    conn: &mut Conn<'_>,
    actor: &Principal,
    action: &str,
    target: Target<'_>,
    details: Value,
) -> Result<(), AppError> {
    let details = details.to_string();
    repo::insert(
        conn,
        &NewAuditEvent {
            at: now(),
            actor_kind: actor.actor_kind(),
            actor_id: actor.actor_id(),
            actor_label: &actor.label,
            action,
            target_kind: target.kind,
            target_id: target.id,
            target_label: target.label,
            ip: actor.ip.as_deref(),
            details: &details,
        },
    )
    .await?;
    Ok(())
}

/// For events without an authenticated actor (failed logins, public leak reports).
pub async fn record_anonymous(
    conn: &mut Conn<'_>,
    label: &str,
    ip: Option<&str>,
    action: &str,
    target: Target<'_>,
    details: Value,
) -> Result<(), AppError> {
    let details = details.to_string();
    repo::insert(
        conn,
        &NewAuditEvent {
            at: now(),
            actor_kind: "anonymous",
            actor_id: None,
            actor_label: label,
            action,
            target_kind: target.kind,
            target_id: target.id,
            target_label: target.label,
            ip,
            details: &details,
        },
    )
    .await?;
    Ok(())
}

pub const PER_PAGE: i64 = 50;

pub async fn list(
    state: &AppState,
    me: &Principal,
    filter: AuditFilter,
    page: i64,
) -> Result<Page<AuditEventView>, AppError> {
    me.require(
        policy::can_view_audit_log(me.role),
        "Only Admins can read the audit log.",
    )?;
    let page = page.clamp(1, 1_000_000);
    let mut pooled = state.db.get().await?;
    let (rows, total) =
        repo::list(&mut pooled.conn(), &filter, (page - 1) * PER_PAGE, PER_PAGE).await?;
    Ok(Page {
        items: rows
            .into_iter()
            .map(|r| AuditEventView {
                id: r.id,
                at: r.at,
                actor_kind: r.actor_kind,
                actor: r.actor_label,
                action: r.action,
                target_kind: r.target_kind,
                target_id: r.target_id,
                target: r.target_label,
                ip: r.ip,
                details: r.details,
            })
            .collect(),
        total,
        page,
        per_page: PER_PAGE,
    })
}
