//! The audit log: every change, who made it, from where. Records are written inside the
//! transaction of the change they describe, so there is never a change without its record.

use serde_json::Value;

use super::now;
use crate::backend::auth::Principal;
use crate::backend::db::Conn;
use crate::backend::repo::audit::{self as repo, AuditFilter, NewAuditEvent};
use crate::backend::state::AppState;
use crate::domain::policy;
use crate::errors::AppError;
use crate::model::{AuditEventView, Page};

/// Actions, stable strings used in filters and by automation reading the log.
pub mod action {
    pub const LOGIN: &str = "auth.login";
    pub const LOGIN_FAILED: &str = "auth.login_failed";
    pub const LOGOUT: &str = "auth.logout";
    pub const SETUP: &str = "auth.setup";
    pub const PASSWORD_SET: &str = "auth.password_set";
    pub const USER_INVITE: &str = "user.invite";
    pub const USER_LINK: &str = "user.link_reset";
    pub const USER_ROLE: &str = "user.role_change";
    pub const USER_DEACTIVATE: &str = "user.deactivate";
    pub const USER_REACTIVATE: &str = "user.reactivate";
    pub const USER_REMOVE: &str = "user.remove";
    pub const USER_UNLOCK: &str = "user.unlock";
    pub const SA_CREATE: &str = "service_account.create";
    pub const SA_UPDATE: &str = "service_account.update";
    pub const SA_DISABLE: &str = "service_account.disable";
    pub const SA_ENABLE: &str = "service_account.enable";
    pub const SA_DELETE: &str = "service_account.delete";
    pub const TOKEN_CREATE: &str = "token.create";
    pub const TOKEN_UPDATE: &str = "token.update";
    pub const TOKEN_ROTATE: &str = "token.rotate";
    pub const TOKEN_REVOKE: &str = "token.revoke";
    pub const TOKEN_RESTORE: &str = "token.restore";
    pub const TOKEN_DELETE: &str = "token.delete";
    pub const TOKEN_BULK_REVOKE: &str = "token.bulk_revoke";
    pub const TOKEN_LEAK_REPORT: &str = "token.leak_reported";
    pub const TOKEN_API_USE: &str = "token.api_use";
    pub const SETTINGS_UPDATE: &str = "settings.update";

    pub const ALL: &[&str] = &[
        LOGIN,
        LOGIN_FAILED,
        LOGOUT,
        SETUP,
        PASSWORD_SET,
        USER_INVITE,
        USER_LINK,
        USER_ROLE,
        USER_DEACTIVATE,
        USER_REACTIVATE,
        USER_REMOVE,
        USER_UNLOCK,
        SA_CREATE,
        SA_UPDATE,
        SA_DISABLE,
        SA_ENABLE,
        SA_DELETE,
        TOKEN_CREATE,
        TOKEN_UPDATE,
        TOKEN_ROTATE,
        TOKEN_REVOKE,
        TOKEN_RESTORE,
        TOKEN_DELETE,
        TOKEN_BULK_REVOKE,
        TOKEN_LEAK_REPORT,
        TOKEN_API_USE,
        SETTINGS_UPDATE,
    ];
}

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
