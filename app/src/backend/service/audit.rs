//! The audit log: every change, who made it, from where, in which request. Records are
//! written inside the transaction of the change they describe, so there is never a change
//! without its record; each is also logged (target `audit`, see `repo::audit::insert`). The
//! webhook events a record stands for go to the outbox here too, in the same transaction
//! (`webhooks::outbox::on_audit`), so no change that is an event can forget it.

use serde_json::Value;

use super::now;
use crate::backend::db::Conn;
use crate::backend::principal::{Principal, RequestInfo};
use crate::backend::repo::audit::{self as repo, AuditFilter, AuditRow, NewAuditEvent};
use crate::backend::state::AppState;
use crate::backend::webhooks::outbox;
use crate::domain::audit_query::AuditQuery;
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
    let who = Actor {
        kind: actor.actor_kind(),
        id: actor.actor_id(),
        label: &actor.label,
        request: &actor.request,
    };
    write(conn, who, action, target, details).await
}

/// For events without an authenticated actor (failed logins, public leak reports).
pub async fn record_anonymous(
    conn: &mut Conn<'_>,
    label: &str,
    request: &RequestInfo,
    action: &str,
    target: Target<'_>,
    details: Value,
) -> Result<(), AppError> {
    let who = Actor {
        kind: "anonymous",
        id: None,
        label,
        request,
    };
    write(conn, who, action, target, details).await
}

/// A change Keyward made by itself (housekeeping), not on anyone's request.
pub async fn record_system(
    conn: &mut Conn<'_>,
    action: &str,
    target: Target<'_>,
    details: Value,
) -> Result<(), AppError> {
    let request = RequestInfo { ip: None, id: None };
    let who = Actor {
        kind: "system",
        id: None,
        label: "keyward",
        request: &request,
    };
    write(conn, who, action, target, details).await
}

/// Who a record names as its actor.
struct Actor<'a> {
    kind: &'a str,
    id: Option<i64>,
    label: &'a str,
    request: &'a RequestInfo,
}

/// The one place a record is written, with the webhook events it stands for.
async fn write(
    conn: &mut Conn<'_>,
    who: Actor<'_>,
    action: &str,
    target: Target<'_>,
    details: Value,
) -> Result<(), AppError> {
    let at = now();
    outbox::on_audit(conn, action, target.id, &details, at).await?;
    let details = details.to_string();
    repo::insert(
        conn,
        &NewAuditEvent {
            at,
            actor_kind: who.kind,
            actor_id: who.id,
            actor_label: who.label,
            action,
            target_kind: target.kind,
            target_id: target.id,
            target_label: target.label,
            ip: who.request.ip.as_deref(),
            details: &details,
            request_id: who.request.id.as_deref(),
        },
    )
    .await?;
    Ok(())
}

pub const PER_PAGE: i64 = 50;

/// Who may read the log, checked by the page and the export alike.
fn require_reader(me: &Principal) -> Result<(), AppError> {
    me.require(
        policy::can_view_audit_log(me.role),
        "Only Admins can read the audit log.",
    )
}

/// The view's filter. A date that is not one is refused with its field's message (the page
/// checks the same rule first and shows it by the field).
fn filter_for(q: &AuditQuery) -> Result<AuditFilter, AppError> {
    let range = q
        .time_range()
        .map_err(|errors| AppError::from(errors.into_iter().next().expect("an error")))?;
    let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Ok(AuditFilter {
        actor: text(&q.actor),
        action: text(&q.action),
        target: text(&q.target),
        from: range.from,
        before: range.before,
    })
}

pub(crate) fn to_view(r: AuditRow) -> AuditEventView {
    AuditEventView {
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
        request_id: r.request_id,
    }
}

pub async fn list(
    state: &AppState,
    me: &Principal,
    q: &AuditQuery,
) -> Result<Page<AuditEventView>, AppError> {
    require_reader(me)?;
    let filter = filter_for(q)?;
    let page = q.page.clamp(1, 1_000_000);
    let mut pooled = state.db.get().await?;
    let (rows, total) =
        repo::list(&mut pooled.conn(), &filter, (page - 1) * PER_PAGE, PER_PAGE).await?;
    Ok(Page {
        items: rows.into_iter().map(to_view).collect(),
        total,
        page,
        per_page: PER_PAGE,
    })
}

/// Where the next export batch starts: after the last record of the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportCursor {
    at: i64,
    id: i64,
}

/// One batch of the CSV export (newest first, like the page), and the cursor of the next one
/// (None after the last). Each batch is a request of its own to the service, so each checks
/// the permission and the filter.
pub async fn export_batch(
    state: &AppState,
    me: &Principal,
    q: &AuditQuery,
    after: Option<ExportCursor>,
    limit: i64,
) -> Result<(Vec<AuditEventView>, Option<ExportCursor>), AppError> {
    require_reader(me)?;
    let filter = filter_for(q)?;
    let mut pooled = state.db.get().await?;
    let rows = repo::batch_after(
        &mut pooled.conn(),
        &filter,
        after.map(|c| (c.at, c.id)),
        limit,
    )
    .await?;
    let next = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| ExportCursor { at: r.at, id: r.id }))
        .flatten();
    Ok((rows.into_iter().map(to_view).collect(), next))
}
