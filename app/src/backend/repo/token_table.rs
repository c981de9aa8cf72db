//! Queries of the organisation-wide token table. Filters and sort work on the token row alone
//! (owner name, role and disabled state are copied onto it), so every sort has an index and
//! a page is found by walking it; rows are then loaded with their owner by id.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel_async::RunQueryDsl;

use super::tokens::TokenWithOwner;
use crate::backend::db::schema::{service_accounts, tokens, users};
use crate::backend::db::Conn;
use crate::domain::limits::{DAY_SECS, EXPIRY_WARNING_DAYS};
use crate::domain::token_query::{SortColumn, Usage};
use crate::model::TokenStatus;

/// How the search string is matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    None,
    /// Substring of the lowercased search text.
    Substring(String),
}

/// Everything that narrows the table, resolved to values.
#[derive(Debug, Clone, Default)]
pub struct TableFilter {
    pub service_accounts_only: bool,
    pub kind: Option<&'static str>,
    pub statuses: Vec<TokenStatus>,
    pub usage: Option<Usage>,
    pub expiring_within_days: Option<i64>,
    pub owners: Vec<String>,
    pub created_from: Option<i64>,
    pub created_before: Option<i64>,
    pub search: Option<String>,
    /// Use the SQLite full-text index for the search (set when the search is selective).
    pub search_indexed: bool,
    /// Only owners with one of these roles (bulk revoke by a Power User).
    pub owner_roles: Option<Vec<&'static str>>,
    /// Only live tokens (not revoked, not expired).
    pub live_only: bool,
    /// Keyset for the CSV export: ids above this one.
    pub after_id: Option<i64>,
    pub now: i64,
}

/// The SQL condition for one status, as `status_of` defines it.
fn status_condition(status: TokenStatus, now: i64) -> String {
    let soon = now + EXPIRY_WARNING_DAYS * DAY_SECS;
    // Values are integers computed here, never user input.
    match status {
        TokenStatus::Revoked => "tokens.revoked_at IS NOT NULL".into(),
        TokenStatus::Expired => format!("(tokens.revoked_at IS NULL AND tokens.expires_at <= {now})"),
        TokenStatus::OwnerDisabled => format!(
            "(tokens.revoked_at IS NULL AND tokens.owner_disabled AND (tokens.expires_at IS NULL OR tokens.expires_at > {now}))"
        ),
        TokenStatus::ExpiringSoon => format!(
            "(tokens.revoked_at IS NULL AND NOT tokens.owner_disabled AND tokens.expires_at > {now} AND tokens.expires_at < {soon})"
        ),
        TokenStatus::Active => format!(
            "(tokens.revoked_at IS NULL AND NOT tokens.owner_disabled AND (tokens.expires_at IS NULL OR tokens.expires_at >= {soon}))"
        ),
    }
}

/// The SQLite full-text phrase for a substring (trigram tokenizer: needs 3+ characters).
pub fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Builds the filtered, boxed query of token ids for backend `$db`.
macro_rules! filtered {
    ($db:ty, $f:expr) => {{
        let f: &TableFilter = $f;
        let mut q = tokens::table.into_boxed::<$db>();
        if f.service_accounts_only {
            q = q.filter(tokens::kind.eq("service_account"));
        }
        if let Some(kind) = f.kind {
            q = q.filter(tokens::kind.eq(kind));
        }
        if !f.statuses.is_empty() {
            let any: Vec<String> = f
                .statuses
                .iter()
                .map(|s| status_condition(*s, f.now))
                .collect();
            q = q.filter(diesel::dsl::sql::<Bool>(&format!("({})", any.join(" OR "))));
        }
        match f.usage {
            None | Some(Usage::Any) => {}
            Some(Usage::Never) => q = q.filter(tokens::last_used_at.is_null()),
            Some(Usage::UnusedFor(days)) => {
                q = q.filter(
                    tokens::last_used_at
                        .is_null()
                        .or(tokens::last_used_at.lt(f.now - days * DAY_SECS)),
                )
            }
            Some(Usage::UsedWithin(days)) => {
                q = q.filter(tokens::last_used_at.ge(f.now - days * DAY_SECS))
            }
        }
        if let Some(days) = f.expiring_within_days {
            q = q
                .filter(tokens::revoked_at.is_null())
                .filter(tokens::expires_at.gt(f.now))
                .filter(tokens::expires_at.le(f.now + days * DAY_SECS));
        }
        if !f.owners.is_empty() {
            q = q.filter(tokens::owner_name.eq_any(f.owners.clone()));
        }
        if let Some(from) = f.created_from {
            q = q.filter(tokens::created_at.ge(from));
        }
        if let Some(before) = f.created_before {
            q = q.filter(tokens::created_at.lt(before));
        }
        if let Some(roles) = &f.owner_roles {
            q = q.filter(tokens::owner_role.eq_any(roles.clone()));
        }
        if f.live_only {
            q = q.filter(tokens::revoked_at.is_null()).filter(
                tokens::expires_at
                    .is_null()
                    .or(tokens::expires_at.gt(f.now)),
            );
        }
        if let Some(after) = f.after_id {
            q = q.filter(tokens::id.gt(after));
        }
        if let Some(text) = &f.search {
            q = q.filter(search_condition::<$db>(text, f.search_indexed));
        }
        q
    }};
}

