use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::backend::db::schema::auth_epoch;
use crate::backend::db::{dispatch, Conn};

/// Called in the same transaction as any change that cached credentials depend on.
pub async fn bump(conn: &mut Conn<'_>) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::update(auth_epoch::table.find(1))
        .set(auth_epoch::epoch.eq(auth_epoch::epoch + 1))
        .execute(c)
        .await)
}

pub async fn get(conn: &mut Conn<'_>) -> QueryResult<i64> {
    dispatch!(conn, |c| auth_epoch::table
        .find(1)
        .select(auth_epoch::epoch)
        .first(c)
        .await)
}
