use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{contains_pattern, lower};
use crate::backend::db::after_commit::after_commit;
use crate::backend::db::schema::audit_events;
use crate::backend::db::{dispatch, Conn};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<i64>,
    pub target_label: String,
    pub ip: Option<String>,
    pub details: String,
    pub request_id: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent<'a> {
    pub at: i64,
    pub actor_kind: &'a str,
    pub actor_id: Option<i64>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: Option<i64>,
    pub target_label: &'a str,
    pub ip: Option<&'a str>,
    pub details: &'a str,
    /// The request that wrote it (`X-Request-Id`); None outside a request.
    pub request_id: Option<&'a str>,
}

/// Writes one record, and (once its transaction commits) the same record as a `tracing`
/// event with target `audit`. Every audit record passes through here, so the log a SIEM
/// collects and the table hold the same events (except a log line lost when the caller is
/// dropped during the commit itself: the table is the authority, README).
pub async fn insert(conn: &mut Conn<'_>, event: &NewAuditEvent<'_>) -> QueryResult<usize> {
    let written = dispatch!(conn, |c| diesel::insert_into(audit_events::table)
        .values(event)
        .execute(c)
        .await)?;
    let line = LogLine::from(event);
    after_commit(move || line.emit());
    Ok(written)
}

/// Writes many records in multi-row statements (the usage flush writes one per token and
/// minute), each logged like `insert`'s once the transaction commits.
pub async fn insert_many(conn: &mut Conn<'_>, events: &[NewAuditEvent<'_>]) -> QueryResult<usize> {
    let mut written = 0;
    match conn {
        // 11 columns: 1,000 rows stay far below PostgreSQL's bound on bind parameters.
        Conn::Pg(c) => {
            for chunk in events.chunks(1_000) {
                written += diesel::insert_into(audit_events::table)
                    .values(chunk)
                    .execute(*c)
                    .await?;
            }
        }
        // Diesel has no multi-row insert with optional columns on SQLite; in-process, a
        // statement per row costs no round trip.
        Conn::Sqlite(c) => {
            for event in events {
                written += diesel::insert_into(audit_events::table)
                    .values(event)
                    .execute(*c)
                    .await?;
            }
        }
    }
    let lines: Vec<LogLine> = events.iter().map(LogLine::from).collect();
    after_commit(move || lines.into_iter().for_each(LogLine::emit));
    Ok(written)
}

/// An audit record as a log event: the row's columns and nothing else (the row holds no
/// secret: details name things, never a token secret, password or code).
struct LogLine {
    at: i64,
    actor_kind: String,
    actor_id: Option<i64>,
    actor: String,
    action: String,
    subject_kind: String,
    subject_id: Option<i64>,
    subject: String,
    client_ip: Option<String>,
    request_id: Option<String>,
    details: String,
}

impl From<&NewAuditEvent<'_>> for LogLine {
    fn from(e: &NewAuditEvent<'_>) -> Self {
        LogLine {
            at: e.at,
            actor_kind: e.actor_kind.to_string(),
            actor_id: e.actor_id,
            actor: e.actor_label.to_string(),
            action: e.action.to_string(),
            subject_kind: e.target_kind.to_string(),
            subject_id: e.target_id,
            subject: e.target_label.to_string(),
            client_ip: e.ip.map(str::to_string),
            request_id: e.request_id.map(str::to_string),
            details: e.details.to_string(),
        }
    }
}

impl LogLine {
    /// The record's target is called `subject` here: `target` is the event's own (`audit`),
    /// and a JSON log line has room for one field of that name.
    fn emit(self) {
        tracing::info!(
            target: "audit",
            action = %self.action,
            actor = %self.actor,
            actor_kind = %self.actor_kind,
            actor_id = self.actor_id,
            subject = %self.subject,
            subject_kind = %self.subject_kind,
            subject_id = self.subject_id,
            client_ip = self.client_ip.as_deref(),
            request_id = self.request_id.as_deref(),
            details = %self.details,
            at = self.at,
            "audit record"
        );
    }
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    /// At or after this time (Unix seconds).
    pub from: Option<i64>,
    /// Before this time (exclusive).
    pub before: Option<i64>,
}

/// The filter's conditions, on a boxed query of either backend (the `audit_events_at` index
/// serves the time range, newest first).
macro_rules! filtered {
    ($filter:expr) => {{
        let filter: &AuditFilter = $filter;
        let mut q = audit_events::table.into_boxed();
        if let Some(actor) = &filter.actor {
            q = q.filter(
                lower(audit_events::actor_label)
                    .like(contains_pattern(actor))
                    .escape('\\'),
            );
        }
        if let Some(action) = &filter.action {
            q = q.filter(audit_events::action.eq(action.clone()));
        }
        if let Some(target) = &filter.target {
            q = q.filter(
                lower(audit_events::target_label)
                    .like(contains_pattern(target))
                    .escape('\\'),
            );
        }
        if let Some(from) = filter.from {
            q = q.filter(audit_events::at.ge(from));
        }
        if let Some(before) = filter.before {
            q = q.filter(audit_events::at.lt(before));
        }
        q
    }};
}

pub async fn list(
    conn: &mut Conn<'_>,
    filter: &AuditFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AuditRow>, i64)> {
    dispatch!(conn, |c| {
        let total: i64 = filtered!(filter).count().get_result(c).await?;
        let rows = filtered!(filter)
            .order((audit_events::at.desc(), audit_events::id.desc()))
            .offset(offset)
            .limit(limit)
            .select(AuditRow::as_select())
            .load(c)
            .await?;
        Ok((rows, total))
    })
}

/// Up to `limit` matching records, newest first, after the record at `after` (`(at, id)` of
/// the last one the previous batch returned): the CSV export walks the whole log in batches
/// this way, without the growing cost of an offset.
pub async fn batch_after(
    conn: &mut Conn<'_>,
    filter: &AuditFilter,
    after: Option<(i64, i64)>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    dispatch!(conn, |c| {
        let mut q = filtered!(filter);
        if let Some((at, id)) = after {
            q = q.filter(
                audit_events::at
                    .lt(at)
                    .or(audit_events::at.eq(at).and(audit_events::id.lt(id))),
            );
        }
        q.order((audit_events::at.desc(), audit_events::id.desc()))
            .limit(limit)
            .select(AuditRow::as_select())
            .load(c)
            .await
    })
}
