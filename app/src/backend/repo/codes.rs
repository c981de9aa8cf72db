use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::backend::db::schema::one_time_codes;
use crate::backend::db::{dispatch, Conn};

pub const BOOTSTRAP: &str = "bootstrap";
pub const SET_PASSWORD: &str = "set_password";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = one_time_codes)]
pub struct CodeRow {
    pub id: i64,
    pub purpose: String,
    pub user_id: Option<i64>,
    pub expires_at: i64,
}

pub async fn insert(
    conn: &mut Conn<'_>,
    purpose: &str,
    hash: &[u8],
    user_id: Option<i64>,
    now: i64,
    expires_at: i64,
) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::insert_into(one_time_codes::table)
        .values((
            one_time_codes::purpose.eq(purpose),
            one_time_codes::code_hash.eq(hash),
            one_time_codes::user_id.eq(user_id),
            one_time_codes::created_at.eq(now),
            one_time_codes::expires_at.eq(expires_at),
        ))
        .execute(c)
        .await)
}

/// An unused, unexpired code of this purpose with this hash.
pub async fn find_valid(
    conn: &mut Conn<'_>,
    purpose: &str,
    hash: &[u8],
    now: i64,
) -> QueryResult<Option<CodeRow>> {
    dispatch!(conn, |c| one_time_codes::table
        .filter(one_time_codes::purpose.eq(purpose))
        .filter(one_time_codes::code_hash.eq(hash))
        .filter(one_time_codes::used_at.is_null())
        .filter(one_time_codes::expires_at.gt(now))
        .select(CodeRow::as_select())
        .first(c)
        .await
        .optional())
}

/// Marks a code used; returns false if it was already used (a concurrent request won).
pub async fn consume(conn: &mut Conn<'_>, id: i64, now: i64) -> QueryResult<bool> {
    let n = dispatch!(conn, |c| diesel::update(one_time_codes::table.find(id))
        .filter(one_time_codes::used_at.is_null())
        .set(one_time_codes::used_at.eq(Some(now)))
        .execute(c)
        .await)?;
    Ok(n == 1)
}

/// Kills every open code of a purpose (for one user, or all bootstrap codes).
pub async fn invalidate(
    conn: &mut Conn<'_>,
    purpose: &str,
    user_id: Option<i64>,
    now: i64,
) -> QueryResult<usize> {
    match user_id {
        Some(uid) => dispatch!(conn, |c| diesel::update(one_time_codes::table)
            .filter(one_time_codes::purpose.eq(purpose))
            .filter(one_time_codes::user_id.eq(uid))
            .filter(one_time_codes::used_at.is_null())
            .set(one_time_codes::used_at.eq(Some(now)))
            .execute(c)
            .await),
        None => dispatch!(conn, |c| diesel::update(one_time_codes::table)
            .filter(one_time_codes::purpose.eq(purpose))
            .filter(one_time_codes::used_at.is_null())
            .set(one_time_codes::used_at.eq(Some(now)))
            .execute(c)
            .await),
    }
}
