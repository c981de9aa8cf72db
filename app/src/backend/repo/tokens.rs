use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::backend::db::schema::{service_accounts, tokens, users};
use crate::backend::db::{dispatch, Conn};

#[derive(Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = tokens)]
pub struct TokenRow {
    pub id: i64,
    pub public_id: String,
    pub kind: String,
    pub service_account_id: Option<i64>,
    pub user_id: Option<i64>,
    pub name: String,
    pub description: String,
    pub display_prefix: String,
    pub secret_hash: Vec<u8>,
    pub previous_secret_hash: Option<Vec<u8>>,
    pub previous_secret_expires_at: Option<i64>,
    pub created_at: i64,
    pub created_by: Option<i64>,
    pub created_by_label: String,
    pub expires_at: Option<i64>,
    pub sliding_days: Option<i32>,
    pub rotated_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub last_used_ip: Option<String>,
    pub last_used_user_agent: Option<String>,
    pub revoked_at: Option<i64>,
    pub revoked_by_label: Option<String>,
    pub revoke_reason: Option<String>,
    pub allowed_cidrs: String,
    pub rate_limit_per_minute: Option<i32>,
    pub owner_name: String,
}

impl std::fmt::Debug for TokenRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRow")
            .field("id", &self.id)
            .field("display_prefix", &self.display_prefix)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[derive(Insertable)]
#[diesel(table_name = tokens)]
pub struct NewToken<'a> {
    pub public_id: &'a str,
    pub kind: &'a str,
    pub service_account_id: Option<i64>,
    pub user_id: Option<i64>,
    pub name: &'a str,
    pub description: &'a str,
    pub display_prefix: &'a str,
    pub secret_hash: &'a [u8],
    pub created_at: i64,
    pub created_by: Option<i64>,
    pub created_by_label: &'a str,
    pub expires_at: Option<i64>,
    pub sliding_days: Option<i32>,
    pub allowed_cidrs: &'a str,
    pub rate_limit_per_minute: Option<i32>,
    /// Copies of the owner's name and role, for the organisation-wide table.
    pub owner_name: &'a str,
    pub owner_role: &'a str,
    pub search_text: &'a str,
}

/// The owner columns a token view needs, from whichever table owns it.
pub type SaOwner = (String, String, Option<i64>, Option<i64>, bool); // name, role, disabled_at, deleted_at, can_introspect
pub type UserOwner = (String, String, String, Option<i64>, Option<i64>); // email, display name, role, deactivated_at, removed_at
pub type TokenWithOwner = (TokenRow, Option<SaOwner>, Option<UserOwner>);

pub async fn insert(conn: &mut Conn<'_>, new: &NewToken<'_>) -> QueryResult<TokenRow> {
    dispatch!(conn, |c| diesel::insert_into(tokens::table)
        .values(new)
        .returning(TokenRow::as_returning())
        .get_result(c)
        .await)
}

pub async fn find(conn: &mut Conn<'_>, id: i64) -> QueryResult<Option<TokenRow>> {
    dispatch!(conn, |c| tokens::table
        .find(id)
        .select(TokenRow::as_select())
        .first(c)
        .await
        .optional())
}

pub async fn find_by_public_id(
    conn: &mut Conn<'_>,
    public_id: &str,
) -> QueryResult<Option<TokenRow>> {
    dispatch!(conn, |c| tokens::table
        .filter(tokens::public_id.eq(public_id))
        .select(TokenRow::as_select())
        .first(c)
        .await
        .optional())
}

macro_rules! with_owner_select {
    () => {
        (
            TokenRow::as_select(),
            (
                service_accounts::name,
                service_accounts::role,
                service_accounts::disabled_at,
                service_accounts::deleted_at,
                service_accounts::can_introspect,
            )
                .nullable(),
            (
                users::email,
                users::display_name,
                users::role,
                users::deactivated_at,
                users::removed_at,
            )
                .nullable(),
        )
    };
}

