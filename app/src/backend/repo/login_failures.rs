use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::backend::db::schema::login_failures;
use crate::backend::db::{dispatch, Conn};

/// Records an attempt (counted as a failure unless deleted again); returns its id. `ip` is
/// the throttling key of the address (`domain::throttle::address_key`).
pub async fn insert(conn: &mut Conn<'_>, email: &str, ip: &str, at: i64) -> QueryResult<i64> {
    dispatch!(conn, |c| diesel::insert_into(login_failures::table)
        .values((
            login_failures::email.eq(email),
            login_failures::ip.eq(ip),
            login_failures::at.eq(at),
        ))
        .returning(login_failures::id)
        .get_result(c)
        .await)
}

pub async fn delete(conn: &mut Conn<'_>, id: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::delete(login_failures::table.find(id))
        .execute(c)
        .await)
}

/// Serialises sign-in attempts on one account and on one address until the transaction
/// ends, so that checking the throttle and recording the attempt are one step: on
/// PostgreSQL with transaction-scoped advisory locks (account first, then address, always in
/// that order), on SQLite by the exclusive write transaction itself.
///
/// Must be the transaction's first statement. On PostgreSQL the transaction is READ
/// COMMITTED whatever the server's default (each count must see the attempts committed while
/// it waited for the lock), and waits at most `lock_timeout` for a lock, so a stuck holder
/// turns sign-ins into "try again" (503) rather than piling up connections.
pub async fn lock(conn: &mut Conn<'_>, email: &str, ip: &str) -> QueryResult<()> {
    use diesel::sql_types::Text;
    if let Conn::Pg(c) = conn {
        diesel::sql_query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            .execute(*c)
            .await?;
        diesel::sql_query("SET LOCAL lock_timeout = '5s'")
            .execute(*c)
            .await?;
        diesel::sql_query("SELECT pg_advisory_xact_lock(7101, hashtext($1))::text")
            .bind::<Text, _>(email)
            .execute(*c)
            .await?;
        diesel::sql_query("SELECT pg_advisory_xact_lock(7102, hashtext($1))::text")
            .bind::<Text, _>(ip)
            .execute(*c)
            .await?;
    }
    Ok(())
}

/// Failure times since `since`, newest first, for one account from one address.
pub async fn recent_for_pair(
    conn: &mut Conn<'_>,
    email: &str,
    ip: &str,
    since: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    dispatch!(conn, |c| login_failures::table
        .filter(login_failures::email.eq(email))
        .filter(login_failures::ip.eq(ip))
        .filter(login_failures::at.gt(since))
        .order(login_failures::at.desc())
        .limit(limit)
        .select(login_failures::at)
        .load(c)
        .await)
}

/// How many failures one account has had since `since`, from anywhere.
pub async fn account_count(conn: &mut Conn<'_>, email: &str, since: i64) -> QueryResult<i64> {
    use diesel::dsl::count_star;
    dispatch!(conn, |c| login_failures::table
        .filter(login_failures::email.eq(email))
        .filter(login_failures::at.gt(since))
        .select(count_star())
        .first(c)
        .await)
}

/// Failure times since `since`, newest first, from one address (throttling key).
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

/// A successful sign-in wipes the failures of that account from that address (only: the
/// others are someone else's guesses until shown otherwise).
pub async fn clear_pair(conn: &mut Conn<'_>, email: &str, ip: &str) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::delete(
        login_failures::table
            .filter(login_failures::email.eq(email))
            .filter(login_failures::ip.eq(ip))
    )
    .execute(c)
    .await)
}

/// Wipes an account's whole failure history (`keyward user unlock`).
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