/// Substring search. PostgreSQL: LIKE, which its trigram index serves. SQLite: the FTS5
/// trigram index when the search is selective, else an exact `instr` scan (which walks the
/// sort index and stops once the page is full).
fn search_condition<DB>(
    text: &str,
    indexed: bool,
) -> Box<dyn BoxableExpression<tokens::table, DB, SqlType = Bool>>
where
    DB: diesel::backend::Backend + diesel::sql_types::HasSqlType<Text> + SearchDialect + 'static,
    diesel::expression::SqlLiteral<Bool>: diesel::query_builder::QueryFragment<DB>,
    String: diesel::serialize::ToSql<Text, DB>,
{
    if DB::POSTGRES {
        Box::new(
            diesel::dsl::sql::<Bool>("tokens.search_text LIKE ")
                .bind::<Text, _>(super::contains_pattern(text))
                .sql(" ESCAPE '\\'"),
        )
    } else if indexed {
        Box::new(
            diesel::dsl::sql::<Bool>(
                "tokens.id IN (SELECT rowid FROM token_search WHERE token_search MATCH ",
            )
            .bind::<Text, _>(fts_phrase(text))
            .sql(")"),
        )
    } else {
        Box::new(
            diesel::dsl::sql::<Bool>("instr(tokens.search_text, ")
                .bind::<Text, _>(text.to_lowercase())
                .sql(") > 0"),
        )
    }
}

/// Which of the two search strategies a backend gets: the SQL differs, the filter does not.
trait SearchDialect {
    const POSTGRES: bool;
}

impl SearchDialect for diesel::sqlite::Sqlite {
    const POSTGRES: bool = false;
}

impl SearchDialect for diesel::pg::Pg {
    const POSTGRES: bool = true;
}