pub async fn find_with_owner_by_public_id(
    conn: &mut Conn<'_>,
    public_id: &str,
) -> QueryResult<Option<TokenWithOwner>> {
    dispatch!(conn, |c| tokens::table
        .left_join(service_accounts::table)
        .left_join(users::table)
        .filter(tokens::public_id.eq(public_id))
        .select(with_owner_select!())
        .first(c)
        .await
        .optional())
}

pub async fn find_with_owner(conn: &mut Conn<'_>, id: i64) -> QueryResult<Option<TokenWithOwner>> {
    dispatch!(conn, |c| tokens::table
        .left_join(service_accounts::table)
        .left_join(users::table)
        .filter(tokens::id.eq(id))
        .select(with_owner_select!())
        .first(c)
        .await
        .optional())
}

/// Every token of one service account (or one user's personal tokens), newest first.
pub async fn list_for_owner(
    conn: &mut Conn<'_>,
    service_account_id: Option<i64>,
    user_id: Option<i64>,
) -> QueryResult<Vec<TokenWithOwner>> {
    macro_rules! base {
        () => {{
            let q = tokens::table
                .left_join(service_accounts::table)
                .left_join(users::table)
                .into_boxed();
            match (service_account_id, user_id) {
                (Some(sa), _) => q.filter(tokens::service_account_id.eq(sa)),
                (None, Some(u)) => q.filter(tokens::user_id.eq(u)),
                (None, None) => q.filter(tokens::id.eq(-1)),
            }
        }};
    }
    dispatch!(conn, |c| base!()
        .order((tokens::created_at.desc(), tokens::id.desc()))
        .select(with_owner_select!())
        .load(c)
        .await)
}

/// Live tokens (not revoked, not expired) of one owner: what the cap of 20 counts.
pub async fn count_live(
    conn: &mut Conn<'_>,
    service_account_id: Option<i64>,
    user_id: Option<i64>,
    now: i64,
) -> QueryResult<i64> {
    macro_rules! base {
        () => {{
            let q = tokens::table
                .filter(tokens::revoked_at.is_null())
                .filter(tokens::expires_at.is_null().or(tokens::expires_at.gt(now)))
                .into_boxed();
            match (service_account_id, user_id) {
                (Some(sa), _) => q.filter(tokens::service_account_id.eq(sa)),
                (None, Some(u)) => q.filter(tokens::user_id.eq(u)),
                (None, None) => q.filter(tokens::id.eq(-1)),
            }
        }};
    }
    dispatch!(conn, |c| base!().count().get_result(c).await)
}

/// Live (neither revoked nor expired) tokens per kind, for metrics.
pub async fn live_by_kind(conn: &mut Conn<'_>, now: i64) -> QueryResult<Vec<(String, i64)>> {
    dispatch!(conn, |c| tokens::table
        .filter(tokens::revoked_at.is_null())
        .filter(tokens::expires_at.is_null().or(tokens::expires_at.gt(now)))
        .group_by(tokens::kind)
        .select((tokens::kind, diesel::dsl::count_star()))
        .load(c)
        .await)
}

pub async fn name_taken(
    conn: &mut Conn<'_>,
    service_account_id: Option<i64>,
    user_id: Option<i64>,
    name: &str,
    except_id: Option<i64>,
) -> QueryResult<bool> {
    macro_rules! base {
        () => {{
            let q = tokens::table
                .filter(tokens::name.eq(name))
                .filter(tokens::id.ne(except_id.unwrap_or(-1)))
                .into_boxed();
            match (service_account_id, user_id) {
                (Some(sa), _) => q.filter(tokens::service_account_id.eq(sa)),
                (None, Some(u)) => q.filter(tokens::user_id.eq(u)),
                (None, None) => q.filter(tokens::id.eq(-1)),
            }
        }};
    }
    let n: i64 = dispatch!(conn, |c| base!().count().get_result(c).await)?;
    Ok(n > 0)
}

/// Revokes a live token; returns the number of rows changed (0 if it was already revoked).
pub async fn revoke(
    conn: &mut Conn<'_>,
    id: i64,
    now: i64,
    by: &str,
    reason: &str,
) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::update(tokens::table.find(id))
        .filter(tokens::revoked_at.is_null())
        .set(revocation(now, by, reason))
        .execute(c)
        .await)
}

