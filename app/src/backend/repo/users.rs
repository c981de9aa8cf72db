use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::backend::db::schema::{tokens, users};
use crate::backend::db::{dispatch, Conn};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub role: String,
    pub deactivated_at: Option<i64>,
    pub removed_at: Option<i64>,
    pub created_at: i64,
    pub created_by: Option<i64>,
    pub updated_at: i64,
    pub last_login_at: Option<i64>,
    pub session_epoch: i64,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub display_name: &'a str,
    pub password_hash: Option<&'a str>,
    pub role: &'a str,
    pub created_at: i64,
    pub created_by: Option<i64>,
    pub updated_at: i64,
}

pub async fn insert(conn: &mut Conn<'_>, new: &NewUser<'_>) -> QueryResult<UserRow> {
    dispatch!(conn, |c| diesel::insert_into(users::table)
        .values(new)
        .returning(UserRow::as_returning())
        .get_result(c)
        .await)
}

pub async fn find(conn: &mut Conn<'_>, id: i64) -> QueryResult<Option<UserRow>> {
    dispatch!(conn, |c| users::table
        .find(id)
        .select(UserRow::as_select())
        .first(c)
        .await
        .optional())
}

/// A user who has not been removed, by e-mail (already normalised).
pub async fn find_live_by_email(conn: &mut Conn<'_>, email: &str) -> QueryResult<Option<UserRow>> {
    dispatch!(conn, |c| users::table
        .filter(users::email.eq(email))
        .filter(users::removed_at.is_null())
        .select(UserRow::as_select())
        .first(c)
        .await
        .optional())
}

/// Every user ever created, removed ones included (the first-start check).
pub async fn count_all(conn: &mut Conn<'_>) -> QueryResult<i64> {
    dispatch!(conn, |c| users::table.count().get_result(c).await)
}

/// Admins who can sign in: not deactivated, not removed, with a password.
pub async fn count_active_admins(conn: &mut Conn<'_>) -> QueryResult<i64> {
    dispatch!(conn, |c| users::table
        .filter(users::role.eq("admin"))
        .filter(users::deactivated_at.is_null())
        .filter(users::removed_at.is_null())
        .filter(users::password_hash.is_not_null())
        .count()
        .get_result(c)
        .await)
}

pub async fn list_live(conn: &mut Conn<'_>) -> QueryResult<Vec<UserRow>> {
    dispatch!(conn, |c| users::table
        .filter(users::removed_at.is_null())
        .order(users::email.asc())
        .select(UserRow::as_select())
        .load(c)
        .await)
}

/// Live personal tokens per user.
pub async fn live_token_counts(
    conn: &mut Conn<'_>,
    now: i64,
) -> QueryResult<Vec<(Option<i64>, i64)>> {
    dispatch!(conn, |c| tokens::table
        .filter(tokens::user_id.is_not_null())
        .filter(tokens::revoked_at.is_null())
        .filter(tokens::expires_at.is_null().or(tokens::expires_at.gt(now)))
        .group_by(tokens::user_id)
        .select((tokens::user_id, diesel::dsl::count(tokens::id)))
        .load(c)
        .await)
}

pub async fn set_role(conn: &mut Conn<'_>, id: i64, role: &str, now: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::update(users::table.find(id))
        .set((users::role.eq(role), users::updated_at.eq(now)))
        .execute(c)
        .await)
}

/// Deactivates (`Some(now)`) or reactivates (`None`). Deactivation also ends every session.
pub async fn set_deactivated(
    conn: &mut Conn<'_>,
    id: i64,
    at: Option<i64>,
    now: i64,
) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::update(users::table.find(id))
        .set((
            users::deactivated_at.eq(at),
            users::updated_at.eq(now),
            users::session_epoch.eq(users::session_epoch + 1),
        ))
        .execute(c)
        .await)
}

pub async fn set_removed(conn: &mut Conn<'_>, id: i64, now: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::update(users::table.find(id))
        .set((
            users::removed_at.eq(Some(now)),
            users::updated_at.eq(now),
            users::session_epoch.eq(users::session_epoch + 1),
        ))
        .execute(c)
        .await)
}

/// Sets a new password hash and ends every existing session of the user.
pub async fn set_password(
    conn: &mut Conn<'_>,
    id: i64,
    hash: &str,
    now: i64,
) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(Some(hash)),
            users::updated_at.eq(now),
            users::session_epoch.eq(users::session_epoch + 1),
        ))
        .execute(c)
        .await)
}

pub async fn touch_last_login(conn: &mut Conn<'_>, id: i64, now: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::update(users::table.find(id))
        .set(users::last_login_at.eq(Some(now)))
        .execute(c)
        .await)
}

/// Row lock serialising changes to one user's personal tokens on PostgreSQL (see
/// `service_accounts::lock`).
pub async fn lock(conn: &mut Conn<'_>, id: i64) -> QueryResult<Option<i64>> {
    match conn {
        Conn::Pg(c) => users::table
            .find(id)
            .select(users::id)
            .for_update()
            .first(*c)
            .await
            .optional(),
        Conn::Sqlite(c) => users::table
            .find(id)
            .select(users::id)
            .first(*c)
            .await
            .optional(),
    }
}
