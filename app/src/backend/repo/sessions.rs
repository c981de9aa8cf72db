use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;

use crate::backend::db::schema::sessions;
use crate::backend::db::{dispatch, Conn};

pub async fn upsert(
    conn: &mut Conn<'_>,
    id: &str,
    data: &str,
    expires_at: i64,
    user_id: Option<i64>,
) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::data.eq(data),
            sessions::expires_at.eq(expires_at),
            sessions::user_id.eq(user_id),
        ))
        .on_conflict(sessions::id)
        .do_update()
        .set((
            sessions::data.eq(excluded(sessions::data)),
            sessions::expires_at.eq(excluded(sessions::expires_at)),
            sessions::user_id.eq(excluded(sessions::user_id)),
        ))
        .execute(c)
        .await)
}

/// Inserts only if the id is free; returns false on a collision.
pub async fn insert_new(
    conn: &mut Conn<'_>,
    id: &str,
    data: &str,
    expires_at: i64,
    user_id: Option<i64>,
) -> QueryResult<bool> {
    let n = dispatch!(conn, |c| diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(id),
            sessions::data.eq(data),
            sessions::expires_at.eq(expires_at),
            sessions::user_id.eq(user_id),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await)?;
    Ok(n == 1)
}

pub async fn load(conn: &mut Conn<'_>, id: &str, now: i64) -> QueryResult<Option<(String, i64)>> {
    dispatch!(conn, |c| sessions::table
        .find(id)
        .filter(sessions::expires_at.gt(now))
        .select((sessions::data, sessions::expires_at))
        .first(c)
        .await
        .optional())
}

pub async fn delete(conn: &mut Conn<'_>, id: &str) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::delete(sessions::table.find(id))
        .execute(c)
        .await)
}

pub async fn delete_expired(conn: &mut Conn<'_>, now: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::delete(
        sessions::table.filter(sessions::expires_at.le(now))
    )
    .execute(c)
    .await)
}

pub async fn delete_for_user(conn: &mut Conn<'_>, user_id: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::delete(
        sessions::table.filter(sessions::user_id.eq(user_id))
    )
    .execute(c)
    .await)
}
