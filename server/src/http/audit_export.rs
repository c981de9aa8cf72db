//! `GET /audit/export.csv?<audit page query>`: the audit log's records for the page's current
//! filters (actor, action, target, from, to) as CSV, newest first, streamed in batches of 1000
//! (constant memory however long the log). Same rule as the page: a signed-in Admin.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use app::backend::service::audit::{self, ExportCursor};
use app::backend::state::AppState;
use app::domain::audit_query::AuditQuery;
use app::domain::timefmt;
use app::model::AuditEventView;

use super::api::caller::ApiError;
use super::export::{csv_download, safe_cell, session_caller, to_csv};

const BATCH: i64 = 1000;
pub const HEADER: [&str; 11] = [
    "id",
    "at",
    "actor_kind",
    "actor",
    "action",
    "target_kind",
    "target_id",
    "target",
    "ip",
    "request_id",
    "details",
];

/// One row. Labels and details hold what users typed (names, descriptions, e-mail
/// addresses), so every cell goes through `safe_cell`.
pub fn record(e: &AuditEventView) -> [String; 11] {
    [
        e.id.to_string(),
        timefmt::iso(e.at),
        e.actor_kind.clone(),
        e.actor.clone(),
        e.action.clone(),
        e.target_kind.clone(),
        e.target_id.map(|id| id.to_string()).unwrap_or_default(),
        e.target.clone(),
        e.ip.clone().unwrap_or_default(),
        e.request_id.clone().unwrap_or_default(),
        e.details.clone(),
    ]
    .map(safe_cell)
}

pub async fn export_csv(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let me = match session_caller(&state, &parts).await {
        Ok(me) => me,
        Err(res) => return res,
    };
    let query = AuditQuery::from_query_string(parts.uri.query().unwrap_or("")).without_page();
    // The first batch is read before answering, so that a refusal (not an Admin, a bad date)
    // gets its proper status and message.
    let (first, next) = match audit::export_batch(&state, &me, &query, None, BATCH).await {
        Ok(batch) => batch,
        Err(e) => return ApiError(e).into_response(),
    };
    let first_bytes = match to_csv(&first, Some(&HEADER), record) {
        Ok(b) => b,
        Err(e) => return ApiError(e).into_response(),
    };
    let rest = futures::stream::unfold(next, move |after: Option<ExportCursor>| {
        let state = state.clone();
        let me = me.clone();
        let query = query.clone();
        async move {
            let after = after?;
            match audit::export_batch(&state, &me, &query, Some(after), BATCH).await {
                Ok((rows, _)) if rows.is_empty() => None,
                Ok((rows, next)) => Some((
                    to_csv(&rows, None, record).map_err(std::io::Error::other),
                    next,
                )),
                // Headers are gone by now: end the download with an error the client notices.
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    let body =
        futures::stream::once(async move { Ok::<_, std::io::Error>(first_bytes) }).chain(rest);
    csv_download(Body::from_stream(body), "audit")
}
