//! The organisation-wide token table: every token of every account (Admins), or every
//! service-account token (Power Users); sorted, searched, filtered, paged; saved searches;
//! bulk revoke; the rows of the CSV export.

use serde_json::json;

use super::audit::{self, action, Target};
use super::now;
use super::tokens::to_view;
use crate::backend::auth::Principal;
use crate::backend::db::Conn;
use crate::backend::repo::saved_searches as saved;
use crate::backend::repo::token_table::{self as repo, SortKey, TableFilter};
use crate::backend::repo::{epoch, tokens};
use crate::backend::state::AppState;
use crate::domain::expiry::parse_date;
use crate::domain::policy::{self, TokenTableScope};
use crate::domain::token_query::{SortColumn, TokenQuery, COUNT_CAP};
use crate::domain::{FieldError, Role};
use crate::errors::AppError;
use crate::model::{RevokeReason, SavedSearchView, TokenStatus, TokenTablePage, TokenView};

/// A full-text search finding more rows than this is "dense": walking the sort index and
/// checking each row finds a page sooner than collecting every match first.
const SELECTIVE_SEARCH: i64 = 2_000;

const STATUS_ORDER: [TokenStatus; 5] = [
    TokenStatus::Active,
    TokenStatus::ExpiringSoon,
    TokenStatus::OwnerDisabled,
    TokenStatus::Expired,
    TokenStatus::Revoked,
];

fn scope(me: &Principal) -> Result<TokenTableScope, AppError> {
    policy::token_table_scope(me.role).ok_or_else(|| {
        AppError::forbidden("The organisation-wide token table is for Power Users and Admins.")
    })
}

/// Resolves a view to a filter: dates to times, the caller's scope, the search strategy.
async fn filter_for(
    conn: &mut Conn<'_>,
    me: &Principal,
    q: &TokenQuery,
    now: i64,
) -> Result<TableFilter, AppError> {
    let scope = scope(me)?;
    let day_start = |d: &str| {
        parse_date(d)
            .ok()
            .map(|d| d.midnight().assume_utc().unix_timestamp())
    };
    let search = (!q.q.is_empty()).then(|| q.q.to_lowercase());
    let search_indexed = match (&search, conn.is_sqlite()) {
        (Some(text), true) if text.chars().count() >= 3 => {
            repo::fts_matches(conn, text, SELECTIVE_SEARCH + 1).await? <= SELECTIVE_SEARCH
        }
        _ => false,
    };
    Ok(TableFilter {
        service_accounts_only: scope == TokenTableScope::ServiceAccountTokens,
        kind: q.owner_type.map(|k| k.as_str()),
        statuses: q.statuses.clone(),
        usage: Some(q.usage),
        expiring_within_days: q.expiring_within,
        owners: q.owners.clone(),
        created_from: q.created_from.as_deref().and_then(day_start),
        created_before: q
            .created_to
            .as_deref()
            .and_then(day_start)
            .map(|t| t + crate::domain::limits::DAY_SECS),
        search,
        search_indexed,
        now,
        ..TableFilter::default()
    })
}

pub async fn list(
    state: &AppState,
    me: &Principal,
    q: &TokenQuery,
) -> Result<TokenTablePage, AppError> {
    let now = now();
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    let filter = filter_for(&mut conn, me, q, now).await?;
    // Few matches: read them with their sort values (the filter's own index finds them) and
    // sort here; the count is exact. Many matches: walk the sort column's index, which finds a
    // page quickly precisely because matches are everywhere; the count is "more than".
    let mut keys = repo::sort_keys(&mut conn, &filter, q.sort, COUNT_CAP + 1).await?;
    let (ids, total) = if (keys.len() as i64) <= COUNT_CAP {
        let total = keys.len() as i64;
        sort_in_memory(&mut keys, q.sort, q.desc, now);
        let ids = keys
            .into_iter()
            .skip(q.offset() as usize)
            .take(q.per_page as usize)
            .map(|(id, _)| id)
            .collect();
        (ids, total)
    } else if matches!(q.sort, SortColumn::Status | SortColumn::Role) {
        bucket_page(&mut conn, &filter, q).await?
    } else {
        let ids =
            repo::page_ids(&mut conn, &filter, q.sort, q.desc, q.offset(), q.per_page).await?;
        (ids, COUNT_CAP + 1)
    };
    let mut rows = repo::rows_by_ids(&mut conn, &ids).await?;
    rows.sort_by_key(|(row, _, _)| ids.iter().position(|id| *id == row.id));
    Ok(TokenTablePage {
        items: rows.into_iter().map(|r| to_view(r, now)).collect(),
        total: total.min(COUNT_CAP),
        capped: total > COUNT_CAP,
        page: q.page,
        per_page: q.per_page,
    })
}

