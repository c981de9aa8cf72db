use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{contains_pattern, lower};
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
}

pub async fn insert(conn: &mut Conn<'_>, event: &NewAuditEvent<'_>) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::insert_into(audit_events::table)
        .values(event)
        .execute(c)
        .await)
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
}

pub async fn list(
    conn: &mut Conn<'_>,
    filter: &AuditFilter,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<AuditRow>, i64)> {
    macro_rules! filtered {
        () => {{
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
            q
        }};
    }
    dispatch!(conn, |c| {
        let total: i64 = filtered!().count().get_result(c).await?;
        let rows = filtered!()
            .order((audit_events::at.desc(), audit_events::id.desc()))
            .offset(offset)
            .limit(limit)
            .select(AuditRow::as_select())
            .load(c)
            .await?;
        Ok((rows, total))
    })
}
