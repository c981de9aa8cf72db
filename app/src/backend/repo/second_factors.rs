//! Second factors: a person's authenticator app (`user_totp`) and recovery codes
//! (`recovery_codes`). Every "use" is a conditional update, so two requests (in any
//! processes) cannot both use the same code.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::backend::db::schema::{recovery_codes, user_totp};
use crate::backend::db::{dispatch, Conn};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = user_totp)]
pub struct TotpRow {
    pub user_id: i64,
    pub secret_sealed: Vec<u8>,
    pub created_at: i64,
    pub confirmed_at: Option<i64>,
    pub last_step: Option<i64>,
}

pub async fn totp(conn: &mut Conn<'_>, user_id: i64) -> QueryResult<Option<TotpRow>> {
    dispatch!(conn, |c| user_totp::table
        .find(user_id)
        .select(TotpRow::as_select())
        .first(c)
        .await
        .optional())
}

/// Starts (or restarts) an enrolment: any unconfirmed secret is replaced. Returns false, and
/// changes nothing, when the person already has a confirmed app.
pub async fn put_pending(
    conn: &mut Conn<'_>,
    user_id: i64,
    sealed: &[u8],
    now: i64,
) -> QueryResult<bool> {
    dispatch!(conn, |c| diesel::delete(
        user_totp::table
            .filter(user_totp::user_id.eq(user_id))
            .filter(user_totp::confirmed_at.is_null())
    )
    .execute(c)
    .await)?;
    let confirmed: i64 = dispatch!(conn, |c| user_totp::table
        .filter(user_totp::user_id.eq(user_id))
        .count()
        .get_result(c)
        .await)?;
    if confirmed > 0 {
        return Ok(false);
    }
    dispatch!(conn, |c| diesel::insert_into(user_totp::table)
        .values((
            user_totp::user_id.eq(user_id),
            user_totp::secret_sealed.eq(sealed),
            user_totp::created_at.eq(now),
        ))
        .execute(c)
        .await)?;
    Ok(true)
}

/// Confirms an enrolment with the step of its first code. False when there was no pending
/// enrolment any more (confirmed or cancelled meanwhile).
pub async fn confirm(conn: &mut Conn<'_>, user_id: i64, step: i64, now: i64) -> QueryResult<bool> {
    let n = dispatch!(conn, |c| diesel::update(
        user_totp::table
            .filter(user_totp::user_id.eq(user_id))
            .filter(user_totp::confirmed_at.is_null())
    )
    .set((
        user_totp::confirmed_at.eq(Some(now)),
        user_totp::last_step.eq(Some(step)),
    ))
    .execute(c)
    .await)?;
    Ok(n == 1)
}

/// Records `step` as used. False when that step (or a later one) was already used: a replay,
/// or a second request with the same code that lost the race.
pub async fn accept_step(conn: &mut Conn<'_>, user_id: i64, step: i64) -> QueryResult<bool> {
    let n = dispatch!(conn, |c| diesel::update(
        user_totp::table
            .filter(user_totp::user_id.eq(user_id))
            .filter(user_totp::confirmed_at.is_not_null())
            .filter(
                user_totp::last_step
                    .is_null()
                    .or(user_totp::last_step.lt(step))
            )
    )
    .set(user_totp::last_step.eq(Some(step)))
    .execute(c)
    .await)?;
    Ok(n == 1)
}

/// Removes the app (confirmed or pending); returns whether there was one.
pub async fn delete_totp(conn: &mut Conn<'_>, user_id: i64) -> QueryResult<bool> {
    let n = dispatch!(conn, |c| diesel::delete(user_totp::table.find(user_id))
        .execute(c)
        .await)?;
    Ok(n > 0)
}

/// Removes an unconfirmed enrolment only.
pub async fn delete_pending(conn: &mut Conn<'_>, user_id: i64) -> QueryResult<bool> {
    let n = dispatch!(conn, |c| diesel::delete(
        user_totp::table
            .filter(user_totp::user_id.eq(user_id))
            .filter(user_totp::confirmed_at.is_null())
    )
    .execute(c)
    .await)?;
    Ok(n > 0)
}

/// Ids of the people among `user_ids` with a confirmed app.
pub async fn with_totp(conn: &mut Conn<'_>, user_ids: &[i64]) -> QueryResult<Vec<i64>> {
    dispatch!(conn, |c| user_totp::table
        .filter(user_totp::user_id.eq_any(user_ids))
        .filter(user_totp::confirmed_at.is_not_null())
        .select(user_totp::user_id)
        .load(c)
        .await)
}

/// Replaces all of a person's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    conn: &mut Conn<'_>,
    user_id: i64,
    hashes: &[Vec<u8>],
    now: i64,
) -> QueryResult<()> {
    delete_recovery_codes(conn, user_id).await?;
    // Ten rows: one statement each (Diesel's SQLite backend has no multi-row insert).
    for hash in hashes {
        dispatch!(conn, |c| diesel::insert_into(recovery_codes::table)
            .values((
                recovery_codes::user_id.eq(user_id),
                recovery_codes::code_hash.eq(hash.as_slice()),
                recovery_codes::created_at.eq(now),
            ))
            .execute(c)
            .await)?;
    }
    Ok(())
}

pub async fn delete_recovery_codes(conn: &mut Conn<'_>, user_id: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::delete(
        recovery_codes::table.filter(recovery_codes::user_id.eq(user_id))
    )
    .execute(c)
    .await)
}

/// Uses up the unused code with this hash; false when there is none (wrong, or already used,
/// perhaps a moment ago by a concurrent request).
pub async fn use_recovery_code(
    conn: &mut Conn<'_>,
    user_id: i64,
    hash: &[u8],
    now: i64,
) -> QueryResult<bool> {
    let n = dispatch!(conn, |c| diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user_id))
            .filter(recovery_codes::code_hash.eq(hash))
            .filter(recovery_codes::used_at.is_null())
    )
    .set(recovery_codes::used_at.eq(Some(now)))
    .execute(c)
    .await)?;
    Ok(n == 1)
}

pub async fn recovery_codes_left(conn: &mut Conn<'_>, user_id: i64) -> QueryResult<i64> {
    dispatch!(conn, |c| recovery_codes::table
        .filter(recovery_codes::user_id.eq(user_id))
        .filter(recovery_codes::used_at.is_null())
        .count()
        .get_result(c)
        .await)
}