/// Revokes every live token of a service account or a user (owner deleted or removed).
pub async fn revoke_all_for_owner(
    conn: &mut Conn<'_>,
    service_account_id: Option<i64>,
    user_id: Option<i64>,
    now: i64,
    by: &str,
    reason: &str,
) -> QueryResult<usize> {
    macro_rules! filter_owner {
        () => {{
            let q = diesel::update(tokens::table)
                .filter(tokens::revoked_at.is_null())
                .into_boxed();
            match (service_account_id, user_id) {
                (Some(sa), _) => q.filter(tokens::service_account_id.eq(sa)),
                (None, Some(u)) => q.filter(tokens::user_id.eq(u)),
                (None, None) => q.filter(tokens::id.eq(-1)),
            }
        }};
    }
    dispatch!(conn, |c| filter_owner!()
        .set(revocation(now, by, reason))
        .execute(c)
        .await)
}

pub async fn restore(conn: &mut Conn<'_>, id: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::update(tokens::table.find(id))
        .filter(tokens::revoked_at.is_not_null())
        .set((
            tokens::revoked_at.eq(None::<i64>),
            tokens::revoked_by_label.eq(None::<String>),
            tokens::revoke_reason.eq(None::<String>),
        ))
        .execute(c)
        .await)
}

pub async fn delete(conn: &mut Conn<'_>, id: i64) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::delete(tokens::table.find(id))
        .execute(c)
        .await)
}

pub async fn update_details(
    conn: &mut Conn<'_>,
    id: i64,
    name: &str,
    description: &str,
    allowed_cidrs: &str,
    rate_limit_per_minute: Option<i32>,
    search_text: &str,
) -> QueryResult<usize> {
    dispatch!(conn, |c| diesel::update(tokens::table.find(id))
        .set((
            tokens::name.eq(name),
            tokens::description.eq(description),
            tokens::search_text.eq(search_text),
            tokens::allowed_cidrs.eq(allowed_cidrs),
            tokens::rate_limit_per_minute.eq(rate_limit_per_minute),
        ))
        .execute(c)
        .await)
}

/// Puts a new secret hash in place; the old one stays valid until `previous_expires_at`
/// (or not at all when that is `None`).
pub async fn rotate(
    conn: &mut Conn<'_>,
    id: i64,
    new_hash: &[u8],
    previous: Option<(&[u8], i64)>,
    now: i64,
) -> QueryResult<usize> {
    let (prev_hash, prev_exp) = match previous {
        Some((h, at)) => (Some(h.to_vec()), Some(at)),
        None => (None, None),
    };
    dispatch!(conn, |c| diesel::update(tokens::table.find(id))
        .filter(tokens::revoked_at.is_null())
        .set((
            tokens::secret_hash.eq(new_hash),
            tokens::previous_secret_hash.eq(prev_hash),
            tokens::previous_secret_expires_at.eq(prev_exp),
            tokens::rotated_at.eq(Some(now)),
        ))
        .execute(c)
        .await)
}

/// Every token with its owner, newest first (the command line's `token list`).
pub async fn list_all(conn: &mut Conn<'_>, limit: i64) -> QueryResult<Vec<TokenWithOwner>> {
    dispatch!(conn, |c| tokens::table
        .left_join(service_accounts::table)
        .left_join(users::table)
        .order((tokens::created_at.desc(), tokens::id.desc()))
        .limit(limit)
        .select(with_owner_select!())
        .load(c)
        .await)
}