fn status_rank(key: &SortKey, now: i64) -> u8 {
    let SortKey::Status(revoked, expires, owner_disabled) = key else {
        return 0;
    };
    let soon = now + crate::domain::limits::EXPIRY_WARNING_DAYS * crate::domain::limits::DAY_SECS;
    if revoked.is_some() {
        4
    } else if expires.is_some_and(|e| e <= now) {
        3
    } else if *owner_disabled {
        2
    } else if expires.is_some_and(|e| e < soon) {
        1
    } else {
        0
    }
}

fn role_rank(key: &SortKey) -> u8 {
    match key {
        SortKey::Role(r) => Role::parse(r).map(|r| r as u8).unwrap_or(0),
        _ => 0,
    }
}

/// The same order as the SQL of `repo::token_table` (byte-wise text, "never" placement,
/// status and role by meaning, ties by id in the sort's direction).
fn sort_in_memory(keys: &mut [(i64, SortKey)], sort: SortColumn, desc: bool, now: i64) {
    use std::cmp::Ordering;
    keys.sort_by(|(a_id, a), (b_id, b)| {
        let by_value = match sort {
            SortColumn::Status => status_rank(a, now).cmp(&status_rank(b, now)),
            SortColumn::Role => role_rank(a).cmp(&role_rank(b)),
            SortColumn::Expires => match (a, b) {
                // never after every date (ascending)
                (SortKey::Time(x), SortKey::Time(y)) => (x.is_none(), x).cmp(&(y.is_none(), y)),
                _ => Ordering::Equal,
            },
            SortColumn::LastUsed => match (a, b) {
                // never used: last in both directions, so decided before the direction
                (SortKey::Time(None), SortKey::Time(Some(_))) => return Ordering::Greater,
                (SortKey::Time(Some(_)), SortKey::Time(None)) => return Ordering::Less,
                _ => a.cmp(b),
            },
            _ => a.cmp(b),
        };
        let ordered = by_value.then(a_id.cmp(b_id));
        if desc {
            ordered.reverse()
        } else {
            ordered
        }
    });
}

/// Sorting by status or role follows their meaning, not their spelling: status by status
/// (active, expiring soon, owner disabled, expired, revoked) or role by role (Viewer up to
/// Admin), by id within each. Each bucket is an indexed condition, so this is a handful of
/// index walks instead of sorting every match.
async fn bucket_page(
    conn: &mut Conn<'_>,
    filter: &TableFilter,
    q: &TokenQuery,
) -> Result<(Vec<i64>, i64), AppError> {
    let mut buckets: Vec<TableFilter> = if q.sort == SortColumn::Status {
        STATUS_ORDER
            .into_iter()
            .filter(|s| filter.statuses.is_empty() || filter.statuses.contains(s))
            .map(|s| TableFilter {
                statuses: vec![s],
                ..filter.clone()
            })
            .collect()
    } else {
        Role::ALL
            .into_iter()
            .map(|r| TableFilter {
                owner_roles: Some(vec![r.as_str()]),
                ..filter.clone()
            })
            .collect()
    };
    if q.desc {
        buckets.reverse();
    }
    let mut skip = q.offset();
    let mut need = q.per_page;
    let mut ids = Vec::new();
    let mut total = 0;
    for bucket in buckets {
        if total > COUNT_CAP {
            break;
        }
        let count = repo::count_capped(conn, &bucket, COUNT_CAP + 1 - total).await?;
        if need > 0 {
            if skip >= count {
                skip -= count;
            } else {
                let got =
                    repo::page_ids(conn, &bucket, SortColumn::Status, q.desc, skip, need).await?;
                skip = 0;
                need -= got.len() as i64;
                ids.extend(got);
            }
        }
        total += count;
    }
    Ok((ids, total))
}

