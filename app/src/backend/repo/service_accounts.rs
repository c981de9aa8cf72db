use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::{contains_pattern, lower};
use crate::backend::db::schema::{service_accounts, tokens};
use crate::backend::db::{dispatch, Conn};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = service_accounts)]
pub struct ServiceAccountRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub role: String,
    pub can_introspect: bool,
    pub disabled_at: Option<i64>,
    pub deleted_at: Option<i64>,
    pub created_at: i64,
    pub created_by: Option<i64>,
    pub created_by_label: String,
    pub updated_at: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = service_accounts)]
pub struct NewServiceAccount<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub role: &'a str,
    pub can_introspect: bool,
    pub created_at: i64,
    pub created_by: Option<i64>,
    pub created_by_label: &'a str,
    pub updated_at: i64,
}

pub async fn insert(
    conn: &mut Conn<'_>,
    new: &NewServiceAccount<'_>,
) -> QueryResult<ServiceAccountRow> {
    dispatch!(conn, |c| diesel::insert_into(service_accounts::table)
        .values(new)
        .returning(ServiceAccountRow::as_returning())
        .get_result(c)
        .await)
}

/// A service account that has not been deleted.
pub async fn find_live(conn: &mut Conn<'_>, id: i64) -> QueryResult<Option<ServiceAccountRow>> {
    dispatch!(conn, |c| service_accounts::table
        .find(id)
        .filter(service_accounts::deleted_at.is_null())
        .select(ServiceAccountRow::as_select())
        .first(c)
        .await
        .optional())
}

/// `find_live` for a read-modify-write: takes the account's row lock first (`lock`), so on
/// PostgreSQL a concurrent edit waits and then reads this one's result instead of
/// overwriting it (SQLite's write transactions are exclusive already).
pub async fn find_live_locked(
    conn: &mut Conn<'_>,
    id: i64,
) -> QueryResult<Option<ServiceAccountRow>> {
    lock(conn, id).await?;
    find_live(conn, id).await
}

pub async fn find_live_by_name(
    conn: &mut Conn<'_>,
    name: &str,
) -> QueryResult<Option<ServiceAccountRow>> {
    dispatch!(conn, |c| service_accounts::table
        .filter(service_accounts::name.eq(name))
        .filter(service_accounts::deleted_at.is_null())
        .select(ServiceAccountRow::as_select())
        .first(c)
        .await
        .optional())
}

/// Takes the row lock that serialises changes to one account's tokens on PostgreSQL (the
/// token cap is checked under it). SQLite write transactions are already exclusive.
pub async fn lock(conn: &mut Conn<'_>, id: i64) -> QueryResult<Option<i64>> {
    match conn {
        Conn::Pg(c) => service_accounts::table
            .find(id)
            .select(service_accounts::id)
            .for_update()
            .first(*c)
            .await
            .optional(),
        Conn::Sqlite(c) => service_accounts::table
            .find(id)
            .select(service_accounts::id)
            .first(*c)
            .await
            .optional(),
    }
}

/// One page of live accounts by name, optionally filtered by a substring of the name or
/// description; with the total number of matches.
pub async fn list(
    conn: &mut Conn<'_>,
    search: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(Vec<ServiceAccountRow>, i64)> {
    let pattern = search.map(contains_pattern);
    macro_rules! filtered {
        () => {{
            let mut q = service_accounts::table
                .filter(service_accounts::deleted_at.is_null())
                .into_boxed();
            if let Some(p) = &pattern {
                q = q.filter(
                    service_accounts::name
                        .like(p.clone())
                        .escape('\\')
                        .or(lower(service_accounts::description)
                            .like(p.clone())
                            .escape('\\')),
                );
            }
            q
        }};
    }
    dispatch!(conn, |c| {
        let total: i64 = filtered!().count().get_result(c).await?;
        let rows = filtered!()
            .order(service_accounts::name.asc())
            .offset(offset)
            .limit(limit)
            .select(ServiceAccountRow::as_select())
            .load(c)
            .await?;
        Ok((rows, total))
    })
}

/// Live tokens per account, for the given accounts.
pub async fn live_token_counts(
    conn: &mut Conn<'_>,
    ids: &[i64],
    now: i64,
) -> QueryResult<Vec<(Option<i64>, i64)>> {
    dispatch!(conn, |c| tokens::table
        .filter(tokens::service_account_id.eq_any(ids))
        .filter(tokens::revoked_at.is_null())
        .filter(tokens::expires_at.is_null().or(tokens::expires_at.gt(now)))
        .group_by(tokens::service_account_id)
        .select((tokens::service_account_id, diesel::dsl::count(tokens::id)))
        .load(c)
        .await)
}

/// The most recent use of any token of each account ("last activity").
pub async fn last_used(
    conn: &mut Conn<'_>,
    ids: &[i64],
) -> QueryResult<Vec<(Option<i64>, Option<i64>)>> {
    dispatch!(conn, |c| tokens::table
        .filter(tokens::service_account_id.eq_any(ids))
        .group_by(tokens::service_account_id)
        .select((
            tokens::service_account_id,
            diesel::dsl::max(tokens::last_used_at)
        ))
        .load(c)
        .await)
}

pub async fn update(
    conn: &mut Conn<'_>,
    id: i64,
    description: &str,
    role: &str,
    can_introspect: bool,
    now: i64,
) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::update(service_accounts::table.find(id))
        .set((
            service_accounts::description.eq(description),
            service_accounts::role.eq(role),
            service_accounts::can_introspect.eq(can_introspect),
            service_accounts::updated_at.eq(now),
        ))
        .execute(c)
        .await)
}

pub async fn set_disabled(
    conn: &mut Conn<'_>,
    id: i64,
    at: Option<i64>,
    now: i64,
) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::update(service_accounts::table.find(id))
        .set((
            service_accounts::disabled_at.eq(at),
            service_accounts::updated_at.eq(now)
        ))
        .execute(c)
        .await)
}

pub async fn mark_deleted(conn: &mut Conn<'_>, id: i64, now: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::update(service_accounts::table.find(id))
        .filter(service_accounts::deleted_at.is_null())
        .set((
            service_accounts::deleted_at.eq(Some(now)),
            service_accounts::updated_at.eq(now)
        ))
        .execute(c)
        .await)
}