/// Adds the ORDER BY of a sort column (id breaks ties, in the same direction).
macro_rules! sorted {
    ($q:expr, $sort:expr, $desc:expr) => {{
        let q = $q;
        match ($sort, $desc) {
            (SortColumn::Name, false) => q.order((tokens::name.asc(), tokens::id.asc())),
            (SortColumn::Name, true) => q.order((tokens::name.desc(), tokens::id.desc())),
            (SortColumn::Prefix, false) => {
                q.order((tokens::display_prefix.asc(), tokens::id.asc()))
            }
            (SortColumn::Prefix, true) => {
                q.order((tokens::display_prefix.desc(), tokens::id.desc()))
            }
            (SortColumn::Owner, false) => q.order((tokens::owner_name.asc(), tokens::id.asc())),
            (SortColumn::Owner, true) => q.order((tokens::owner_name.desc(), tokens::id.desc())),
            (SortColumn::OwnerType, false) => q.order((tokens::kind.asc(), tokens::id.asc())),
            (SortColumn::OwnerType, true) => q.order((tokens::kind.desc(), tokens::id.desc())),
            (SortColumn::Role, false) => q.order(tokens::id.asc()),
            (SortColumn::Role, true) => q.order(tokens::id.desc()),
            (SortColumn::Created, false) => q.order((tokens::created_at.asc(), tokens::id.asc())),
            (SortColumn::Created, true) => q.order((tokens::created_at.desc(), tokens::id.desc())),
            // "Never expires" after every date going up, before every date going down.
            (SortColumn::Expires, false) => q.order((
                tokens::expires_at.is_null().asc(),
                tokens::expires_at.asc(),
                tokens::id.asc(),
            )),
            (SortColumn::Expires, true) => q.order((
                tokens::expires_at.is_null().desc(),
                tokens::expires_at.desc(),
                tokens::id.desc(),
            )),
            // "Never used" last in both directions.
            (SortColumn::LastUsed, false) => q.order((
                tokens::last_used_at.is_null().asc(),
                tokens::last_used_at.asc(),
                tokens::id.asc(),
            )),
            (SortColumn::LastUsed, true) => q.order((
                tokens::last_used_at.is_null().asc(),
                tokens::last_used_at.desc(),
                tokens::id.desc(),
            )),
            // Status and role are ordered bucket by bucket (see the service); within one, by id.
            (SortColumn::Status, false) => q.order(tokens::id.asc()),
            (SortColumn::Status, true) => q.order(tokens::id.desc()),
        }
    }};
}

/// One page of ids in table order.
pub async fn page_ids(
    conn: &mut Conn<'_>,
    f: &TableFilter,
    sort: SortColumn,
    desc: bool,
    offset: i64,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    match conn {
        Conn::Sqlite(c) => {
            let q = sorted!(filtered!(diesel::sqlite::Sqlite, f), sort, desc);
            q.select(tokens::id)
                .offset(offset)
                .limit(limit)
                .load(*c)
                .await
        }
        Conn::Pg(c) => {
            let q = sorted!(filtered!(diesel::pg::Pg, f), sort, desc);
            q.select(tokens::id)
                .offset(offset)
                .limit(limit)
                .load(*c)
                .await
        }
    }
}

/// How many tokens match, counting no further than `cap` (the answer is then `cap`).
pub async fn count_capped(conn: &mut Conn<'_>, f: &TableFilter, cap: i64) -> QueryResult<i64> {
    let ids: Vec<i64> = match conn {
        Conn::Sqlite(c) => {
            filtered!(diesel::sqlite::Sqlite, f)
                .select(tokens::id)
                .limit(cap)
                .load(*c)
                .await?
        }
        Conn::Pg(c) => {
            filtered!(diesel::pg::Pg, f)
                .select(tokens::id)
                .limit(cap)
                .load(*c)
                .await?
        }
    };
    Ok(ids.len() as i64)
}

/// Every matching id, in id order (bulk revoke).
pub async fn all_ids(conn: &mut Conn<'_>, f: &TableFilter) -> QueryResult<Vec<i64>> {
    match conn {
        Conn::Sqlite(c) => {
            filtered!(diesel::sqlite::Sqlite, f)
                .select(tokens::id)
                .order(tokens::id.asc())
                .load(*c)
                .await
        }
        Conn::Pg(c) => {
            filtered!(diesel::pg::Pg, f)
                .select(tokens::id)
                .order(tokens::id.asc())
                .load(*c)
                .await
        }
    }
}

/// SQLite only: how many rows the full-text index finds for a substring, up to `cap`.
pub async fn fts_matches(conn: &mut Conn<'_>, text: &str, cap: i64) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    match conn {
        Conn::Sqlite(c) => {
            let rows: Vec<N> = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM (SELECT rowid FROM token_search WHERE token_search MATCH ? LIMIT ?)",
            )
            .bind::<Text, _>(fts_phrase(text))
            .bind::<BigInt, _>(cap)
            .load(*c)
            .await?;
            Ok(rows.into_iter().next().map(|r| r.n).unwrap_or(0))
        }
        Conn::Pg(_) => Ok(cap),
    }
}

