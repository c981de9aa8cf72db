use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;

use crate::backend::db::schema::settings;
use crate::backend::db::{dispatch, Conn};

pub const MAX_TOKEN_LIFETIME_DAYS: &str = "max_token_lifetime_days";
pub const DEFAULT_RATE_LIMIT: &str = "default_rate_limit_per_minute";
pub const STALE_TOKEN_DAYS: &str = "stale_token_days";
pub const KEY_FINGERPRINT: &str = "server_key_fingerprint";

pub async fn get(conn: &mut Conn<'_>, key: &str) -> QueryResult<Option<String>> {
    dispatch!(conn, |c| settings::table
        .find(key)
        .select(settings::value)
        .first(c)
        .await
        .optional())
}

pub async fn set(conn: &mut Conn<'_>, key: &str, value: &str, now: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::insert_into(settings::table)
        .values((
            settings::key.eq(key),
            settings::value.eq(value),
            settings::updated_at.eq(now)
        ))
        .on_conflict(settings::key)
        .do_update()
        .set((
            settings::value.eq(excluded(settings::value)),
            settings::updated_at.eq(excluded(settings::updated_at)),
        ))
        .execute(c)
        .await)
}

pub async fn delete(conn: &mut Conn<'_>, key: &str) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::delete(settings::table.find(key))
        .execute(c)
        .await)
}
