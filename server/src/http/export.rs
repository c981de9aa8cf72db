//! `GET /tokens/export.csv?<table query>`: the organisation-wide token table's rows for the
//! current filter as CSV, streamed in batches of 1000 (constant memory however many rows).
//! Rows come in token-id order; the columns are the table's, plus a few.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use http::HeaderValue;

use app::backend::auth::{self, Principal};
use app::backend::service::token_table;
use app::backend::state::AppState;
use app::domain::token_query::TokenQuery;
use app::domain::{csv_cell, timefmt};
use app::errors::AppError;
use app::model::TokenView;

use super::api::caller::ApiError;

const BATCH: i64 = 1000;
pub const HEADER: [&str; 16] = [
    "id",
    "name",
    "prefix",
    "owner_type",
    "owner",
    "role",
    "status",
    "created_at",
    "created_by",
    "expires_at",
    "last_used_at",
    "last_used_ip",
    "revoked_at",
    "revoke_reason",
    "allowed_cidrs",
    "description",
];

fn time(ts: Option<i64>) -> String {
    ts.map(timefmt::iso).unwrap_or_default()
}

/// One row of the export. Every cell goes through `csv_cell::neutralise`: names, descriptions,
/// owners and labels are typed by users, and no cell may open as a spreadsheet formula.
pub fn record(t: &TokenView) -> [String; 16] {
    [
        t.id.to_string(),
        t.name.clone(),
        t.display_prefix.clone(),
        t.kind.as_str().to_string(),
        t.owner.name.clone(),
        t.role.as_str().to_string(),
        t.status.as_str().to_string(),
        timefmt::iso(t.created_at),
        t.created_by.clone(),
        time(t.expires_at),
        time(t.last_used_at),
        t.last_used_ip.clone().unwrap_or_default(),
        time(t.revoked_at),
        t.revoke_reason
            .map(|r| r.as_str().to_string())
            .unwrap_or_default(),
        t.allowed_cidrs.replace('\n', " "),
        t.description.clone(),
    ]
    .map(safe_cell)
}

/// A cell as written: `csv_cell::neutralise`d, so that no cell opens as a spreadsheet formula.
pub fn safe_cell(cell: String) -> String {
    match csv_cell::neutralise(&cell) {
        std::borrow::Cow::Borrowed(_) => cell,
        std::borrow::Cow::Owned(safe) => safe,
    }
}

/// Rows as CSV, with the header line for the first batch of a download.
pub fn to_csv<T, R>(
    rows: &[T],
    header: Option<&[&str]>,
    record: impl Fn(&T) -> R,
) -> Result<Bytes, AppError>
where
    R: IntoIterator,
    R::Item: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 180));
    let fail = |e: &dyn std::fmt::Display| app::backend::error_map::internal("csv", e);
    if let Some(header) = header {
        w.write_record(header).map_err(|e| fail(&e))?;
    }
    for row in rows {
        w.write_record(record(row)).map_err(|e| fail(&e))?;
    }
    w.into_inner().map(Bytes::from).map_err(|e| fail(&e))
}

/// The caller of a download: a signed-in session (a bearer token is refused), or the error
/// response to send instead.
pub async fn session_caller(
    state: &AppState,
    parts: &http::request::Parts,
) -> Result<Principal, Response> {
    let me = match auth::resolve(state, parts).await {
        Ok(Some(p)) => p,
        Ok(None) => return Err(ApiError(AppError::Unauthenticated).into_response()),
        Err(e) => return Err(ApiError(e).into_response()),
    };
    me.require_session()
        .map_err(|e| ApiError(e).into_response())?;
    Ok(me)
}

pub async fn export_csv(State(state): State<AppState>, req: Request) -> Response {
    let (parts, _) = req.into_parts();
    let me = match session_caller(&state, &parts).await {
        Ok(me) => me,
        Err(res) => return res,
    };
    let query = TokenQuery::from_query_string(parts.uri.query().unwrap_or(""));
    // The first batch is read before answering, so that a refusal gets a proper status.
    let first = match token_table::export_batch(&state, &me, &query, 0, BATCH).await {
        Ok(rows) => rows,
        Err(e) => return ApiError(e).into_response(),
    };
    let first_bytes = match to_csv(&first, Some(&HEADER), record) {
        Ok(b) => b,
        Err(e) => return ApiError(e).into_response(),
    };
    let next_after = (first.len() as i64 == BATCH)
        .then(|| first.last().map(|t| t.id))
        .flatten();
    let rest = futures::stream::unfold(next_after, move |after| {
        let state = state.clone();
        let me = me.clone();
        let query = query.clone();
        async move {
            let after = after?;
            match token_table::export_batch(&state, &me, &query, after, BATCH).await {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let next = (rows.len() as i64 == BATCH)
                        .then(|| rows.last().map(|t| t.id))
                        .flatten();
                    Some((
                        to_csv(&rows, None, record).map_err(std::io::Error::other),
                        next,
                    ))
                }
                // Headers are gone by now: end the download with an error the client notices.
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    let body =
        futures::stream::once(async move { Ok::<_, std::io::Error>(first_bytes) }).chain(rest);
    csv_download(Body::from_stream(body), "tokens")
}

/// A CSV download named `keyward-<what>-<date>.csv`: never cached (it holds what only its
/// reader may see), saved rather than shown.
pub fn csv_download(body: Body, what: &str) -> Response {
    let filename = format!(
        "keyward-{what}-{}.csv",
        timefmt::date(app::backend::service::now())
    );
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(CONTENT_DISPOSITION, v);
    }
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