/// Revokes a token as leaked (or re-labels an earlier revocation as leaked, so that it can
/// never be restored). Returns the number of rows changed.
pub async fn mark_leaked(conn: &mut Conn<'_>, id: i64, now: i64) -> QueryResult<usize> {
    let live = dispatch!(conn, |c| diesel::update(tokens::table.find(id))
        .filter(tokens::revoked_at.is_null())
        .set((
            tokens::revoked_at.eq(Some(now)),
            tokens::revoked_by_label.eq(Some("leak report")),
            tokens::revoke_reason.eq(Some("leaked")),
            tokens::previous_secret_hash.eq(None::<Vec<u8>>),
            tokens::previous_secret_expires_at.eq(None::<i64>),
        ))
        .execute(c)
        .await)?;
    if live > 0 {
        return Ok(live);
    }
    dispatch!(conn, |c| diesel::update(tokens::table.find(id))
        .filter(tokens::revoke_reason.ne("leaked"))
        .set(tokens::revoke_reason.eq(Some("leaked")))
        .execute(c)
        .await)
}

/// Keeps the owner's role copied onto its tokens in step (see the token table migration).
pub async fn set_owner_role(
    conn: &mut Conn<'_>,
    service_account_id: Option<i64>,
    user_id: Option<i64>,
    role: &str,
) -> QueryResult<usize> {
    match (service_account_id, user_id) {
        (Some(sa), _) => dispatch!(conn, |c| diesel::update(
            tokens::table.filter(tokens::service_account_id.eq(sa))
        )
        .set(tokens::owner_role.eq(role))
        .execute(c)
        .await),
        (None, Some(u)) => dispatch!(conn, |c| diesel::update(
            tokens::table.filter(tokens::user_id.eq(u))
        )
        .set(tokens::owner_role.eq(role))
        .execute(c)
        .await),
        (None, None) => Ok(0),
    }
}

/// Keeps the owner's disabled (or deactivated, deleted, removed) state copied onto its tokens.
pub async fn set_owner_disabled(
    conn: &mut Conn<'_>,
    service_account_id: Option<i64>,
    user_id: Option<i64>,
    disabled: bool,
) -> QueryResult<usize> {
    match (service_account_id, user_id) {
        (Some(sa), _) => dispatch!(conn, |c| diesel::update(
            tokens::table.filter(tokens::service_account_id.eq(sa))
        )
        .set(tokens::owner_disabled.eq(disabled))
        .execute(c)
        .await),
        (None, Some(u)) => dispatch!(conn, |c| diesel::update(
            tokens::table.filter(tokens::user_id.eq(u))
        )
        .set(tokens::owner_disabled.eq(disabled))
        .execute(c)
        .await),
        (None, None) => Ok(0),
    }
}

/// Revokes the given live tokens (bulk revoke); returns the ids it revoked (not those that
/// were revoked already).
/// What revoking writes: when, by whom, why, and no grace period left for a rotated-out secret.
pub(crate) type Revocation<'a> = (
    diesel::dsl::Eq<tokens::revoked_at, Option<i64>>,
    diesel::dsl::Eq<tokens::revoked_by_label, Option<&'a str>>,
    diesel::dsl::Eq<tokens::revoke_reason, Option<&'a str>>,
    diesel::dsl::Eq<tokens::previous_secret_hash, Option<Vec<u8>>>,
    diesel::dsl::Eq<tokens::previous_secret_expires_at, Option<i64>>,
);

pub(crate) fn revocation<'a>(now: i64, by: &'a str, reason: &'a str) -> Revocation<'a> {
    (
        tokens::revoked_at.eq(Some(now)),
        tokens::revoked_by_label.eq(Some(by)),
        tokens::revoke_reason.eq(Some(reason)),
        tokens::previous_secret_hash.eq(None::<Vec<u8>>),
        tokens::previous_secret_expires_at.eq(None::<i64>),
    )
}

pub async fn revoke_many(
    conn: &mut Conn<'_>,
    ids: &[i64],
    now: i64,
    by: &str,
    reason: &str,
) -> QueryResult<Vec<i64>> {
    let mut revoked = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        revoked.extend(dispatch!(conn, |c| diesel::update(
            tokens::table.filter(tokens::id.eq_any(chunk))
        )
        .filter(tokens::revoked_at.is_null())
        .set(revocation(now, by, reason))
        .returning(tokens::id)
        .get_results::<i64>(c)
        .await)?);
    }
    Ok(revoked)
}