/// Tokens with their owners, for the given ids (any order; the caller reorders).
pub async fn rows_by_ids(conn: &mut Conn<'_>, ids: &[i64]) -> QueryResult<Vec<TokenWithOwner>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    macro_rules! load {
        ($c:expr) => {
            tokens::table
                .left_join(service_accounts::table)
                .left_join(users::table)
                .filter(tokens::id.eq_any(ids))
                .select((
                    super::tokens::TokenRow::as_select(),
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
                ))
                .load($c)
                .await
        };
    }
    match conn {
        Conn::Sqlite(c) => load!(*c),
        Conn::Pg(c) => load!(*c),
    }
}

/// The value a row is sorted by (see `sort_keys`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortKey {
    Text(String),
    Int(i64),
    /// Expiry or last use; `None` is "never".
    Time(Option<i64>),
    /// Status: revoked_at, expires_at, owner_disabled (ranked by the service).
    Status(Option<i64>, Option<i64>, bool),
    /// Owner role (ranked by the service).
    Role(String),
}

/// Up to `limit` matching rows with the value each sorts by, in no particular order: the
/// filter alone decides the plan (its most selective index), not the sort.
pub async fn sort_keys(
    conn: &mut Conn<'_>,
    f: &TableFilter,
    sort: SortColumn,
    limit: i64,
) -> QueryResult<Vec<(i64, SortKey)>> {
    macro_rules! keys {
        ($db:ty, $c:expr) => {{
            let q = filtered!($db, f).limit(limit);
            Ok(match sort {
                SortColumn::Name => q
                    .select((tokens::id, tokens::name))
                    .load::<(i64, String)>($c)
                    .await?
                    .into_iter()
                    .map(|(i, v)| (i, SortKey::Text(v)))
                    .collect(),
                SortColumn::Prefix => q
                    .select((tokens::id, tokens::display_prefix))
                    .load::<(i64, String)>($c)
                    .await?
                    .into_iter()
                    .map(|(i, v)| (i, SortKey::Text(v)))
                    .collect(),
                SortColumn::Owner => q
                    .select((tokens::id, tokens::owner_name))
                    .load::<(i64, String)>($c)
                    .await?
                    .into_iter()
                    .map(|(i, v)| (i, SortKey::Text(v)))
                    .collect(),
                SortColumn::OwnerType => q
                    .select((tokens::id, tokens::kind))
                    .load::<(i64, String)>($c)
                    .await?
                    .into_iter()
                    .map(|(i, v)| (i, SortKey::Text(v)))
                    .collect(),
                SortColumn::Role => q
                    .select((tokens::id, tokens::owner_role))
                    .load::<(i64, String)>($c)
                    .await?
                    .into_iter()
                    .map(|(i, v)| (i, SortKey::Role(v)))
                    .collect(),
                SortColumn::Created => q
                    .select((tokens::id, tokens::created_at))
                    .load::<(i64, i64)>($c)
                    .await?
                    .into_iter()
                    .map(|(i, v)| (i, SortKey::Int(v)))
                    .collect(),
                SortColumn::Expires => q
                    .select((tokens::id, tokens::expires_at))
                    .load::<(i64, Option<i64>)>($c)
                    .await?
                    .into_iter()
                    .map(|(i, v)| (i, SortKey::Time(v)))
                    .collect(),
                SortColumn::LastUsed => q
                    .select((tokens::id, tokens::last_used_at))
                    .load::<(i64, Option<i64>)>($c)
                    .await?
                    .into_iter()
                    .map(|(i, v)| (i, SortKey::Time(v)))
                    .collect(),
                SortColumn::Status => q
                    .select((
                        tokens::id,
                        tokens::revoked_at,
                        tokens::expires_at,
                        tokens::owner_disabled,
                    ))
                    .load::<(i64, Option<i64>, Option<i64>, bool)>($c)
                    .await?
                    .into_iter()
                    .map(|(i, r, e, d)| (i, SortKey::Status(r, e, d)))
                    .collect(),
            })
        }};
    }
    match conn {
        Conn::Sqlite(c) => keys!(diesel::sqlite::Sqlite, *c),
        Conn::Pg(c) => keys!(diesel::pg::Pg, *c),
    }
}
