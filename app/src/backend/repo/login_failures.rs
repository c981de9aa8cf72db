use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::backend::db::schema::login_failures;
use crate::backend::db::{dispatch, Conn};

pub async fn insert(conn: &mut Conn<'_>, email: &str, ip: &str, at: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::insert_into(login_failures::table)
        .values((
            login_failures::email.eq(email),
            login_failures::ip.eq(ip),
            login_failures::at.eq(at),
        ))
        .execute(c)
        .await)
}

/// Failure times since `since`, newest first, for one e-mail address.
pub async fn recent_for_email(
    conn: &mut Conn<'_>,
    email: &str,
    since: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    dispatch!(conn, |c| login_failures::table
        .filter(login_failures::email.eq(email))
        .filter(login_failures::at.gt(since))
        .order(login_failures::at.desc())
        .limit(limit)
        .select(login_failures::at)
        .load(c)
        .await)
}

pub async fn recent_for_ip(
    conn: &mut Conn<'_>,
    ip: &str,
    since: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    dispatch!(conn, |c| login_failures::table
        .filter(login_failures::ip.eq(ip))
        .filter(login_failures::at.gt(since))
        .order(login_failures::at.desc())
        .limit(limit)
        .select(login_failures::at)
        .load(c)
        .await)
}

/// A successful login wipes the account's failure history.
pub async fn clear_email(conn: &mut Conn<'_>, email: &str) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::delete(
        login_failures::table.filter(login_failures::email.eq(email))
    )
    .execute(c)
    .await)
}

pub async fn delete_older_than(conn: &mut Conn<'_>, before: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::delete(
        login_failures::table.filter(login_failures::at.le(before))
    )
    .execute(c)
    .await)
}