/// How many live tokens a bulk revoke of this view would revoke (exact, uncapped).
pub async fn live_matching(
    state: &AppState,
    me: &Principal,
    q: &TokenQuery,
) -> Result<i64, AppError> {
    let now = now();
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    let filter = bulk_filter(&mut conn, me, q, now).await?;
    Ok(repo::all_ids(&mut conn, &filter).await?.len() as i64)
}

/// What a bulk revoke may touch: live tokens in the view, and for Power Users only tokens of
/// accounts whose role is at most their own.
async fn bulk_filter(
    conn: &mut Conn<'_>,
    me: &Principal,
    q: &TokenQuery,
    now: i64,
) -> Result<TableFilter, AppError> {
    me.require_session()?;
    let mut filter = filter_for(conn, me, q, now).await?;
    filter.live_only = true;
    if me.role != Role::Admin {
        filter.owner_roles = Some(me.role.assignable().map(Role::as_str).collect());
    }
    Ok(filter)
}

/// Revokes every live token matching the view, in one transaction. `expected` is the count
/// the user confirmed; if the view now matches a different number, nothing is revoked and
/// the user is asked again.
pub async fn revoke_matching(
    state: &AppState,
    me: &Principal,
    q: &TokenQuery,
    expected: i64,
) -> Result<i64, AppError> {
    if !q.has_filters() {
        return Err(AppError::invalid(
            "query",
            "Choose at least one filter or search before revoking everything that matches.",
        ));
    }
    let me = me.clone();
    let q = q.clone();
    let now = now();
    state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let filter = bulk_filter(conn, &me, &q, now).await?;
                let ids = repo::all_ids(conn, &filter).await?;
                if ids.len() as i64 != expected {
                    return Err(AppError::Conflict {
                        field: None,
                        message: format!(
                            "The filter now matches {} live tokens, not {expected}. Review the table and confirm again.",
                            ids.len()
                        ),
                    });
                }
                let revoked = tokens::revoke_many(conn, &ids, now, &me.label, RevokeReason::Bulk.as_str()).await?;
                epoch::bump(conn).await?;
                let label = format!("{revoked} tokens");
                audit::record(
                    conn,
                    &me,
                    action::TOKEN_BULK_REVOKE,
                    Target { kind: "token", id: None, label: &label },
                    json!({
                        "count": revoked,
                        "filter": q.without_page().to_query_string(),
                        "token_ids": ids.iter().take(1000).collect::<Vec<_>>(),
                    }),
                )
                .await?;
                Ok(revoked as i64)
            })
        })
        .await
}

/// Revokes the selected tokens (each must be one the caller may manage), in one transaction.
pub async fn revoke_selected(
    state: &AppState,
    me: &Principal,
    ids: Vec<i64>,
) -> Result<i64, AppError> {
    me.require_session()?;
    scope(me)?;
    if ids.is_empty() {
        return Err(AppError::invalid(
            "ids",
            "Select at least one token to revoke.",
        ));
    }
    if ids.len() > 1000 {
        return Err(AppError::invalid(
            "ids",
            "Select at most 1000 tokens at a time, or revoke by filter.",
        ));
    }
    let me = me.clone();
    let now = now();
    state
        .auth_transaction(|conn| {
            Box::pin(async move {
                let rows = repo::rows_by_ids(conn, &ids).await?;
                if rows.len() != ids.len() {
                    return Err(AppError::not_found("One of the selected tokens"));
                }
                for row in &rows {
                    super::tokens::require_manage_token(&me, row)?;
                    if row.0.service_account_id.is_none() && me.role != Role::Admin {
                        return Err(AppError::forbidden(
                            "Only Admins can revoke personal tokens of others.",
                        ));
                    }
                }
                let revoked =
                    tokens::revoke_many(conn, &ids, now, &me.label, RevokeReason::Bulk.as_str())
                        .await?;
                epoch::bump(conn).await?;
                let label = format!("{revoked} tokens");
                audit::record(
                    conn,
                    &me,
                    action::TOKEN_BULK_REVOKE,
                    Target {
                        kind: "token",
                        id: None,
                        label: &label,
                    },
                    json!({ "count": revoked, "token_ids": ids }),
                )
                .await?;
                Ok(revoked as i64)
            })
        })
        .await
}

