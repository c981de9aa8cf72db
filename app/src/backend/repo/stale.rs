//! The stale-token policy's queries: which live tokens have been quiet since a cutoff, their
//! warnings (`token_stale_warnings`) and their revocation. A token's activity is
//! `COALESCE(last_used_at, created_at)`, as `domain::stale::activity` says.

use diesel::dsl::{exists, not};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;

use super::tokens::TokenRow;
use crate::backend::db::schema::{token_stale_warnings, tokens};
use crate::backend::db::{dispatch, Conn};

diesel::define_sql_function! {
    /// SQL `COALESCE()` of a nullable column and a fallback.
    fn coalesce(x: diesel::sql_types::Nullable<BigInt>, y: BigInt) -> BigInt;
}

/// Tokens that can be used today (not revoked, not expired, owner enabled) and were last
/// active at or before `cutoff`, oldest activity first.
macro_rules! quiet_since {
    ($now:expr, $cutoff:expr) => {
        tokens::table
            .filter(tokens::revoked_at.is_null())
            .filter(tokens::owner_disabled.eq(false))
            .filter(tokens::expires_at.is_null().or(tokens::expires_at.gt($now)))
            .filter(coalesce(tokens::last_used_at, tokens::created_at).le($cutoff))
    };
}

/// How many tokens were last active at or before `cutoff`, and the first `limit` of them.
pub async fn quiet(
    conn: &mut Conn<'_>,
    now: i64,
    cutoff: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<TokenRow>)> {
    dispatch!(conn, |c| {
        let count = quiet_since!(now, cutoff).count().get_result(c).await?;
        let rows = quiet_since!(now, cutoff)
            .order((
                coalesce(tokens::last_used_at, tokens::created_at),
                tokens::id,
            ))
            .limit(limit)
            .select(TokenRow::as_select())
            .load(c)
            .await?;
        Ok((count, rows))
    })
}

/// Quiet tokens not yet warned about their current activity.
pub async fn unwarned(
    conn: &mut Conn<'_>,
    now: i64,
    cutoff: i64,
    limit: i64,
) -> QueryResult<Vec<TokenRow>> {
    dispatch!(conn, |c| quiet_since!(now, cutoff)
        .filter(not(exists(
            token_stale_warnings::table
                .filter(token_stale_warnings::token_id.eq(tokens::id))
                .filter(
                    token_stale_warnings::activity_at
                        .eq(coalesce(tokens::last_used_at, tokens::created_at))
                ),
        )))
        .order(tokens::id)
        .limit(limit)
        .select(TokenRow::as_select())
        .load(c)
        .await)
}

/// Records the warning about `activity`; true when this call wrote it (so this caller, and no
/// other process, sends the warning).
pub async fn record_warning(
    conn: &mut Conn<'_>,
    token_id: i64,
    activity: i64,
    now: i64,
) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Written {
        #[diesel(sql_type = BigInt)]
        #[allow(dead_code)]
        token_id: i64,
    }
    // Diesel's upsert has no `DO UPDATE … WHERE`; both engines speak this one.
    const SQL: &str = "INSERT INTO token_stale_warnings (token_id, activity_at, warned_at) \
         VALUES ($1, $2, $3) ON CONFLICT (token_id) DO UPDATE \
         SET activity_at = excluded.activity_at, warned_at = excluded.warned_at \
         WHERE token_stale_warnings.activity_at <> excluded.activity_at RETURNING token_id";
    let written: Vec<Written> = match conn {
        Conn::Pg(c) => {
            diesel::sql_query(SQL)
                .bind::<BigInt, _>(token_id)
                .bind::<BigInt, _>(activity)
                .bind::<BigInt, _>(now)
                .load(*c)
                .await?
        }
        Conn::Sqlite(c) => {
            diesel::sql_query(SQL.replace('$', "?"))
                .bind::<BigInt, _>(token_id)
                .bind::<BigInt, _>(activity)
                .bind::<BigInt, _>(now)
                .load(*c)
                .await?
        }
    };
    Ok(!written.is_empty())
}

/// Quiet tokens (activity at or before `cutoff`) warned about that same activity at or before
/// `warned_by`: the ones the policy revokes.
pub async fn due_for_revocation(
    conn: &mut Conn<'_>,
    now: i64,
    cutoff: i64,
    warned_by: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    dispatch!(conn, |c| quiet_since!(now, cutoff)
        .filter(exists(
            token_stale_warnings::table
                .filter(token_stale_warnings::token_id.eq(tokens::id))
                .filter(
                    token_stale_warnings::activity_at
                        .eq(coalesce(tokens::last_used_at, tokens::created_at))
                )
                .filter(token_stale_warnings::warned_at.le(warned_by)),
        ))
        .order(tokens::id)
        .limit(limit)
        .select(tokens::id)
        .load(c)
        .await)
}

/// Revokes those of `ids` still quiet since `cutoff` (one used a moment ago stays) and
/// returns the ones revoked.
pub async fn revoke(
    conn: &mut Conn<'_>,
    ids: &[i64],
    now: i64,
    cutoff: i64,
    by: &str,
) -> QueryResult<Vec<i64>> {
    let mut revoked = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        revoked.extend(dispatch!(conn, |c| diesel::update(
            quiet_since!(now, cutoff).filter(tokens::id.eq_any(chunk))
        )
        .set(super::tokens::revocation(now, by, "policy"))
        .returning(tokens::id)
        .get_results::<i64>(c)
        .await)?);
    }
    Ok(revoked)
}

/// Forgets a token's warning (a restored token gets a fresh week before the policy acts).
pub async fn forget_warning(conn: &mut Conn<'_>, token_id: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::delete(
        token_stale_warnings::table.filter(token_stale_warnings::token_id.eq(token_id))
    )
    .execute(c)
    .await)
}

/// Forgets every warning (the policy changed: the new one warns afresh).
pub async fn forget_all_warnings(conn: &mut Conn<'_>) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::delete(token_stale_warnings::table)
        .execute(c)
        .await)
}

/// The token's warning, if it has one: (activity it was about, when it was sent).
pub async fn warning(conn: &mut Conn<'_>, token_id: i64) -> QueryResult<Option<(i64, i64)>> {
    dispatch!(conn, |c| token_stale_warnings::table
        .find(token_id)
        .select((
            token_stale_warnings::activity_at,
            token_stale_warnings::warned_at
        ))
        .first(c)
        .await
        .optional())
}