/// One batch of the CSV export: matching tokens with ids above `after`, in id order.
pub async fn export_batch(
    state: &AppState,
    me: &Principal,
    q: &TokenQuery,
    after: i64,
    limit: i64,
) -> Result<Vec<TokenView>, AppError> {
    let now = now();
    let mut pooled = state.db.get().await?;
    let mut conn = pooled.conn();
    let mut filter = filter_for(&mut conn, me, q, now).await?;
    filter.after_id = Some(after);
    let ids = repo::page_ids(&mut conn, &filter, SortColumn::Status, false, 0, limit).await?;
    let mut rows = repo::rows_by_ids(&mut conn, &ids).await?;
    rows.sort_by_key(|(row, _, _)| row.id);
    Ok(rows.into_iter().map(|r| to_view(r, now)).collect())
}

fn search_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(FieldError::new("name", "Give the search a name."));
    }
    if name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(FieldError::new(
            "name",
            "Use at most 80 printable characters.",
        ));
    }
    Ok(name.to_string())
}

pub async fn saved_list(
    state: &AppState,
    me: &Principal,
) -> Result<Vec<SavedSearchView>, AppError> {
    me.require_session()?;
    scope(me)?;
    let uid = me.user_id().ok_or(AppError::SessionRequired)?;
    let mut pooled = state.db.get().await?;
    Ok(saved::visible_to(&mut pooled.conn(), uid)
        .await?
        .into_iter()
        .map(|(row, owner)| SavedSearchView {
            mine: row.owner_id == uid,
            id: row.id,
            name: row.name,
            query: row.query,
            shared: row.shared,
            owner,
        })
        .collect())
}

pub async fn save(
    state: &AppState,
    me: &Principal,
    name: &str,
    query: &str,
    shared: bool,
) -> Result<SavedSearchView, AppError> {
    me.require_session()?;
    scope(me)?;
    let uid = me.user_id().ok_or(AppError::SessionRequired)?;
    let name = search_name(name)?;
    // Stored canonical and without the page: a saved search opens at its first page.
    let query = TokenQuery::from_query_string(query)
        .without_page()
        .to_query_string();
    let now = now();
    let mut pooled = state.db.get_writer().await?;
    let row = saved::insert(&mut pooled.conn(), uid, &name, &query, shared, now)
        .await
        .map_err(|e| match e {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            ) => AppError::conflict("name", "You already have a saved search with this name."),
            e => AppError::from(e),
        })?;
    Ok(SavedSearchView {
        id: row.id,
        name: row.name,
        query: row.query,
        shared: row.shared,
        owner: me.label.clone(),
        mine: true,
    })
}

pub async fn delete_saved(state: &AppState, me: &Principal, id: i64) -> Result<(), AppError> {
    me.require_session()?;
    let uid = me.user_id().ok_or(AppError::SessionRequired)?;
    let mut pooled = state.db.get_writer().await?;
    let mut conn = pooled.conn();
    match saved::find(&mut conn, id).await? {
        Some(row) if row.owner_id == uid => {
            saved::delete(&mut conn, id).await?;
            Ok(())
        }
        Some(row) if row.shared => Err(AppError::forbidden(
            "Only its owner can delete a saved search.",
        )),
        _ => Err(AppError::not_found("The saved search")),
    }
}
